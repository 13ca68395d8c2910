// Asking about an image with an Idefics3 / SmolVLM folder on our engine, through the loader and the ask pipeline:
// a random-weight folder in transformers.js' layout (scripts/make_smolvlm_random.py) whose processor upsizes the
// image and cuts it into 2 × 2 tiles plus the global one. Checked against PyTorch (the tiles Pillow made, each
// tile's features, the prompt ids and the greedy answers of a two-turn chat) and against transformers.js' own
// Idefics3Processor and Idefics3ForConditionalGeneration on the same folder.
import { readFileSync } from 'node:fs';
import { AutoProcessor, env, Idefics3ForConditionalGeneration, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import {
  type HostTensor,
  hostTensor,
  joinSequence,
  type Tensor as OurTensor,
  toHost,
  toHostFloats,
} from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import {
  answer,
  type ChatMessage,
  type Conversation,
  chatCapabilities,
  promptPositions,
  renderChat,
  takesContentParts,
  tiledLayout,
  vlmOf,
} from '../../../src/pipelines/ask';
import { disposeTensor } from '../../../src/pipelines/encode';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { type VlmFolderFiles, vlmSpec } from '../../../src/pipelines/vlm-spec';
import { TextTokenizer } from '../../../src/text/tokenizer';
import { allTiles, tileImage } from '../../../src/vision/image-tiles';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { cropRgba, rgbRawImage } from '../../support/rgba';
import { nodeGpu } from './gpu';

const NAME = 'smolvlm-random';
const DISK = `tests/corpus/${NAME}/`;
const FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
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
  tiles: Floats & { rows: number; cols: number };
  image_features: Floats;
  questions: string[];
  prompt_ids: number[][];
  answers: number[][];
};
const image = { width: ref.image.width, height: ref.image.height, data: Uint8Array.from(ref.image.rgba) };

const backend = new WebGpuBackend({ gpu: nodeGpu() });
const requests: string[] = [];
/** The folder through the loader on our engine; `extra` adds or replaces files. */
const loadFolder = (extra: Record<string, string> = {}) =>
  loadCorpusFolder(backend, DISK, FILES, { extra, requests });
let model: LoadedModel;
beforeAll(async () => {
  model = await loadFolder();
});
afterAll(async () => {
  await model?.release();
  (await backend.engineDevice()).device.destroy();
});

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const words = (ids: number[]) => model.tokenizer.decode(ids);
/** PyTorch's prompt ids with the image tokens as the pipeline marks them: -1 − k in the k-th run. */
function marked(ids: number[], imageTokenId: number, perRun: number): number[] {
  let seen = 0;
  return ids.map((id) => (id === imageTokenId ? -1 - Math.floor(seen++ / perRun) : id));
}

