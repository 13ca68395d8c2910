// Engine test page: runs ONNX graphs through our WebGPU engine and through onnxruntime-web (wasm), and
// compares both with the fixture's NumPy reference. Exposed to Playwright as window.webvlEngine.
import { OrtBackend } from '../../src/engine/ort/ort-backend';
import { type HostTensor, type Tensor, toHost } from '../../src/engine/tensor';
import { WebGpuBackend } from '../../src/engine/webgpu/backend';
import type { PlanDescription } from '../../src/engine/webgpu/session';
import { loadFixture } from './fixtures';

export interface Diff {
  /** max |a − b| */
  maxAbs: number;
  /** max |a − b| / max |b|: error relative to the tensor's scale. */
  relToMax: number;
}

function diff(actual: HostTensor, expected: HostTensor): Diff {
  if (actual.dims.join() !== expected.dims.join()) {
    throw new Error(`shape [${actual.dims}] != expected [${expected.dims}]`);
  }
  const a = Array.from(actual.data as ArrayLike<number | bigint>, Number);
  const b = Array.from(expected.data as ArrayLike<number | bigint>, Number);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { maxAbs, relToMax: maxAbs / Math.max(scale, 1e-12) };
}

export interface FixtureResult {
  /** Per output: ours vs NumPy, ORT wasm vs NumPy, ours vs ORT wasm. */
  outputs: Record<string, { oursVsRef: Diff; ortVsRef: Diff; oursVsOrt: Diff }>;
  dispatches: number | undefined;
  bytesRead: number | undefined;
  plan: PlanDescription | undefined;
  /** Dispatches of a second run with the same shapes (the plan comes from the cache). */
  secondRunDispatches: number | undefined;
  msFirst: number;
  msSecond: number;
}

const ours = new WebGpuBackend();

async function hostAll(outputs: Record<string, Tensor>): Promise<Record<string, HostTensor>> {
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = await toHost(v);
  return out;
}

async function runFixture(name: string): Promise<FixtureResult> {
  const fx = await loadFixture(name);
  const session = await ours.load(fx.model, { label: name });
  let t0 = performance.now();
  const mine = await hostAll(await session.run(fx.inputs));
  const msFirst = performance.now() - t0;
  const stats = session.lastRunStats();
  const plan = session.describePlan();
  t0 = performance.now();
  await session.run(fx.inputs);
  const msSecond = performance.now() - t0;
  const secondRunDispatches = session.lastRunStats()?.dispatches;
  await session.release();

  const ortSession = await new OrtBackend('wasm').load(fx.model, { label: name });
  const theirs = await hostAll(await ortSession.run(fx.inputs));
  await ortSession.release();

  const outputs: FixtureResult['outputs'] = {};
  for (const [key, expected] of Object.entries(fx.outputs)) {
    outputs[key] = {
      oursVsRef: diff(mine[key], expected),
      ortVsRef: diff(theirs[key], expected),
      oursVsOrt: diff(mine[key], theirs[key]),
    };
  }
  return {
    outputs,
    dispatches: stats?.dispatches,
    bytesRead: stats?.bytesRead,
    plan,
    secondRunDispatches,
    msFirst,
    msSecond,
  };
}

/** Loads a model our engine must refuse, and reports the error code and the ops it names. */
async function loadError(name: string): Promise<{ code: string; ops: unknown } | null> {
  const fx = await loadFixture(name);
  try {
    await ours.load(fx.model);
    return null;
  } catch (e) {
    const err = e as { code?: string; details?: { ops?: unknown } };
    return { code: err.code ?? String(e), ops: err.details?.ops };
  }
}

const api = { runFixture, loadError };

declare global {
  interface Window {
    webvlEngine: typeof api;
  }
}

window.webvlEngine = api;
window.webvlReady = true;
