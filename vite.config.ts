import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { ortSelfReferencesHidden } from './scripts/vite-plugin-ort.ts';
import { staticDirs } from './scripts/vite-plugin-static-dirs.ts';
import { ORT_WASM_FILE } from './src/engine/ort/ort-wasm-file.ts';

// Cross-origin isolation: ORT's wasm threads need SharedArrayBuffer.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Strict CSP for the built app (preview and any static host that copies it): no eval, no inline script, and
// nothing fetched from another origin. 'wasm-unsafe-eval' is what WebAssembly compilation needs, nothing more.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

export default defineConfig({
  plugins: [
    ortSelfReferencesHidden(),
    staticDirs([
      {
        // Only the binary the onnxruntime-web/webgpu bundle loads (its glue code is inside the bundle): 27 MB
        // instead of the 115 MB of every build variant in onnxruntime-web's dist/.
        prefix: '/ort/',
        dir: resolve(import.meta.dirname, 'node_modules/onnxruntime-web/dist'),
        exclude: new RegExp(`^(?!${ORT_WASM_FILE.replaceAll('.', '\\.')}$)`),
      },
      { prefix: '/models/', dir: resolve(import.meta.dirname, 'models'), exclude: /^train(\/|$)/ },
      // Hugging Face-layout test models (tests/corpus/hf) for the browser tests of model families.
      { prefix: '/corpus/', dir: resolve(import.meta.dirname, 'tests/corpus'), devOnly: true },
      // ONNX backend node tests (Debian libonnx-testdata) for `npm run conformance`.
      { prefix: '/onnx-node-tests/', dir: '/usr/share/libonnx-testdata/data/node', devOnly: true },
      // transformers.js brings its own onnxruntime-web build; the benchmark serves its wasm locally.
      {
        prefix: '/tjs-ort/',
        dir: resolve(
          import.meta.dirname,
          'node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist',
        ),
        exclude: /\.map$/,
        devOnly: true,
      },
    ]),
  ],
  server: { headers: isolation, fs: { allow: ['.'] } },
  preview: { headers: { ...isolation, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
  worker: { format: 'es', plugins: () => [ortSelfReferencesHidden()] },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { main: resolve(import.meta.dirname, 'index.html') },
    },
  },
});
