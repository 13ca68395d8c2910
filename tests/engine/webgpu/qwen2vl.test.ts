// Asking about an image with a Qwen2-VL folder on our engine, through the loader and the ask pipeline: a
// random-weight folder in transformers.js' layout (scripts/make_qwen2vl_random.py) whose processor resizes the
// image to a patch grid of its own (smart_resize) and whose language model takes 3-D positions (M-RoPE). Checked
// against PyTorch (smart_resize's sizes, the patches Pillow made, the image features at two grids, the prompt ids
// and positions, the greedy answers of a two-turn chat) and against transformers.js' own Qwen2VLProcessor and
// Qwen2VLForConditionalGeneration on the same folder.
import { existsSync, readFileSync } from 'node:fs';
import {
  AutoProcessor,
  env,
  Qwen2_5_VLForConditionalGeneration,
  Qwen2VLForConditionalGeneration,
  Qwen3_5ForConditionalGeneration,
  Qwen3VLForConditionalGeneration,
  Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { hostTensor, toHostFloats } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import {
  answer,
  type ChatMessage,
  type Conversation,
  chatCapabilities,
  imageLayout,
  mropePositions,
  promptPositions,
  vlmOf,
} from '../../../src/pipelines/ask';
import { disposeTensor } from '../../../src/pipelines/encode';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { imagePatches, smartResize } from '../../../src/vision/image-patches';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { liveBuffersOverRounds } from '../../support/live-buffers';
import { cropRgba, rgbRawImage } from '../../support/rgba';
import { nodeGpu } from './gpu';

const NAME = 'qwen2vl-random';
const DISK = `tests/corpus/${NAME}/`;
const FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'chat_template.json',
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
const ref = JSON.parse(readFileSync(`${DISK}reference.json`, 'utf8')) as {
  image: { width: number; height: number; rgba: number[] };
  pixel_values: Floats;
  grid_thw: number[];
  image_features: Floats;
  crop: { grid_thw: number[]; pixel_values: number[]; image_features: Floats };
  questions: string[];
  prompt_ids: number[][];
  position_ids: number[][];
  rope_delta: number;
  answers: number[][];
  smart_resize: number[][];
  max_pixels_256: { grid_thw: number[]; prompt_ids: number[]; answer: number[] };
  two_images: { prompt_ids: number[]; position_ids: number[][]; answer: number[] };
  system: { text: string; prompt_ids: number[]; answer: number[] };
  repetition_penalty: { penalty: number; prompt_ids: number[][]; answers: number[][] };
};
const image = { width: ref.image.width, height: ref.image.height, data: Uint8Array.from(ref.image.rgba) };
/** The reference's crop: the image's first 24 rows and 40 columns. */
const crop = cropRgba(image, 40, 24);

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
const words = (ids: number[]) => model.tokenizer.decode(ids);
/** PyTorch's prompt ids with the image tokens as the pipeline marks them (-1: the one run). */
const marked = (ids: number[], imageTokenId: number) => ids.map((id) => (id === imageTokenId ? -1 : id));

type QwenRef = typeof ref;
/** The test image of a corpus's reference. */
const imageOf = (r: QwenRef) => ({
  width: r.image.width,
  height: r.image.height,
  data: Uint8Array.from(r.image.rgba),
});

/** The vision encoder on our engine, at the reference's two grids: PyTorch's features, each attention fused. */
async function visionMatchesPyTorch(m: LoadedModel, r: QwenRef, gridInput: string): Promise<void> {
  const vision = vlmOf(m).visionEncoder;
  const cases = [
    [r.pixel_values.data, r.grid_thw, r.image_features],
    [r.crop.pixel_values, r.crop.grid_thw, r.crop.image_features],
  ] as const;
  for (const [pixels, grid, want] of cases) {
    const rows = grid[0] * grid[1] * grid[2];
    const out = await vision.run({
      pixel_values: hostTensor('float32', [rows, pixels.length / rows], Float32Array.from(pixels)),
      [gridInput]: hostTensor('int64', [1, 3], grid),
    });
    const got = await toHostFloats(out.image_features);
    disposeTensor(out.image_features);
    expect(got.dims).toEqual(want.dims);
    expect(relativeDiff(got.data as Float32Array, want.data)).toBeLessThan(1e-4);
    // Each block's attention over the patches ([heads, patches, size], no batch axis) is one fused dispatch.
    const { opCounts } = (vision as WebGpuSession).describePlan()!;
    expect(opCounts['webvl:Attention']).toBe(2);
    expect(opCounts.Softmax).toBeUndefined();
    // q, k and v are split from the fused projection by strided copies (no transposed copy first), and the
    // patch embedding is one matmul over the rows as they lie.
    expect(opCounts.Transpose).toBeUndefined();
    expect(opCounts.Split).toBeUndefined();
  }
}

/**
 * A two-turn chat on our engine: PyTorch's greedy tokens, the second turn on the first turn's cache. `penalty`:
 * under the reference's repetition penalty (given per call), its answers.
 */
async function chatMatchesPyTorch(m: LoadedModel, r: QwenRef, penalty?: 'penalty'): Promise<void> {
  const [q1, q2] = r.questions;
  const [a1, a2] = penalty ? r.repetition_penalty.answers : r.answers;
  const options = penalty ? { repetitionPenalty: r.repetition_penalty.penalty } : {};
  const picture = imageOf(r);
  const first = await answer(
    m,
    picture,
    [user(q1)],
    undefined,
    { maxTokens: a1.length, ...options },
    new Stopwatch(),
  );
  expect(first.result.tokenIds).toEqual(a1);
  expect(first.result).toMatchObject({ reusedTokens: 0, cacheOnDevice: true });
  // One fused attention per decoder layer, reading the KV cache in place; the penalty before the head.
  const decoder = vlmOf(m).decoder.session as WebGpuSession;
  expect(decoder.describePlan()?.opCounts['webvl:Attention']).toBe(2);
  expect(decoder.describePlan()?.opCounts['webvl:RepetitionPenalty']).toBe(1);
  expect(first.result.promptTokens).toBe(r.prompt_ids[0].length);
  const turns = [user(q1), assistant(first.result.text), user(q2)];
  const second = await answer(
    m,
    picture,
    turns,
    first.conversation,
    { maxTokens: a2.length, ...options },
    new Stopwatch(),
  );
  expect(second.result.tokenIds).toEqual(a2);
  if (vlmOf(m).decoder.states?.size) {
    // A hybrid decoder (Qwen3.5) goes back to the checkpoint where the first turn's conversation ended: its
    // template writes the answer without the empty think block the generation prompt opened.
    const history = promptPositions(
      m,
      vlmOf(m).spec,
      [user(q1)],
      [imageLayout(vlmOf(m).spec, picture)],
      false,
    );
    expect(second.result.reusedTokens).toBe(history.length);
  } else expect(second.result.reusedTokens).toBeGreaterThan(r.prompt_ids[0].length);
  if (penalty) expect(second.result.promptTokens).toBe(r.repetition_penalty.prompt_ids[1].length);
  // Each step read back one token id: the penalty ran on the GPU.
  expect(decoder.lastRunStats()?.bytesRead).toBe(4);
  second.conversation.release();
}

/** transformers.js' own processor on the same folder renders and expands a two-turn chat to our prompt ids. */
async function theirProcessorWritesOurIds(name: string, m: LoadedModel, r: QwenRef): Promise<void> {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;
  const processor = await AutoProcessor.from_pretrained(name);
  const { spec } = vlmOf(m);
  const picture = imageOf(r);
  const chat = [
    { role: 'user', content: [{ type: 'image' }, { type: 'text', text: r.questions[0] }] },
    { role: 'assistant', content: [{ type: 'text', text: m.tokenizer.decode(r.answers[0]) }] },
    { role: 'user', content: [{ type: 'text', text: r.questions[1] }] },
  ];
  // A folder with chat_template.jinja (Qwen3.5's) has the same template in tokenizer_config.json, which
  // transformers.js reads.
  const json = `tests/corpus/${name}/chat_template.json`;
  const template = existsSync(json)
    ? (JSON.parse(readFileSync(json, 'utf8')) as { chat_template: string }).chat_template
    : undefined;
  const text = processor.apply_chat_template(chat, {
    add_generation_prompt: true,
    ...(template ? { chat_template: template } : {}),
  });
  const inputs = await processor(text, rgbRawImage(picture));
  const theirs = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  const ours = promptPositions(
    m,
    spec,
    [user(r.questions[0]), assistant(m.tokenizer.decode(r.answers[0])), user(r.questions[1])],
    [imageLayout(spec, picture)],
  );
  expect(ours).toEqual(marked(theirs, spec.imageTokenId));
  expect(ours.length).toBe(r.prompt_ids[1].length);
  expect(Array.from(inputs.image_grid_thw.data as BigInt64Array, Number)).toEqual(r.grid_thw);
  expect(inputs.pixel_values.dims).toEqual(r.pixel_values.dims);
}

/** transformers.js' own model class on the same folder, given the same patches and ids, answers as we do. */
async function theirModelAnswersAsWeDo(
  cls: typeof Qwen2VLForConditionalGeneration,
  name: string,
  m: LoadedModel,
  r: QwenRef,
  /** A repetition penalty given to both. */
  penalty?: number,
): Promise<void> {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;
  const theirs = await cls.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
  try {
    const { spec } = vlmOf(m);
    const picture = imageOf(r);
    const layout = imageLayout(spec, picture);
    const pixels = new Tensor('float32', Float32Array.from(r.pixel_values.data), r.pixel_values.dims);
    const grid = new Tensor('int64', BigInt64Array.from(r.grid_thw.map(BigInt)), [1, 3]);
    let turns: ChatMessage[] = [];
    let conversation: Conversation | undefined;
    for (const question of r.questions) {
      turns = [...turns, user(question)];
      const ids = promptPositions(m, spec, turns, [layout]).map((id) =>
        BigInt(id < 0 ? spec.imageTokenId : id),
      );
      const generated = (await theirs.generate({
        input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]),
        attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
        pixel_values: pixels,
        image_grid_thw: grid,
        max_new_tokens: 8,
        do_sample: false,
        ...(penalty ? { repetition_penalty: penalty } : {}),
      })) as Tensor;
      const want = Array.from(generated.data as BigInt64Array, Number).slice(ids.length);
      const end = want.findIndex((id) => spec.eosTokenIds.includes(id));
      const options = { maxTokens: 8, ...(penalty ? { repetitionPenalty: penalty } : {}) };
      const got = await answer(m, picture, turns, conversation, options, new Stopwatch());
      expect(got.result.tokenIds, question).toEqual(end < 0 ? want : want.slice(0, end));
      conversation = got.conversation;
      turns = [...turns, assistant(got.result.text)];
    }
    conversation?.release();
  } finally {
    await theirs.dispose();
  }
}

