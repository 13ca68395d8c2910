// The published library, in two Vite builds (scripts/build-lib.ts runs both; `npm run build`):
//   main:   src/index.ts → dist/lib/webvl.js, the page-side client (Comlink bundled in);
//   worker: src/worker/runtime.worker.ts → dist/lib/webvl.worker.js, self-contained (Comlink, onnxruntime-web,
//           the tokenizers and our engine inlined, no imports), so it loads as a plain file from any bundler.
// webvl.js starts the worker with `new URL('./webvl.worker.js', import.meta.url)` and points onnxruntime-web at
// `new URL('./ort-wasm-simd-threaded.asyncify.wasm', import.meta.url)`, copied next to it; an app's bundler sees
// both expressions, emits the files and rewrites the URLs.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { InlineConfig, Plugin } from 'vite';
import { ortSelfReferencesHidden } from './scripts/vite-plugin-ort.ts';
import { ORT_WASM_FILE } from './src/engine/ort/ort-wasm-file.ts';

const root = import.meta.dirname;
export const LIB_DIR = resolve(root, 'dist/lib');
export const WORKER_FILE = 'webvl.worker.js';

/** The page-side client gets worker-start.lib.ts instead of worker-start.ts (which points at the TS source). */
function libWorkerStart(): Plugin {
  const source = resolve(root, 'src/api/worker-start.ts');
  const replacement = resolve(root, 'src/api/worker-start.lib.ts');
  const placeholders: Record<string, string> = {
    __WEBVL_WORKER_URL__: `new URL('./${WORKER_FILE}', import.meta.url)`,
    __WEBVL_ORT_WASM_URL__: `new URL('./${ORT_WASM_FILE}', import.meta.url)`,
  };
  return {
    name: 'webvl-lib-worker-start',
    enforce: 'pre',
    async resolveId(id, importer, options) {
      const resolved = await this.resolve(id, importer, { ...options, skipSelf: true });
      return resolved?.id === source ? replacement : null;
    },
    // After bundling, so that this build's own asset handling never sees the URLs: they are for the app's.
    renderChunk(code) {
      let out = code;
      for (const [name, expr] of Object.entries(placeholders)) out = out.replaceAll(name, expr);
      return out === code ? null : { code: out, map: null };
    },
  };
}

/** The licence texts of the npm packages bundled into a build, as one asset next to it (their licences ask for it). */
function bundledLicences(fileName: string): Plugin {
  return {
    name: 'webvl-bundled-licences',
    generateBundle() {
      const marker = `${sep}node_modules${sep}`;
      const packageDirs = new Set<string>();
      for (const id of this.getModuleIds()) {
        const at = id.lastIndexOf(marker);
        if (at < 0) continue;
        const [scopeOrName, name] = id.slice(at + marker.length).split(sep);
        packageDirs.add(
          join(
            id.slice(0, at + marker.length),
            scopeOrName.startsWith('@') ? join(scopeOrName, name) : scopeOrName,
          ),
        );
      }
      const sections = [...packageDirs].sort().map((dir) => {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name: string;
          version: string;
          license?: string;
        };
        const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
        const text = file
          ? readFileSync(join(dir, file), 'utf8').trim()
          : `License: ${pkg.license ?? 'see package'}`;
        return `${pkg.name}@${pkg.version}\n\n${text}`;
      });
      this.emitFile({
        type: 'asset',
        fileName,
        source: `Third-party packages bundled into this build:\n\n${sections.join(`\n\n${'-'.repeat(78)}\n\n`)}\n`,
      });
    },
  };
}

const common: InlineConfig = {
  configFile: false,
  root,
  logLevel: 'warn',
  publicDir: false,
  build: { target: 'es2022', outDir: LIB_DIR, copyPublicDir: false, sourcemap: false },
};

export const libMainConfig: InlineConfig = {
  ...common,
  plugins: [libWorkerStart(), bundledLicences('webvl.licenses.txt')],
  build: {
    ...common.build,
    emptyOutDir: true,
    lib: { entry: resolve(root, 'src/index.ts'), formats: ['es'], fileName: () => 'webvl.js' },
  },
};

export const libWorkerConfig: InlineConfig = {
  ...common,
  plugins: [ortSelfReferencesHidden(), bundledLicences('webvl.worker.licenses.txt')],
  build: {
    ...common.build,
    emptyOutDir: false,
    lib: {
      entry: resolve(root, 'src/worker/runtime.worker.ts'),
      formats: ['es'],
      fileName: () => WORKER_FILE,
    },
    rolldownOptions: { output: { codeSplitting: false } },
  },
};
