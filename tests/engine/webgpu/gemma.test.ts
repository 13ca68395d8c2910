// Asking about an image with Gemma3 and PaliGemma folders on our engine, through the loader and the ask pipeline:
// random-weight folders in transformers.js' layout (scripts/make_gemma_random.py). Checked against PyTorch (the
// pixels Pillow made, the image features, the prompt ids and the greedy answers generated with a KV cache) and
// against transformers.js' own processors and models on the same folders. Gemma3's local layer has a sliding
// window shorter than the prompt; PaliGemma's first step attends both ways over the image and the prompt.
import { readFileSync } from 'node:fs';
import {
  AutoProcessor,
  env,
  Gemma3ForConditionalGeneration,
  PaliGemmaForConditionalGeneration,
  type PreTrainedModel,
  Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { toHostFloats } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import {
  answer,
  type ChatMessage,
  type Conversation,
  chatCapabilities,
  imageLayout,
  promptPositions,
  vlmOf,
} from '../../../src/pipelines/ask';
import { disposeTensor, preprocess } from '../../../src/pipelines/encode';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { liveBuffersOverRounds } from '../../support/live-buffers';
import { cropRgba, rgbRawImage } from '../../support/rgba';
import { nodeGpu } from './gpu';

interface Floats {
  dims: number[];
  data: number[];
}
interface Reference {
  image: { width: number; height: number; rgba: number[] };
  pixel_values: Floats;
  image_features: Floats;
  questions: string[];
  prompt_ids: number[][];
  answers: number[][];
  unwindowed_answer?: number[];
  causal_answers?: number[][];
}
const GRAPHS = ['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'];
const COMMON = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json'];
const FOLDERS = {
  'gemma3-random': [
    ...COMMON,
    'processor_config.json',
    'chat_template.jinja',
    'tokenizer_config.json',
    ...GRAPHS,
  ],
  'paligemma-random': [...COMMON, 'tokenizer_config.json', ...GRAPHS],
} as const;
type Name = keyof typeof FOLDERS;
const disk = (name: Name) => `tests/corpus/${name}/`;
const reference = (name: Name) =>
  JSON.parse(readFileSync(`${disk(name)}reference.json`, 'utf8')) as Reference;
const imageOf = (ref: Reference) => ({
  width: ref.image.width,
  height: ref.image.height,
  data: Uint8Array.from(ref.image.rgba),
});

const backend = new WebGpuBackend({ gpu: nodeGpu() });
const models: Partial<Record<Name, LoadedModel>> = {};
beforeAll(async () => {
  for (const name of Object.keys(FOLDERS) as Name[])
    models[name] = await loadCorpusFolder(backend, disk(name), FOLDERS[name]);
});
afterAll(async () => {
  for (const m of Object.values(models)) await m?.release();
  (await backend.engineDevice()).device.destroy();
});

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
/** Prompt ids with the image tokens as the pipeline marks them: -1 − k in the k-th run. */
const marked = (ids: number[], imageTokenId: number, perRun: number) => {
  let seen = 0;
  return ids.map((id) => (id === imageTokenId ? -1 - Math.floor(seen++ / perRun) : id));
};
const unmarked = (positions: number[], imageTokenId: number) =>
  positions.map((id) => (id < 0 ? imageTokenId : id));

// What both folders share: Pillow's pixels, PyTorch's image features.
describe.each(Object.keys(FOLDERS) as Name[])('%s: pixels and image features', (name) => {
  const ref = reference(name);

  it("the pixel values are Pillow's (transformers' Pillow backend), one 8-bit level apart at most", async () => {
    const model = models[name]!;
    const pixels = await preprocess(model, [imageOf(ref)]);
    try {
      const got = await toHostFloats(pixels);
      expect(got.dims).toEqual(ref.pixel_values.dims);
      let worst = 0;
      for (let i = 0; i < got.data.length; i++)
        worst = Math.max(worst, Math.abs(Number(got.data[i]) - ref.pixel_values.data[i]));
      expect(worst).toBeLessThanOrEqual((2 / 255) * 1.001);
    } finally {
      disposeTensor(pixels);
    }
  });

  it("the image features on our engine equal PyTorch's", async () => {
    const out = await vlmOf(models[name]!).visionEncoder.run({
      pixel_values: {
        location: 'cpu',
        dtype: 'float32',
        dims: ref.pixel_values.dims,
        data: Float32Array.from(ref.pixel_values.data),
      },
    });
    const got = await toHostFloats(out.image_features);
    for (const t of Object.values(out)) disposeTensor(t);
    expect(got.dims).toEqual(ref.image_features.dims);
    expect(relativeDiff(got.data as Float32Array, Float32Array.from(ref.image_features.data))).toBeLessThan(
      1e-4,
    );
  });
});

describe('a Gemma3 folder loads as it is and answers as PyTorch does', () => {
  const ref = reference('gemma3-random');
  const image = imageOf(ref);
  const gemma3 = () => models['gemma3-random']!;

  it("as the llava family: mm_tokens per image, the processor's image start and end, a sliding window, both end tokens", () => {
    const spec = vlmOf(gemma3()).spec;
    expect(gemma3().kind).toBe('llava');
    expect(spec.imageTokens).toBe(4);
    expect(spec.wrapped).toEqual({
      marker: '<start_of_image>',
      before: '\n\n<start_of_image>',
      after: '<end_of_image>\n\n',
    });
    expect(spec.slidingWindow).toBe(6);
    expect(spec.eosTokenIds).toEqual([1, 5]);
    expect(spec.prefixLm).toBeUndefined();
    expect(chatCapabilities(gemma3(), vlmOf(gemma3()))).toEqual({
      systemMessage: true,
      turns: true,
      maxImages: 16,
    });
  });

  it("the chat template and the image's expansion give PyTorch's prompt ids, both turns", () => {
    const spec = vlmOf(gemma3()).spec;
    const words = (ids: number[]) => gemma3().tokenizer.decode(ids);
    const turns = [
      [user(ref.questions[0])],
      [user(ref.questions[0]), assistant(words(ref.answers[0])), user(ref.questions[1])],
    ];
    for (const [k, messages] of turns.entries())
      expect(promptPositions(gemma3(), spec, messages, [imageLayout(spec, image)])).toEqual(
        marked(ref.prompt_ids[k], spec.imageTokenId, spec.imageTokens),
      );
  });

  it("a two-turn chat answers PyTorch's tokens, on pasts that grow (no fixed-capacity cache across the window)", async () => {
    const model = gemma3();
    const words = (ids: number[]) => model.tokenizer.decode(ids);
    let turns: ChatMessage[] = [];
    let conversation: Conversation | undefined;
    for (const [k, question] of ref.questions.entries()) {
      turns = [...turns, user(question)];
      const got = await answer(model, image, turns, conversation, { maxTokens: 8 }, new Stopwatch());
      expect(got.result.tokenIds, question).toEqual(ref.answers[k]);
      expect(got.result.cacheOnDevice).toBe(false);
      conversation = got.conversation;
      turns = [...turns, assistant(words(got.result.tokenIds))];
    }
    conversation?.release();
    // The window shows in the answer: with the local layer seeing everything, PyTorch answers otherwise.
    expect(ref.unwindowed_answer).not.toEqual(ref.answers[0]);
  });

  it('why: on a fixed-capacity cache the window counts the gap before the new slots, and the answer goes wrong', async () => {
    const model = gemma3();
    const vlm = vlmOf(model);
    const cached = {
      ...model,
      vlm: { ...vlm, decoder: { ...vlm.decoder, kvCache: async () => backend.kvCache.bind(backend) } },
    };
    const got = await answer(
      cached,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 8 },
      new Stopwatch(),
    );
    got.conversation.release();
    expect(got.result.cacheOnDevice).toBe(true);
    expect(got.result.tokenIds).not.toEqual(ref.answers[0]);
  });

  it('two images: each <start_of_image> expanded in order; GPU buffers stay flat over chats', {
    timeout: 300_000,
  }, async () => {
    const model = gemma3();
    const spec = vlmOf(model).spec;
    const crop = cropRgba(image, 30, 20);
    const positions = promptPositions(
      model,
      spec,
      [user(ref.questions[0])],
      [imageLayout(spec, image), imageLayout(spec, crop)],
    );
    const soft = spec.imageTokenId;
    const boi = model.tokenizer.tokenId('<start_of_image>')!;
    const eoi = model.tokenizer.tokenId('<end_of_image>')!;
    const run = (k: number) => [boi, ...new Array<number>(4).fill(-1 - k), eoi];
    const text = unmarked(positions, soft);
    expect(text.filter((id) => id === soft)).toHaveLength(8);
    expect(positions.join(',')).toContain(run(0).join(','));
    expect(positions.join(',')).toContain(run(1).join(','));
    const round = async () => {
      const got = await answer(
        model,
        [image, crop],
        [user(ref.questions[1])],
        undefined,
        { maxTokens: 4 },
        new Stopwatch(),
      );
      got.conversation.release();
    };
    // Two rounds build the plans and fill the pools every request needs.
    const { warm, after } = await liveBuffersOverRounds((await backend.engineDevice()).device, round);
    expect(after).toBe(warm);
  });
});

