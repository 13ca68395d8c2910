// Asking about an image with an LFM2-VL folder on our engine, through the loader and the ask pipeline: a
// random-weight folder in transformers.js' layout (scripts/make_lfm2vl_random.py). Its processor resizes a small
// image to one piece and tiles a large one (three tiles and a thumbnail), each piece a patch grid of its own size
// that the SigLIP2 NaFlex tower takes with its spatial shape; its language model is LFM2's hybrid: convolution
// layers whose state (past_conv.N) goes from step to step beside an attention layer's KV cache. Checked against
// PyTorch (the processor's geometry and pixels, each piece's features, the prompt ids, greedy answers of a
// two-turn chat and of a question about the tiled image) and against transformers.js' own
// Lfm2VlForConditionalGeneration on the same folder.
import { readFileSync } from 'node:fs';
import { env, Lfm2VlForConditionalGeneration, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { hostTensor, toHostFloats } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import { answer, type ChatMessage, imageLayout, promptPositions, vlmOf } from '../../../src/pipelines/ask';
import { disposeTensor } from '../../../src/pipelines/encode';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { lfm2Pieces } from '../../../src/vision/lfm2-tiles';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { liveBuffersOverRounds } from '../../support/live-buffers';
import { nodeGpu } from './gpu';

const NAME = 'lfm2vl-random';
const DISK = `tests/corpus/${NAME}/`;
const FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'chat_template.jinja',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/decoder_model_merged.onnx',
];
interface Floats {
  dims: number[];
  data: number[];
}
interface TestImage {
  width: number;
  height: number;
  rgba: number[];
  resized: number[];
  split: boolean;
  grid_width: number;
  grid_height: number;
  image_tokens: number;
  tiles: { spatial_shape: number[]; pixel_values: Floats; image_features: Floats }[];
}
const ref = JSON.parse(readFileSync(`${DISK}reference.json`, 'utf8')) as {
  images: { small: TestImage; large: TestImage };
  chat: { questions: string[]; texts: string[]; prompt_ids: number[][]; answers: number[][] };
  large: { question: string; prompt_ids: number[]; answer: number[] };
};
const imageOf = (t: TestImage) => ({ width: t.width, height: t.height, data: Uint8Array.from(t.rgba) });
const small = imageOf(ref.images.small);
const large = imageOf(ref.images.large);

const backend = new WebGpuBackend({ gpu: nodeGpu() });
let model: LoadedModel;
beforeAll(async () => {
  model = await loadCorpusFolder(backend, DISK, FILES);
}, 60_000);
afterAll(async () => {
  await model?.release();
  (await backend.engineDevice()).device.destroy();
});

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
/** PyTorch's prompt ids with each run of image tokens as the pipeline marks it (-1 − run). */
function marked(ids: readonly number[], imageTokenId: number): number[] {
  let run = -1;
  return ids.map((id, i) => {
    if (id !== imageTokenId) return id;
    if (ids[i - 1] !== imageTokenId) run++;
    return -1 - run;
  });
}

describe('an LFM2-VL folder loads as it is', () => {
  it('as the llava family: LFM2-VL tiles, a hybrid decoder with convolution states', () => {
    expect(model.kind).toBe('llava');
    const { spec, decoder } = vlmOf(model);
    expect(spec.lfm2).toMatchObject({
      imageText: '<image>',
      start: '<|image_start|>',
      thumbnail: '<|img_thumbnail|>',
    });
    expect([...(decoder.states?.keys() ?? [])]).toEqual(['past_conv.0', 'past_conv.2']);
    expect(decoder.session.inputNames).toContain('num_logits_to_keep');
  });

  it("the processor's geometry and pixels are transformers' (antialiased bilinear, one 8-bit level apart)", () => {
    const { spec } = vlmOf(model);
    for (const t of [ref.images.small, ref.images.large]) {
      const { geometry, piece } = lfm2Pieces(imageOf(t), spec.lfm2!.plan);
      expect(geometry.resized).toEqual(t.resized);
      expect([geometry.cols, geometry.rows]).toEqual(t.split ? [t.grid_width, t.grid_height] : [0, 0]);
      expect(geometry.pieces.length).toBe(t.tiles.length);
      for (const [k, tile] of t.tiles.entries()) {
        const { patches, rows, cols } = piece(k);
        expect([rows, cols]).toEqual(tile.spatial_shape);
        let worst = 0;
        for (let i = 0; i < patches.length; i++)
          worst = Math.max(worst, Math.abs(patches[i] - tile.pixel_values.data[i]));
        expect(worst).toBeLessThanOrEqual(1 / 255 / 0.5 + 1e-6);
      }
    }
  });

  it("each piece's features on our engine equal PyTorch's (on PyTorch's pixels), each attention fused", async () => {
    const vision = vlmOf(model).visionEncoder;
    for (const tile of [...ref.images.small.tiles, ...ref.images.large.tiles]) {
      const [n, size] = tile.pixel_values.dims;
      const out = await vision.run({
        pixel_values: hostTensor('float32', [1, n, size], Float32Array.from(tile.pixel_values.data)),
        pixel_attention_mask: hostTensor('int64', [1, n], new Array(n).fill(1)),
        spatial_shapes: hostTensor('int64', [1, 2], tile.spatial_shape),
      });
      const got = await toHostFloats(out.image_features);
      disposeTensor(out.image_features);
      expect(got.dims).toEqual(tile.image_features.dims);
      expect(relativeDiff(got.data as Float32Array, tile.image_features.data)).toBeLessThan(1e-4);
    }
    expect((vision as WebGpuSession).describePlan()?.opCounts['webvl:Attention']).toBe(2);
  });
});

