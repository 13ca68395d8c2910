// Model folders as Hugging Face / transformers.js lay them out, loaded as they are (no manifest.json) through
// createRuntime().load() in headless Chromium, on onnxruntime-web wasm and on our engine: every value against the
// PyTorch reference of its folder (tests/corpus/hf/*/reference-api.json, made by scripts/make_hf_corpus.py from
// real images through Pillow and the folder's tokenizer), ≤ 1e-4 relative. SigLIP runs on wasm only here: our
// engine lacks Tile (its attention-pooling head) and IsNaN (transformers' text graph) for now.
import { readFileSync } from 'node:fs';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

const CORPUS = '/corpus/hf/';
const DISK = 'tests/corpus/hf/';

interface DualReference {
  images: string[];
  labels: string[];
  template: string;
  texts: string[];
  classify: number[][];
  imageEmbeds: number[][];
  textEmbeds: number[][];
}
interface BlipReference {
  images: string[];
  texts: string[];
  match: { itc: number[]; itm: number[] }[];
  captions: {
    image: number;
    prompt: string | null;
    maxTokens: number;
    tokenIds: number[];
    logProb: number;
  }[];
}

const reference = <T>(folder: string): T =>
  JSON.parse(readFileSync(`${DISK}${folder}/reference-api.json`, 'utf8'));
const png = (path: string) => `/${path}`;

/** max |got − want| / max |want|: the relative difference the issue bounds at 1e-4. */
function rel(got: readonly number[], want: readonly number[]): number {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...got.map((g, i) => Math.abs(g - want[i]))) / scale;
}
const worst: Record<string, number> = {};
function record(key: string, value: number) {
  worst[key] = Math.max(worst[key] ?? 0, value);
  expect(value, key).toBeLessThanOrEqual(1e-4);
}

/** The page's probabilities for ref's labels on `image`, in ref's label order. */
async function classifyProbabilities(ref: DualReference, image: string): Promise<number[]> {
  const got = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
    png(image),
    ref.labels,
    ref.template,
  ] as const);
  return ref.labels.map((l) => got.find((s) => s.label === l)!.probability);
}

let browser: BrowserSession;
let base: string;

beforeAll(async () => {
  base = inject('baseUrl');
  browser = await launch();
  await openPage(browser.page, base, 'e2e/pages/hf-families.html');
});
afterAll(async () => {
  console.log(`max relative difference to PyTorch: ${JSON.stringify(worst, null, 1)}`);
  await browser?.close();
});

/** Serves a corpus folder at another URL (another origin, a hub path), leaving out the files named. */
async function serveFolder(pattern: string, folder: string, options: { omit?: RegExp; cors?: boolean } = {}) {
  await browser.context.route(pattern, async (route: Route) => {
    const url = new URL(route.request().url());
    const file = url.pathname.split(/\/resolve\/[^/]+\/|\/served\/[^/]+\//)[1] ?? '';
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (options.cors) headers['access-control-allow-origin'] = '*';
    let body: Buffer;
    try {
      if (options.omit?.test(file)) throw new Error('omitted');
      body = readFileSync(`${DISK}${folder}/${file}`);
    } catch {
      await route.fulfill({ status: 404, headers, body: 'Entry not found' });
      return;
    }
    await route.fulfill({ status: 200, headers, body });
  });
}

const BACKENDS = ['wasm', 'webgpu'] as const;

// On our engine too: the text tower pools at the end-of-text token with ArgMax over int32 ids, as transformers
// exports it, which our engine's ArgMax takes exactly (integer compare).
describe.each(BACKENDS)('CLIP as exported for transformers.js (%s)', (backend) => {
  const ref = reference<DualReference>('clip-export');

  it('separate towers (config.json carries the trained logit_scale): classify, embedImage, embedText = PyTorch', async () => {
    await browser.page.evaluate((b) => window.hfTest.create(b), backend);
    const { info } = await browser.page.evaluate((u) => window.hfTest.load(u), `${CORPUS}clip-export/`);
    expect(info.kind).toBe('clip');
    expect(info.verified).toBe(false);
    expect(info.graphs.map((g) => g.file)).toEqual(['onnx/vision_model.onnx', 'onnx/text_model.onnx']);
    expect(info.scoring).toEqual({ kind: 'softmax', source: 'config' });
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    for (const [i, image] of ref.images.entries()) {
      const got = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
        png(image),
        ref.labels,
        ref.template,
      ] as const);
      const probs = ref.labels.map((l) => got.find((s) => s.label === l)!.probability);
      record(`clip towers classify (${backend})`, rel(probs, ref.classify[i]));
      const embed = await browser.page.evaluate((p) => window.hfTest.embedImage(p), png(image));
      record(`clip towers embedImage (${backend})`, rel(embed, ref.imageEmbeds[i]));
    }
    const texts = await browser.page.evaluate((t) => window.hfTest.embedText(t), ref.texts);
    for (const [i, t] of texts.entries())
      record(`clip towers embedText (${backend})`, rel(t, ref.textEmbeds[i]));
  });

  it('only the combined onnx/model.onnx (as Optimum exports CLIP): classify from its logits_per_image = PyTorch', async () => {
    await serveFolder('**/served/clip-combined/**', 'clip-export', { omit: /_model\.onnx$/ });
    try {
      await browser.page.evaluate((b) => window.hfTest.create(b), backend);
      const { info } = await browser.page.evaluate((u) => window.hfTest.load(u), '/served/clip-combined/');
      expect(info.graphs.map((g) => g.file)).toEqual(['onnx/model.onnx']);
      for (const [i, image] of ref.images.entries())
        record(
          `clip combined classify (${backend})`,
          rel(await classifyProbabilities(ref, image), ref.classify[i]),
        );
      const texts = await browser.page.evaluate((t) => window.hfTest.embedText(t), ref.texts);
      for (const [i, t] of texts.entries())
        record(`clip combined embedText (${backend})`, rel(t, ref.textEmbeds[i]));
      const embed = await browser.page.evaluate((p) => window.hfTest.embedImage(p), png(ref.images[0]));
      record(`clip combined embedImage (${backend})`, rel(embed, ref.imageEmbeds[0]));
    } finally {
      await browser.context.unroute('**/served/clip-combined/**');
    }
  });
});