describe('a Qwen2-VL folder loads as it is', () => {
  it('as the llava family: patches of a grid per image, 3-D positions, its chat template and end tokens', () => {
    const { spec } = vlmOf(model);
    expect(model.kind).toBe('llava');
    expect(chatCapabilities(model, vlmOf(model))).toEqual({
      systemMessage: true,
      turns: true,
      maxImages: 16,
    });
    expect(spec.patches).toMatchObject({
      gridInput: 'grid_thw',
      plan: { patch: 4, merge: 2, temporal: 2, minPixels: 256, maxPixels: 4096, resample: 'bicubic' },
    });
    expect(spec.mropeSection).toEqual([2, 3, 3]);
    expect(spec.kv).toEqual({ layers: 2, heads: 1, headDim: 16 });
    expect(spec.eosTokenIds).toEqual([3, 0]);
    expect(spec.maxPositions).toBe(256);
  });

  it("smart_resize gives transformers' sizes (Python's rounding: 36 × 60 goes to 32 × 56)", () => {
    const { plan } = vlmOf(model).spec.patches!;
    for (const [h, w, rh, rw] of ref.smart_resize)
      expect(smartResize(h, w, plan.patch * plan.merge, plan.minPixels, plan.maxPixels), `${h}×${w}`).toEqual(
        [rh, rw],
      );
  });

  it("the patches are Qwen2VLImageProcessor's (Pillow's bicubic), one 8-bit level apart at most", () => {
    const got = imagePatches(image, vlmOf(model).spec.patches!.plan);
    expect(got.grid).toEqual(ref.grid_thw);
    expect([got.pixels.length / ref.pixel_values.dims[1], ref.pixel_values.dims[1]]).toEqual(
      ref.pixel_values.dims,
    );
    let worst = 0;
    for (let i = 0; i < ref.pixel_values.data.length; i++)
      worst = Math.max(worst, Math.abs(got.pixels[i] - ref.pixel_values.data[i]));
    // One level is 1/255 over the smallest std.
    expect(worst).toBeLessThanOrEqual(1 / 255 / 0.26130258 + 1e-5);
  });

  it("the vision encoder's features on our engine equal PyTorch's, at two grids", () =>
    visionMatchesPyTorch(model, ref, 'grid_thw'));
});

