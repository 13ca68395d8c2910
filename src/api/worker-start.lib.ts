// The published library's version of worker-start.ts. vite.lib.config.ts replaces the two placeholders, after
// bundling, with `new URL('./…', import.meta.url)` expressions naming files next to the published module: the
// self-contained worker and onnxruntime-web's binary. Written that way, an app's bundler (Vite, webpack, Rollup)
// finds both, emits them with the app, and rewrites the URLs.
import type { OrtWasmLocation } from '../engine/ort/ort-env';

declare const __WEBVL_WORKER_URL__: URL;
declare const __WEBVL_ORT_WASM_URL__: URL;

export function startRuntimeWorker(): Worker {
  return new Worker(__WEBVL_WORKER_URL__, { type: 'module', name: 'webvl-runtime' });
}

/** The copy of onnxruntime-web's binary shipped next to webvl's module. */
export function defaultOrtWasm(): OrtWasmLocation | undefined {
  return { wasm: __WEBVL_ORT_WASM_URL__.href };
}