// Weights outside the graphs (as exporters write models past protobuf's 2 GB): clip-export's graphs re-saved with
// every initializer in data files: model.onnx_data, text_model.onnx_data{,_1} (transformers.js' chunks) and
// vision_model.onnx.data (torch.onnx's naming).
describe.each(BACKENDS)('CLIP with external-data files (%s)', (backend) => {
  const ref = reference<DualReference>('clip-export');

  /** `files`: every file under onnx/ the load reads, in order (each graph's data files right after it). */
  async function expectClipExport(url: string, graphs: string[], files: string[], what: string) {
    const { info, progress } = await browser.page.evaluate((u) => window.hfTest.load(u), url);
    expect(info.graphs.map((g) => g.file)).toEqual(graphs);
    expect(info.placements.every((p) => p.backend === backend)).toBe(true);
    const read = [...new Set(progress.filter((p) => p.stage === 'downloading').map((p) => p.file))];
    expect(read.filter((f) => f.startsWith('onnx/'))).toEqual(files);
    expect(info.graphs.flatMap((g) => [g.file, ...(g.externalData ?? [])])).toEqual(files);
    for (const [i, image] of ref.images.entries()) {
      record(
        `clip ${what} classify (${backend})`,
        rel(await classifyProbabilities(ref, image), ref.classify[i]),
      );
      const embed = await browser.page.evaluate((p) => window.hfTest.embedImage(p), png(image));
      record(`clip ${what} embedImage (${backend})`, rel(embed, ref.imageEmbeds[i]));
    }
    const texts = await browser.page.evaluate((t) => window.hfTest.embedText(t), ref.texts);
    for (const [i, t] of texts.entries())
      record(`clip ${what} embedText (${backend})`, rel(t, ref.textEmbeds[i]));
  }

  it("towers whose weights are in torch's vision_model.onnx.data and transformers.js' text_model.onnx_data{,_1} = clip-export's PyTorch values", async () => {
    await browser.page.evaluate((b) => window.hfTest.create(b), backend);
    await expectClipExport(
      `${CORPUS}clip-external/`,
      ['onnx/vision_model.onnx', 'onnx/text_model.onnx'],
      [
        'onnx/vision_model.onnx',
        'onnx/vision_model.onnx.data',
        'onnx/text_model.onnx',
        'onnx/text_model.onnx_data',
        'onnx/text_model.onnx_data_1',
      ],
      'external towers',
    );
  });

  it('the combined model.onnx with its model.onnx_data = the same values', async () => {
    await serveFolder('**/served/clip-external-combined/**', 'clip-external', { omit: /_model\.onnx/ });
    try {
      await browser.page.evaluate((b) => window.hfTest.create(b), backend);
      await expectClipExport(
        '/served/clip-external-combined/',
        ['onnx/model.onnx'],
        ['onnx/model.onnx', 'onnx/model.onnx_data'],
        'external combined',
      );
    } finally {
      await browser.context.unroute('**/served/clip-external-combined/**');
    }
  });
});

