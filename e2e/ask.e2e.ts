// Asking about an image through the public API in headless Chromium, on onnxruntime-web wasm and on our engine,
// with a random-weight model in transformers.js' LLaVA layout (tests/corpus/llava-random,
// scripts/make_llava_random.py): a two-turn chat whose answers are PyTorch's greedy tokens, the second turn on the
// first turn's cache; seeded sampling that repeats and agrees across backends; typed refusals; an abort
// mid-answer; and the worker serving on after each.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadLlavaOrt, pixelValues } from '../tests/support/llava-ort';
import { cropRgba } from '../tests/support/rgba';
import { type BrowserSession, launch, openPage } from './browser';

const FOLDER = '/corpus/llava-random/';
const ref = JSON.parse(readFileSync('tests/corpus/llava-random/reference.json', 'utf8')) as {
  chat: { image_rgb: number[]; questions: string[]; prompt_ids: number[][]; answers: number[][] };
};
const side = Math.sqrt(ref.chat.image_rgb.length / 3);
const rgba = {
  width: side,
  height: side,
  data: Array.from({ length: side * side * 4 }, (_, i) =>
    i % 4 === 3 ? 255 : ref.chat.image_rgb[Math.floor(i / 4) * 3 + (i % 4)],
  ),
};
const user = (content: string) => ({ role: 'user' as const, content });

let browser: BrowserSession;
beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/ask.html');
});
afterAll(async () => {
  await browser?.page.evaluate(() => window.askTest.create('wasm')).catch(() => undefined);
  await browser?.close();
});

describe.each(['wasm', 'webgpu'] as const)('ask and chat (%s)', (backend) => {
  it('a two-turn chat answers with PyTorch’s greedy tokens, streamed; the second turn reuses the first’s cache', async () => {
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), FOLDER);
    expect(info.kind).toBe('llava');
    expect(info.contextLength).toBe(64);
    expect(info.chat).toEqual({ systemMessage: false, turns: true, maxImages: 1 });
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const [q1, q2] = ref.chat.questions;
    const [a1, a2] = ref.chat.answers;
    const first = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      rgba,
      [user(q1)],
      a1.length,
    ] as const);
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.streamed).toEqual(a1);
    expect(first.result.cacheOnDevice).toBe(backend === 'webgpu');
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
    const second = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      rgba,
      turns,
      a2.length,
    ] as const);
    expect(second.result.tokenIds).toEqual(a2);
    expect(second.result.reusedTokens).toBe(ref.chat.prompt_ids[0].length + a1.length - 1);
  });

  it('seeded sampling repeats itself; bad input is typed; an abort stops the answer; the worker serves on', async () => {
    const page = browser.page;
    const sampled = (seed: number) =>
      page.evaluate(
        ([im, s]) =>
          window.askTest.chat(im, [{ role: 'user', content: 'w3 w4' }], {
            maxTokens: 6,
            sampling: { temperature: 1.5, topK: 20, topP: 0.95, seed: s },
          }),
        [rgba, seed] as const,
      );
    const a = await sampled(11);
    expect((await sampled(11)).result.tokenIds).toEqual(a.result.tokenIds);
    expect((await sampled(12)).result.tokenIds).not.toEqual(a.result.tokenIds);
    const code = (q: unknown, o?: unknown) =>
      page.evaluate(([im, qq, oo]) => window.askTest.askCode(im, qq, oo), [rgba, q, o] as const);
    expect(await code('   ')).toBe('EMPTY_TEXT');
    expect(await code(Array.from({ length: 70 }, () => 'w1').join(' '))).toBe('TEXT_TOO_LONG');
    expect(await code('w1', { maxTokens: 0 })).toBe('INVALID_INPUT');
    expect(await code('w1', { maxTokens: 2.5 })).toBe('INVALID_INPUT');
    expect(await code('w1', { sampling: { topK: 1000 } })).toBe('INVALID_INPUT');
    expect(await code('w1', { sampling: { temperature: -1 } })).toBe('INVALID_INPUT');
    expect(await code('w1', { sampling: { seed: 1.5 } })).toBe('INVALID_INPUT');
    expect(await code('w1', { sampling: { minP: 1.5 } })).toBe('INVALID_INPUT');
    expect(await code('w1', { sampling: { minP: -0.1 } })).toBe('INVALID_INPUT');
    expect(await code('w1', { maxPixels: 1024 })).toBe('INVALID_INPUT');
    // Its template writes one image: two are INVALID_INPUT (and none, before anything is posted).
    expect(
      await page.evaluate(([im, m]) => window.askTest.chatCode(im, m), [[rgba, rgba], [user('w1')]] as const),
    ).toBe('INVALID_INPUT');
    expect(await page.evaluate(([m]) => window.askTest.chatCode([], m), [[user('w1')]] as const)).toBe(
      'INVALID_INPUT',
    );
    const long = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? { role: 'assistant', content: 'w4 w5' } : user('w1 w2 w3'),
    );
    expect(
      await page.evaluate(([im, m]) => window.askTest.chatCode(im, m), [
        rgba,
        [...long, user('w9')],
      ] as const),
    ).toBe('CONTEXT_FULL');
    expect(
      await page.evaluate(([im]) => window.askTest.chatCode(im, [{ role: 'assistant', content: 'w1' }]), [
        rgba,
      ] as const),
    ).toBe('INVALID_INPUT');
    // A system message: not after the first message; not for a template without a system role (this one's).
    const system = { role: 'system' as const, content: 'w2' };
    for (const messages of [
      [user('w1'), system, user('w3')],
      [system, user('w1')],
    ])
      expect(
        await page.evaluate(([im, m]) => window.askTest.chatCode(im, m), [rgba, messages] as const),
      ).toBe('INVALID_INPUT');
    const aborted = await page.evaluate(([im]) => window.askTest.abortMidStream(im, 'w1 w2'), [
      rgba,
    ] as const);
    expect(aborted.code).toBe('ABORTED');
    expect(aborted.heard.length).toBeGreaterThan(0);
    expect(aborted.heard.length).toBeLessThan(6);
    // Still serving, and still right.
    const again = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      rgba,
      [user(ref.chat.questions[0])],
      ref.chat.answers[0].length,
    ] as const);
    expect(again.result.tokenIds).toEqual(ref.chat.answers[0]);
  });
});

