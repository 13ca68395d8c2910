// One way to start the Vite dev server for browser tests, conformance and benchmarks.
import { createServer, type ViteDevServer } from 'vite';

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
