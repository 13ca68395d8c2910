// Asking about an image on our engine, through the model loader and the ask pipeline, with a random-weight
// llava-layout folder (scripts/make_llava_random.py): the chat template's ids, the answers of a two-turn chat and
// the reuse of the first turn's KV cache, all against PyTorch's greedy tokens; the typed refusals.
import { existsSync, readFileSync } from 'node:fs';
import {
  AutoProcessor,
  env,
  LlavaForConditionalGeneration,
  LlavaQwen2ForCausalLM,
  RawImage,
  Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import {
  answer,
  type ChatMessage,
  type Conversation,
  chatCapabilities,
  hasSystemRole,
  promptPositions,
  renderChat,
  vlmOf,
} from '../../../src/pipelines/ask';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { loadLlavaOrt, pixelValues } from '../../support/llava-ort';
import { nodeGpu } from './gpu';

const DISK = 'tests/corpus/llava-random/';
const FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/decoder_model_merged.onnx',
];
const ref = JSON.parse(readFileSync(`${DISK}reference.json`, 'utf8')) as {
  chat: { image_rgb: number[]; questions: string[]; prompt_ids: number[][]; answers: number[][] };
};
const side = Math.sqrt(ref.chat.image_rgb.length / 3);
const image = {
  width: side,
  height: side,
  data: Uint8Array.from({ length: side * side * 4 }, (_, i) =>
    i % 4 === 3 ? 255 : ref.chat.image_rgb[Math.floor(i / 4) * 3 + (i % 4)],
  ),
};

const backend = new WebGpuBackend({ gpu: nodeGpu() });
/** The folder through the loader, on our engine; `dtype` 'fp16' reads the float16-IO graphs (*_fp16.onnx). */
const loadFolder = (dtype?: 'fp16') => loadCorpusFolder(backend, DISK, FILES, { dtype });
let model: LoadedModel;
beforeAll(async () => {
  model = await loadFolder();
});
afterAll(async () => {
  await model?.release();
  (await backend.engineDevice()).device.destroy();
});

const user = (content: string) => ({ role: 'user' as const, content });
const words = (ids: number[]) => ids.map((id) => model.tokenizer.tokenOf(id)).join(' ');

