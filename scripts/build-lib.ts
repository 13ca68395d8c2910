// `npm run build` (and so `npm pack` via prepack): the library into dist/lib (see vite.lib.config.ts), the one
// onnxruntime-web binary it loads next to it, then its declarations and API docs (scripts/api.ts).
import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { ORT_WASM_FILE } from '../src/engine/ort/ort-wasm-file.ts';
import { LIB_DIR, libMainConfig, libWorkerConfig } from '../vite.lib.config.ts';

await build(libMainConfig);
await build(libWorkerConfig);
copyFileSync(
  resolve(import.meta.dirname, '../node_modules/onnxruntime-web/dist', ORT_WASM_FILE),
  join(LIB_DIR, ORT_WASM_FILE),
);
console.log(`built ${LIB_DIR}`);