describe.each(
  BACKENDS.flatMap((backend) =>
    (
      [
        ['siglip-export', 'towers with logit_scale and logit_bias in config.json', 'config'],
        ['siglip-hf', "transformers' own export, read through its combined graph", 'combined graph'],
      ] as const
    ).map(([folder, what, source]) => [folder, what, source, backend] as const),
  ),
)('SigLIP: %s, %s (%s)', (folder, _what, source, backend) => {
  it('sigmoid scores with logit_bias over text padded to max_length; embeddings (attention-pooling head) = PyTorch', async () => {
    const ref = reference<DualReference>(folder);
    await browser.page.evaluate((b) => window.hfTest.create(b), backend);
    const { info } = await browser.page.evaluate((u) => window.hfTest.load(u), `${CORPUS}${folder}/`);
    expect(info.kind).toBe('siglip');
    expect(info.scoring).toEqual({ kind: 'sigmoid', source });
    for (const [i, image] of ref.images.entries()) {
      const got = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
        png(image),
        ref.labels,
        ref.template,
      ] as const);
      const probs = ref.labels.map((l) => got.find((s) => s.label === l)!.probability);
      record(`${folder} classify (${backend})`, rel(probs, ref.classify[i]));
      // Sigmoids, one per label: they need not sum to 1.
      const embed = await browser.page.evaluate((p) => window.hfTest.embedImage(p), png(image));
      record(`${folder} embedImage (${backend})`, rel(embed, ref.imageEmbeds[i]));
    }
    const texts = await browser.page.evaluate((t) => window.hfTest.embedText(t), ref.texts);
    for (const [i, t] of texts.entries())
      record(`${folder} embedText (${backend})`, rel(t, ref.textEmbeds[i]));
  });
});

describe.each(BACKENDS)('BLIP (%s)', (backend) => {
  describe.each([
    ['blip-hf', "transformers' own export in webvl's layout, decoder without a KV cache"],
    ['blip-export', 'export_hf.py, decoder pair with a KV cache'],
  ] as const)('%s: %s', (folder, _what) => {
    const ref = reference<BlipReference>(folder);

    it('match (ITC cosine + ITM) and captions, with and without a prompt, = PyTorch', async () => {
      await browser.page.evaluate((b) => window.hfTest.create(b), backend);
      const { info } = await browser.page.evaluate((u) => window.hfTest.load(u), `${CORPUS}${folder}/`);
      expect(info.kind).toBe('blip');
      const graphs = info.graphs.map((g) => g.role).sort();
      expect(graphs).toEqual(
        folder === 'blip-hf'
          ? ['decoder', 'itm', 'text', 'vision']
          : ['decoder', 'decoderWithPast', 'itm', 'text', 'vision'],
      );
      for (const [i, image] of ref.images.entries()) {
        const got = await browser.page.evaluate(([p, t]) => window.hfTest.match(p, t), [
          png(image),
          ref.texts,
        ] as const);
        record(
          `${folder} ITC (${backend})`,
          rel(
            got.map((g) => g.itc ?? Number.NaN),
            ref.match[i].itc,
          ),
        );
        record(
          `${folder} ITM (${backend})`,
          rel(
            got.map((g) => g.itm ?? Number.NaN),
            ref.match[i].itm,
          ),
        );
      }
      for (const c of ref.captions) {
        const got = await browser.page.evaluate(
          ([p, n, prompt]) => window.hfTest.caption(p, n, prompt ?? undefined),
          [png(ref.images[c.image]), c.maxTokens, c.prompt] as const,
        );
        expect(got.tokenIds, `caption of image ${c.image}, prompt ${c.prompt}`).toEqual(c.tokenIds);
        record(
          `${folder} caption logProb (${backend})`,
          Math.abs(got.logProb - c.logProb) / Math.abs(c.logProb),
        );
        if (c.prompt) expect(got.text.startsWith(c.prompt)).toBe(true);
        expect(got.streamed[got.streamed.length - 1] ?? got.text).toBe(got.text);
      }
    });
  });
});

