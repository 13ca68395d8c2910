// Host memory a WebGPU session keeps for a base-size model (npm run bench:host-memory; not part of npm test):
// each model is filled from its skeleton, loaded, the model's bytes dropped, then planned once, with ArrayBuffer
// bytes measured after forced garbage collections. Writes bench/results/<date>-node-host-memory.{json,md}
// (WEBVL_HOST_MEMORY_OUT: another path, without extension; WEBVL_HOST_MEMORY_LABEL: what the run measured). The GPU copies live in the GPU process in a browser (here,
// SwiftShader's memory counts in rss, not in ArrayBuffers).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

interface Row {
  readonly model: string;
  readonly fileMB: number;
  readonly heldAfterLoadMB: number;
  readonly afterFirstPlanMB: number | null;
}
const rows: Row[] = [];

afterAll(() => {
  const label = process.env.WEBVL_HOST_MEMORY_LABEL ?? 'this checkout';
  const out =
    process.env.WEBVL_HOST_MEMORY_OUT ??
    `bench/results/${new Date().toISOString().slice(0, 10)}-node-host-memory`;
  const md = [
    `# Host memory a session keeps (${label})`,
    '',
    'ArrayBuffer bytes after load with the model bytes dropped, and after the first plan (Node, Dawn on SwiftShader).',
    '',
    '| model | file MB | held after load MB | after the first plan MB |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.model} | ${r.fileMB} | ${r.heldAfterLoadMB} | ${r.afterFirstPlanMB ?? '—'} |`),
    '',
  ].join('\n');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify({ label, node: process.version, rows }, null, 2)}\n`);
  writeFileSync(`${out}.md`, md);
  console.log(md);
});

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
    let planned: number | null = null;
    if (shapes) {
      await session.prepare(
        Object.fromEntries(
          Object.entries(shapes).map(([k, dims]) => [k, { dtype: 'float32' as const, dims }]),
        ),
      );
      planned = mb((await arrayBufferBytes()) - base);
    }
    rows.push({ model: name, fileMB: mb(file), heldAfterLoadMB: mb(loaded), afterFirstPlanMB: planned });
    await session.release();
    (await backend.engineDevice()).device.destroy();
  },
  900_000,
);
