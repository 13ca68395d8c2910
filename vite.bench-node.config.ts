// The Node benchmark (bench/node/run.ts) as one self-contained ES module, dist/bench-node/bench.mjs: our
// WGSL imported as text, onnxruntime-web's JS inlined (its wasm is loaded from a folder given at run time).
// Only the native addons stay imports: `webgpu` (dawn.node) and `onnxruntime-node`.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const native = ['webgpu', 'onnxruntime-node'];

export default defineConfig({
  resolve: {
    alias: {
      // The build that loads its wasm from ort.env.wasm.wasmPaths (the default one inlines it as base64).
      'onnxruntime-web/webgpu': resolve(
        import.meta.dirname,
        'node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs',
      ),
    },
  },
  ssr: { noExternal: true, external: native },
  build: {
    ssr: resolve(import.meta.dirname, 'bench/node/run.ts'),
    outDir: 'dist/bench-node',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    copyPublicDir: false,
    rollupOptions: {
      external: native,
      output: { entryFileNames: 'bench.mjs', codeSplitting: false },
    },
  },
});