describe('an Idefics3 (SmolVLM) folder loads as it is', () => {
  it('as the llava family, with its processor config, chat_template.json and both end tokens', () => {
    const spec = vlmOf(model).spec;
    expect(model.kind).toBe('llava');
    expect(spec.imageTokens).toBe(4);
    expect(spec.tiles?.plan).toMatchObject({ longestEdge: 64, tile: 32, split: true, resample: 'lanczos' });
    expect(spec.tiles?.pixelRank).toBe(5);
    expect(spec.eosTokenIds).toEqual([0, 3]);
    expect(takesContentParts(spec.chatTemplate)).toBe(true);
    expect(chatCapabilities(model, vlmOf(model))).toEqual({
      systemMessage: true,
      turns: true,
      maxImages: 16,
    });
    expect(requests.filter((r) => r.endsWith('chat_template.jinja'))).toHaveLength(1); // asked, absent
  });

  it('chat_template.jinja comes before chat_template.json; a chat_template.json without a string is INVALID_MODEL', async () => {
    const jinja = await loadFolder({ 'chat_template.jinja': '{{ "J:" }}<image>{{ messages[0].content }}' });
    try {
      expect(vlmOf(jinja).spec.chatTemplate).toBe('{{ "J:" }}<image>{{ messages[0].content }}');
    } finally {
      await jinja.release();
    }
    await expect(loadFolder({ 'chat_template.json': '{"chat_template": 3}' })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      message: expect.stringMatching(/chat_template\.json has no chat_template string/),
    });
  });

  it("the tiles are Pillow's (transformers' Pillow backend), one 8-bit level apart at most", () => {
    const tiles = tileImage(image, vlmOf(model).spec.tiles!.plan);
    expect([tiles.rows, tiles.cols]).toEqual([ref.tiles.rows, ref.tiles.cols]);
    expect([tiles.count, 3, tiles.edge, tiles.edge]).toEqual(ref.tiles.dims);
    let worst = 0;
    const got = allTiles(tiles);
    for (let i = 0; i < ref.tiles.data.length; i++)
      worst = Math.max(worst, Math.abs(got[i] - ref.tiles.data[i]));
    expect(worst).toBeLessThanOrEqual((2 / 255) * 1.001);
  });

  it("each tile's features on our engine equal PyTorch's (the tile fed alone)", async () => {
    const vision = vlmOf(model).visionEncoder;
    const [n, , t] = ref.tiles.dims;
    const per = ref.image_features.data.length / n;
    for (let k = 0; k < n; k++) {
      const pixels = ref.tiles.data.slice(k * 3 * t * t, (k + 1) * 3 * t * t);
      const out = await vision.run({
        pixel_values: {
          location: 'cpu',
          dtype: 'float32',
          dims: [1, 1, 3, t, t],
          data: Float32Array.from(pixels),
        },
        pixel_attention_mask: {
          location: 'cpu',
          dtype: 'bool',
          dims: [1, 1, t, t],
          data: new Uint8Array(t * t).fill(1),
        },
      });
      const got = (await toHostFloats(out.image_features)).data as Float32Array;
      expect(
        relativeDiff(got, ref.image_features.data.slice(k * per, (k + 1) * per)),
        `tile ${k}`,
      ).toBeLessThan(1e-4);
      if (out.image_features.location === 'gpu') out.image_features.dispose();
    }
  });

  it('the chat renders, expands and tokenizes to the ids PyTorch was given, a run per tile', () => {
    const spec = vlmOf(model).spec;
    const grid = { rows: ref.tiles.rows, cols: ref.tiles.cols };
    expect(promptPositions(model, spec, [user(ref.questions[0])], [tiledLayout(spec, grid)])).toEqual(
      marked(ref.prompt_ids[0], spec.imageTokenId, spec.imageTokens),
    );
    const second = [user(ref.questions[0]), assistant(words(ref.answers[0])), user(ref.questions[1])];
    expect(promptPositions(model, spec, second, [tiledLayout(spec, grid)])).toEqual(
      marked(ref.prompt_ids[1], spec.imageTokenId, spec.imageTokens),
    );
  });
});