describe('what a Gemma-family folder says decides its prompt and its cache; what contradicts itself is INVALID_MODEL', () => {
  const json = (name: Name, file: string) => JSON.parse(readFileSync(`${disk(name)}${file}`, 'utf8'));
  /** The folder with config.json's text_config (or another file) changed. */
  const withFile = (name: Name, file: string, change: (j: Record<string, unknown>) => void) => {
    const j = json(name, file);
    change(j);
    return loadCorpusFolder(backend, disk(name), FOLDERS[name], { extra: { [file]: JSON.stringify(j) } });
  };

  it('no sliding window where every layer attends to all, or where the config says it is not used (Qwen2)', async () => {
    for (const change of [
      (t: Record<string, unknown>) => {
        t.layer_types = ['full_attention', 'full_attention'];
      },
      (t: Record<string, unknown>) => {
        t.use_sliding_window = false;
      },
      (t: Record<string, unknown>) => {
        t.sliding_window = 128; // as many positions as the model has
      },
    ]) {
      const model = await withFile('gemma3-random', 'config.json', (j) =>
        change(j.text_config as Record<string, unknown>),
      );
      try {
        expect(vlmOf(model).spec.slidingWindow).toBeUndefined();
      } finally {
        await model.release();
      }
    }
  });

  it('image tokens from processor_config.json, else config.json mm_tokens_per_image', async () => {
    const model = await loadCorpusFolder(
      backend,
      disk('gemma3-random'),
      FOLDERS['gemma3-random'].filter((f) => f !== 'processor_config.json'),
    );
    try {
      expect(vlmOf(model).spec.imageTokens).toBe(4);
    } finally {
      await model.release();
    }
  });

  it('a Gemma3 tokenizer_config.json without its image tokens, or naming another image token, is INVALID_MODEL', async () => {
    await expect(
      withFile('gemma3-random', 'tokenizer_config.json', (j) => {
        delete j.boi_token;
      }),
    ).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(/boi_token/) });
    await expect(
      withFile('gemma3-random', 'tokenizer_config.json', (j) => {
        j.image_token = '<end_of_image>';
      }),
    ).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(/image_token_index/) });
  });

  it("Gemma3's pan and scan (extra crops of a wide image) is not implemented: UNSUPPORTED_MODEL when a folder turns it on", async () => {
    await expect(
      withFile('gemma3-random', 'preprocessor_config.json', (j) => {
        j.do_pan_and_scan = true;
      }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL', message: expect.stringMatching(/do_pan_and_scan/) });
  });

  it('a PaliGemma folder without image_seq_length anywhere is INVALID_MODEL', async () => {
    await expect(
      withFile('paligemma-random', 'preprocessor_config.json', (j) => {
        delete j.image_seq_length;
      }),
    ).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringMatching(/image_seq_length/) });
  });
});

