// Florence-2 through the public API in headless Chromium, on onnxruntime-web wasm and on our engine, with a
// random-weight folder in transformers.js' layout (tests/corpus/florence2-random, scripts/make_florence2_random.py):
// caption's text and region tasks give PyTorch's greedy ids under Florence-2's generation rules, streamed, region
// tasks with their regions (segmentation's polygons too); a task answered in a way webvl does not read, a BLIP
// prompt and a question are typed refusals; and the worker serves
// on after each.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

const FOLDER = '/corpus/florence2-random/';
const ref = JSON.parse(readFileSync('tests/corpus/florence2-random/reference.json', 'utf8')) as {
  config: { max_new_tokens: number };
  image_rgb: { dims: number[]; data: number[] };
  tasks: Record<string, { greedy: number[]; text?: string; input?: string }>;
};
const [side] = ref.image_rgb.dims;
const rgba = {
  width: side,
  height: side,
  data: Array.from({ length: side * side * 4 }, (_, i) =>
    i % 4 === 3 ? 255 : ref.image_rgb.data[Math.floor(i / 4) * 3 + (i % 4)],
  ),
};
const maxTokens = ref.config.max_new_tokens;

let browser: BrowserSession;
beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/ask.html');
});
afterAll(async () => {
  await browser?.page.evaluate(() => window.askTest.create('wasm')).catch(() => undefined);
  await browser?.close();
});

describe.each(['wasm', 'webgpu'] as const)('a Florence-2 folder (%s)', (backend) => {
  it('loads as it is and answers its text and region tasks with PyTorch’s greedy ids, streamed', async () => {
    const page = browser.page;
    await page.evaluate((b) => window.askTest.create(b), backend);
    const info = await page.evaluate((u) => window.askTest.load(u), FOLDER);
    expect(info.kind).toBe('florence2');
    expect(info.graphs.map((g) => g.role)).toEqual([
      'visionEncoder',
      'embedTokens',
      'encoder',
      'decoderMerged',
    ]);
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    expect(info.maxCaptionTokens).toBe(64);
    expect(info.captionTasks).toEqual(expect.arrayContaining(Object.keys(ref.tasks)));
    expect(info.captionTasks).toContain('<REGION_TO_SEGMENTATION>');
    for (const [task, want] of Object.entries(ref.tasks)) {
      const got = await page.evaluate(([im, o]) => window.askTest.caption(im, o), [
        rgba,
        { task, maxTokens, ...(want.input === undefined ? {} : { taskInput: want.input }) },
      ] as const);
      expect(got.result.tokenIds, task).toEqual(want.greedy);
      expect(got.streamed, task).toEqual(want.greedy);
      expect(got.lastRun).toMatchObject({ task: 'caption', mode: 'decoder' });
      // Text tasks answer in text; region tasks name regions too (their values are checked against
      // transformers.js' post_process_generation in tests/engine/webgpu/florence2.test.ts).
      if (want.text !== undefined) expect(got.result.regions, task).toBeUndefined();
      else if (got.result.regions?.shape === 'polygon')
        expect(got.result.regions.polygons?.length, task).toBeGreaterThan(0);
      else {
        expect(got.result.regions?.boxes.length, task).toBeGreaterThan(0);
        expect(
          got.result.regions?.boxes.every((b) => b.length === (task === '<OCR_WITH_REGION>' ? 8 : 4)),
        ).toBe(true);
      }
    }
    // No task: <CAPTION>, up to generation_config's max_length (20, its start token included).
    const plain = await page.evaluate(([im]) => window.askTest.caption(im), [rgba] as const);
    expect(plain.result.tokenIds).toEqual(ref.tasks['<CAPTION>'].greedy);
  });

  it('an unknown task, inputs given, missing or too long, a BLIP prompt, a question and bad numbers are typed; it serves on', async () => {
    const page = browser.page;
    const code = (options: unknown) =>
      page.evaluate(([im, o]) => window.askTest.captionCode(im, o), [rgba, options] as const);
    expect(await code({ task: '<REGION_TO_SEGMENTATION>' })).toBe('INVALID_INPUT');
    expect(await code({ task: '<CAPTION_TO_PHRASE_GROUNDING>' })).toBe('INVALID_INPUT');
    expect(await code({ task: '<OD>', taskInput: 'cats' })).toBe('INVALID_INPUT');
    // 17 image features and a 49-token prompt: past the encoder's 64 positions.
    expect(await code({ task: '<CAPTION_TO_PHRASE_GROUNDING>', taskInput: 'red '.repeat(40) })).toBe(
      'TEXT_TOO_LONG',
    );
    expect(await code({ task: 'what is this?' })).toBe('INVALID_INPUT');
    expect(await code({ task: 3 })).toBe('INVALID_INPUT');
    expect(await code({ prompt: 'a picture of' })).toBe('INVALID_INPUT');
    expect(await code({ maxTokens: 65 })).toBe('INVALID_INPUT');
    expect(await code({ numBeams: 0 })).toBe('INVALID_INPUT');
    expect(await page.evaluate(([im]) => window.askTest.askCode(im, 'what is it?'), [rgba] as const)).toBe(
      'UNSUPPORTED_TASK',
    );
    const got = await page.evaluate(([im, o]) => window.askTest.caption(im, o), [
      rgba,
      { task: '<DETAILED_CAPTION>', maxTokens },
    ] as const);
    expect(got.result.tokenIds).toEqual(ref.tasks['<DETAILED_CAPTION>'].greedy);
  });
});

describe('options.task on another model', () => {
  it('is INVALID_INPUT on a BLIP model, which captions on after it', async () => {
    const page = browser.page;
    await page.evaluate(() => window.askTest.create('wasm'));
    await page.evaluate((u) => window.askTest.load(u), '/models/blip-tiny/');
    const caption = () =>
      page.evaluate(([im]) => window.askTest.caption(im, { maxTokens: 4 }), [rgba] as const);
    const before = await caption();
    for (const options of [{ task: '<CAPTION>' }, { taskInput: 'a red circle' }])
      expect(
        await page.evaluate(([im, o]) => window.askTest.captionCode(im, o), [rgba, options] as const),
      ).toBe('INVALID_INPUT');
    expect((await caption()).result.tokenIds).toEqual(before.result.tokenIds);
  });
});