describe('vlmSpec: where the chat template comes from, and what an Idefics3 folder must hold', () => {
  const config = JSON.parse(readFileSync(`${DISK}config.json`, 'utf8'));
  const generation = JSON.parse(readFileSync(`${DISK}generation_config.json`, 'utf8'));
  const spec = (files: Partial<VlmFolderFiles>, cfg = config) =>
    vlmSpec(cfg, model.tokenizer, {
      tokenizerConfig: {},
      generation,
      tilePlan: vlmOf(model).spec.tiles?.plan,
      ...files,
    });
  it("a template file first, then tokenizer_config.json's ('default' of a named list), then LLaVA-1.5's", () => {
    const named = [
      { name: 'tool_use', template: 'T' },
      { name: 'default', template: 'D' },
    ];
    expect(spec({ chatTemplate: 'F', tokenizerConfig: { chat_template: 'C' } }).chatTemplate).toBe('F');
    expect(spec({ tokenizerConfig: { chat_template: 'C' } }).chatTemplate).toBe('C');
    expect(spec({ tokenizerConfig: { chat_template: named } }).chatTemplate).toBe('D');
    expect(spec({}).chatTemplate).toMatch(/^\{% for message in messages %\}.*USER: /);
  });

  it('tokens per tile: processor_config.json, else (image_size / patch_size)² / scale_factor²', () => {
    const plan = vlmOf(model).spec.tiles!.plan;
    expect(spec({ tilePlan: plan, processor: { image_seq_len: 4 } }).imageTokens).toBe(4);
    expect(spec({ tilePlan: plan }).imageTokens).toBe(4); // (32 / 8)² / 2²
    const smolvlm256 = { ...config, scale_factor: 4, vision_config: { image_size: 512, patch_size: 16 } };
    expect(spec({ tilePlan: plan }, smolvlm256).imageTokens).toBe(64);
    expect(() => spec({ tilePlan: plan }, { ...config, scale_factor: 3 })).toThrow(
      /image_seq_length is not a count/,
    );
  });

  it('a chat template that does not parse is INVALID_MODEL at load; one that refuses a conversation, INVALID_INPUT', async () => {
    expect(() => spec({ chatTemplate: '{% for m in %}' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/chat template does not parse/),
      }),
    );
    const strict =
      "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
      "{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}<image>{{ message['content'] }}{% endfor %}";
    const vlm = vlmOf(model);
    const picky = { ...model, vlm: { ...vlm, spec: { ...vlm.spec, chatTemplate: strict } } };
    await expect(
      answer(picky, image, [assistant('w1'), user('w2')], undefined, { maxTokens: 1 }, new Stopwatch()),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/roles must alternate/),
    });
  });

  it("generation_config.json's sampling: suggested where do_sample is on, transformers' defaults filled in", () => {
    const plan = vlmOf(model).spec.tiles!.plan;
    const withGeneration = (g: Record<string, unknown>) =>
      vlmSpec(config, model.tokenizer, {
        tokenizerConfig: {},
        generation: { ...generation, ...g },
        tilePlan: plan,
      });
    expect(withGeneration({}).suggestedSampling).toBeUndefined();
    expect(withGeneration({ do_sample: false, temperature: 0.5 }).suggestedSampling).toBeUndefined();
    expect(withGeneration({ do_sample: true, temperature: 0 }).suggestedSampling).toBeUndefined(); // greedy
    // LFM2-VL's recommendation; top_k unset is transformers' 50.
    expect(withGeneration({ do_sample: true, temperature: 0.1, min_p: 0.15 }).suggestedSampling).toEqual({
      temperature: 0.1,
      topK: 50,
      topP: 1,
      minP: 0.15,
    });
    // Gemma3's: top_k 64, top_p 0.95; top_k 0 (off) and past 64 are the most the GPU head draws from.
    expect(withGeneration({ do_sample: true, top_k: 64, top_p: 0.95 }).suggestedSampling).toMatchObject({
      temperature: 1,
      topK: 64,
      topP: 0.95,
    });
    expect(withGeneration({ do_sample: true, top_k: 0 }).suggestedSampling?.topK).toBe(64);
    expect(withGeneration({ do_sample: true, top_k: 1000 }).suggestedSampling?.topK).toBe(64);
    for (const bad of [{ top_p: 0 }, { top_k: 2.5 }, { temperature: -1 }, { min_p: 2 }, { top_p: '0.9' }])
      expect(() => withGeneration({ do_sample: true, ...bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL' }),
      );
  });

  it('an Idefics3 tokenizer without its image strings is INVALID_MODEL', () => {
    const plain = JSON.parse(readFileSync('tests/corpus/llava-random/tokenizer.json', 'utf8'));
    const tokenizer = TextTokenizer.fromJson(plain, {});
    const plan = vlmOf(model).spec.tiles!.plan;
    expect(() => vlmSpec(config, tokenizer, { tokenizerConfig: {}, generation, tilePlan: plan })).toThrow(
      expect.objectContaining({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/fake_token_around_image/),
      }),
    );
  });
});

