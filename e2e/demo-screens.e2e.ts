// The demo as a person meets it, at 1280×800 and at a 390-px phone width: every screen is saved as a PNG
// (test-results/screens/) for a person to look at, and what the screen must say is asserted from the DOM:
// the first screen shows the picker and the tasks without scrolling, each model has a line per load stage,
// classification is drawn as bars in proportion to the probabilities, search hits carry both scores in the
// order the label names, indexing shows counts and an ETA with its buttons disabled and can be cancelled,
// errors are styled with their code and a hint, and images can be dropped or pasted.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch } from './browser';

const SCREENS = 'test-results/screens';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let browser: BrowserSession;
let url: string;

beforeAll(async () => {
  mkdirSync(SCREENS, { recursive: true });
  // wasm: SwiftShader's WebGPU is far slower than wasm for these models ('auto' would pick wasm too).
  url = new URL('/?backend=wasm&gallery=200', inject('baseUrl')).href;
  browser = await launch();
});
afterAll(async () => browser?.close());

async function shot(page: Page, name: string): Promise<void> {
  const { width } = page.viewportSize()!;
  await page.screenshot({ path: `${SCREENS}/${name}-${width}.png`, fullPage: width < 500 });
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('#status[data-ready="true"]', { timeout: 180_000 });
}

/** The element's box lies inside the viewport as first shown (no scrolling). */
async function onFirstScreen(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).boundingBox();
  const vp = page.viewportSize()!;
  return (
    !!box && box.y >= 0 && box.y + box.height <= vp.height && box.x >= 0 && box.x + box.width <= vp.width
  );
}

