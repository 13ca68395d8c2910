// One place that imports onnxruntime-web and points it at our own origin for its wasm files.
import * as ort from 'onnxruntime-web/webgpu';

let configured = false;

/** Base URL our server (vite dev/preview or the built site) serves ORT's dist files from. */
function ortAssetBase(): string {
  const origin = globalThis.location?.origin ?? 'http://localhost';
  const base = import.meta.env?.BASE_URL ?? '/';
  return new URL(`${base.replace(/\/?$/, '/')}ort/`, origin).href;
}

export function getOrt(): typeof ort {
  if (!configured) {
    // Pages and workers load ORT's files from our origin; Node (tests) resolves them next to the package.
    if (globalThis.location) ort.env.wasm.wasmPaths = ortAssetBase();
    // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    ort.env.wasm.numThreads = isolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
    ort.env.logLevel = 'error';
    configured = true;
  }
  return ort;
}

export type Ort = typeof ort;