describe('loading folders as they are', () => {
  it('without manifest.json: byte progress ends at the files’ sizes (Content-Length); the second load makes no request', async () => {
    await browser.page.evaluate(() => window.hfTest.clearCache());
    await browser.page.evaluate(() => window.hfTest.create('wasm'));
    let requests = 0;
    const count = (r: { url(): string }) => {
      if (new URL(r.url()).pathname.startsWith(`${CORPUS}clip-export/`)) requests++;
    };
    browser.context.on('request', count);
    const { info, progress } = await browser.page.evaluate(
      (u) => window.hfTest.load(u),
      `${CORPUS}clip-export/`,
    );
    const files = [
      'config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/vision_model.onnx',
      'onnx/text_model.onnx',
    ];
    const size = (f: string) => readFileSync(`${DISK}clip-export/${f}`).length;
    const total = files.reduce((a, f) => a + size(f), 0);
    const last = progress[progress.length - 1];
    expect(last.loaded).toBe(total);
    expect(last.total).toBe(total);
    expect(info.bytes).toBe(total);
    for (const f of files) expect(progress.filter((p) => p.file === f).at(-1)?.fileLoaded, f).toBe(size(f));
    expect(progress.every((p) => p.loaded <= p.total)).toBe(true);
    const first = requests;
    expect(first).toBe(files.length + 1); // + the manifest.json that is not there
    await browser.page.evaluate(() => window.hfTest.create('wasm'));
    const again = await browser.page.evaluate((u) => window.hfTest.load(u), `${CORPUS}clip-export/`);
    browser.context.off('request', count);
    expect(requests).toBe(first);
    expect(again.progress.every((p) => p.fromCache)).toBe(true);
  });

  it("Optimum's layout (optimum-cli export onnx): model.onnx at the folder's root, no onnx/ folder = PyTorch", async () => {
    const ref = reference<DualReference>('clip-export');
    await browser.context.route('**/served/clip-optimum/**', async (route) => {
      const file = new URL(route.request().url()).pathname.split('/served/clip-optimum/')[1] ?? '';
      const disk = file === 'model.onnx' ? 'onnx/model.onnx' : file.endsWith('.onnx') ? undefined : file;
      let body: Buffer | undefined;
      try {
        body = disk ? readFileSync(`${DISK}clip-export/${disk}`) : undefined;
      } catch {
        body = undefined;
      }
      await route.fulfill(body ? { status: 200, body } : { status: 404, body: '' });
    });
    try {
      await browser.page.evaluate(() => window.hfTest.create('webgpu'));
      const { info } = await browser.page.evaluate((u) => window.hfTest.load(u), '/served/clip-optimum/');
      expect(info.graphs.map((g) => g.file)).toEqual(['model.onnx']);
      for (const [i, image] of ref.images.entries())
        record(
          'clip in Optimum layout classify (webgpu)',
          rel(await classifyProbabilities(ref, image), ref.classify[i]),
        );
    } finally {
      await browser.context.unroute('**/served/clip-optimum/**');
    }
  });

  it('a Hub-style URL (<origin>/<org>/<name>/resolve/<rev>/) loads when its origin is allowed, and is refused otherwise', async () => {
    const ref = reference<DualReference>('clip-export');
    await serveFolder('https://hub.test/**', 'clip-export', { cors: true });
    try {
      await browser.page.evaluate(() => window.hfTest.create('wasm'));
      const refused = await browser.page.evaluate(
        (u) => window.hfTest.loadCode(u),
        'https://hub.test/webvl/clip-export/tree/main',
      );
      expect(refused.code).toBe('INVALID_INPUT');
      await browser.page.evaluate(() => window.hfTest.create('wasm', ['https://hub.test']));
      const { info } = await browser.page.evaluate(
        (u) => window.hfTest.load(u),
        'https://hub.test/webvl/clip-export/tree/main',
      );
      expect(info.url).toBe('https://hub.test/webvl/clip-export/resolve/main/');
      const got = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
        png(ref.images[0]),
        ref.labels,
        ref.template,
      ] as const);
      record(
        'clip from a hub URL classify (wasm)',
        rel(
          ref.labels.map((l) => got.find((s) => s.label === l)!.probability),
          ref.classify[0],
        ),
      );
    } finally {
      await browser.context.unroute('https://hub.test/**');
    }
  });

  it('typed errors name what is wrong (family, file, processor value) and the worker keeps serving', async () => {
    const ref = reference<DualReference>('clip-export');
    await browser.context.route('**/served/bad-*/**', async (route) => {
      const url = new URL(route.request().url());
      const [, kind, file] = url.pathname.match(/\/served\/bad-([a-z]+)\/(.*)$/) ?? [];
      const real = (f: string) => readFileSync(`${DISK}clip-export/${f}`);
      let body: Buffer | undefined;
      if (file === 'config.json' && kind === 'family') body = Buffer.from('{"model_type":"llava_onevision"}');
      else if (file === 'preprocessor_config.json' && kind === 'processor')
        body = Buffer.from(JSON.stringify({ ...JSON.parse(real(file).toString()), resample: 5 }));
      else if (!(kind === 'file' && file === 'tokenizer.json') && file !== 'manifest.json') {
        try {
          body = real(file);
        } catch {
          body = undefined;
        }
      }
      await route.fulfill(body ? { status: 200, body } : { status: 404, body: '' });
    });
    try {
      await browser.page.evaluate(() => window.hfTest.create('wasm'));
      await browser.page.evaluate((u) => window.hfTest.load(u), `${CORPUS}clip-export/`);
      const family = await browser.page.evaluate((u) => window.hfTest.loadCode(u), '/served/bad-family/');
      expect(family.code).toBe('UNSUPPORTED_MODEL');
      expect(family.message).toContain("'llava_onevision'");
      const file = await browser.page.evaluate((u) => window.hfTest.loadCode(u), '/served/bad-file/');
      expect(file.code).toBe('MODEL_NOT_FOUND');
      expect(file.message).toContain('tokenizer.json');
      const processor = await browser.page.evaluate(
        (u) => window.hfTest.loadCode(u),
        '/served/bad-processor/',
      );
      expect(processor.code).toBe('UNSUPPORTED_MODEL');
      expect(processor.message).toContain('resample 5 (hamming)');
      const variant = await browser.page.evaluate(([u, d]) => window.hfTest.loadCode(u, d), [
        `${CORPUS}clip-export/`,
        'q4',
      ] as const);
      expect(variant.code).toBe('MODEL_NOT_FOUND');
      expect(variant.message).toContain('onnx/vision_model_q4.onnx (the q4 variant)');
      // Still serving the model loaded before the failures.
      const after = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
        png(ref.images[0]),
        ref.labels,
        ref.template,
      ] as const);
      expect(after).toHaveLength(ref.labels.length);
    } finally {
      await browser.context.unroute('**/served/bad-*/**');
    }
  });
});

