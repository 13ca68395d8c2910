// Engine test page: runs ONNX graphs through our WebGPU engine and through onnxruntime-web (wasm), and
// compares both with the fixture's NumPy reference. Exposed to Playwright as window.webvlEngine.
import { OrtBackend } from '../../src/engine/ort/ort-backend';
import { type HostTensor, hostTensor, type Tensor, toHost } from '../../src/engine/tensor';
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

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

/** Deterministic feeds for a model's inputs, by name pattern (see runModel). */
function makeFeeds(path: string, dims: Record<string, number[]>): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  Object.keys(dims).forEach((name, k) => {
    const d = dims[name];
    const n = d.reduce((a, b) => a * b, 1);
    if (name === 'attention_mask') {
      feeds[name] = hostTensor(
        'int64',
        d,
        Array.from({ length: n }, (_, i) => (i >= n - 2 ? 0 : 1)),
      );
    } else if (/ids/.test(name)) {
      feeds[name] = hostTensor(
        'int64',
        d,
        Array.from({ length: n }, (_, i) => 1 + ((i * 7 + 3) % 19)),
      );
    } else {
      feeds[name] = hostTensor('float32', d, rand(n, 11 + k + path.length));
    }
  });
  return feeds;
}

export interface ModelResult {
  /** Per output: ours vs ORT wasm. */
  outputs: Record<string, Diff>;
  dispatches: number | undefined;
  plan: PlanDescription | undefined;
  msOursWarm: number;
  msOrt: number;
}

/**
 * Runs one exported model (under /models/) through our engine and ORT wasm on deterministic inputs: token ids
 * in [1, 20), attention masks with the last two positions of the last row padded, floats in [-1, 1).
 */
async function runModel(path: string, dims: Record<string, number[]>): Promise<ModelResult> {
  const bytes = new Uint8Array(await (await fetch(`/models/${path}`)).arrayBuffer());
  const session = await ours.load(bytes, { label: path });
  const feeds = makeFeeds(path, dims);
  const mine = await hostAll(await session.run(feeds));
  const dispatches = session.lastRunStats()?.dispatches;
  const plan = session.describePlan();
  let t0 = performance.now();
  await session.run(feeds);
  const msOursWarm = performance.now() - t0;
  await session.release();
  const ortSession = await new OrtBackend('wasm').load(bytes, { label: path });
  await ortSession.run(feeds);
  t0 = performance.now();
  const theirs = await hostAll(await ortSession.run(feeds));
  const msOrt = performance.now() - t0;
  await ortSession.release();
  const outputs: Record<string, Diff> = {};
  for (const [k, v] of Object.entries(theirs)) outputs[k] = diff(mine[k], v);
  return { outputs, dispatches, plan, msOursWarm, msOrt };
}

/** Counts compute dispatches any WebGPU user in this page records while `fn` runs. */
async function countDispatches<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<typeof original>) {
    count++;
    return original.apply(this, args);
  };
  try {
    return [await fn(), count];
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

export interface BenchResult {
  /** Best of `repeats` warm runs, in ms. */
  ms: { ours: number; ortWebgpu: number; wasm: number };
  /** Dispatches of one warm run, counted at GPUComputePassEncoder.dispatchWorkgroups. */
  dispatches: { ours: number; ortWebgpu: number };
  oursVsOrtWebgpu: Record<string, Diff>;
}

/** Same inputs as runModel; times warm runs of ours, ORT webgpu and ORT wasm. */
async function benchModel(path: string, dims: Record<string, number[]>, repeats = 3): Promise<BenchResult> {
  const bytes = new Uint8Array(await (await fetch(`/models/${path}`)).arrayBuffer());
  const feeds = makeFeeds(path, dims);
  const time = async (
    session: Awaited<ReturnType<WebGpuBackend['load']>> | Awaited<ReturnType<OrtBackend['load']>>,
  ) => {
    await hostAll(await session.run(feeds)); // warm-up (compiles, plans)
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await hostAll(await session.run(feeds));
      best = Math.min(best, performance.now() - t0);
    }
    const [outputs, dispatches] = await countDispatches(async () => hostAll(await session.run(feeds)));
    await session.release();
    return { best, dispatches, outputs };
  };
  const mine = await time(await ours.load(bytes, { label: path }));
  const gpu = await time(await new OrtBackend('ort-webgpu').load(bytes, { label: path }));
  const cpu = await time(await new OrtBackend('wasm').load(bytes, { label: path }));
  const oursVsOrtWebgpu: Record<string, Diff> = {};
  for (const [k, v] of Object.entries(gpu.outputs)) oursVsOrtWebgpu[k] = diff(mine.outputs[k], v);
  return {
    ms: { ours: mine.best, ortWebgpu: gpu.best, wasm: cpu.best },
    dispatches: { ours: mine.dispatches, ortWebgpu: gpu.dispatches },
    oursVsOrtWebgpu,
  };
}

/** A tensor as it crosses page.evaluate: its dtype, dims and plain numbers (int64 ones as numbers). */
export interface PlainTensor {
  dtype: 'float32' | 'int64' | 'int32';
  dims: number[];
  data: number[];
}

/**
 * Runs one corpus graph (tests/corpus/<dir>, served under /corpus/) through our engine on the inputs the test
 * sends; returns every output as plain numbers, for the test to compare with onnxruntime-node.
 */
async function runGraph(
  dir: string,
  file: string,
  inputs: Record<string, PlainTensor>,
): Promise<Record<string, PlainTensor>> {
  const bytes = new Uint8Array(await (await fetch(`/corpus/${dir}/${file}`)).arrayBuffer());
  const session = await ours.load(bytes, { label: file });
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, t]) => [
        k,
        t.dtype === 'int64'
          ? hostTensor('int64', t.dims, BigInt64Array.from(t.data, BigInt))
          : t.dtype === 'int32'
            ? hostTensor('int32', t.dims, Int32Array.from(t.data))
            : hostTensor('float32', t.dims, Float32Array.from(t.data)),
      ]),
    );
    const outputs = await hostAll(await session.run(feeds));
    return Object.fromEntries(
      Object.entries(outputs).map(([k, t]) => [
        k,
        {
          dtype: t.dtype === 'int64' || t.dtype === 'int32' ? t.dtype : 'float32',
          dims: [...t.dims],
          data: Array.from(t.data as ArrayLike<number | bigint>, Number),
        },
      ]),
    );
  } finally {
    await session.release();
  }
}

const api = { runFixture, runModel, benchModel, runGraph };

declare global {
  interface Window {
    webvlEngine: typeof api;
  }
}

window.webvlEngine = api;
window.webvlReady = true;