describe('ask and chat about a tiled image on our engine', () => {
  it('two turns: answers equal PyTorch’s; the second reuses the first turn’s cache', async () => {
    const [q1, q2] = ref.questions;
    const [a1, a2] = ref.answers;
    const first = await answer(
      model,
      image,
      [user(q1)],
      undefined,
      { maxTokens: a1.length },
      new Stopwatch(),
    );
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.result).toMatchObject({ reusedTokens: 0, cacheOnDevice: true, stop: 'length' });
    expect(first.result.promptTokens).toBe(ref.prompt_ids[0].length);
    expect(first.conversation.features).toHaveLength(5);
    const turns = [user(q1), assistant(first.result.text), user(q2)];
    const second = await answer(
      model,
      image,
      turns,
      first.conversation,
      { maxTokens: a2.length },
      new Stopwatch(),
    );
    expect(second.result.tokenIds).toEqual(a2);
    expect(second.conversation).toBe(first.conversation);
    // Reused: what the first turn fed (its prompt, its answer but the last token) as far as the second prompt
    // begins with it; the answer's special tokens are not in its text, so the reuse ends at the first of them.
    const fed = [...ref.prompt_ids[0], ...a1.slice(0, -1)];
    let common = 0;
    while (fed[common] === ref.prompt_ids[1][common]) common++;
    expect(common).toBeGreaterThan(ref.prompt_ids[0].length);
    expect(second.result.reusedTokens).toBe(common);
    second.conversation.release();
  });

  it('the prompt is one prefill run: its 10 pieces joined on the device, with the answer unchanged', async () => {
    const vlm = vlmOf(model);
    const runs: number[] = [];
    const session = vlm.decoder.session;
    const counting = {
      ...session,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: (feeds: Parameters<typeof session.run>[0]) => {
        runs.push(feeds.inputs_embeds.dims[1]);
        return session.run(feeds);
      },
      lastRunStats: () => session.lastRunStats(),
      release: () => session.release(),
    };
    const counted = { ...model, vlm: { ...vlm, decoder: { ...vlm.decoder, session: counting } } };
    const got = await answer(
      counted,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 3 },
      new Stopwatch(),
    );
    expect(got.result.tokenIds).toEqual(ref.answers[0].slice(0, 3));
    // The whole prompt in one run, then one position per step.
    expect(runs).toEqual([ref.prompt_ids[0].length, 1, 1]);
    got.conversation.release();
  });

  it('joinSequence: device pieces join on the GPU, host pieces on the host; pieces that differ do not join', async () => {
    const embed = async (ids: number[]) =>
      (await vlmOf(model).embedTokens.run({ input_ids: hostTensor('int64', [1, ids.length], ids) }))
        .inputs_embeds;
    const [ab, c, abc] = [await embed([20, 21]), await embed([22]), await embed([20, 21, 22])];
    expect(ab.location).toBe('gpu');
    const joined = joinSequence([ab, c]);
    expect(joined?.dims).toEqual([1, 3, 32]);
    const want = (await toHost(abc)).data;
    expect((await toHost(joined as OurTensor)).data).toEqual(want);
    const host = joinSequence([await toHost(ab), await toHost(c)]);
    expect(host?.location).toBe('cpu');
    expect((host as HostTensor).data).toEqual(want);
    expect(joinSequence([ab, await toHost(c)])).toBeUndefined(); // a host piece beside device ones
    expect(
      joinSequence([hostTensor('float32', [1, 2, 3]), hostTensor('float32', [1, 2, 4])]),
    ).toBeUndefined();
    for (const t of [ab, c, abc, joined]) disposeTensor(t);
  });

  it('any of the end tokens ends the answer (the second of generation_config.json’s two)', async () => {
    const vlm = vlmOf(model);
    const first = ref.answers[0][0];
    const ending = { ...model, vlm: { ...vlm, spec: { ...vlm.spec, eosTokenIds: [0, first] } } };
    const got = await answer(
      ending,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 4 },
      new Stopwatch(),
    );
    expect(got.result).toMatchObject({ tokenIds: [], text: '', stop: 'eos' });
    got.conversation.release();
  });

  it('a template that writes the image twice, or a question that does, is refused typed', async () => {
    await expect(
      answer(model, image, [user('w1 <image> w2')], undefined, { maxTokens: 1 }, new Stopwatch()),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/2 images/) });
  });
});