describe('a PaliGemma folder loads as it is and answers as PyTorch does', () => {
  const ref = reference('paligemma-random');
  const image = imageOf(ref);
  const pali = () => models['paligemma-random']!;

  it("as the llava family: no chat template, the preprocessor's image_seq_length, a prefix LM", () => {
    const spec = vlmOf(pali()).spec;
    expect(pali().kind).toBe('llava');
    expect(spec.prefixLm).toBe(true);
    expect(spec.imageTokens).toBe(16);
    expect(spec.slidingWindow).toBeUndefined();
    expect(spec.wrapped).toBeUndefined();
    // One prompt, no system message; its processor puts any number of images before it.
    expect(chatCapabilities(pali(), vlmOf(pali()))).toEqual({
      systemMessage: false,
      turns: false,
      maxImages: 16,
    });
  });

  it("PaliGemmaProcessor's prompt: the image's tokens, <bos>, the prompt, a line break; PyTorch's ids", () => {
    const spec = vlmOf(pali()).spec;
    for (const [k, q] of ref.questions.entries())
      expect(promptPositions(pali(), spec, [user(q)], [imageLayout(spec, image)])).toEqual(
        marked(ref.prompt_ids[k], spec.imageTokenId, spec.imageTokens),
      );
  });

  it("each prompt answers PyTorch's tokens (its first step attends both ways), on the image encoded once", async () => {
    const model = pali();
    let conversation: Conversation | undefined;
    for (const [k, q] of ref.questions.entries()) {
      const got = await answer(model, image, [user(q)], conversation, { maxTokens: 8 }, new Stopwatch());
      expect(got.result.tokenIds, q).toEqual(ref.answers[k]);
      // Never fed on top of another prompt's cache: a prefix LM's prompt is one step.
      expect(got.result.reusedTokens).toBe(0);
      expect(got.result.cacheOnDevice).toBe(true);
      if (conversation) expect(got.conversation).toBe(conversation); // the same image features, kept
      conversation = got.conversation;
    }
    conversation?.release();
    // A causal first step answers otherwise (PyTorch): the prefix shows in the answers.
    expect(ref.causal_answers).not.toEqual(ref.answers);
  });

  it('a conversation of more than one message is INVALID_INPUT, and the model keeps answering', async () => {
    const model = pali();
    await expect(
      answer(model, image, [user('w1'), assistant('w2'), user('w3')], undefined, {}, new Stopwatch()),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/one prompt/) });
    const got = await answer(
      model,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 8 },
      new Stopwatch(),
    );
    expect(got.result.tokenIds).toEqual(ref.answers[0]);
    got.conversation.release();
  });
});

