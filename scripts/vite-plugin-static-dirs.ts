// Serves folders outside public/ under fixed URL prefixes (dev and preview) and copies them into the build,
// so ORT's wasm and our model folders come from our own origin, never a CDN.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';

export interface StaticDir {
  /** URL prefix, e.g. '/ort/'. */
  prefix: string;
  /** Folder on disk. */
  dir: string;
  /** Skip files whose path (relative to dir) matches. */
  exclude?: RegExp;
  /** Serve in dev only; never copied into the build (test data). */
  devOnly?: boolean;
}

const MIME: Record<string, string> = {
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.jsonl': 'application/jsonl',
};

function middleware(dirs: StaticDir[]): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    const hit = dirs.find((d) => url.startsWith(d.prefix));
    if (!hit) return next();
    const rel = normalize(url.slice(hit.prefix.length));
    if (rel.startsWith('..') || hit.exclude?.test(rel)) return next();
    const file = join(hit.dir, rel);
    if (!existsSync(file) || !statSync(file).isFile()) {
      // A miss under our prefix is a real 404, not Vite's index.html fallback.
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    // Workers started from these files (ORT's wasm threads) must be cross-origin isolated themselves.
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    createReadStream(file).pipe(res);
  };
}

export function staticDirs(dirs: StaticDir[]): Plugin {
  let outDir = 'dist';
  return {
    name: 'webvl-static-dirs',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(middleware(dirs));
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware(dirs.filter((d) => !d.devOnly)));
    },
    async writeBundle() {
      for (const d of dirs.filter((x) => !x.devOnly)) {
        await cp(d.dir, join(outDir, d.prefix), {
          recursive: true,
          filter: (src) => {
            const rel = src.slice(d.dir.length + 1);
            return rel === '' || !d.exclude?.test(rel); // '' is the folder itself
          },
        });
      }
    },
  };
}