describe('chat templates that read content parts', () => {
  it('a llava-hf style template gets parts, the image first in the first user message', () => {
    const template =
      "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}" +
      "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% elif item['type'] == " +
      "'image' %}<image>\n{% endif %}{% endfor %}{% if message['role'] != 'user' %}</s>{% endif %} {% endfor %}" +
      '{% if add_generation_prompt %}ASSISTANT:{% endif %}';
    const spec = { ...vlmOf(model).spec, chatTemplate: template };
    expect(takesContentParts(template)).toBe(true);
    expect(renderChat(spec, [user('what?'), assistant('a cat'), user('where?')])).toBe(
      'USER: <image>\nwhat? ASSISTANT: a cat</s> USER: where? ASSISTANT:',
    );
  });

  it('a template that takes both forms (`is string`, as blip2-tiny’s) gets strings', () => {
    const template = JSON.parse(
      readFileSync('models/blip2-tiny/tokenizer_config.json', 'utf8'),
    ).chat_template;
    expect(takesContentParts(template)).toBe(false);
    expect(
      renderChat({ ...vlmOf(model).spec, chatTemplate: template, bosToken: '<s>' }, [
        user('what?'),
        assistant('a cat'),
        user('where?'),
      ]),
    ).toBe('<s><|user|> <image> what?<|assistant|> a cat</s><|user|> where?<|assistant|>');
  });

  it('string templates (LLaVA-1.5, ours) get strings', () => {
    const template =
      "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% if loop.first %}<image>\n{% endif %}" +
      "{{ message['content'] }} {% else %}ASSISTANT: {{ message['content'] }}{% endif %}{% endfor %}";
    expect(takesContentParts(template)).toBe(false);
    expect(renderChat({ ...vlmOf(model).spec, chatTemplate: template }, [user('what?')])).toBe(
      'USER: <image>\nwhat? ',
    );
  });
});

