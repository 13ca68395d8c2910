// Test page: exposes probes and backend runs to Playwright as window.webvlTest.
import type { BackendName } from '../../src/engine/backend';
import { OrtBackend } from '../../src/engine/ort/ort-backend';
import { toHost } from '../../src/engine/tensor';
import { compare, loadFixture } from './fixtures';
import { type GpuProbe, probeGpu } from './gpu-probe';

function probeWorker(): Promise<GpuProbe> {
  const worker = new Worker(new URL('./gpu-probe.worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<GpuProbe>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
    worker.postMessage('probe');
  });
}

async function runFixture(name: string, backend: Extract<BackendName, 'ort-webgpu' | 'wasm'>) {
  const fx = await loadFixture(name);
  const session = await new OrtBackend(backend).load(fx.model, { label: name });
  const outputs = await session.run(fx.inputs);
  const result: Record<string, { maxAbs: number; maxRel: number }> = {};
  for (const [key, expected] of Object.entries(fx.outputs)) {
    result[key] = compare(await toHost(outputs[key]), expected);
  }
  await session.release();
  return result;
}

const api = {
  probePage: probeGpu,
  probeWorker,
  runFixture,
  crossOriginIsolated: () => globalThis.crossOriginIsolated,
};

declare global {
  interface Window {
    webvlTest: typeof api;
    webvlReady: boolean;
  }
}

window.webvlTest = api;
window.webvlReady = true;
