// The committed generative VLMs (llava-tiny, blip2-tiny) on our engine, through the model loader and the ask
// pipeline: every chat turn of models/train/verify_llava.py's reference gives PyTorch's greedy tokens, later turns
// reusing the conversation's KV cache on the GPU. (tiny-vlm.test.ts checks the same references on onnxruntime-node.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendSelector } from '../../src/engine/select';
import { WebGpuBackend } from '../../src/engine/webgpu/backend';
import { openModelFolder } from '../../src/models/model-folder';
import { answer, type ChatMessage, type Conversation } from '../../src/pipelines/ask';
import { loadModel } from '../../src/pipelines/loaded-model';
import { Stopwatch } from '../../src/pipelines/timings';
import { nodeGpu } from '../engine/webgpu/gpu';
import { fakeServer } from '../support/fake-folder-server';
import { rgbaOf } from '../support/reference-values';

interface Reference {
  cases: {
    image: number;
    rgb_zlib_base64: string;
    turns: { question: string; expected_tokens: number[]; answer: string }[];
  }[];
}

const BASE = 'http://app.test/';
const models = ['llava-tiny', 'blip2-tiny'].filter((name) =>
  existsSync(`tests/models/${name}.reference.json`),
);

/** The folder's files by URL, served in 1 MiB chunks (the graphs are megabytes). */
function folderFetch(name: string): typeof fetch {
  const dir = `models/${name}/`;
  const files: Record<string, Uint8Array> = {};
  for (const sub of ['', 'onnx/'])
    for (const f of readdirSync(dir + sub, { withFileTypes: true }))
      if (f.isFile())
        files[`${BASE}${name}/${sub}${f.name}`] = new Uint8Array(readFileSync(dir + sub + f.name));
  return fakeServer(files, { chunkBytes: 2 ** 20 }).fetchFn;
}

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => {
  (await backend.engineDevice()).device.destroy();
});

describe.each(models)('%s on our engine = PyTorch', (name) => {
  const ref = JSON.parse(readFileSync(`tests/models/${name}.reference.json`, 'utf8')) as Reference;
  const eos = JSON.parse(readFileSync(`models/${name}/generation_config.json`, 'utf8'))
    .eos_token_id as number;

  it('greedy answers of every chat turn, later turns on the cached conversation', async () => {
    const folder = await openModelFolder(`/${name}`, {
      baseUrl: BASE,
      cache: null,
      fetch: folderFetch(name),
    });
    const selector = new BackendSelector({ name: 'webgpu', reason: 'test' }, false, async () => backend);
    const model = await loadModel(folder, selector, {});
    try {
      for (const c of ref.cases) {
        const rgb = [...inflateSync(Buffer.from(c.rgb_zlib_base64, 'base64'))];
        const side = Math.sqrt(rgb.length / 3);
        const image = rgbaOf({ width: side, height: side, rgb });
        const messages: ChatMessage[] = [];
        let conversation: Conversation | undefined;
        for (const [k, turn] of c.turns.entries()) {
          messages.push({ role: 'user', content: turn.question });
          const got = await answer(model, image, messages, conversation, { maxTokens: 40 }, new Stopwatch());
          const ended = turn.expected_tokens.at(-1) === eos;
          const where = `image ${c.image}, turn ${k}: ${turn.question}`;
          expect(got.result.tokenIds, where).toEqual(turn.expected_tokens.slice(0, ended ? -1 : undefined));
          expect(got.result.stop, where).toBe(ended ? 'eos' : 'length');
          expect(got.result.text, where).toBe(turn.answer);
          if (k > 0) expect(got.result.reusedTokens, where).toBeGreaterThan(0);
          conversation = got.conversation;
          messages.push({ role: 'assistant', content: got.result.text });
        }
        conversation?.release();
      }
    } finally {
      await model.release();
    }
  }, 120_000);
});