// transformers.js' own Idefics3 classes (onnxruntime-node underneath) read this folder as it is.
describe("transformers.js' Idefics3Processor and Idefics3ForConditionalGeneration on the same folder", () => {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;
  const template = (
    JSON.parse(readFileSync(`${DISK}chat_template.json`, 'utf8')) as { chat_template: string }
  ).chat_template;
  const rgb = () => rgbRawImage(image);

  it('its processor renders and expands the chat to our prompt ids', async () => {
    const processor = await AutoProcessor.from_pretrained(NAME);
    const spec = vlmOf(model).spec;
    const messages = [
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: ref.questions[0] }] },
      { role: 'assistant', content: [{ type: 'text', text: words(ref.answers[0]) }] },
      { role: 'user', content: [{ type: 'text', text: ref.questions[1] }] },
    ];
    const text = processor.apply_chat_template(messages, {
      add_generation_prompt: true,
      chat_template: template,
    });
    const inputs = await processor(text, rgb());
    const theirs = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const ours = promptPositions(
      model,
      spec,
      [user(ref.questions[0]), assistant(words(ref.answers[0])), user(ref.questions[1])],
      [tiledLayout(spec, { rows: ref.tiles.rows, cols: ref.tiles.cols })],
    );
    expect(ours).toEqual(marked(theirs, spec.imageTokenId, spec.imageTokens));
    expect(inputs.pixel_values.dims).toEqual([1, ...ref.tiles.dims]);
  });

  it('a folder with do_image_splitting off: one tile, the prompt its processor writes for an unsplit image', async () => {
    const processor = await AutoProcessor.from_pretrained(NAME);
    const vlm = vlmOf(model);
    const tiles = vlm.spec.tiles!;
    const unsplit = {
      ...model,
      vlm: { ...vlm, spec: { ...vlm.spec, tiles: { ...tiles, plan: { ...tiles.plan, split: false } } } },
    };
    const messages = [
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: ref.questions[0] }] },
    ];
    const text = processor.apply_chat_template(messages, {
      add_generation_prompt: true,
      chat_template: template,
    });
    const inputs = await processor(text, rgb(), { do_image_splitting: false });
    const theirs = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    expect(inputs.pixel_values.dims).toEqual([1, 1, 3, 32, 32]);
    const got = await answer(
      unsplit,
      image,
      [user(ref.questions[0])],
      undefined,
      { maxTokens: 1 },
      new Stopwatch(),
    );
    expect(got.conversation.features).toHaveLength(1);
    expect(got.conversation.fed).toEqual(marked(theirs, vlm.spec.imageTokenId, vlm.spec.imageTokens));
    got.conversation.release();
  });

  it('two images: its processor writes our prompt ids, its model answers as we do', async () => {
    // The test image and a 20 × 30 crop of it, both in the first message.
    const crop = cropRgba(image, 30, 20);
    const processor = await AutoProcessor.from_pretrained(NAME);
    const messages = [
      {
        role: 'user',
        content: [{ type: 'image' }, { type: 'image' }, { type: 'text', text: ref.questions[0] }],
      },
    ];
    const text = processor.apply_chat_template(messages, {
      add_generation_prompt: true,
      chat_template: template,
    });
    const inputs = await processor(text, [[rgbRawImage(image), rgbRawImage(crop)]]);
    const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const theirs = await Idefics3ForConditionalGeneration.from_pretrained(NAME, {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      // Our tiles (Pillow's resampling, checked above), not its processor's (another resize): the model is compared.
      const spec = vlmOf(model).spec;
      const plan = spec.tiles!.plan;
      const tiles = [image, crop].map((im) => allTiles(tileImage(im, plan)));
      const [n, , t] = inputs.pixel_values.dims.slice(1);
      const pixels = new Float32Array(n * 3 * t * t);
      pixels.set(tiles[0]);
      pixels.set(tiles[1], tiles[0].length);
      const generated = (await theirs.generate({
        input_ids: inputs.input_ids,
        attention_mask: inputs.attention_mask,
        pixel_values: new Tensor('float32', pixels, [1, n, 3, t, t]),
        pixel_attention_mask: new Tensor('bool', new Uint8Array(n * t * t).fill(1), [1, n, t, t]),
        max_new_tokens: 6,
        do_sample: false,
      })) as Tensor;
      const want = Array.from(generated.data as BigInt64Array, Number)
        .slice(theirIds.length)
        .filter((id) => !spec.eosTokenIds.includes(id));
      const got = await answer(
        model,
        [image, crop],
        [user(ref.questions[0])],
        undefined,
        { maxTokens: 6 },
        new Stopwatch(),
      );
      // Both images' tiles, in order: 2 × 2 + global, then the crop's.
      expect(got.conversation.features.length).toBe(inputs.pixel_values.dims[1]);
      const fed = got.conversation.fed.slice(0, got.result.promptTokens);
      expect(fed.map((id) => (id < 0 ? spec.imageTokenId : id))).toEqual(theirIds);
      expect(got.result.tokenIds).toEqual(want.slice(0, got.result.tokenIds.length));
      expect(got.result.tokenIds.length).toBe(want.length);
      got.conversation.release();
    } finally {
      await theirs.dispose();
    }
  });

  it('its model, given the same tiles and ids, answers both turns as we do', async () => {
    const theirs = await Idefics3ForConditionalGeneration.from_pretrained(NAME, {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      const spec = vlmOf(model).spec;
      const grid = { rows: ref.tiles.rows, cols: ref.tiles.cols };
      const pixels = new Tensor('float32', Float32Array.from(ref.tiles.data), [1, ...ref.tiles.dims]);
      const [n, , t] = ref.tiles.dims;
      const mask = new Tensor('bool', new Uint8Array(n * t * t).fill(1), [1, n, t, t]);
      let turns: ChatMessage[] = [];
      let conversation: Conversation | undefined;
      for (const question of ref.questions) {
        turns = [...turns, user(question)];
        const ids = promptPositions(model, spec, turns, [tiledLayout(spec, grid)]).map((id) =>
          BigInt(id < 0 ? spec.imageTokenId : id),
        );
        const generated = (await theirs.generate({
          input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]),
          attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          pixel_values: pixels,
          pixel_attention_mask: mask,
          max_new_tokens: 6,
          do_sample: false,
        })) as Tensor;
        const want = Array.from(generated.data as BigInt64Array, Number)
          .slice(ids.length)
          .filter((id) => !spec.eosTokenIds.includes(id));
        const got = await answer(model, image, turns, conversation, { maxTokens: 6 }, new Stopwatch());
        expect(got.result.tokenIds, question).toEqual(want.slice(0, got.result.tokenIds.length));
        expect(got.result.tokenIds.length).toBe(want.length);
        conversation = got.conversation;
        turns = [...turns, assistant(got.result.text)];
      }
      conversation?.release();
    } finally {
      await theirs.dispose();
    }
  });
});