describe('ask and chat on our engine', () => {
  it('the chat template renders the ids PyTorch was given, the image token expanded to its features', () => {
    const spec = vlmOf(model).spec;
    const marked = (ids: number[]) => ids.map((id) => (id === spec.imageTokenId ? -1 : id));
    expect(promptPositions(model, spec, [user(ref.chat.questions[0])])).toEqual(
      marked(ref.chat.prompt_ids[0]),
    );
    const second = [
      user(ref.chat.questions[0]),
      { role: 'assistant' as const, content: words(ref.chat.answers[0]) },
      user(ref.chat.questions[1]),
    ];
    expect(promptPositions(model, spec, second)).toEqual(marked(ref.chat.prompt_ids[1]));
  });

  it('two turns: answers equal PyTorch’s; the second reuses the first turn’s cache on the GPU', async () => {
    const [q1, q2] = ref.chat.questions;
    const [a1, a2] = ref.chat.answers;
    const streamed: number[] = [];
    const first = await answer(
      model,
      image,
      [user(q1)],
      undefined,
      { maxTokens: a1.length, onToken: (t) => void streamed.push(t.tokenId) },
      new Stopwatch(),
    );
    expect(first.result.tokenIds).toEqual(a1);
    expect(streamed).toEqual(a1);
    expect(first.result).toMatchObject({ reusedTokens: 0, cacheOnDevice: true, stop: 'length' });
    expect(first.result.text).toBe(words(a1));
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
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
    // Everything the first turn fed: its prompt and the answer tokens but the last (never fed).
    expect(second.result.reusedTokens).toBe(ref.chat.prompt_ids[0].length + a1.length - 1);
    // The same conversation from scratch gives the same answer.
    const fresh = await answer(model, image, turns, undefined, { maxTokens: a2.length }, new Stopwatch());
    expect(fresh.result.tokenIds).toEqual(a2);
    expect(fresh.result.reusedTokens).toBe(0);
    fresh.conversation.release();
    second.conversation.release();
  });

  it('another image starts over; a question too long for the context, or a conversation, is refused typed', async () => {
    let conversation: Conversation | undefined;
    const other = { ...image, data: image.data.map((v, i) => (i % 4 === 3 ? 255 : 255 - v)) };
    const a = await answer(model, image, [user('w1')], undefined, { maxTokens: 2 }, new Stopwatch());
    conversation = a.conversation;
    const b = await answer(model, other, [user('w1')], conversation, { maxTokens: 2 }, new Stopwatch());
    expect(b.conversation).not.toBe(conversation);
    expect(b.result.reusedTokens).toBe(0);
    conversation.release();
    conversation = b.conversation;
    const long = Array.from({ length: 70 }, (_, i) => `w${i % 80}`).join(' ');
    await expect(answer(model, image, [user(long)], conversation, {}, new Stopwatch())).rejects.toMatchObject(
      {
        code: 'TEXT_TOO_LONG',
      },
    );
    const turns = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? user('w1 w2 w3') : { role: 'assistant' as const, content: 'w4 w5' },
    );
    await expect(
      answer(model, image, [...turns, user('w9')], conversation, {}, new Stopwatch()),
    ).rejects.toMatchObject({
      code: 'CONTEXT_FULL',
    });
    const aborted = new AbortController();
    aborted.abort();
    await expect(
      answer(model, image, [user('w1')], conversation, { signal: aborted.signal }, new Stopwatch()),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    // Its template writes one image: two are refused, as are none and more than the limit.
    await expect(
      answer(model, [image, other], [user('w1')], conversation, {}, new Stopwatch()),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/put 1 image in the prompt where the conversation has 2/),
    });
    for (const images of [[], new Array(17).fill(image)])
      await expect(answer(model, images, [user('w1')], undefined, {}, new Stopwatch())).rejects.toMatchObject(
        {
          code: 'INVALID_INPUT',
          message: expect.stringMatching(/1 to 16 images/),
        },
      );
    conversation.release();
  });

  it('a model that is not a generative VLM cannot answer: UNSUPPORTED_TASK', () => {
    expect(() => vlmOf({ ...model, vlm: undefined })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_TASK' }),
    );
  });
});

describe('a float16 export (float16 inputs_embeds, image features, keys and values and logits)', () => {
  it('two turns on our engine answer as onnxruntime-node answers on the same graphs', async () => {
    const half = await loadFolder('fp16');
    const reference = await loadLlavaOrt(DISK, '_fp16');
    try {
      const spec = vlmOf(half).spec;
      // The pipeline's prompt ids, image positions as the image token (where the reference writes the features).
      const ids = (turns: Parameters<typeof promptPositions>[2]) =>
        promptPositions(half, spec, turns).map((id) => (id === -1 ? spec.imageTokenId : id));
      const features = await reference.imageFeatures(pixelValues(ref.chat.image_rgb, 0.5, 0.5));
      const [q1, q2] = ref.chat.questions;
      const one = await answer(half, image, [user(q1)], undefined, { maxTokens: 6 }, new Stopwatch());
      const first = await reference.answer(ids([user(q1)]), features, null, 6);
      expect(one.result.tokenIds).toEqual(first.tokens);
      expect(one.result.cacheOnDevice).toBe(true);
      const turns = [user(q1), { role: 'assistant' as const, content: one.result.text }, user(q2)];
      const two = await answer(half, image, turns, one.conversation, { maxTokens: 6 }, new Stopwatch());
      // The reference continues from its first turn's cache with the rest of the same prompt.
      const second = await reference.answer(ids(turns).slice(first.state.total), features, first.state, 6);
      // The reference fed its last answer token too; the pipeline leaves it for the next turn's prompt.
      expect(two.result.reusedTokens).toBe(first.state.total - 1);
      expect(two.result.tokenIds).toEqual(second.tokens);
      two.conversation.release();
      console.log(
        `float16 export: ${JSON.stringify([first.tokens, second.tokens])}; float32 PyTorch: ${JSON.stringify(ref.chat.answers)}`,
      );
    } finally {
      await half.release();
    }
  });
});