describe('ask and chat about an image on our engine', () => {
  it("the prompt: Lfm2VlProcessor's expansion, PyTorch's ids (tiles labelled as transformers labels them)", () => {
    const { spec } = vlmOf(model);
    const [q1] = ref.chat.questions;
    expect(promptPositions(model, spec, [user(q1)], [imageLayout(spec, small)])).toEqual(
      marked(ref.chat.prompt_ids[0], spec.imageTokenId),
    );
    expect(promptPositions(model, spec, [user(ref.large.question)], [imageLayout(spec, large)])).toEqual(
      marked(ref.large.prompt_ids, spec.imageTokenId),
    );
  });

  it("two turns about the small image: PyTorch's answers", async () => {
    const [q1, q2] = ref.chat.questions;
    const [a1, a2] = ref.chat.answers;
    const first = await answer(model, small, [user(q1)], undefined, { maxTokens: 8 }, new Stopwatch());
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.result).toMatchObject({ reusedTokens: 0, cacheOnDevice: true });
    const decoder = vlmOf(model).decoder.session as WebGpuSession;
    expect(decoder.describePlan()?.opCounts['webvl:Attention']).toBe(1);
    // Each step read back one token id: the convolution states stayed on the GPU with the KV cache.
    expect(decoder.lastRunStats()?.bytesRead).toBe(4);
    // The reply as PyTorch's conversation wrote it (its words; the random answer's special tokens left out).
    const reply = ref.chat.texts[1].split('<|im_start|>assistant\n')[1].split('<|im_end|>')[0];
    const turns = [user(q1), assistant(reply), user(q2)];
    const second = await answer(model, small, turns, first.conversation, { maxTokens: 8 }, new Stopwatch());
    expect(second.result.promptTokens).toBe(ref.chat.prompt_ids[1].length);
    expect(second.result.tokenIds).toEqual(a2);
    // That prompt does not go on from what was fed (the answer's tokens differ from the reply's): the states
    // cannot be cut back anywhere but to the checkpoint kept where the first turn's conversation ended (before
    // the opening of its answer), so the image is not fed again.
    const { spec } = vlmOf(model);
    const history = promptPositions(model, spec, [user(q1)], [imageLayout(spec, small)], false);
    expect(history.length).toBeLessThan(ref.chat.prompt_ids[0].length);
    expect(second.result.reusedTokens).toBe(history.length);
    second.conversation.release();
  });

  it('a turn that goes on from everything fed keeps the cache and the states: the same answer as afresh', async () => {
    const [q1, q2] = ref.chat.questions;
    // One token: nothing of the answer is fed yet, so the next prompt begins with all that was.
    const first = await answer(model, small, [user(q1)], undefined, { maxTokens: 1 }, new Stopwatch());
    const turns = [user(q1), assistant(first.result.text), user(q2)];
    const kept = await answer(model, small, turns, first.conversation, { maxTokens: 8 }, new Stopwatch());
    expect(kept.result.reusedTokens).toBe(ref.chat.prompt_ids[0].length);
    const fresh = await answer(model, small, turns, undefined, { maxTokens: 8 }, new Stopwatch());
    expect(fresh.result.reusedTokens).toBe(0);
    expect(kept.result.tokenIds).toEqual(fresh.result.tokenIds);
    kept.conversation.release();
    fresh.conversation.release();
  });

  it('a question about the large image (three tiles and a thumbnail): PyTorch’s answer', async () => {
    const got = await answer(
      model,
      large,
      [user(ref.large.question)],
      undefined,
      { maxTokens: 8 },
      new Stopwatch(),
    );
    expect(got.result.promptTokens).toBe(ref.large.prompt_ids.length);
    expect(got.result.tokenIds).toEqual(ref.large.answer);
    expect(got.conversation.features.length).toBe(4);
    got.conversation.release();
  });

  it('a chat that does not go on from the fed tokens starts over (states cannot be rewound)', async () => {
    const [q1, q2] = ref.chat.questions;
    const first = await answer(model, small, [user(q1)], undefined, { maxTokens: 3 }, new Stopwatch());
    // Another first question about the same image: the cache would be cut back, which a state cannot be.
    const other = await answer(
      model,
      small,
      [user(q2)],
      first.conversation,
      { maxTokens: 3 },
      new Stopwatch(),
    );
    expect(other.result.reusedTokens).toBe(0);
    const fresh = await answer(model, small, [user(q2)], undefined, { maxTokens: 3 }, new Stopwatch());
    expect(other.result.tokenIds).toEqual(fresh.result.tokenIds);
    other.conversation.release();
    fresh.conversation.release();
  });
});

