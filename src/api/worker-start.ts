// Where the runtime worker and onnxruntime-web's binary come from, for apps built from webvl's source (the demo,
// the tests). The library build (vite.lib.config.ts) swaps this module for worker-start.lib.ts, whose URLs are
// relative to the published module.
import type { OrtWasmLocation } from '../engine/ort/ort-env';

export function startRuntimeWorker(): Worker {
  return new Worker(new URL('../worker/runtime.worker.ts', import.meta.url), {
    type: 'module',
    name: 'webvl-runtime',
  });
}

/** None: the worker falls back to `<base>/ort/` on the page's origin, where the demo and dev server serve it. */
export function defaultOrtWasm(): OrtWasmLocation | undefined {
  return undefined;
}