describe('the prompt: ids and 3-D positions', () => {
  it('the chat renders, expands and tokenizes to the ids PyTorch was given, the image one run', () => {
    const { spec } = vlmOf(model);
    const layout = imageLayout(spec, image);
    expect(layout).toMatchObject({ runs: 1, tokensPerRun: 24, tokenGrid: [4, 6] });
    expect(promptPositions(model, spec, [user(ref.questions[0])], [layout])).toEqual(
      marked(ref.prompt_ids[0], spec.imageTokenId),
    );
    const second = [user(ref.questions[0]), assistant(words(ref.answers[0])), user(ref.questions[1])];
    expect(promptPositions(model, spec, second, [layout])).toEqual(
      marked(ref.prompt_ids[1], spec.imageTokenId),
    );
  });

  it("positions are get_rope_index's: text counts, the image takes its rows and columns, then the delta", () => {
    const ids = ref.prompt_ids[0];
    const start = ids.indexOf(vlmOf(model).spec.imageTokenId);
    const map = mropePositions([{ start, grid: [4, 6] }]);
    for (let i = 0; i < ids.length; i++)
      expect(map(i), `position ${i}`).toEqual([0, 1, 2].map((a) => ref.position_ids[a][i]));
    // Generated tokens go on from the last, shifted by the delta.
    expect(map(ids.length)).toEqual(new Array(3).fill(ids.length + ref.rope_delta));
  });
});

