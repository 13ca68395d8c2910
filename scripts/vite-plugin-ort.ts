import type { Plugin } from 'vite';
import { ORT_WASM_FILE } from '../src/engine/ort/ort-wasm-file.ts';

/**
 * onnxruntime-web's bundle names two files relative to itself with `new URL('…', import.meta.url)`: its binary,
 * for when no wasmPaths is set, and its own .mjs, for Node (file: URLs). Neither branch runs here (ort-env.ts
 * always sets wasmPaths; browsers have no file: modules), but bundlers follow both: our builds, and an app's
 * that re-bundles our worker, would emit a second 27 MB copy of the binary and warn about the missing .mjs.
 * Resolving them against `self.location.href` instead keeps the code and hides it from bundlers.
 */
export function ortSelfReferencesHidden(): Plugin {
  const names = [ORT_WASM_FILE, 'ort.webgpu.bundle.min.mjs'];
  return {
    name: 'webvl-ort-self-references-hidden',
    transform(code, id) {
      if (!id.includes('onnxruntime-web')) return null;
      let out = code;
      for (const name of names)
        out = out.replaceAll(`("${name}",import.meta.url)`, `("${name}",self.location.href)`);
      return out === code ? null : { code: out, map: null };
    },
  };
}
