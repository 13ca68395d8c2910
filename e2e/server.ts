// The servers browser tests, conformance and benchmarks run against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, createServer, type PreviewServer, preview, type ViteDevServer } from 'vite';

export interface DevServer {
  url: string;
  close(): Promise<void>;
}

export async function startDevServer(): Promise<DevServer> {
  const server: ViteDevServer = await createServer({
    configFile: 'vite.config.ts',
    // No HMR and no file watching: a test or benchmark page must never be reloaded under it.
    server: { port: 0, host: '127.0.0.1', hmr: false, watch: null },
    logLevel: 'warn',
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite server has no port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

/** The demo as `npm run demo` serves it: `vite build` into a temporary folder, then `vite preview` (strict CSP). */
export async function startBuiltDemo(): Promise<DevServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'webvl-demo-'));
  await build({ configFile: 'vite.config.ts', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('preview server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    async close() {
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