describe('ask and chat about an image on our engine', () => {
  it('two turns: answers equal PyTorch’s; the second reuses the first turn’s cache', () =>
    chatMatchesPyTorch(model, ref));

  it("a repetition penalty (transformers' processor over prompt and answer): PyTorch's answers, on the GPU", async () => {
    await chatMatchesPyTorch(model, ref, 'penalty');
    // The penalty is what changed them: the second turn repeats a token five times without it.
    expect(ref.repetition_penalty.answers[1]).not.toEqual(ref.answers[1]);
  });

  it("generation_config.json's repetition_penalty is the default; a call's own, or 1, overrides it", async () => {
    const generation = JSON.parse(readFileSync(`${DISK}generation_config.json`, 'utf8'));
    const penalized = await loadCorpusFolder(backend, DISK, FILES, {
      extra: {
        'generation_config.json': JSON.stringify({
          ...generation,
          repetition_penalty: ref.repetition_penalty.penalty,
        }),
      },
    });
    try {
      expect(vlmOf(penalized).spec.repetitionPenalty).toBe(ref.repetition_penalty.penalty);
      expect(vlmOf(model).spec.repetitionPenalty).toBe(1);
      const [q1, q2] = ref.questions;
      const [a1, a2] = ref.repetition_penalty.answers;
      const turns = [user(q1), assistant(words(a1)), user(q2)];
      const byDefault = await answer(penalized, image, turns, undefined, { maxTokens: 8 }, new Stopwatch());
      expect(byDefault.result.tokenIds).toEqual(a2);
      // 1 given per call turns it off on the same conversation: the unpenalized continuation of that prompt.
      const off = await answer(
        penalized,
        image,
        turns,
        byDefault.conversation,
        { maxTokens: 8, repetitionPenalty: 1 },
        new Stopwatch(),
      );
      const plain = await answer(model, image, turns, undefined, { maxTokens: 8 }, new Stopwatch());
      expect(off.result.tokenIds).toEqual(plain.result.tokenIds);
      expect(off.result.tokenIds).not.toEqual(a2);
      off.conversation.release();
      plain.conversation.release();
    } finally {
      await penalized.release();
    }
  });

  it('maxPixels bounds the image as the processor’s max_pixels does: fewer image tokens, PyTorch’s answer', async () => {
    const want = ref.max_pixels_256;
    const got = await answer(
      model,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: want.answer.length, maxPixels: 256 },
      new Stopwatch(),
    );
    expect(got.conversation.layouts[0].tokenGrid).toEqual([want.grid_thw[1] / 2, want.grid_thw[2] / 2]);
    expect(got.result.promptTokens).toBe(want.prompt_ids.length);
    expect(got.result.tokenIds).toEqual(want.answer);
    // The same image at the full bound is other features: the conversation starts over.
    const full = await answer(
      model,
      image,
      [user(ref.questions[0])],
      got.conversation,
      { maxTokens: 2 },
      new Stopwatch(),
    );
    expect(full.conversation).not.toBe(got.conversation);
    expect(full.result.tokenIds).toEqual(ref.answers[0].slice(0, 2));
    got.conversation.release();
    full.conversation.release();
    for (const bad of [255, 4097, 300.5])
      await expect(
        answer(model, image, [user('w1')], undefined, { maxTokens: 1, maxPixels: bad }, new Stopwatch()),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('two images in one message: PyTorch’s prompt ids, 3-D positions and answer', async () => {
    const want = ref.two_images;
    const { spec } = vlmOf(model);
    const layouts = [imageLayout(spec, image), imageLayout(spec, crop)];
    const positions = promptPositions(model, spec, [user(ref.questions[0])], layouts);
    // Image k's tokens are marked −1 − k.
    expect(positions).toEqual(
      want.prompt_ids.map((id, i) =>
        id === spec.imageTokenId ? (i < want.prompt_ids.indexOf(id) + 24 ? -1 : -2) : id,
      ),
    );
    const map = mropePositions([
      { start: positions.indexOf(-1), grid: [4, 6] },
      { start: positions.indexOf(-2), grid: [3, 5] },
    ]);
    for (let i = 0; i < positions.length; i++)
      expect(map(i), `position ${i}`).toEqual([0, 1, 2].map((a) => want.position_ids[a][i]));
    const got = await answer(
      model,
      [image, crop],
      [user(ref.questions[0])],
      undefined,
      { maxTokens: want.answer.length },
      new Stopwatch(),
    );
    expect(got.result.tokenIds).toEqual(want.answer);
    expect(got.conversation.features).toHaveLength(2);
    // The same images again continue the conversation; the first alone does not.
    const again = await answer(
      model,
      [image, crop],
      [user(ref.questions[0]), assistant(got.result.text), user('w9')],
      got.conversation,
      { maxTokens: 1 },
      new Stopwatch(),
    );
    expect(again.conversation).toBe(got.conversation);
    expect(again.result.reusedTokens).toBeGreaterThan(want.prompt_ids.length);
    const alone = await answer(
      model,
      image,
      [user('w9')],
      again.conversation,
      { maxTokens: 1 },
      new Stopwatch(),
    );
    expect(alone.conversation).not.toBe(got.conversation);
    got.conversation.release();
    alone.conversation.release();
  });

  it('an image of another size is another grid: its own run length, answered without error', async () => {
    const small = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(90) };
    const layout = imageLayout(vlmOf(model).spec, small);
    expect(layout.tokenGrid).toEqual([2, 2]); // 16 × 16 is 256 pixels: min_pixels, 4 × 4 patches
    const got = await answer(model, small, [user('w1')], undefined, { maxTokens: 2 }, new Stopwatch());
    expect(got.result.promptTokens).toBe(
      promptPositions(model, vlmOf(model).spec, [user('w1')], [layout]).length,
    );
    got.conversation.release();
  });
});

describe('what a Qwen2-VL folder and image must be', () => {
  const json = (file: string) => JSON.parse(readFileSync(`${DISK}${file}`, 'utf8'));
  const refused = async (file: string, edit: (j: Record<string, unknown>) => void, pattern: RegExp) => {
    const j = json(file);
    edit(j);
    await expect(
      loadCorpusFolder(backend, DISK, FILES, { extra: { [file]: JSON.stringify(j) } }),
    ).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(pattern) });
  };

  it('INVALID_MODEL at load: a repetition_penalty that is not a number from 0.001 to 10', async () => {
    for (const bad of [0, -1, 11, '1.05', true])
      await refused(
        'generation_config.json',
        (g) => {
          g.repetition_penalty = bad;
        },
        /repetition_penalty/,
      );
  });

  it('INVALID_MODEL at load: a partial_rotary_factor outside (0, 1], or one the rotary sections do not cover', async () => {
    for (const bad of [0, -0.5, 1.5, '0.5'])
      await refused(
        'config.json',
        (c) => {
          c.partial_rotary_factor = bad;
        },
        /partial_rotary_factor/,
      );
    // This folder's sections cover whole heads: with half of each head rotating they add up to twice too much.
    await refused(
      'config.json',
      (c) => {
        c.partial_rotary_factor = 0.5;
      },
      /mrope_section/,
    );
  });

  it('INVALID_MODEL at load: rotary sections that do not add up, pixel bounds out of order or out of range', async () => {
    await refused(
      'config.json',
      (c) => {
        c.rope_scaling = { type: 'mrope', mrope_section: [2, 3, 4] };
      },
      /mrope_section/,
    );
    await refused(
      'config.json',
      (c) => {
        delete c.rope_scaling;
      },
      /mrope_section/,
    );
    await refused(
      'preprocessor_config.json',
      (p) => {
        p.min_pixels = 8192;
      },
      /min_pixels 8192 is above/,
    );
    await refused(
      'preprocessor_config.json',
      (p) => {
        p.merge_size = 0;
      },
      /merge_size/,
    );
    await refused(
      'preprocessor_config.json',
      (p) => {
        p.max_pixels = 1.5;
      },
      /max_pixels/,
    );
  });

  it('an image of aspect ratio above 200 is BAD_IMAGE; the model answers the next question', async () => {
    const thin = { width: 402, height: 2, data: new Uint8Array(402 * 2 * 4).fill(60) };
    await expect(
      answer(model, thin, [user('w1')], undefined, { maxTokens: 1 }, new Stopwatch()),
    ).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/aspect ratio/) });
    const next = await answer(
      model,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 2 },
      new Stopwatch(),
    );
    expect(next.result.tokenIds).toEqual(ref.answers[0].slice(0, 2));
    next.conversation.release();
  });
});