// transformers.js' own classes (onnxruntime-node underneath) read these folders as they are.
describe("transformers.js' Gemma3 and PaliGemma processors and models on the same folders", () => {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;

  /** Greedy ids their model generates after `ids`, for our pixel values (Pillow's, checked above). */
  async function theirAnswer(
    theirs: PreTrainedModel,
    ids: number[],
    pixels: Floats,
    eos: readonly number[],
  ): Promise<number[]> {
    const generated = (await theirs.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      pixel_values: new Tensor('float32', Float32Array.from(pixels.data), pixels.dims),
      max_new_tokens: 8,
      do_sample: false,
    })) as Tensor;
    const out = Array.from(generated.data as BigInt64Array, Number).slice(ids.length);
    const end = out.findIndex((id) => eos.includes(id));
    return end < 0 ? out : out.slice(0, end);
  }

  it('Gemma3Processor renders and expands the chat to our prompt ids; Gemma3ForConditionalGeneration answers both turns as we do', async () => {
    const model = models['gemma3-random']!;
    const ref = reference('gemma3-random');
    const image = imageOf(ref);
    const spec = vlmOf(model).spec;
    const processor = await AutoProcessor.from_pretrained('gemma3-random');
    const theirs = await Gemma3ForConditionalGeneration.from_pretrained('gemma3-random', {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      let turns: ChatMessage[] = [];
      let parts: { role: string; content: { type: string; text?: string }[] }[] = [];
      let conversation: Conversation | undefined;
      for (const question of ref.questions) {
        turns = [...turns, user(question)];
        parts = [
          ...parts,
          {
            role: 'user',
            content: [...(parts.length ? [] : [{ type: 'image' }]), { type: 'text', text: question }],
          },
        ];
        const text = processor.apply_chat_template(parts, { add_generation_prompt: true }) as string;
        const inputs = await processor(text, rgbRawImage(image), { add_special_tokens: false });
        const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
        const ours = promptPositions(model, spec, turns, [imageLayout(spec, image)]);
        expect(unmarked(ours, spec.imageTokenId)).toEqual(theirIds);
        const want = await theirAnswer(theirs, theirIds, ref.pixel_values, spec.eosTokenIds);
        const got = await answer(model, image, turns, conversation, { maxTokens: 8 }, new Stopwatch());
        expect(got.result.tokenIds, question).toEqual(want);
        conversation = got.conversation;
        turns = [...turns, assistant(got.result.text)];
        parts = [...parts, { role: 'assistant', content: [{ type: 'text', text: got.result.text }] }];
      }
      conversation?.release();
    } finally {
      await theirs.dispose();
    }
  });

  it('Gemma3 with a system message: Gemma3Processor writes our prompt ids (the system text before the first question)', async () => {
    const model = models['gemma3-random']!;
    const ref = reference('gemma3-random');
    const image = imageOf(ref);
    const spec = vlmOf(model).spec;
    const processor = await AutoProcessor.from_pretrained('gemma3-random');
    const system = 'w40 w41';
    const text = processor.apply_chat_template(
      [
        { role: 'system', content: [{ type: 'text', text: system }] },
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: ref.questions[0] }] },
      ],
      { add_generation_prompt: true },
    ) as string;
    const inputs = await processor(text, rgbRawImage(image), { add_special_tokens: false });
    const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const turns: ChatMessage[] = [{ role: 'system', content: system }, user(ref.questions[0])];
    expect(
      unmarked(promptPositions(model, spec, turns, [imageLayout(spec, image)]), spec.imageTokenId),
    ).toEqual(theirIds);
  });

  it('PaliGemmaProcessor writes our prompt ids (one image and two); PaliGemmaForConditionalGeneration answers as we do', async () => {
    const model = models['paligemma-random']!;
    const ref = reference('paligemma-random');
    const image = imageOf(ref);
    const spec = vlmOf(model).spec;
    const processor = await AutoProcessor.from_pretrained('paligemma-random');
    const theirs = await PaliGemmaForConditionalGeneration.from_pretrained('paligemma-random', {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      for (const question of ref.questions) {
        const inputs = await processor(rgbRawImage(image), question);
        const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
        const ours = promptPositions(model, spec, [user(question)], [imageLayout(spec, image)]);
        expect(unmarked(ours, spec.imageTokenId)).toEqual(theirIds);
        const want = await theirAnswer(theirs, theirIds, ref.pixel_values, spec.eosTokenIds);
        const got = await answer(
          model,
          image,
          [user(question)],
          undefined,
          { maxTokens: 8 },
          new Stopwatch(),
        );
        expect(got.result.tokenIds, question).toEqual(want);
        got.conversation.release();
      }
      const crop = cropRgba(image, 30, 20);
      const two = await processor([rgbRawImage(image), rgbRawImage(crop)], ref.questions[0]);
      const ours = promptPositions(
        model,
        spec,
        [user(ref.questions[0])],
        [imageLayout(spec, image), imageLayout(spec, crop)],
      );
      expect(ours).toEqual(
        marked(Array.from(two.input_ids.data as BigInt64Array, Number), spec.imageTokenId, spec.imageTokens),
      );
    } finally {
      await theirs.dispose();
    }
  });
});
