// The runtime API in a real browser (Debian Chromium, module worker, Comlink), on onnxruntime-web's wasm
// backend to stay fast under SwiftShader. Every value is checked against an independent reference:
// direct onnxruntime-web sessions with hand-written preprocessing/softmax/decoding (e2e/pages/runtime-reference.ts),
// the manifest's sizes, or the scene's generated attributes.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildManifest } from '../src/models/make-manifest';
import { type BrowserSession, launch, openPage } from './browser';

const CLIP = '/models/clip-tiny/';
// Quality floors for the shipped weights (measured figures are printed by the tests; see the report).
const CLIP_MIN_COLOUR = 0.9;
const CLIP_MIN_SHAPE = 0.5;
const BLIP_MIN_CAPTION_EXACT = 0.7;
const INDEX_MIN_R1 = 0.7;
const INDEX_MIN_R5 = 0.9;
const BLIP = '/models/blip-tiny/';

interface Scene {
  file: string;
  caption: string;
  objects: { colour: string; shape: string; size: string }[];
  relation: unknown;
}

const readScenes = (split: string): Scene[] =>
  readFileSync(`models/data/${split}/captions.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Scene);

/** [CLS] word ids [SEP] from the vocabulary in tokenizer.json: a tokenization that does not use tokenizers.js. */
function vocabIds(model: string): (text: string) => number[] {
  const tj = JSON.parse(readFileSync(`models/${model}/tokenizer.json`, 'utf8'));
  const v = tj.model.vocab as Record<string, number>;
  return (text) => [
    v['[CLS]'],
    ...text
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => v[w] ?? v['[UNK]']),
    v['[SEP]'],
  ];
}

let browser: BrowserSession;
let base: string;
const abs = (p: string) => new URL(p, base).href;

beforeAll(async () => {
  // The runtime refuses files whose hashes differ from the manifest, so a stale manifest fails here first.
  for (const m of ['clip-tiny', 'blip-tiny']) {
    const committed = JSON.parse(readFileSync(`models/${m}/manifest.json`, 'utf8'));
    expect(committed, `models/${m}/manifest.json is stale: run npx tsx src/models/make-manifest.ts`).toEqual(
      buildManifest(`models/${m}`),
    );
  }
  base = inject('baseUrl');
  browser = await launch();
  await openPage(browser.page, base, 'e2e/pages/runtime.html');
});
afterAll(async () => browser?.close());

const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'];
const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'cross'];
const COMBOS = COLOURS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
const SIZED = ['large', 'small'].flatMap((z) => COMBOS.map((c) => `${z} ${c}`));
const png = (split: string, s: Scene) => `/models/data/${split}/${s.file}`;
const eval1 = readScenes('eval').filter((s) => s.objects.length === 1);
const unit = (v: ArrayLike<number>) => {
  const n = Math.hypot(...Array.from(v));
  return Array.from(v, (x) => x / n);
};
const maxDiff = (a: readonly number[], b: readonly number[]) =>
  Math.max(...a.map((x, i) => Math.abs(x - b[i])));

function manifestSize(model: string, files: string[]): number {
  const m = JSON.parse(readFileSync(`models/${model}/manifest.json`, 'utf8'));
  return files.reduce((a, f) => a + m.files[f].size, 0);
}

/** Requests the page and its workers make under a URL prefix, counted from now on. */
function countRequests(prefix: string): { count: () => number; stop: () => void } {
  let n = 0;
  const on = (req: { url(): string }) => {
    if (new URL(req.url()).pathname.startsWith(prefix)) n++;
  };
  browser.context.on('request', on);
  return { count: () => n, stop: () => browser.context.off('request', on) };
}

describe('CLIP through the runtime (wasm backend)', () => {
  it('load: byte progress ends at the manifest sizes; info describes the model and backend', async () => {
    await browser.page.evaluate(() => window.rtTest.cache.clear());
    const info = await browser.page.evaluate(() => window.rtTest.create('wasm'));
    expect(info.backend).toBe('wasm');
    expect(info.crossOriginIsolated).toBe(true);
    const requests = countRequests(CLIP);
    const { info: model, progress } = await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
    requests.stop();
    const files = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'preprocessor_config.json',
      'onnx/vision_model.onnx',
      'onnx/text_model.onnx',
    ];
    const total = manifestSize('clip-tiny', files);
    const last = progress[progress.length - 1];
    expect(last.loaded).toBe(total);
    expect(last.total).toBe(total);
    expect(model.bytes).toBe(total);
    for (const f of files) {
      const mine = progress.filter((p) => p.file === f);
      expect(mine[mine.length - 1].fileLoaded, f).toBe(manifestSize('clip-tiny', [f]));
    }
    // Streamed: the 2.4 MB vision graph arrives in more than one chunk, and nothing came from the cache.
    expect(progress.filter((p) => p.file === 'onnx/vision_model.onnx').length).toBeGreaterThan(1);
    expect(progress.every((p) => !p.fromCache)).toBe(true);
    expect(requests.count()).toBe(files.length + 1);
    expect(model.kind).toBe('clip');
    expect(model.imageSize).toEqual([64, 64]);
    // Stages: each file is downloaded then verified; each graph is compiled (while later files may still be
    // downloading) and, once all are, warmed up; every stage took some time and the split is reported.
    for (const f of files) {
      const stages = progress.filter((p) => p.file === f).map((p) => p.stage);
      expect(stages.indexOf('verifying'), f).toBeGreaterThan(stages.lastIndexOf('downloading'));
    }
    for (const graph of ['onnx/vision_model.onnx', 'onnx/text_model.onnx']) {
      const at = (stage: string) => progress.findIndex((p) => p.file === graph && p.stage === stage);
      expect(at('compiling'), graph).toBeGreaterThan(at('verifying'));
      expect(at('warming-up'), graph).toBeGreaterThan(at('compiling'));
    }
    expect(progress.filter((p) => p.stage === 'compiling').map((p) => [p.step, p.steps])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    for (const stage of ['downloading', 'verifying', 'compiling', 'warming-up'] as const) {
      expect(model.stageMs[stage], stage).toBeGreaterThan(0);
    }
  });

  it('second load (new runtime, new worker) makes no network request: everything from Cache Storage', async () => {
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
    const requests = countRequests(CLIP);
    const { progress } = await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
    requests.stop();
    expect(requests.count()).toBe(0);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.fromCache)).toBe(true);
  });

  it('classify: probabilities equal a direct onnxruntime-web session + softmax', async () => {
    const ids = vocabIds('clip-tiny');
    for (const scene of eval1.slice(0, 3)) {
      const size = scene.objects[0].size;
      const labels = COMBOS.slice(0, 12);
      const got = await browser.page.evaluate(([p, l, t]) => window.rtTest.classify(p, l, t), [
        png('eval', scene),
        labels,
        `a ${size} {}`,
      ] as const);
      const want = await browser.page.evaluate(([m, p, rows]) => window.rtTest.ref.refClassify(m, p, rows), [
        abs(CLIP),
        png('eval', scene),
        labels.map((l) => ids(`a ${size} ${l}`)),
      ] as const);
      for (const [i, label] of labels.entries()) {
        const g = got.find((x) => x.label === label)!;
        expect(Math.abs(g.probability - want[i]), label).toBeLessThan(1e-5);
      }
      // Sorted best first, and a distribution.
      expect(Math.abs(got[0].probability - Math.max(...want))).toBeLessThan(1e-5);
      expect(got.reduce((a, x) => a + x.probability, 0)).toBeCloseTo(1, 6);
    }
  });

  it('classify with a prompt ensemble equals the reference (mean of unit prompt embeddings)', async () => {
    const ids = vocabIds('clip-tiny');
    const scene = eval1[4];
    const templates = ['a large {}', 'a small {}'];
    const got = await browser.page.evaluate(([p, l, t]) => window.rtTest.classify(p, l, t), [
      png('eval', scene),
      COMBOS,
      templates,
    ] as const);
    const want = await browser.page.evaluate(
      ([m, p, rows]) => window.rtTest.ref.refClassifyEnsemble(m, p, rows),
      [
        abs(CLIP),
        png('eval', scene),
        templates.map((t) => COMBOS.map((l) => ids(t.replace('{}', l)))),
      ] as const,
    );
    for (const [i, label] of COMBOS.entries()) {
      expect(Math.abs(got.find((x) => x.label === label)!.probability - want[i]), label).toBeLessThan(1e-5);
    }
  });

  it('classify: top-1 colour+shape equals the generated scene on single-object eval images', async () => {
    const scenes = eval1.slice(0, 30);
    let colour = 0;
    let shape = 0;
    for (const scene of scenes) {
      const o = scene.objects[0];
      // Labels over size × colour × shape with prompts shaped like the captions ("a large red circle"): the
      // prompt gives nothing away, and the top label is read for its colour and shape.
      const [top] = await browser.page.evaluate(([p, l, t]) => window.rtTest.classify(p, l, t), [
        png('eval', scene),
        SIZED,
        'a {}',
      ] as const);
      const [, c, s] = top.label.split(' ');
      if (c === o.colour) colour++;
      if (s === o.shape) shape++;
    }
    console.log(
      `CLIP zero-shot on ${scenes.length} single-object eval scenes: colour ${colour}, shape ${shape}`,
    );
    expect(colour / scenes.length).toBeGreaterThanOrEqual(CLIP_MIN_COLOUR);
    expect(shape / scenes.length).toBeGreaterThanOrEqual(CLIP_MIN_SHAPE);
  });

  it('accepts ImageBitmap / ImageData (transferred: detached afterwards), canvas, OffscreenCanvas, RGBA object and same-origin URL with equal results', async () => {
    const p = png('eval', eval1[0]);
    const labels = COMBOS.slice(0, 6);
    const fromBlob = await browser.page.evaluate(([x, l]) => window.rtTest.classify(x, l), [
      p,
      labels,
    ] as const);
    const bitmap = await browser.page.evaluate(([x, l]) => window.rtTest.classifyBitmapTransfers(x, l), [
      p,
      labels,
    ] as const);
    const canvas = await browser.page.evaluate(([x, l]) => window.rtTest.classifyFromCanvas(x, l), [
      p,
      labels,
    ] as const);
    const url = await browser.page.evaluate(([x, l]) => window.rtTest.classifyUrl(x, l), [
      p,
      labels,
    ] as const);
    const pixels = await browser.page.evaluate(([x, l]) => window.rtTest.classifyPixelForms(x, l), [
      p,
      labels,
    ] as const);
    expect(bitmap.widthAfter).toBe(0);
    expect(pixels.imageDataLengthAfter).toBe(0);
    for (const other of [
      bitmap.scores,
      canvas,
      url,
      pixels.fromImageData,
      pixels.fromOffscreen,
      pixels.fromRgba,
    ]) {
      expect(other.map((x) => x.label)).toEqual(fromBlob.map((x) => x.label));
      other.forEach((x, i) => {
        expect(Math.abs(x.probability - fromBlob[i].probability)).toBeLessThan(1e-6);
      });
    }
  });

  it('embedImage / embedText: unit vectors equal to the normalised reference embeddings', async () => {
    const p = png('eval', eval1[1]);
    const img = await browser.page.evaluate((x) => window.rtTest.embedImage(x), p);
    const refImg = await browser.page.evaluate(
      ([m, x]) => window.rtTest.ref.refImageTokens(m, x).then((r) => Array.from(r.embeds)),
      [abs(CLIP), p] as const,
    );
    const norm = Math.hypot(...refImg);
    img.forEach((v, i) => {
      expect(Math.abs(v - refImg[i] / norm)).toBeLessThan(1e-5);
    });
    const texts = [eval1[1].caption, 'a small blue star'];
    const txt = await browser.page.evaluate((t) => window.rtTest.embedText(t), texts);
    const ids = vocabIds('clip-tiny');
    const refTxt = await browser.page.evaluate(
      ([m, rows]) => window.rtTest.ref.refTextEmbeds(m, rows).then((r) => r.map((v) => Array.from(v))),
      [abs(CLIP), texts.map(ids)] as const,
    );
    txt.forEach((v, r) => {
      const n = Math.hypot(...refTxt[r]);
      v.forEach((x, i) => {
        expect(Math.abs(x - refTxt[r][i] / n)).toBeLessThan(1e-5);
      });
    });
  });

  it('typed errors (bad image, empty labels, empty text, cross-origin, missing model) and the worker keeps serving', async () => {
    const p = png('eval', eval1[0]);
    const codes = await browser.page.evaluate(async (x) => {
      const t = window.rtTest;
      return {
        badImage: await t.errorCodes.badImage(),
        emptyLabels: await t.errorCodes.emptyLabels(x),
        emptyText: await t.errorCodes.emptyText(),
        crossOrigin: await t.errorCodes.crossOriginModel(),
        missing: await t.loadCode('/models/no-such-model/'),
      };
    }, p);
    expect(codes).toEqual({
      badImage: 'BAD_IMAGE',
      emptyLabels: 'EMPTY_LABELS',
      emptyText: 'INVALID_INPUT',
      crossOrigin: 'INVALID_INPUT',
      missing: 'MODEL_NOT_FOUND',
    });
    // Still serving, with the model that was loaded before the failed load.
    const after = await browser.page.evaluate(([x, l]) => window.rtTest.classify(x, l), [
      p,
      COMBOS.slice(0, 3),
    ] as const);
    expect(after).toHaveLength(3);
    await browser.page.evaluate(() => window.rtTest.unload());
    expect(await browser.page.evaluate((x) => window.rtTest.errorCodes.notLoaded(x), p)).toBe('NOT_LOADED');
  });

  it('a tampered cached file is refused (INTEGRITY_MISMATCH) and evicted; the next load fetches a good copy', async () => {
    const file = abs(`${CLIP}onnx/text_model.onnx`);
    expect(await browser.page.evaluate((f) => window.rtTest.cache.tamper(f), file)).toBe(true);
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
    expect(await browser.page.evaluate((u) => window.rtTest.loadCode(u), CLIP)).toBe('INTEGRITY_MISMATCH');
    expect(await browser.page.evaluate((f) => window.rtTest.cache.has(f), file)).toBe(false);
    expect(await browser.page.evaluate((u) => window.rtTest.loadCode(u), CLIP)).toBe('resolved');
    expect(await browser.page.evaluate((f) => window.rtTest.cache.has(f), file)).toBe(true);
  });

  it('a file altered on the network is refused and not cached', async () => {
    const file = abs(`${CLIP}onnx/vision_model.onnx`);
    await browser.page.evaluate(() => window.rtTest.cache.clear());
    await browser.context.route(`**${CLIP}onnx/vision_model.onnx`, async (route) => {
      const res = await route.fetch();
      const body = Buffer.from(await res.body());
      body[body.length >> 1] ^= 0xff;
      await route.fulfill({ response: res, body });
    });
    try {
      await browser.page.evaluate(() => window.rtTest.create('wasm'));
      expect(await browser.page.evaluate((u) => window.rtTest.loadCode(u), CLIP)).toBe('INTEGRITY_MISMATCH');
      expect(await browser.page.evaluate((f) => window.rtTest.cache.has(f), file)).toBe(false);
    } finally {
      await browser.context.unroute(`**${CLIP}onnx/vision_model.onnx`);
    }
  });
});

describe('ortWasmPaths: where onnxruntime-web’s binary is served', () => {
  it('the file’s URL or its folder loads; a folder without it fails typed, saying where to look', async () => {
    const scene = eval1[0];
    const labels = COMBOS.slice(0, 6);
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
    await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
    const byDefault = await browser.page.evaluate(([p, l]) => window.rtTest.classify(p, l), [
      png('eval', scene),
      labels,
    ] as const);
    for (const where of ['/ort/ort-wasm-simd-threaded.asyncify.wasm', '/ort']) {
      const requests = countRequests(where.endsWith('.wasm') ? where : '/ort/');
      await browser.page.evaluate((w) => window.rtTest.create('wasm', w), where);
      await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
      requests.stop();
      expect(requests.count(), where).toBe(1); // the binary, and nothing else of onnxruntime-web's
      const scores = await browser.page.evaluate(([p, l]) => window.rtTest.classify(p, l), [
        png('eval', scene),
        labels,
      ] as const);
      expect(scores, where).toEqual(byDefault);
    }
    await browser.page.evaluate(() => window.rtTest.create('wasm', '/no-such-folder/'));
    const failure = await browser.page.evaluate(async (u) => {
      try {
        await window.rtTest.load(u);
        return 'resolved';
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
    }, CLIP);
    expect(failure).toMatch(/^INTERNAL: .*ortWasmPaths/);
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
  });
});

describe('BLIP through the runtime (wasm backend)', () => {
  const ids = vocabIds('blip-tiny');
  beforeAll(async () => {
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
    const { info } = await browser.page.evaluate((u) => window.rtTest.load(u), BLIP);
    expect(info.kind).toBe('blip');
  });

  it('match: ITC cosine and ITM probability equal the direct onnxruntime-web reference', async () => {
    const scene = eval1[2];
    const p = png('eval', scene);
    const texts = [scene.caption, 'a large purple star', 'a small red cross'];
    const got = await browser.page.evaluate(([x, t]) => window.rtTest.match(x, t), [p, texts] as const);
    const itm = await browser.page.evaluate(([m, x, rows]) => window.rtTest.ref.refItm(m, x, rows), [
      abs(BLIP),
      p,
      texts.map(ids),
    ] as const);
    const img = await browser.page.evaluate(
      ([m, x]) => window.rtTest.ref.refImageTokens(m, x).then((r) => Array.from(r.embeds)),
      [abs(BLIP), p] as const,
    );
    const txt = await browser.page.evaluate(
      ([m, rows]) => window.rtTest.ref.refTextEmbeds(m, rows).then((r) => r.map((v) => Array.from(v))),
      [abs(BLIP), texts.map(ids)] as const,
    );
    got.forEach((g, i) => {
      const cos =
        txt[i].reduce((a, x, j) => a + x * img[j], 0) / (Math.hypot(...txt[i]) * Math.hypot(...img));
      expect(Math.abs((g.itc ?? Number.NaN) - cos)).toBeLessThan(1e-5);
      expect(Math.abs((g.itm ?? -1) - itm[i])).toBeLessThan(1e-5);
    });
  });

  it('caption (greedy, KV cache): tokens equal a no-cache greedy decode; tokens stream in order', async () => {
    let exact = 0;
    const scenes = eval1.slice(0, 10);
    for (const scene of scenes) {
      const p = png('eval', scene);
      const got = await browser.page.evaluate((x) => window.rtTest.caption(x), p);
      const want = await browser.page.evaluate(([m, x]) => window.rtTest.ref.refGreedyCaption(m, x, 24), [
        abs(BLIP),
        p,
      ] as const);
      expect(got.tokenIds).toEqual(want.tokenIds);
      expect(got.logProb).toBeCloseTo(want.logProb, 3);
      expect(got.cacheOnDevice).toBe(false); // wasm: host memory
      expect(got.streamed).toHaveLength(got.tokenIds.length);
      expect(got.streamed[got.streamed.length - 1]).toBe(got.text);
      if (got.text === scene.caption) exact++;
    }
    console.log(`BLIP greedy captions equal to the reference caption: ${exact}/${scenes.length}`);
    expect(exact / scenes.length).toBeGreaterThanOrEqual(BLIP_MIN_CAPTION_EXACT);
  });

  it('caption (beam search): log-probability matches teacher forcing, score not below greedy', async () => {
    for (const scene of eval1.slice(0, 3)) {
      const p = png('eval', scene);
      const beam = await browser.page.evaluate((x) => window.rtTest.caption(x, { numBeams: 3 }), p);
      const greedy = await browser.page.evaluate((x) => window.rtTest.caption(x), p);
      const lp = await browser.page.evaluate(
        ([m, x, t]) => window.rtTest.ref.refSequenceLogProb(m, x, t, true),
        [abs(BLIP), p, beam.tokenIds] as const,
      );
      expect(beam.logProb).toBeCloseTo(lp, 3);
      const norm = (r: { logProb: number; tokenIds: number[] }) => r.logProb / (r.tokenIds.length + 1);
      expect(norm(beam)).toBeGreaterThanOrEqual(norm(greedy) - 1e-6);
    }
  });

  it('cancel: an AbortSignal stops captioning with ABORTED, and the next caption works', async () => {
    const p = png('eval', eval1[0]);
    const r = await browser.page.evaluate((x) => window.rtTest.captionCancelled(x), p);
    expect(r.code).toBe('ABORTED');
    expect(r.seen).toBe(1);
    const again = await browser.page.evaluate((x) => window.rtTest.caption(x), p);
    expect(again.tokenIds.length).toBeGreaterThan(0);
  });

  it('capfilt: scores are the ITM probabilities of the generated caption and the given text', async () => {
    const scenes = eval1.slice(3, 5);
    const wrong = ['a small purple cross', 'a large green star'];
    const items = await browser.page.evaluate(([ps, t]) => window.rtTest.capfilt(ps, 0.5, t), [
      scenes.map((s) => png('eval', s)),
      wrong,
    ] as const);
    for (const [i, item] of items.entries()) {
      const want = await browser.page.evaluate(([m, x, rows]) => window.rtTest.ref.refItm(m, x, rows), [
        abs(BLIP),
        png('eval', scenes[i]),
        [ids(item.caption), ids(wrong[i])],
      ] as const);
      expect(Math.abs(item.captionScore - want[0])).toBeLessThan(1e-5);
      expect(Math.abs((item.textScore ?? -1) - want[1])).toBeLessThan(1e-5);
      expect(item.captionKept).toBe(want[0] >= 0.5);
      expect(item.textKept).toBe(want[1] >= 0.5);
    }
  });

  it('index: GPU top-k equals brute-force cosine; own caption retrieves its image; ITM re-rank; persistence', async () => {
    const gallery = readScenes('gallery').slice(0, 40);
    await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'clear'));
    const added = await browser.page.evaluate(
      (items) => window.rtTest.indexAdd('gal', items),
      gallery.map((s) => ({ id: s.file, png: png('gallery', s), meta: { caption: s.caption } })),
    );
    expect(added).toEqual({ size: 40, backend: 'gpu' });
    // Reference ranking from the runtime's own unit embeddings, cosine in float64 here.
    const embeds = await Promise.all(
      gallery.map((s) => browser.page.evaluate((x) => window.rtTest.embedImage(x), png('gallery', s))),
    );
    let r1 = 0;
    let r5 = 0;
    const queries = gallery.slice(0, 12);
    for (const q of queries) {
      const hits = await browser.page.evaluate(([n, t]) => window.rtTest.indexSearch(n, t, 5), [
        'gal',
        q.caption,
      ] as const);
      const [t] = await browser.page.evaluate((x) => window.rtTest.embedText(x), [q.caption]);
      const brute = gallery
        .map((s, i) => ({ id: s.file, s: embeds[i].reduce((a, x, j) => a + x * t[j], 0) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 5);
      expect(hits.map((h) => h.id)).toEqual(brute.map((b) => b.id));
      hits.forEach((h, i) => {
        expect(Math.abs((h.itc ?? Number.NaN) - brute[i].s)).toBeLessThan(1e-4);
      });
      if (hits[0].id === q.file) r1++;
      if (hits.some((h) => h.id === q.file)) r5++;
    }
    console.log(`index (40 gallery images, ITC): R@1 ${r1}/${queries.length}, R@5 ${r5}/${queries.length}`);
    expect(r1 / queries.length).toBeGreaterThanOrEqual(INDEX_MIN_R1);
    expect(r5 / queries.length).toBeGreaterThanOrEqual(INDEX_MIN_R5);

    const q = queries[0];
    const reranked = await browser.page.evaluate(([n, t]) => window.rtTest.indexSearch(n, t, 3, true), [
      'gal',
      q.caption,
    ] as const);
    for (const h of reranked) {
      const [want] = await browser.page.evaluate(([m, x, rows]) => window.rtTest.ref.refItm(m, x, rows), [
        abs(BLIP),
        `/models/data/gallery/${h.id}`,
        [ids(q.caption)],
      ] as const);
      expect(Math.abs((h.itm ?? -1) - want)).toBeLessThan(1e-4);
    }
    for (let i = 1; i < reranked.length; i++)
      expect(reranked[i - 1].itm!).toBeGreaterThanOrEqual(reranked[i].itm!);

    // Atomic: one undecodable image in a batch → BAD_IMAGE and nothing added.
    const code = await browser.page.evaluate(
      (items) => window.rtTest.indexAddCode('gal', items),
      [
        { id: 'new-good', png: png('eval', eval1[0]) },
        { id: 'new-bad', bytes: [1, 2, 3] },
      ],
    );
    expect(code).toBe('BAD_IMAGE');
    expect(await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'size'))).toBe(40);
    expect(
      await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'remove', ['00000.png', 'nope'])),
    ).toBe(1);

    // Survives a new runtime (new worker): IndexedDB.
    await browser.page.evaluate(() => window.rtTest.create('wasm'));
    await browser.page.evaluate((u) => window.rtTest.load(u), BLIP);
    expect(await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'size'))).toBe(39);
    const again = await browser.page.evaluate(([n, t]) => window.rtTest.indexSearch(n, t, 1), [
      'gal',
      queries[1].caption,
    ] as const);
    expect(again).toHaveLength(1);
    await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'clear'));
    expect(await browser.page.evaluate(() => window.rtTest.indexOp('gal', 'size'))).toBe(0);
  });
});

describe('index top-k kernel (shaders/index-topk.wgsl) in the browser vs the CPU path', () => {
  for (const [n, d, k, dup] of [
    [1000, 64, 10, false],
    [2000, 128, 64, true],
    [5, 16, 64, false],
    [12000, 128, 64, true],
  ] as const) {
    // Both layouts of the search: many partial workgroups + merge (GPUs), one workgroup (software adapters).
    for (const one of [false, true]) {
      it(`n=${n} d=${d} k=${k}${dup ? ' with duplicate rows (ties)' : ''}, ${one ? 'one workgroup' : 'many workgroups'}`, async () => {
        const results = await browser.page.evaluate(
          ([a, b, c, e, o]) => window.rtTest.gpuVsCpuTopK(a, b, c, 11, e, o),
          [n, d, k, dup, one] as const,
        );
        for (const { gpu, cpu } of results) {
          expect(gpu.map((h) => h.row)).toEqual(cpu.map((h) => h.row));
          gpu.forEach((h, i) => {
            expect(Math.abs(h.score - cpu[i].score)).toBeLessThan(1e-5);
          });
          expect(gpu).toHaveLength(Math.min(n, k));
        }
      });
    }
  }
});

describe("dtype 'fp16': onnx/*_fp16.onnx, float16 weights widened in the graph", () => {
  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`${backend}: fetches only the fp16 graphs; embeddings equal ORT on that file and stay near fp32`, async () => {
      const p = png('eval', eval1[2]);
      await browser.page.evaluate((b) => window.rtTest.create(b), backend);
      const { info, progress } = await browser.page.evaluate((u) => window.rtTest.load(u, 'fp16'), CLIP);
      expect(info.dtype).toBe('fp16');
      const graphs = [...new Set(progress.map((e) => e.file))].filter((f) => f.endsWith('.onnx')).sort();
      expect(graphs).toEqual(['onnx/text_model_fp16.onnx', 'onnx/vision_model_fp16.onnx']);
      const got = await browser.page.evaluate((x) => window.rtTest.embedImage(x), p);
      const [ref16, ref32] = await browser.page.evaluate(
        async ([m, x]) => [
          Array.from((await window.rtTest.ref.refImageTokens(m, x, 'vision_model_fp16')).embeds),
          Array.from((await window.rtTest.ref.refImageTokens(m, x)).embeds),
        ],
        [abs(CLIP), p] as const,
      );
      expect(maxDiff(got, unit(ref16))).toBeLessThan(1e-4);
      const drift = maxDiff(unit(ref16), unit(ref32));
      console.log(`${backend} fp16: max |Δ| vs ORT fp16 ${maxDiff(got, unit(ref16))}, fp16 vs fp32 ${drift}`);
      expect(drift).toBeGreaterThan(0); // the weights really are different
      expect(drift).toBeLessThan(0.02);
    });
  }
});

describe('GPU backends through the runtime (SwiftShader: one small request each)', () => {
  it("'auto' on a software adapter picks wasm and says why", async () => {
    const info = await browser.page.evaluate(() => window.rtTest.create('auto'));
    expect(info.adapter?.software).toBe(true);
    expect(info.backend).toBe('wasm');
    expect(info.backendReason).toContain('software');
  });

  // Our engine runs the resize kernel on its own device; for ort-webgpu it runs on onnxruntime-web's device and
  // hands ORT a gpu-buffer tensor.
  for (const [backend, scene] of [
    ['webgpu', eval1[0]],
    ['ort-webgpu', eval1[1]],
  ] as const) {
    it(`${backend}: images are preprocessed on the GPU, matching the ORT reference (model size) and the CPU path (resized)`, async () => {
      const p = png('eval', scene);
      await browser.page.evaluate((b) => window.rtTest.create(b), backend);
      const { info } = await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
      expect(info.preprocessing).toBe('gpu');
      const gpuModelSize = await browser.page.evaluate((x) => window.rtTest.embedImage(x), p);
      const ref = await browser.page.evaluate(
        async ([m, x]) => Array.from((await window.rtTest.ref.refImageTokens(m, x)).embeds),
        [abs(CLIP), p] as const,
      );
      expect(maxDiff(gpuModelSize, unit(ref))).toBeLessThan(1e-4);
      const gpuResized = await browser.page.evaluate((x) => window.rtTest.embedScaled(x, 150, 110), p);
      await browser.page.evaluate(() => window.rtTest.create('wasm'));
      const cpu = await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
      expect(cpu.info.preprocessing).toBe('cpu');
      const cpuResized = await browser.page.evaluate((x) => window.rtTest.embedScaled(x, 150, 110), p);
      // Same Pillow taps on both paths; f32 vs f64 can move a rare pixel by one level.
      console.log(
        `${backend} GPU vs CPU preprocessing, 150×110 → 64×64: max |Δembedding| ${maxDiff(gpuResized, cpuResized)}`,
      );
      expect(maxDiff(gpuResized, cpuResized)).toBeLessThan(2e-3);
      // And the resize is real: the embedding moved away from the model-sized image's.
      expect(maxDiff(gpuResized, gpuModelSize)).toBeGreaterThan(1e-3);
    });
  }

  // Our engine keeps the cache as its own GPU-resident tensors; ORT's webgpu provider as gpu-buffer outputs.
  for (const backend of ['webgpu', 'ort-webgpu'] as const) {
    it(`${backend}: caption with the KV cache kept on the GPU equals the no-cache reference`, async () => {
      await browser.page.evaluate((b) => window.rtTest.create(b), backend);
      const { info } = await browser.page.evaluate((u) => window.rtTest.load(u), BLIP);
      console.log(`${backend} placements: ${JSON.stringify(info.placements)}`);
      const p = png('eval', eval1[0]);
      const got = await browser.page.evaluate((x) => window.rtTest.caption(x, { maxTokens: 5 }), p);
      expect(got.cacheOnDevice).toBe(true);
      const want = await browser.page.evaluate(([m, x]) => window.rtTest.ref.refGreedyCaption(m, x, 5), [
        abs(BLIP),
        p,
      ] as const);
      expect(got.tokenIds).toEqual(want.tokenIds);
    });
  }
});