// A float16 export (float16 image features, inputs_embeds, keys and values, logits; float32 pixel_values:
// *_fp16.onnx, made by scripts/make_half_io_graphs.py) answers as onnxruntime-node answers on the same graphs (tests/support/llava-ort.ts,
// float32 feeds narrowed to the float16 its inputs declare). Not on onnxruntime-web's WebGPU provider here: its
// float16 kernels need the adapter's shader-f16, which SwiftShader lacks (our engine holds float16 as float32).
describe.each(['wasm', 'webgpu'] as const)('a float16 export (%s)', (backend) => {
  it('two turns give onnxruntime-node’s greedy tokens, the second on the first’s cache', async () => {
    const reference = await loadLlavaOrt('tests/corpus/llava-random', '_fp16');
    const features = await reference.imageFeatures(pixelValues(ref.chat.image_rgb, 0.5, 0.5));
    const first = await reference.answer(ref.chat.prompt_ids[0], features, null, 6);
    // Its first answer is PyTorch's float32 one, so the second turn's prompt is the one PyTorch was given.
    expect(first.tokens).toEqual(ref.chat.answers[0]);
    const second = await reference.answer(
      ref.chat.prompt_ids[1].slice(first.state.total),
      features,
      first.state,
      6,
    );
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u, 'fp16'), FOLDER);
    expect(info.graphs.map((g) => g.file)).toEqual([
      'onnx/vision_encoder_fp16.onnx',
      'onnx/embed_tokens_fp16.onnx',
      'onnx/decoder_model_merged_fp16.onnx',
    ]);
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const [q1, q2] = ref.chat.questions;
    const one = await page.evaluate(([im, m]) => window.askTest.chat(im, m, { maxTokens: 6 }), [
      rgba,
      [user(q1)],
    ] as const);
    expect(one.result.tokenIds).toEqual(first.tokens);
    const turns = [user(q1), { role: 'assistant' as const, content: one.result.text }, user(q2)];
    const two = await page.evaluate(([im, m]) => window.askTest.chat(im, m, { maxTokens: 6 }), [
      rgba,
      turns,
    ] as const);
    expect(two.result.reusedTokens).toBe(first.state.total - 1);
    expect(two.result.tokenIds).toEqual(second.tokens);
  });
});

