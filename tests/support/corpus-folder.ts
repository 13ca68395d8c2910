// A test-corpus folder on disk (tests/corpus/<name>/) served by a fake HTTP server and loaded through the model
// loader onto one backend, with no fallback: what the engine tests of a family's pipeline start from.
import { readFileSync } from 'node:fs';
import type { Backend } from '../../src/engine/backend';
import { BackendSelector } from '../../src/engine/select';
import { openModelFolder } from '../../src/models/model-folder';
import { type LoadedModel, loadModel } from '../../src/pipelines/loaded-model';
import { fakeServer } from './fake-folder-server';

const BASE = 'http://app.test/';

export interface CorpusFolderOptions {
  /** Files added or replaced, by path in the folder, as text. */
  readonly extra?: Readonly<Record<string, string>>;
  /** 'fp16': every graph read is its *_fp16.onnx, and the loader is asked for that dtype. */
  readonly dtype?: 'fp16';
  /** Every URL the loader asked for, in order. */
  readonly requests?: string[];
}

/** `files` of the folder `disk` (paths relative to it) through the loader, on `backend`. */
export async function loadCorpusFolder(
  backend: Backend,
  disk: string,
  files: readonly string[],
  { extra = {}, dtype, requests }: CorpusFolderOptions = {},
): Promise<LoadedModel> {
  const variant = (f: string) => (dtype ? f.replace('.onnx', `_${dtype}.onnx`) : f);
  const served = Object.fromEntries([
    ...files.map((f) => [`${BASE}m/${variant(f)}`, new Uint8Array(readFileSync(disk + variant(f)))]),
    ...Object.entries(extra).map(([f, text]) => [`${BASE}m/${f}`, new TextEncoder().encode(text)]),
  ]);
  const server = fakeServer(served);
  const folder = await openModelFolder('/m', {
    baseUrl: BASE,
    cache: null,
    fetch: async (input, init) => {
      requests?.push(String(input));
      return server.fetchFn(input, init);
    },
  });
  const selector = new BackendSelector({ name: 'webgpu', reason: 'test' }, false, async () => backend);
  return loadModel(folder, selector, dtype ? { dtype } : {});
}