describe('LFM2-VL requests leave nothing behind', () => {
  it('GPU buffers stay flat over chats about both images', { timeout: 120_000 }, async () => {
    const round = async () => {
      const a = await answer(model, small, [user('w1')], undefined, { maxTokens: 3 }, new Stopwatch());
      const b = await answer(model, large, [user('w2')], a.conversation, { maxTokens: 3 }, new Stopwatch());
      a.conversation.release();
      b.conversation.release();
    };
    const { warm, after } = await liveBuffersOverRounds((await backend.engineDevice()).device, round);
    expect(after).toBe(warm);
  });
});

describe("transformers.js' Lfm2VlForConditionalGeneration on the same folder", () => {
  it('given our prompt ids and PyTorch’s pixels, it answers both turns and the large image as we do', async () => {
    env.localModelPath = 'tests/corpus/';
    env.allowRemoteModels = false;
    const theirs = await Lfm2VlForConditionalGeneration.from_pretrained(NAME, {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      const { spec } = vlmOf(model);
      const generate = async (image: TestImage, ids: number[]) => {
        const tiles = image.tiles;
        const widest = Math.max(...tiles.map((t) => t.pixel_values.dims[0]));
        const size = tiles[0].pixel_values.dims[1];
        // Padded to one length, as their processor pads, with the mask saying which patches are real.
        const pixels = new Float32Array(tiles.length * widest * size);
        const mask = new BigInt64Array(tiles.length * widest);
        for (const [k, t] of tiles.entries()) {
          pixels.set(t.pixel_values.data, k * widest * size);
          mask.fill(1n, k * widest, k * widest + t.pixel_values.dims[0]);
        }
        const out = (await theirs.generate({
          input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
          attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          pixel_values: new Tensor('float32', pixels, [tiles.length, widest, size]),
          pixel_attention_mask: new Tensor('int64', mask, [tiles.length, widest]),
          spatial_shapes: new Tensor(
            'int64',
            BigInt64Array.from(tiles.flatMap((t) => t.spatial_shape.map(BigInt))),
            [tiles.length, 2],
          ),
          max_new_tokens: 8,
          do_sample: false,
        })) as Tensor;
        const want = Array.from(out.data as BigInt64Array, Number).slice(ids.length);
        const end = want.findIndex((id) => spec.eosTokenIds.includes(id));
        return end < 0 ? want : want.slice(0, end);
      };
      const [q1, q2] = ref.chat.questions;
      const turn1 = await answer(model, small, [user(q1)], undefined, { maxTokens: 8 }, new Stopwatch());
      expect(turn1.result.tokenIds).toEqual(await generate(ref.images.small, ref.chat.prompt_ids[0]));
      const turns = [user(q1), assistant(turn1.result.text), user(q2)];
      const turn2 = await answer(model, small, turns, turn1.conversation, { maxTokens: 8 }, new Stopwatch());
      const ids2 = promptPositions(model, spec, turns, [imageLayout(spec, small)]).map((id) =>
        id < 0 ? spec.imageTokenId : id,
      );
      expect(turn2.result.tokenIds).toEqual(await generate(ref.images.small, ids2));
      turn2.conversation.release();
      const big = await answer(
        model,
        large,
        [user(ref.large.question)],
        undefined,
        { maxTokens: 8 },
        new Stopwatch(),
      );
      expect(big.result.tokenIds).toEqual(await generate(ref.images.large, ref.large.prompt_ids));
      big.conversation.release();
    } finally {
      await theirs.dispose();
    }
  });
});