// A SmolVLM (Idefics3) folder as transformers.js lays it out (tests/corpus/smolvlm-random,
// scripts/make_smolvlm_random.py): the processor upsizes a 45×29 image and cuts it into 2 × 2 tiles plus the global
// one, each a run of image tokens in the prompt; the chat template (chat_template.json) reads content parts.
describe.each(['wasm', 'webgpu'] as const)('a SmolVLM folder: tiled images (%s)', (backend) => {
  const smol = JSON.parse(readFileSync('tests/corpus/smolvlm-random/reference.json', 'utf8')) as {
    image: { width: number; height: number; rgba: number[] };
    questions: string[];
    prompt_ids: number[][];
    answers: number[][];
  };
  it('two turns answer with PyTorch’s greedy tokens, the second on the first’s cache', async () => {
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), '/corpus/smolvlm-random/');
    expect(info.kind).toBe('llava');
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const image = { width: smol.image.width, height: smol.image.height, data: smol.image.rgba };
    const [q1, q2] = smol.questions;
    const [a1, a2] = smol.answers;
    const first = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      [user(q1)],
      a1.length,
    ] as const);
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.result.promptTokens).toBe(smol.prompt_ids[0].length);
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
    const second = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      turns,
      a2.length,
    ] as const);
    expect(second.result.tokenIds).toEqual(a2);
    expect(second.result.promptTokens).toBe(smol.prompt_ids[1].length);
    // The first turn's prompt and answer (but its last token) as far as the second prompt begins with them: the
    // answer's text leaves out its special tokens. On wasm too: host presents are cut back to it.
    const fed = [...smol.prompt_ids[0], ...a1.slice(0, -1)];
    let common = 0;
    while (fed[common] === smol.prompt_ids[1][common]) common++;
    expect(common).toBeGreaterThan(smol.prompt_ids[0].length);
    expect(second.result.reusedTokens).toBe(common);
  });
});

