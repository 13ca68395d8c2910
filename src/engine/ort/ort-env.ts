// One place that imports onnxruntime-web and says where its wasm binary comes from and how many threads run it.
import * as ort from 'onnxruntime-web/webgpu';

import { ORT_WASM_FILE } from './ort-wasm-file';

export { ORT_WASM_FILE };

/** A folder URL that holds ORT_WASM_FILE (./ort-wasm-file.ts) (ends with '/'), or the file's own URL. */
export type OrtWasmLocation = string | { readonly wasm: string };

let configured = false;
let location: OrtWasmLocation | undefined;

/** Default: `<base>/ort/` on the page's origin, where the demo and the dev server serve ORT's files. */
function defaultLocation(): string {
  const origin = globalThis.location?.origin ?? 'http://localhost';
  const base = import.meta.env?.BASE_URL ?? '/';
  return new URL(`${base.replace(/\/?$/, '/')}ort/`, origin).href;
}

/**
 * Where ORT_WASM_FILE is fetched from. Takes effect only before the first getOrt(): onnxruntime-web loads its
 * binary once per worker.
 */
export function setOrtWasmLocation(where: OrtWasmLocation): void {
  if (configured) throw new Error('onnxruntime-web is already configured in this worker');
  location = where;
}

/** wasm threads: more than one needs SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP). */
export function ortWasmThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}

export function getOrt(): typeof ort {
  if (!configured) {
    const where = location ?? (globalThis.location ? defaultLocation() : undefined);
    // Node (tests, the Node benchmark) without an explicit location: onnxruntime-web finds its files next to
    // the package. Otherwise always the file's URL: given a folder, onnxruntime-web would also import its
    // Emscripten glue (.mjs) from there rather than use the copy inside its bundle, a second file to ship.
    if (where !== undefined) {
      ort.env.wasm.wasmPaths = {
        wasm: typeof where === 'string' ? new URL(ORT_WASM_FILE, where).href : where.wasm,
      };
    }
    ort.env.wasm.numThreads = ortWasmThreads();
    ort.env.logLevel = 'error';
    configured = true;
  }
  return ort;
}

export type Ort = typeof ort;