// A FastVLM-style folder (model_type llava_qwen2; tests/corpus/fastvlm-style, scripts/make_fastvlm_style.py): the
// language model's fields at the top of config.json, no image_seq_length (LlavaProcessor counts an image's tokens
// from processor_config.json's patch size), and a chat template that writes no image (as Qwen2's): the image token
// goes before the first question, as LLaVA's conversations put it. Its graphs are llava-random's, so PyTorch's
// answers are llava-random's.
describe('a FastVLM-style folder (llava_qwen2) answers as PyTorch does', () => {
  const FAST = 'tests/corpus/fastvlm-style/';
  const FAST_FILES = [...FILES, 'processor_config.json'];

  it("the image's tokens from the patch size; the image token before the first question; two turns answer PyTorch's tokens", async () => {
    const fast = await loadCorpusFolder(backend, FAST, FAST_FILES);
    try {
      const spec = vlmOf(fast).spec;
      expect(fast.kind).toBe('llava');
      expect(spec.imageTokens).toBe(4);
      // Its template writes no image, so each image's token and a line break go before the question; but this
      // word-level tokenizer drops line breaks, so two images' tokens would be one run: one image, as the probe
      // finds.
      expect(chatCapabilities(fast, vlmOf(fast))).toEqual({
        systemMessage: false,
        turns: true,
        maxImages: 1,
      });
      const marked = (ids: number[]) => ids.map((id) => (id === spec.imageTokenId ? -1 : id));
      let turns: ChatMessage[] = [];
      let conversation: Conversation | undefined;
      for (const [k, question] of ref.chat.questions.entries()) {
        turns = [...turns, user(question)];
        expect(promptPositions(fast, spec, turns)).toEqual(marked(ref.chat.prompt_ids[k]));
        const got = await answer(
          fast,
          image,
          turns,
          conversation,
          { maxTokens: ref.chat.answers[k].length },
          new Stopwatch(),
        );
        expect(got.result.tokenIds, question).toEqual(ref.chat.answers[k]);
        conversation = got.conversation;
        turns = [...turns, { role: 'assistant' as const, content: got.result.text }];
      }
      conversation?.release();
      // A question that writes the image token itself (as FastVLM's model card does) gets no second one.
      expect(promptPositions(fast, spec, [user(`<image>${ref.chat.questions[0]}`)])).toEqual(
        marked(ref.chat.prompt_ids[0]),
      );
    } finally {
      await fast.release();
    }
  });

  it("transformers.js' LlavaProcessor expands our prompt as we do; LlavaQwen2ForCausalLM answers as we do", async () => {
    env.localModelPath = 'tests/corpus/';
    env.allowRemoteModels = false;
    const fast = await loadCorpusFolder(backend, FAST, FAST_FILES);
    const processor = await AutoProcessor.from_pretrained('fastvlm-style');
    const theirs = await LlavaQwen2ForCausalLM.from_pretrained('fastvlm-style', {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      const spec = vlmOf(fast).spec;
      const question = ref.chat.questions[0];
      const text = processor.apply_chat_template([{ role: 'user', content: `<image>\n${question}` }], {
        add_generation_prompt: true,
      }) as string;
      const inputs = await processor(
        new RawImage(Uint8ClampedArray.from(ref.chat.image_rgb), side, side, 3),
        text,
        {
          add_special_tokens: false,
        },
      );
      const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      const ours = promptPositions(fast, spec, [user(question)]);
      expect(ours.map((id) => (id < 0 ? spec.imageTokenId : id))).toEqual(theirIds);
      const generated = (await theirs.generate({
        ...inputs,
        pixel_values: new Tensor('float32', pixelValues(ref.chat.image_rgb, 0.5, 0.5), [1, 3, side, side]),
        max_new_tokens: 6,
        do_sample: false,
      })) as Tensor;
      const want = Array.from(generated.data as BigInt64Array, Number).slice(theirIds.length);
      const got = await answer(fast, image, [user(question)], undefined, { maxTokens: 6 }, new Stopwatch());
      expect(got.result.tokenIds).toEqual(want);
      got.conversation.release();
    } finally {
      await theirs.dispose();
      await fast.release();
    }
  });
});

describe('a system message goes where the chat template writes one', () => {
  const corpusTemplate = (name: string) => {
    const dir = `tests/corpus/${name}/`;
    if (existsSync(`${dir}chat_template.jinja`)) return readFileSync(`${dir}chat_template.jinja`, 'utf8');
    if (existsSync(`${dir}chat_template.json`))
      return JSON.parse(readFileSync(`${dir}chat_template.json`, 'utf8')).chat_template as string;
    return JSON.parse(readFileSync(`${dir}tokenizer_config.json`, 'utf8')).chat_template as string;
  };

  it('templates that name the role, or write each role as it is, take one; LLaVA-1.5-style ones do not', () => {
    expect(hasSystemRole(corpusTemplate('qwen2vl-random'))).toBe(true);
    expect(hasSystemRole(corpusTemplate('gemma3-random'))).toBe(true);
    expect(hasSystemRole(corpusTemplate('smolvlm-random'))).toBe(true); // message['role'] | capitalize
    expect(hasSystemRole(corpusTemplate('llava-random'))).toBe(false); // else-branch: the assistant's
    // info().model.chat says so, and that this template writes one image.
    expect(chatCapabilities(model, vlmOf(model))).toEqual({
      systemMessage: false,
      turns: true,
      maxImages: 1,
    });
    const spec = vlmOf(model).spec;
    expect(() => promptPositions(model, spec, [{ role: 'system', content: 'w1' }, user('w2')])).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
  });

  it("SmolVLM's template writes it as transformers.js' Idefics3Processor does", async () => {
    env.localModelPath = 'tests/corpus/';
    env.allowRemoteModels = false;
    const processor = await AutoProcessor.from_pretrained('smolvlm-random');
    const template = corpusTemplate('smolvlm-random');
    const theirs = processor.apply_chat_template(
      [
        { role: 'system', content: [{ type: 'text', text: 'w1 w2' }] },
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'w3' }] },
      ],
      { add_generation_prompt: true, chat_template: template },
    );
    const spec = { ...vlmOf(model).spec, chatTemplate: template };
    expect(renderChat(spec, [{ role: 'system', content: 'w1 w2' }, user('w3')])).toBe(theirs);
  });
});

