// The public runtime API in Node: the page-side facade (connectRuntime) talks over a real MessageChannel, so
// every argument is structured-cloned as it would be to a worker, to the worker API served on the other
// port in this process. Models come from the repository's models/ and tests/corpus/ folders over a local HTTP
// server; onnxruntime-web runs on wasm; IndexedDB is fake-indexeddb. Images must be RGBA pixel objects (Node
// cannot decode files).
import 'fake-indexeddb/auto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import * as Comlink from 'comlink';
import { connectRuntime, type Runtime } from '../../src/api/runtime';
import type { RuntimeOptions } from '../../src/api/types';
import { createWorkerApi } from '../../src/worker/worker-api';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface ModelServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** Serves `body` at `path` instead of the file on disk; under /hostile/<name>/ the rest is clip-tiny's. */
  override(path: string, body: Uint8Array | string): void;
  close(): Promise<void>;
}

/** Serves the repository's files read-only (GET only, paths inside the repository). */
export async function startModelServer(): Promise<ModelServer> {
  const overrides = new Map<string, Uint8Array | string>();
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const body = overrides.get(path);
    // /hostile/<name>/<file> serves clip-tiny's <file> unless overridden: a model folder with one lie in it.
    const real = path.replace(/^\/hostile\/[^/]+\//, '/models/clip-tiny/');
    const file = normalize(join(ROOT, real));
    const type = extname(path) === '.json' ? 'application/json' : 'application/octet-stream';
    if (body !== undefined) {
      res.writeHead(200, { 'content-type': type }).end(body);
      return;
    }
    const served = real.startsWith('/models/') || real.startsWith('/tests/corpus/');
    if (!file.startsWith(ROOT) || !served) {
      res.writeHead(404).end();
      return;
    }
    // Read first: a missing file (a folder's optional files are asked for) is a 404, not a broken 200.
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': type }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    override: (path, body) => overrides.set(path, body),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A runtime whose "worker" is a MessageChannel port in this process. Defaults: wasm, index on the CPU. */
export async function inProcessRuntime(server: ModelServer, options: RuntimeOptions = {}): Promise<Runtime> {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(createWorkerApi(), port1);
  const endpoint = Object.assign(port2, {
    terminate() {
      port1.close();
      port2.close();
    },
  });
  return connectRuntime(endpoint, {
    backend: 'wasm',
    indexOnGpu: false,
    allowedOrigins: [server.origin],
    ...options,
  });
}