describe('Qwen2-VL requests leave nothing behind', () => {
  it('GPU buffers stay flat over chats, images of other grids and refused images', {
    timeout: 300_000,
  }, async () => {
    const small = { width: 20, height: 36, data: new Uint8Array(20 * 36 * 4).fill(90) };
    const thin = { width: 402, height: 2, data: new Uint8Array(402 * 2 * 4).fill(60) };
    const round = async () => {
      const first = await answer(model, image, [user('w1')], undefined, { maxTokens: 4 }, new Stopwatch());
      const turns = [user('w1'), assistant(first.result.text), user('w2 w3')];
      const second = await answer(model, image, turns, first.conversation, { maxTokens: 4 }, new Stopwatch());
      second.conversation.release();
      const other = await answer(model, small, [user('w4')], undefined, { maxTokens: 3 }, new Stopwatch());
      other.conversation.release();
      await expect(
        answer(model, thin, [user('w1')], undefined, { maxTokens: 1 }, new Stopwatch()),
      ).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    };
    // Two rounds build the plans and fill the pools every request needs.
    const { warm, after } = await liveBuffersOverRounds((await backend.engineDevice()).device, round);
    expect(after).toBe(warm);
  });
});

// transformers.js' own Qwen2-VL classes (onnxruntime-node underneath) read this folder as it is.
describe("transformers.js' Qwen2VLProcessor and Qwen2VLForConditionalGeneration on the same folder", () => {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;
  const rgb = () => rgbRawImage(image);

  it('its processor renders and expands the chat to our prompt ids, with our grid', () =>
    theirProcessorWritesOurIds(NAME, model, ref));

  it('its model, given the same patches and ids, answers both turns as we do', () =>
    theirModelAnswersAsWeDo(Qwen2VLForConditionalGeneration, NAME, model, ref));

  it('its model with a repetition penalty answers both turns as we do with the same penalty', () =>
    theirModelAnswersAsWeDo(
      Qwen2VLForConditionalGeneration,
      NAME,
      model,
      ref,
      ref.repetition_penalty.penalty,
    ));

  it('a system message (in place of the default one): its processor writes our prompt ids, its model answers as we do', async () => {
    const processor = await AutoProcessor.from_pretrained(NAME);
    const theirs = await Qwen2VLForConditionalGeneration.from_pretrained(NAME, {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      const { spec } = vlmOf(model);
      const template = (
        JSON.parse(readFileSync(`${DISK}chat_template.json`, 'utf8')) as { chat_template: string }
      ).chat_template;
      const system = 'you are a w5 w6 assistant .';
      const text = processor.apply_chat_template(
        [
          { role: 'system', content: [{ type: 'text', text: system }] },
          { role: 'user', content: [{ type: 'image' }, { type: 'text', text: ref.questions[0] }] },
        ],
        { add_generation_prompt: true, chat_template: template },
      );
      const inputs = await processor(text, rgb());
      const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      const turns: ChatMessage[] = [{ role: 'system', content: system }, user(ref.questions[0])];
      expect(promptPositions(model, spec, turns, [imageLayout(spec, image)])).toEqual(
        marked(theirIds, spec.imageTokenId),
      );
      const generated = (await theirs.generate({
        input_ids: inputs.input_ids,
        attention_mask: inputs.attention_mask,
        pixel_values: new Tensor('float32', Float32Array.from(ref.pixel_values.data), ref.pixel_values.dims),
        image_grid_thw: inputs.image_grid_thw,
        max_new_tokens: 8,
        do_sample: false,
      })) as Tensor;
      const want = Array.from(generated.data as BigInt64Array, Number).slice(theirIds.length);
      const end = want.findIndex((id) => spec.eosTokenIds.includes(id));
      const got = await answer(model, image, turns, undefined, { maxTokens: 8 }, new Stopwatch());
      expect(got.result.tokenIds).toEqual(end < 0 ? want : want.slice(0, end));
      // PyTorch's answer too, which the system message changed.
      expect(marked(ref.system.prompt_ids, spec.imageTokenId)).toEqual(
        promptPositions(model, spec, turns, [imageLayout(spec, image)]),
      );
      expect(got.result.tokenIds).toEqual(ref.system.answer);
      expect(ref.system.answer).not.toEqual(ref.answers[0]);
      got.conversation.release();
    } finally {
      await theirs.dispose();
    }
  });
});

// Qwen2.5-VL (scripts/make_qwen25vl_random.py): the same pipeline, its vision tower in the graph (RMSNorm, SwiGLU,
// window attention with the patches reordered window by window and put back after the merger), image_grid_thw.
describe('a Qwen2.5-VL folder: window attention in its vision tower, image_grid_thw', () => {
  const NAME25 = 'qwen25vl-random';
  const DISK25 = `tests/corpus/${NAME25}/`;
  const ref25 = JSON.parse(readFileSync(`${DISK25}reference.json`, 'utf8')) as QwenRef;
  let model25: LoadedModel;
  beforeAll(async () => {
    model25 = await loadCorpusFolder(backend, DISK25, FILES);
  }, 60_000);
  afterAll(() => model25?.release());

  it('loads as the llava family, its vision encoder fed image_grid_thw', () => {
    expect(model25.kind).toBe('llava');
    expect(vlmOf(model25).spec.patches?.gridInput).toBe('image_grid_thw');
  });
  it("the vision encoder's features on our engine equal PyTorch's, at two grids", () =>
    visionMatchesPyTorch(model25, ref25, 'image_grid_thw'));
  it('two turns: answers equal PyTorch’s; the second reuses the first turn’s cache', () =>
    chatMatchesPyTorch(model25, ref25));
  it("a repetition penalty: PyTorch's answers, on the GPU", () =>
    chatMatchesPyTorch(model25, ref25, 'penalty'));
  it("transformers.js' own Qwen2_5_VLForConditionalGeneration answers both turns as we do", () =>
    theirModelAnswersAsWeDo(Qwen2_5_VLForConditionalGeneration, NAME25, model25, ref25));
});

// Qwen3-VL (scripts/make_qwen3vl_random.py), as transformers.js runs it (Qwen2.5-VL's pipeline): its vision tower's
// learned position embeddings resampled to each grid in the graph, LayerNorm blocks with GELU-tanh MLPs; a Qwen3
// language model (q/k norms) with interleaved M-RoPE; its preprocessor's pixel bounds in size.shortest_edge /
// longest_edge; no DeepStack features (transformers.js passes none).
describe('a Qwen3-VL folder: learned position embeddings resampled per grid, interleaved M-RoPE', () => {
  const NAME3 = 'qwen3vl-random';
  const DISK3 = `tests/corpus/${NAME3}/`;
  const ref3 = JSON.parse(readFileSync(`${DISK3}reference.json`, 'utf8')) as QwenRef;
  const preprocessor = JSON.parse(readFileSync(`${DISK3}preprocessor_config.json`, 'utf8'));
  let model3: LoadedModel;
  beforeAll(async () => {
    model3 = await loadCorpusFolder(backend, DISK3, FILES);
  }, 60_000);
  afterAll(() => model3?.release());

  it('loads as the llava family: pixel bounds from size, mean and std 0.5, image_grid_thw', () => {
    expect(model3.kind).toBe('llava');
    const { spec } = vlmOf(model3);
    expect(spec.patches?.gridInput).toBe('image_grid_thw');
    expect(preprocessor.min_pixels).toBeUndefined();
    expect(spec.patches?.plan).toMatchObject({
      minPixels: preprocessor.size.shortest_edge,
      maxPixels: preprocessor.size.longest_edge,
    });
    expect(imagePatches(imageOf(ref3), spec.patches!.plan).grid).toEqual(ref3.grid_thw);
  });
  it("the patches are the processor's (mean and std 0.5), one 8-bit level apart at most", () => {
    const { pixels } = imagePatches(imageOf(ref3), vlmOf(model3).spec.patches!.plan);
    let worst = 0;
    for (let i = 0; i < pixels.length; i++)
      worst = Math.max(worst, Math.abs(pixels[i] - ref3.pixel_values.data[i]));
    expect(worst).toBeLessThanOrEqual(1 / 255 / 0.5 + 1e-6);
  });
  it("the vision encoder's features on our engine equal PyTorch's, at two grids", () =>
    visionMatchesPyTorch(model3, ref3, 'image_grid_thw'));
  it('two turns: answers equal PyTorch’s; the second reuses the first turn’s cache', () =>
    chatMatchesPyTorch(model3, ref3));
  it("a repetition penalty: PyTorch's answers, on the GPU", () =>
    chatMatchesPyTorch(model3, ref3, 'penalty'));
  it("transformers.js' own Qwen3VLProcessor renders and expands the chat to our prompt ids, with our grid", () =>
    theirProcessorWritesOurIds(NAME3, model3, ref3));
  it("transformers.js' own Qwen3VLForConditionalGeneration answers both turns as we do", () =>
    theirModelAnswersAsWeDo(Qwen3VLForConditionalGeneration, NAME3, model3, ref3));
});

// Qwen3.5 (scripts/make_qwen35_random.py): Qwen3-VL's vision tower and pipeline, and a hybrid language model whose
// linear-attention layers (Gated DeltaNet) carry a convolution state and a recurrent state from step to step, as
// real exports write them: onnxruntime's CausalConvWithState and LinearAttention. Its full-attention layers gate
// their output and rotate part of each head (interleaved M-RoPE); its template closes an empty think block.
describe('a Qwen3.5 folder: a hybrid decoder of Gated DeltaNet and gated attention layers', () => {
  const NAME35 = 'qwen35-random';
  const DISK35 = `tests/corpus/${NAME35}/`;
  const FILES35 = FILES.map((f) => (f === 'chat_template.json' ? 'chat_template.jinja' : f));
  const ref35 = JSON.parse(readFileSync(`${DISK35}reference.json`, 'utf8')) as QwenRef;
  let model35: LoadedModel;
  beforeAll(async () => {
    model35 = await loadCorpusFolder(backend, DISK35, FILES35);
  }, 60_000);
  afterAll(() => model35?.release());

  it('loads as the llava family: rotary sections over the rotating part of each head, image_grid_thw', () => {
    expect(model35.kind).toBe('llava');
    const { spec } = vlmOf(model35);
    expect(spec.patches?.gridInput).toBe('image_grid_thw');
    expect(spec.mropeSection).toEqual([2, 1, 1]);
    expect(imagePatches(imageOf(ref35), spec.patches!.plan).grid).toEqual(ref35.grid_thw);
  });
  it("the vision encoder's features on our engine equal PyTorch's, at two grids", () =>
    visionMatchesPyTorch(model35, ref35, 'image_grid_thw'));
  it('two turns: answers equal PyTorch’s, every recurrent layer one dispatch per step', async () => {
    await chatMatchesPyTorch(model35, ref35);
    const { opCounts } = (vlmOf(model35).decoder.session as WebGpuSession).describePlan()!;
    expect(opCounts['com.microsoft:LinearAttention']).toBe(2);
    expect(opCounts['com.microsoft:CausalConvWithState']).toBe(2);
  });
  it("a repetition penalty: PyTorch's answers, on the GPU", () =>
    chatMatchesPyTorch(model35, ref35, 'penalty'));
  it('two images in one message, and a system message: PyTorch’s prompt ids and answers', async () => {
    const { spec } = vlmOf(model35);
    const picture = imageOf(ref35);
    const pair = [picture, cropRgba(picture, 40, 24)];
    const both = await answer(
      model35,
      pair,
      [user(ref35.questions[0])],
      undefined,
      { maxTokens: ref35.two_images.answer.length },
      new Stopwatch(),
    );
    expect(both.result.promptTokens).toBe(ref35.two_images.prompt_ids.length);
    expect(both.result.tokenIds).toEqual(ref35.two_images.answer);
    both.conversation.release();
    const system: ChatMessage[] = [{ role: 'system', content: ref35.system.text }, user(ref35.questions[0])];
    expect(promptPositions(model35, spec, system, [imageLayout(spec, picture)])).toEqual(
      marked(ref35.system.prompt_ids, spec.imageTokenId),
    );
    const got = await answer(model35, picture, system, undefined, { maxTokens: 8 }, new Stopwatch());
    expect(got.result.tokenIds).toEqual(ref35.system.answer);
    got.conversation.release();
  });
  it('GPU buffers stay flat over three-turn chats (checkpoints replaced and released) and a chat that starts over', {
    timeout: 300_000,
  }, async () => {
    const picture = imageOf(ref35);
    const round = async () => {
      const first = await answer(
        model35,
        picture,
        [user('w1')],
        undefined,
        { maxTokens: 3 },
        new Stopwatch(),
      );
      let turns = [user('w1'), assistant(first.result.text), user('w2 w3')];
      const second = await answer(
        model35,
        picture,
        turns,
        first.conversation,
        { maxTokens: 3 },
        new Stopwatch(),
      );
      expect(second.result.reusedTokens).toBeGreaterThan(0);
      turns = [...turns, assistant(second.result.text), user('w4')];
      const third = await answer(
        model35,
        picture,
        turns,
        second.conversation,
        { maxTokens: 3 },
        new Stopwatch(),
      );
      expect(third.result.reusedTokens).toBeGreaterThan(second.result.reusedTokens);
      // Another first question: nothing to go back to, the conversation starts over.
      const other = await answer(
        model35,
        picture,
        [user('w5')],
        third.conversation,
        { maxTokens: 2 },
        new Stopwatch(),
      );
      expect(other.result.reusedTokens).toBe(0);
      other.conversation.release();
    };
    const { warm, after } = await liveBuffersOverRounds((await backend.engineDevice()).device, round);
    expect(after).toBe(warm);
  });
  it("transformers.js' own Qwen3VLProcessor renders and expands the chat to our prompt ids, with our grid", () =>
    theirProcessorWritesOurIds(NAME35, model35, ref35));
  it("transformers.js' own Qwen3_5ForConditionalGeneration answers both turns as we do", () =>
    theirModelAnswersAsWeDo(
      Qwen3_5ForConditionalGeneration as unknown as typeof Qwen2VLForConditionalGeneration,
      NAME35,
      model35,
      ref35,
    ));
});