describe('dtype variants (transformers.js names) and the fallback to onnxruntime-web', () => {
  // 'auto' as it behaves on a real GPU: our engine first, onnxruntime-web per graph where it refuses.
  it("q4 (MatMulNBits) and q8 (quantize_dynamic) graphs run on our engine; results equal wasm's on the same files", async () => {
    const dtype = {
      vision_model: 'q4',
      text_model: 'fp32',
      itm_model: 'quantized',
      decoder_model: 'fp32',
    } as const;
    const ref = reference<BlipReference>('blip-hf');
    const ours = await browser.page.evaluate(([u, d, p, t]) => window.hfTest.autoOnOurEngine(u, d, p, t), [
      `${CORPUS}blip-hf/`,
      dtype,
      png(ref.images[0]),
      ref.texts,
    ] as const);
    expect(ours.graphs.map((g) => g.file).sort()).toEqual([
      'onnx/decoder_model.onnx',
      'onnx/itm_model_quantized.onnx',
      'onnx/text_model.onnx',
      'onnx/vision_model_q4.onnx',
    ]);
    expect(ours.placements.map((p) => [p.label, p.backend])).toEqual([
      ['vision', 'webgpu'],
      ['text', 'webgpu'],
      ['itm', 'webgpu'],
      ['decoder', 'webgpu'],
    ]);
    await browser.page.evaluate(() => window.hfTest.create('wasm'));
    await browser.page.evaluate(([u, d]) => window.hfTest.load(u, d), [`${CORPUS}blip-hf/`, dtype] as const);
    const wasm = await browser.page.evaluate(([p, t]) => window.hfTest.match(p, t), [
      png(ref.images[0]),
      ref.texts,
    ] as const);
    const scores = ours.scores as { itc: number; itm?: number }[];
    // q4 weights dequantize to the same floats on both; q8's activations are quantized per call by onnxruntime
    // (DynamicQuantizeLinear) and kept float by our engine (W8A32), so ITM differs by a few activation steps.
    const itc = rel(
      scores.map((s) => s.itc ?? Number.NaN),
      wasm.map((s) => s.itc ?? Number.NaN),
    );
    const itm = rel(
      scores.map((s) => s.itm ?? 0),
      wasm.map((s) => s.itm ?? 0),
    );
    console.log(
      `q4/q8 blip-hf, our engine vs onnxruntime wasm: ITC ${itc.toExponential(2)}, ITM ${itm.toExponential(2)}`,
    );
    expect(itc).toBeLessThan(1e-4);
    expect(itm).toBeLessThan(2e-3);
  });

  it('a bnb4 graph (MatMulBnb4, dequantized at load) runs on our engine; scores equal wasm', async () => {
    const dtype = { text_model: 'bnb4', vision_model: 'fp32' } as const;
    const ref = reference<DualReference>('siglip-export');
    const ours = await browser.page.evaluate(
      ([u, d, p, l, t]) => window.hfTest.autoOnOurEngine(u, d, p, l, t),
      [`${CORPUS}siglip-export/`, dtype, png(ref.images[0]), ref.labels, ref.template] as const,
    );
    const where = Object.fromEntries(ours.placements.map((p) => [p.label, p]));
    expect(where.vision.backend).toBe('webgpu');
    expect(where.text.backend).toBe('webgpu');
    await browser.page.evaluate(() => window.hfTest.create('wasm'));
    const { info } = await browser.page.evaluate(([u, d]) => window.hfTest.load(u, d), [
      `${CORPUS}siglip-export/`,
      dtype,
    ] as const);
    expect(info.graphs.find((g) => g.role === 'text')).toEqual({
      role: 'text',
      file: 'onnx/text_model_bnb4.onnx',
      dtype: 'bnb4',
    });
    const wasm = await browser.page.evaluate(([p, l, t]) => window.hfTest.classify(p, l, t), [
      png(ref.images[0]),
      ref.labels,
      ref.template,
    ] as const);
    const probs = (xs: readonly { label: string; probability: number }[]) =>
      ref.labels.map((l) => xs.find((s) => s.label === l)!.probability);
    expect(rel(probs(ours.scores as { label: string; probability: number }[]), probs(wasm))).toBeLessThan(
      1e-4,
    );
    // 4-bit weights: near the fp32 model's scores, not equal to them.
    const drift = rel(probs(wasm), ref.classify[0]);
    console.log(`bnb4 text tower vs fp32 PyTorch: relative ${drift.toExponential(2)}`);
    expect(drift).toBeGreaterThan(1e-4);
    expect(drift).toBeLessThan(0.2);
  });
});