// Qwen2-VL, Qwen2.5-VL and Qwen3-VL folders as transformers.js lays them out (tests/corpus/qwen2vl-random,
// qwen25vl-random, qwen3vl-random): the processor resizes a 45×29 image to a 48×32 grid of patches (24 image
// tokens), the language model takes 3-D positions (M-RoPE), and the chat template writes the image where the
// message's content parts put it; Qwen2.5-VL's vision tower attends in windows; Qwen3-VL's resamples its learned
// position embeddings to the grid, and its language model interleaves the M-RoPE sections; Qwen3.5's (qwen35-random)
// is a hybrid of Gated DeltaNet layers (onnxruntime's LinearAttention and CausalConvWithState) and gated attention.
describe.each([
  ['wasm', 'qwen2vl-random'],
  ['webgpu', 'qwen2vl-random'],
  ['wasm', 'qwen25vl-random'],
  ['webgpu', 'qwen25vl-random'],
  ['wasm', 'qwen3vl-random'],
  ['webgpu', 'qwen3vl-random'],
  ['wasm', 'qwen35-random'],
  ['webgpu', 'qwen35-random'],
] as const)('a Qwen2-VL folder: an image as its own patch grid (%s, %s)', (backend, corpus) => {
  const qwen = JSON.parse(readFileSync(`tests/corpus/${corpus}/reference.json`, 'utf8')) as {
    image: { width: number; height: number; rgba: number[] };
    questions: string[];
    prompt_ids: number[][];
    answers: number[][];
    two_images: { prompt_ids: number[]; answer: number[] };
    system: { text: string; prompt_ids: number[]; answer: number[] };
    repetition_penalty: { penalty: number; prompt_ids: number[][]; answers: number[][] };
  };
  it('two turns answer with PyTorch’s greedy tokens; an image too thin is BAD_IMAGE, and the chat goes on', async () => {
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), `/corpus/${corpus}/`);
    expect(info.kind).toBe('llava');
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const image = { width: qwen.image.width, height: qwen.image.height, data: qwen.image.rgba };
    const [q1, q2] = qwen.questions;
    const [a1, a2] = qwen.answers;
    const first = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      [user(q1)],
      a1.length,
    ] as const);
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.streamed).toEqual(a1);
    expect(first.result.promptTokens).toBe(qwen.prompt_ids[0].length);
    const thin = { width: 402, height: 2, data: new Array(402 * 2 * 4).fill(70) };
    expect(
      await page.evaluate(([im, m]) => window.askTest.chatCode(im, m), [thin, [user(q1)]] as const),
    ).toBe('BAD_IMAGE');
    // maxPixels outside the processor's bounds is INVALID_INPUT (on llava-random, a model without patch grids, too).
    const maxPixelsCode = (n: number) =>
      page.evaluate(([im, q, o]) => window.askTest.askCode(im, q, o), [image, q1, { maxPixels: n }] as const);
    expect(await maxPixelsCode(4097)).toBe('INVALID_INPUT');
    expect(await maxPixelsCode(255)).toBe('INVALID_INPUT');
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
    const second = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      turns,
      a2.length,
    ] as const);
    expect(second.result.tokenIds).toEqual(a2);
    expect(second.result.promptTokens).toBe(qwen.prompt_ids[1].length);
    // Qwen3.5's hybrid decoder went back to the checkpoint of its states after the first question (its 24 image
    // tokens and the question not fed again), the others to all the first turn fed.
    expect(second.result.reusedTokens).toBeGreaterThan(
      corpus === 'qwen35-random' ? 24 : qwen.prompt_ids[0].length,
    );
    // The conversation's own system message in place of the template's default one: PyTorch's answer.
    const system = { role: 'system' as const, content: qwen.system.text };
    const instructed = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      [system, user(q1)],
      8,
    ] as const);
    expect(instructed.result.tokenIds).toEqual(qwen.system.answer);
    expect(instructed.result.promptTokens).toBe(qwen.system.prompt_ids.length);
    // A repetition penalty given per call (the folder's default is none): PyTorch's answers under transformers'
    // processor, both turns; out-of-range values are INVALID_INPUT and the chat goes on.
    expect(info.repetitionPenalty).toBe(1);
    const { penalty, answers } = qwen.repetition_penalty;
    const penalizedChat = (m: readonly { role: 'user' | 'assistant'; content: string }[]) =>
      page.evaluate(([im, msgs, o]) => window.askTest.chat(im, msgs, o), [
        image,
        m,
        { maxTokens: 8, repetitionPenalty: penalty },
      ] as const);
    const p1 = await penalizedChat([user(q1)]);
    expect(p1.result.tokenIds).toEqual(answers[0]);
    for (const bad of [0, 10.5, '1.3'])
      expect(
        await page.evaluate(([im, q, o]) => window.askTest.askCode(im, q, o), [
          image,
          q1,
          { repetitionPenalty: bad },
        ] as const),
      ).toBe('INVALID_INPUT');
    const p2 = await penalizedChat([
      user(q1),
      { role: 'assistant' as const, content: p1.result.text },
      user(q2),
    ]);
    expect(p2.result.tokenIds).toEqual(answers[1]);
    expect(p2.result.promptTokens).toBe(qwen.repetition_penalty.prompt_ids[1].length);
    if (corpus === 'qwen2vl-random') {
      // Two images in the first message (the image, then its first 24 rows × 40 columns): PyTorch's answer.
      // Plain numbers: what a test page is sent.
      const cut = cropRgba(image, 40, 24);
      const crop = { ...cut, data: Array.from(cut.data) };
      const both = await page.evaluate(([ims, m, n]) => window.askTest.chat(ims, m, { maxTokens: n }), [
        [image, crop],
        [user(q1)],
        qwen.two_images.answer.length,
      ] as const);
      expect(both.result.tokenIds).toEqual(qwen.two_images.answer);
      expect(both.result.promptTokens).toBe(qwen.two_images.prompt_ids.length);
    }
  });
});

