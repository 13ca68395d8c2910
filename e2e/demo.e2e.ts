// The demo as `npm run demo` serves it (vite build + vite preview): load it, use every panel, then cut the
// network (context.setOffline), reload, and use classification, captioning, search and Ask again.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, launch } from './browser';
import { type DevServer, startBuiltDemo } from './server';

let browser: BrowserSession;
let server: DevServer;
let url: string;

const gallery = readFileSync('models/data/gallery/captions.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map(
    (l) => JSON.parse(l) as { file: string; caption: string; objects: { colour: string; shape: string }[] },
  );

beforeAll(async () => {
  server = await startBuiltDemo();
  // wasm: SwiftShader's WebGPU is far slower than wasm for these models ('auto' would pick wasm too).
  url = `${server.url}?backend=wasm&gallery=200`;
  browser = await launch();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('#status[data-ready="true"]', { timeout: 120_000 });
}

async function classifyTop(page: Page): Promise<string> {
  await page.click('#tab-classify');
  await page.evaluate(() => {
    delete document.getElementById('classify-out')!.dataset.top;
  });
  await page.click('#classify-run');
  await page.waitForSelector('#classify-out[data-top]', { timeout: 60_000 });
  return page.$eval('#classify-out', (el) => (el as HTMLElement).dataset.top ?? '');
}

async function caption(page: Page): Promise<string> {
  await page.click('#tab-caption');
  await page.click('#caption-run');
  await page.waitForFunction(() => !!document.getElementById('caption-out')?.dataset.done, null, {
    timeout: 60_000,
  });
  return page.$eval('#caption-out', (el) => (el as HTMLElement).dataset.done ?? '');
}

/** Asks about the picked image in the Ask tab (its model loads the first time the tab opens); the answer. */
async function ask(page: Page, question: string): Promise<{ answer: string; note: string }> {
  await page.click('#tab-ask');
  await page.waitForSelector('#ask-run:not([disabled])', { timeout: 180_000 });
  await page.fill('#ask-question', question);
  await page.click('#ask-run');
  // Done when the answer is in (an empty answer would not count), or an error shows.
  await page.waitForFunction(
    () => !!document.getElementById('ask-out')?.dataset.done || !!document.querySelector('#ask-out .error'),
    null,
    { timeout: 120_000 },
  );
  const error = await page.$eval('#ask-out', (el) => el.querySelector('.error')?.textContent ?? '');
  expect(error).toBe('');
  return {
    answer: await page.$eval('#ask-out', (el) => (el as HTMLElement).dataset.done ?? ''),
    note: (await page.textContent('#ask-out')) ?? '',
  };
}

async function search(page: Page, query: string): Promise<string[]> {
  await page.click('#tab-search');
  await page.fill('#query', query);
  await page.evaluate(() => {
    document.getElementById('search-out')!.textContent = '';
  });
  await page.click('#search-run');
  await page.waitForSelector('#search-out .hit', { timeout: 60_000 });
  return page.$$eval('#search-out .hit', (els) => els.map((e) => (e as HTMLElement).dataset.id ?? ''));
}

describe('demo (built, served by vite preview)', () => {
  let online: { top: string; caption: string; hits: string[]; answer: string };

  it('loads with progress bars, shows the device panel, and every panel answers', async () => {
    const { page } = browser;
    await page.goto(url);
    await ready(page);
    for (const m of ['clip', 'blip']) {
      const [value, max] = await page.$eval(`#progress-${m}`, (el) => [
        (el as HTMLProgressElement).value,
        (el as HTMLProgressElement).max,
      ]);
      expect(value).toBe(max);
      expect(max).toBeGreaterThan(1e6);
    }
    await page.waitForFunction(() =>
      document.getElementById('device')?.textContent?.includes('backend wasm'),
    );

    const truth = gallery[0].objects[0];
    const top = await classifyTop(page);
    // Colour is what the shipped CLIP gets right on every scene we measured (see e2e/runtime.e2e.ts).
    expect(top.split(' ')[1]).toBe(truth.colour);

    // Upload: another gallery scene through the file input.
    const other = gallery.find((g) => g.objects.length === 1 && g.objects[0].colour !== truth.colour)!;
    await page.setInputFiles('#upload', `models/data/gallery/${other.file}`);
    expect((await classifyTop(page)).split(' ')[1]).toBe(other.objects[0].colour);

    // Draw: a blue blob on the black canvas (the colour picker's value is set like a user would).
    await page.click('#draw-details summary');
    await page.$eval('#draw-colour', (el) => {
      (el as HTMLInputElement).value = '#2040e0';
    });
    const b = (await (await page.$('#draw'))!.boundingBox())!;
    await page.mouse.move(b.x + b.width * 0.4, b.y + b.height * 0.4);
    await page.mouse.down();
    for (let i = 0; i <= 10; i++)
      await page.mouse.move(b.x + b.width * (0.4 + i * 0.02), b.y + b.height * (0.4 + i * 0.02));
    await page.mouse.up();
    expect((await classifyTop(page)).split(' ')[1]).toBe('blue');

    // Back to the first gallery image for captioning.
    await page.click(`#picker img[data-file="${gallery[0].file}"]`);
    const cap = await caption(page);
    expect(cap.length).toBeGreaterThan(0);

    await page.click('#tab-search');
    await page.click('#index-build');
    await page.waitForSelector('#index-status[data-size="200"]', { timeout: 120_000 });
    const hits = await search(page, gallery[5].caption);
    expect(hits).toHaveLength(8);

    await page.click('#tab-capfilt');
    await page.click('#capfilt-run');
    await page.waitForSelector('#capfilt-out .capfilt', { timeout: 60_000 });
    expect(await page.$$eval('#capfilt-out .capfilt', (els) => els.length)).toBe(4);
    // Ask: the generative model starts with its tab; a follow-up reuses the first turn's cache.
    await page.click(`#picker img[data-file="${gallery[0].file}"]`);
    const first = await ask(page, 'how many objects are there?');
    expect(first.answer.length).toBeGreaterThan(0);
    expect(await page.$$eval('#ask-log .bubble.assistant', (els) => els.length)).toBe(1);
    const followUp = await ask(page, 'what colour is the first object?');
    expect(followUp.answer.length).toBeGreaterThan(0);
    expect(followUp.note).toMatch(/, [1-9]\d* of them from the last turn/);
    online = { top, caption: cap, hits, answer: first.answer };
    // The service worker has stored the app shell (it starts once the models are up).
    await page.waitForSelector('#status[data-offline="true"]', { timeout: 120_000 });
  });

  it('works offline after the first visit: reload with the network cut, classify/caption/search again', async () => {
    const { page, context } = browser;
    await context.setOffline(true);
    try {
      await page.reload();
      await ready(page);
      expect(await classifyTop(page)).toBe(online.top);
      expect(await caption(page)).toBe(online.caption);
      // The index persisted in IndexedDB, so search works without rebuilding it.
      expect(await page.$eval('#index-status', (el) => (el as HTMLElement).dataset.size)).toBe('200');
      expect(await search(page, gallery[5].caption)).toEqual(online.hits);
      // The Ask model was stored when it loaded: the same greedy answer offline.
      expect((await ask(page, 'how many objects are there?')).answer).toBe(online.answer);
    } finally {
      await context.setOffline(false);
    }
  });

  it('a typed model folder URL replaces the classification model; a missing folder says so', async () => {
    const { page } = browser;
    const loadUrl = async (value: string) => {
      await page.fill('#model-url', value);
      await page.evaluate(() => {
        delete document.getElementById('model-url-out')!.dataset.kind;
      });
      await page.click('#model-url-load');
      await page.waitForSelector('#model-url-out[data-kind]', { timeout: 60_000 });
      return {
        kind: await page.$eval('#model-url-out', (el) => (el as HTMLElement).dataset.kind),
        text: await page.textContent('#model-url-out'),
      };
    };
    const missing = await loadUrl('models/no-such-model/');
    expect(missing.kind).toBe('error');
    expect(missing.text).toContain('MODEL_NOT_FOUND');
    const blip = await loadUrl('models/blip-tiny/');
    expect(blip.text).not.toContain('failed');
    expect(blip.kind).toBe('blip');
    expect(blip.text).toContain('verified by its manifest');
    // blip-tiny's ITC towers classify the first gallery scene's colour too.
    await page.click(`#picker img[data-file="${gallery[0].file}"]`);
    expect((await classifyTop(page)).split(' ')[1]).toBe(gallery[0].objects[0].colour);
  });
});
