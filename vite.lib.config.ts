// Library build of the package entry (src/index.ts) → dist/lib/webvl.js (+ the runtime worker chunk), and
// its declarations → dist/types/index.d.ts, matching package.json's `exports`.
// Run: npx vite build -c vite.lib.config.ts
import { resolve } from 'node:path';
import ts from 'typescript';
import { defineConfig, type Plugin } from 'vite';

/** Emits .d.ts files for the public entry with the project's compiler options. */
function declarations(): Plugin {
  return {
    name: 'webvl-declarations',
    apply: 'build',
    closeBundle() {
      const configPath = resolve(import.meta.dirname, 'tsconfig.json');
      const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
      const parsed = ts.parseJsonConfigFileContent(config, ts.sys, import.meta.dirname);
      const program = ts.createProgram([resolve(import.meta.dirname, 'src/index.ts')], {
        ...parsed.options,
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
        rootDir: resolve(import.meta.dirname, 'src'),
        declarationDir: resolve(import.meta.dirname, 'dist/types'),
      });
      const result = program.emit();
      const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
      if (errors.length) {
        throw new Error(
          ts.formatDiagnosticsWithColorAndContext(errors, ts.createCompilerHost(parsed.options)),
        );
      }
    },
  };
}

// Dependencies stay imports (in the worker chunk too) for the consumer's bundler to resolve; inlining them
// would put onnxruntime-web's wasm into the worker as base64.
const external = ['comlink', 'onnxruntime-web', 'onnxruntime-web/webgpu', '@huggingface/tokenizers'];

export default defineConfig({
  plugins: [declarations()],
  worker: { format: 'es', rollupOptions: { external } },
  build: {
    target: 'es2022',
    outDir: 'dist/lib',
    emptyOutDir: true,
    copyPublicDir: false,
    lib: {
      entry: resolve(import.meta.dirname, 'src/index.ts'),
      formats: ['es'],
      fileName: () => 'webvl.js',
    },
    rollupOptions: { external },
  },
});