// Gemma3 and PaliGemma folders as transformers.js lays them out (tests/corpus/gemma3-random,
// tests/corpus/paligemma-random, scripts/make_gemma_random.py): Gemma3's template writes <start_of_image>, which
// becomes the image's tokens between its start and end tokens, and its local layer's sliding window is shorter
// than the prompt (so its pasts grow, no fixed-capacity cache); PaliGemma has no chat template and its first step
// attends both ways over the image and the prompt.
describe.each(['wasm', 'webgpu'] as const)('Gemma3, PaliGemma and FastVLM-style folders (%s)', (backend) => {
  const reference = (corpus: string) =>
    JSON.parse(readFileSync(`tests/corpus/${corpus}/reference.json`, 'utf8')) as {
      image: { width: number; height: number; rgba: number[] };
      questions: string[];
      prompt_ids: number[][];
      answers: number[][];
    };
  const imageOf = (r: ReturnType<typeof reference>) => ({
    width: r.image.width,
    height: r.image.height,
    data: r.image.rgba,
  });

  it('Gemma3: two turns answer with PyTorch’s greedy tokens', async () => {
    const page = browser.page;
    const gemma = reference('gemma3-random');
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), '/corpus/gemma3-random/');
    expect(info.kind).toBe('llava');
    expect(info.chat).toEqual({ systemMessage: true, turns: true, maxImages: 16 });
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const image = imageOf(gemma);
    const [q1, q2] = gemma.questions;
    const [a1, a2] = gemma.answers;
    const first = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      [user(q1)],
      8,
    ] as const);
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.streamed).toEqual(a1);
    expect(first.result.promptTokens).toBe(gemma.prompt_ids[0].length);
    expect(first.result.cacheOnDevice).toBe(false);
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
    const second = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      turns,
      8,
    ] as const);
    expect(second.result.tokenIds).toEqual(a2);
    expect(second.result.promptTokens).toBe(gemma.prompt_ids[1].length);
  });

  it('FastVLM-style (llava_qwen2, tests/corpus/fastvlm-style: llava-random’s graphs): two turns answer PyTorch’s tokens', async () => {
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), '/corpus/fastvlm-style/');
    expect(info.kind).toBe('llava');
    const [q1, q2] = ref.chat.questions;
    const [a1, a2] = ref.chat.answers;
    const first = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      rgba,
      [user(q1)],
      a1.length,
    ] as const);
    expect(first.result.tokenIds).toEqual(a1);
    expect(first.result.promptTokens).toBe(ref.chat.prompt_ids[0].length);
    const turns = [user(q1), { role: 'assistant' as const, content: first.result.text }, user(q2)];
    const second = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      rgba,
      turns,
      a2.length,
    ] as const);
    expect(second.result.tokenIds).toEqual(a2);
  });

  it('PaliGemma: each prompt answers PyTorch’s tokens; a chat of several messages is INVALID_INPUT, and it goes on', async () => {
    const page = browser.page;
    const pali = reference('paligemma-random');
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), '/corpus/paligemma-random/');
    expect(info.chat).toEqual({ systemMessage: false, turns: false, maxImages: 16 });
    const image = imageOf(pali);
    for (const [k, q] of pali.questions.entries()) {
      const got = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
        image,
        [user(q)],
        8,
      ] as const);
      expect(got.result.tokenIds).toEqual(pali.answers[k]);
      expect(got.result.reusedTokens).toBe(0);
      expect(got.result.promptTokens).toBe(pali.prompt_ids[k].length);
    }
    const turns = [user('w1'), { role: 'assistant' as const, content: 'w2' }, user('w3')];
    expect(await page.evaluate(([im, m]) => window.askTest.chatCode(im, m), [image, turns] as const)).toBe(
      'INVALID_INPUT',
    );
    const again = await page.evaluate(([im, m, n]) => window.askTest.chat(im, m, { maxTokens: n }), [
      image,
      [user(pali.questions[0])],
      8,
    ] as const);
    expect(again.result.tokenIds).toEqual(pali.answers[0]);
  });
});