describe('transformers.js interop', () => {
  it.each([
    [
      '/models/',
      'clip-tiny',
      '/models/data/eval/00003.png',
      ['red circle', 'blue square', 'green star', 'small red circle'],
      'a {}',
    ],
    [
      '/corpus/hf/',
      'clip-export',
      '/corpus/hf/images/scene-0-32.png',
      ['red circle', 'blue square', 'yellow star'],
      'a photo of a {}',
    ],
    // Its combined graph's weights in model.onnx_data, which transformers.js finds by config.json's
    // use_external_data_format and webvl by the graph's own tensor locations.
    [
      '/corpus/hf/',
      'clip-external',
      '/corpus/hf/images/scene-0-32.png',
      ['red circle', 'blue square', 'yellow star'],
      'a photo of a {}',
    ],
    [
      '/corpus/hf/',
      'siglip-hf',
      '/corpus/hf/images/scene-1-32.png',
      ['red circle', 'blue square', 'yellow star'],
      'a photo of a {}',
    ],
  ])(
    "transformers.js' pipeline('zero-shot-image-classification') on %s%s gives webvl's probabilities",
    async (root, name, image, labels, template) => {
      await browser.page.evaluate(() => window.hfTest.create('wasm'));
      await browser.page.evaluate((u) => window.hfTest.load(u), `${root}${name}/`);
      const { theirs, ours } = await browser.page.evaluate(
        ([r, n, p, l, t]) => window.hfTest.zeroShotBoth(r, n, p, l, t),
        [root, name, image, labels, template] as const,
      );
      expect(theirs.map((s) => s.label)).toEqual(ours.map((s) => s.label));
      const diff = Math.max(...theirs.map((s, i) => Math.abs(s.score - ours[i].probability)));
      console.log(`${name}: transformers.js vs webvl, max |Δ probability| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-5);
    },
  );
});
