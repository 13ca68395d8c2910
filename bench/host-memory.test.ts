// Host memory a WebGPU session keeps for a base-size model (npm run bench:host-memory; not part of npm test):
// each model is filled from its skeleton, loaded, the model's bytes dropped, then planned once, with ArrayBuffer
// bytes measured after forced garbage collections. The GPU copies live in the GPU process in a browser (here,
// SwiftShader's memory counts in rss, not in ArrayBuffers).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, it } from 'vitest';
import { WebGpuBackend } from '../src/engine/webgpu/backend';
import { nodeGpu } from '../tests/engine/webgpu/gpu';
import { fillSkeleton } from './base-models';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mb = (n: number) => Math.round(n / 2 ** 20);

async function arrayBufferBytes(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage().arrayBuffers;
}

const MODELS: [string, Record<string, readonly number[]> | undefined][] = [
  ['vit-b16', { pixel_values: [1, 3, 224, 224] }],
  ['llama-q4', undefined],
  ['decoder-base', undefined],
];

const rows = [
  '| model | file MB | held after load MB | after the first plan MB |',
  '| --- | --- | --- | --- |',
];
afterAll(() => console.log(rows.join('\n')));

it.each(MODELS)(
  '%s',
  async (name, shapes) => {
    const backend = new WebGpuBackend({ gpu: nodeGpu() });
    const base = await arrayBufferBytes();
    let bytes: Uint8Array | undefined = fillSkeleton(
      new Uint8Array(readFileSync(`bench/models/${name}.skeleton.onnx`)),
    ).bytes;
    const file = bytes.length;
    const session = await backend.load(bytes, { label: name });
    bytes = undefined;
    const loaded = (await arrayBufferBytes()) - base;
    let planned = '—';
    if (shapes) {
      await session.prepare(
        Object.fromEntries(
          Object.entries(shapes).map(([k, dims]) => [k, { dtype: 'float32' as const, dims }]),
        ),
      );
      planned = String(mb((await arrayBufferBytes()) - base));
    }
    rows.push(`| ${name} | ${mb(file)} | ${mb(loaded)} | ${planned} |`);
    await session.release();
    (await backend.engineDevice()).device.destroy();
  },
  900_000,
);