async function noHorizontalOverflow(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

async function classify(page: Page): Promise<void> {
  await page.click('#tab-classify');
  await page.evaluate(() => delete document.getElementById('classify-out')!.dataset.top);
  await page.click('#classify-run');
  await page.waitForSelector('#classify-out[data-top]', { timeout: 60_000 });
}

describe('demo screens at 1280×800', () => {
  it('first screen: what the demo does, model load stages, picker and tasks without scrolling', async () => {
    const { page } = browser;
    await page.setViewportSize(DESKTOP);
    await page.goto(url);
    // While loading: each model card has a line per stage, and the task buttons wait for their model.
    await page.waitForSelector('#model-clip .stages li.active', { timeout: 60_000 });
    await shot(page, 'loading');
    for (const m of ['clip', 'blip']) {
      expect(
        await page.$$eval(`#model-${m} .stages li`, (els) => els.map((e) => e.getAttribute('data-stage'))),
      ).toEqual(['downloading', 'verifying', 'compiling', 'warming-up']);
    }
    await ready(page);
    await shot(page, 'ready');
    expect(await page.textContent('h1')).toContain('webvl');
    expect(await page.textContent('.tagline')).toMatch(/caption/i);
    for (const sel of [
      '#picker',
      '#picked',
      '#tab-classify',
      '#tab-caption',
      '#tab-search',
      '#tab-capfilt',
      '#classify-run',
    ]) {
      expect(await onFirstScreen(page, sel), `${sel} on the first screen`).toBe(true);
    }
    // Ready: every stage line is done and carries its time; the card keeps the runtime's split.
    for (const m of ['clip', 'blip']) {
      const lines = await page.$$eval(`#model-${m} .stages li`, (els) =>
        els.map((e) => ({ cls: e.className, text: e.lastElementChild?.textContent ?? '' })),
      );
      for (const l of lines) {
        expect(l.cls).toBe('done');
        expect(l.text).toMatch(/^\d+(\.\d)? s$/);
      }
      const stageMs = JSON.parse((await page.getAttribute(`#model-${m}`, 'data-stage-ms')) ?? '{}');
      expect(Object.keys(stageMs).sort()).toEqual(['compiling', 'downloading', 'verifying', 'warming-up']);
    }
    expect(await page.isEnabled('#classify-run')).toBe(true);
  });

  it('classification: the top five labels as bars whose lengths are their probabilities', async () => {
    const { page } = browser;
    await classify(page);
    await shot(page, 'classify');
    const bars = await page.$$eval('#classify-out .bar', (els) =>
      els.map((e) => ({
        label: e.querySelector('.bar-label')!.textContent,
        value: Number.parseFloat(e.querySelector('.bar-value')!.textContent!),
        width: (e.querySelector('.bar-fill') as HTMLElement).getBoundingClientRect().width,
        track: (e.querySelector('.bar-track') as HTMLElement).getBoundingClientRect().width,
      })),
    );
    expect(bars).toHaveLength(5);
    for (let i = 1; i < bars.length; i++) expect(bars[i].value).toBeLessThanOrEqual(bars[i - 1].value);
    // Bars are drawn to scale (at least half a percent, so a tiny one stays visible).
    for (const b of bars) expect(b.width / b.track).toBeCloseTo(Math.max(0.005, b.value / 100), 2);
    expect(bars[0].label).toBe(await page.getAttribute('#classify-out', 'data-top'));
  });

  it('errors: styled as errors, with the WebvlError code and a hint', async () => {
    const { page } = browser;
    await page.click('#tab-classify');
    await page.click('.labels summary');
    await page.fill('#labels', ' , ');
    await page.click('#classify-run');
    await page.waitForSelector('#classify-out .error');
    await shot(page, 'error');
    expect(await page.getAttribute('#classify-out .error', 'data-code')).toBe('EMPTY_LABELS');
    expect(await page.textContent('#classify-out .error-code')).toBe('EMPTY_LABELS');
    expect(await page.textContent('#classify-out .error-head')).toContain('Add at least one label');
    const colours = await page.$eval('#classify-out .error', (e) => {
      const s = getComputedStyle(e);
      return { border: s.borderLeftColor, background: s.backgroundColor };
    });
    expect(colours).toEqual({ border: 'rgb(180, 35, 24)', background: 'rgb(253, 236, 234)' });
    await page.reload();
    await ready(page);
  });

  it('an image dropped on the page or pasted becomes the one the tasks use', async () => {
    const { page } = browser;
    const scene = readFileSync('models/data/gallery/captions.jsonl', 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; objects: { colour: string }[] })
      .find((s) => s.objects.length === 1 && s.objects[0].colour === 'green')!;
    const bytes = [...readFileSync(`models/data/gallery/${scene.file}`)];
    const give = (how: 'drop' | 'paste') =>
      page.evaluate(
        ([b, kind]) => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(b)], `dropped.png`, { type: 'image/png' }));
          const target = kind === 'drop' ? document.getElementById('drop-zone')! : document.body;
          if (kind === 'drop') {
            target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
            target.dispatchEvent(
              new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }),
            );
          } else {
            target.dispatchEvent(
              new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
            );
          }
        },
        [bytes, how] as const,
      );
    for (const how of ['drop', 'paste'] as const) {
      await page.click('#picker img[data-file="00000.png"]');
      await give(how);
      expect(await page.textContent('#picked-label')).toBe('Your image: dropped.png');
      expect(await page.getAttribute('#picked', 'src')).toMatch(/^blob:/);
      await classify(page);
      expect((await page.getAttribute('#classify-out', 'data-top'))?.split(' ')[1]).toBe(
        scene.objects[0].colour,
      );
    }
    await shot(page, 'dropped');
  });

  it('indexing: counts, an ETA, its buttons disabled, and a cancel that keeps whole batches', async () => {
    const { page } = browser;
    await page.click('#tab-search');
    await page.click('#index-build');
    await page.waitForFunction(
      () =>
        /Indexing: [1-9]\d* of 200 images · about [\d.]+ s left/.test(
          document.getElementById('index-status')?.textContent ?? '',
        ),
      null,
      { timeout: 120_000 },
    );
    await shot(page, 'indexing');
    expect(await page.isDisabled('#index-build')).toBe(true);
    expect(await page.isVisible('#index-cancel')).toBe(true);
    const value = await page.$eval('#index-progress', (e) => (e as HTMLProgressElement).value);
    expect(value).toBeGreaterThan(0);
    await page.click('#index-cancel');
    await page.waitForSelector('#index-status[data-size]', { timeout: 120_000 });
    const kept = Number(await page.getAttribute('#index-status', 'data-size'));
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200);
    expect(kept % 25).toBe(0);
    expect(await page.textContent('#index-status')).toContain(`Cancelled after ${kept}`);
    expect(await page.isEnabled('#index-build')).toBe(true);
    expect(await page.isHidden('#index-cancel')).toBe(true);
  });

  it('search: a grid of hits with both scores, sorted by the score in use and labelled so', async () => {
    const { page } = browser;
    for (const rerank of [true, false]) {
      await page.setChecked('#rerank', rerank);
      await page.fill('#query', 'a large red circle');
      await page.click('#search-run');
      await page.waitForSelector('#search-out .hit');
      if (rerank) await shot(page, 'search');
      const hits = await page.$$eval('#search-out .hit', (els) =>
        els.map((e) => {
          const scores = [...e.querySelectorAll('.score')].map((s) => s.textContent ?? '');
          const main = e.querySelector('.score.main')?.textContent ?? '';
          const img = e.querySelector('img')!.getBoundingClientRect();
          return { scores, main, width: img.width };
        }),
      );
      expect(hits.length).toBeGreaterThan(0);
      const note = (await page.textContent('#sort-note')) ?? '';
      expect(note).toMatch(rerank ? /^Sorted by ITM/ : /^Sorted by ITC/);
      const key = rerank ? 'ITM' : 'ITC';
      const used = hits.map((hit) => Number(hit.main.replace(`${key} `, '')));
      for (const hit of hits) {
        expect(hit.main.startsWith(key)).toBe(true);
        expect(hit.scores.length).toBe(rerank ? 2 : 1);
        expect(hit.width).toBeGreaterThanOrEqual(96);
      }
      for (let i = 1; i < used.length; i++) expect(used[i]).toBeLessThanOrEqual(used[i - 1]);
    }
  });
});

describe('demo screens at a 390-px phone width', () => {
  it('one column, nothing wider than the screen, every screen saved', async () => {
    const { page } = browser;
    await page.setViewportSize(PHONE);
    await page.reload();
    await ready(page);
    expect(await noHorizontalOverflow(page)).toBe(true);
    await shot(page, 'ready');
    const picker = await page.locator('#picker').boundingBox();
    const tasks = await page.locator('.tasks').boundingBox();
    expect(tasks!.y).toBeGreaterThan(picker!.y + picker!.height - 1); // stacked, not side by side
    await classify(page);
    expect(await noHorizontalOverflow(page)).toBe(true);
    await shot(page, 'classify');
    await page.click('#tab-caption');
    await page.click('#caption-run');
    await page.waitForFunction(() => !!document.getElementById('caption-out')?.dataset.done, null, {
      timeout: 60_000,
    });
    expect(await noHorizontalOverflow(page)).toBe(true);
    await shot(page, 'caption');
    await page.click('#tab-search');
    await page.click('#search-run');
    await page.waitForSelector('#search-out .hit');
    expect(await noHorizontalOverflow(page)).toBe(true);
    await shot(page, 'search');
  });
});