// LFM2-VL (tests/corpus/lfm2vl-random, scripts/make_lfm2vl_random.py): a small image as one patch grid of its own
// size, a large one as three tiles and a thumbnail; a hybrid decoder whose convolution layers pass a state from step
// to step beside the attention layer's KV cache.
describe.each(['wasm', 'webgpu'] as const)(
  'an LFM2-VL folder: tiles of their own size, a hybrid decoder (%s)',
  (backend) => {
    interface Picture {
      width: number;
      height: number;
      rgba: number[];
    }
    const lfm2 = JSON.parse(readFileSync('tests/corpus/lfm2vl-random/reference.json', 'utf8')) as {
      images: { small: Picture; large: Picture };
      chat: { questions: string[]; texts: string[]; prompt_ids: number[][]; answers: number[][] };
      large: { question: string; prompt_ids: number[]; answer: number[] };
    };
    const picture = (p: Picture) => ({ width: p.width, height: p.height, data: p.rgba });

    it('two turns about a small image and a question about a large one answer with PyTorch’s greedy tokens', async () => {
      const page = browser.page;
      await page.evaluate((b) => window.askTest.create(b), backend);
      const info = await page.evaluate((u) => window.askTest.load(u), '/corpus/lfm2vl-random/');
      expect(info.kind).toBe('llava');
      expect(info.chat).toEqual({ systemMessage: true, turns: true, maxImages: 16 });
      expect(info.placements.every((p) => p.backend === backend)).toBe(true);
      const small = picture(lfm2.images.small);
      const [q1, q2] = lfm2.chat.questions;
      const [a1, a2] = lfm2.chat.answers;
      const first = await page.evaluate(([im, m]) => window.askTest.chat(im, m, { maxTokens: 8 }), [
        small,
        [user(q1)],
      ] as const);
      expect(first.result.tokenIds).toEqual(a1);
      expect(first.streamed).toEqual(a1);
      expect(first.result.promptTokens).toBe(lfm2.chat.prompt_ids[0].length);
      expect(first.result.cacheOnDevice).toBe(backend === 'webgpu');
      // The reply as PyTorch's conversation wrote it.
      const reply = lfm2.chat.texts[1].split('<|im_start|>assistant\n')[1].split('<|im_end|>')[0];
      const second = await page.evaluate(([im, m]) => window.askTest.chat(im, m, { maxTokens: 8 }), [
        small,
        [user(q1), { role: 'assistant' as const, content: reply }, user(q2)],
      ] as const);
      expect(second.result.tokenIds).toEqual(a2);
      expect(second.result.promptTokens).toBe(lfm2.chat.prompt_ids[1].length);
      const large = await page.evaluate(([im, m]) => window.askTest.chat(im, m, { maxTokens: 8 }), [
        picture(lfm2.images.large),
        [user(lfm2.large.question)],
      ] as const);
      expect(large.result.tokenIds).toEqual(lfm2.large.answer);
      expect(large.result.promptTokens).toBe(lfm2.large.prompt_ids.length);
    });
  },
);

describe('sampling agrees across backends', () => {
  it('the same seed draws the same answer on the GPU head and on the host, with min-p too', async () => {
    const page = browser.page;
    const seeded = { temperature: 0.9, topK: 8, topP: 0.9, seed: 5 };
    const answer = async (backend: 'wasm' | 'webgpu', sampling?: typeof seeded & { minP?: number }) => {
      await page.evaluate((b) => window.askTest.create(b), backend);
      await page.evaluate((u) => window.askTest.load(u), FOLDER);
      return (
        await page.evaluate(
          ([im, s]) =>
            window.askTest.chat(im, [{ role: 'user', content: 'w7 w8' }], {
              maxTokens: 6,
              ...(s ? { sampling: s } : {}),
            }),
          [rgba, sampling] as const,
        )
      ).result.tokenIds;
    };
    expect(await answer('webgpu', seeded)).toEqual(await answer('wasm', seeded));
    const cut = { ...seeded, minP: 0.3 };
    expect(await answer('webgpu', cut)).toEqual(await answer('wasm', cut));
    // minP 1 keeps only the most likely candidate: the greedy answer, however hot the draw (which alone is not).
    const greedy = await answer('wasm');
    const hot = { ...seeded, temperature: 5, topP: 1 };
    expect(await answer('webgpu', hot)).not.toEqual(greedy);
    expect(await answer('webgpu', { ...hot, minP: 1 })).toEqual(greedy);
    expect(await answer('wasm', { ...hot, minP: 1 })).toEqual(greedy);
  });

  it('a model that cannot answer is UNSUPPORTED_TASK', async () => {
    const page = browser.page;
    await page.evaluate(() => window.askTest.create('wasm'));
    await page.evaluate((u) => window.askTest.load(u), '/models/clip-tiny/');
    expect(await page.evaluate(([im]) => window.askTest.askCode(im, 'what is this?'), [rgba] as const)).toBe(
      'UNSUPPORTED_TASK',
    );
  });
});