// transformers.js' own LLaVA (onnxruntime-node underneath) reads this folder as it is: its greedy answers to the
// pipeline's prompt ids are the answers our engine gives through the loader and the ask pipeline.
describe("transformers.js' LlavaForConditionalGeneration on the same folder", () => {
  it.each(['fp32', 'fp16'] as const)('%s: both turns of the chat give our answers', async (dtype) => {
    env.localModelPath = 'tests/corpus/';
    env.allowRemoteModels = false;
    const theirs = await LlavaForConditionalGeneration.from_pretrained('llava-random', {
      dtype,
      device: 'cpu',
    });
    const ours = dtype === 'fp32' ? model : await loadFolder(dtype);
    try {
      const spec = vlmOf(ours).spec;
      const side = Math.sqrt(ref.chat.image_rgb.length / 3);
      const pixels = new Tensor('float32', pixelValues(ref.chat.image_rgb, 0.5, 0.5), [1, 3, side, side]);
      let turns: ChatMessage[] = [];
      let conversation: Conversation | undefined;
      for (const question of ref.chat.questions) {
        turns = [...turns, user(question)];
        const ids = promptPositions(ours, spec, turns).map((id) =>
          BigInt(id === -1 ? spec.imageTokenId : id),
        );
        const generated = (await theirs.generate({
          input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]),
          attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          pixel_values: pixels,
          max_new_tokens: 6,
          do_sample: false,
        })) as Tensor;
        const want = Array.from(generated.data as BigInt64Array, Number).slice(ids.length);
        const got = await answer(ours, image, turns, conversation, { maxTokens: 6 }, new Stopwatch());
        expect(got.result.tokenIds, question).toEqual(want);
        conversation = got.conversation;
        turns = [...turns, { role: 'assistant' as const, content: got.result.text }];
      }
      conversation?.release();
    } finally {
      await theirs.dispose();
      if (ours !== model) await ours.release();
    }
  });
});
