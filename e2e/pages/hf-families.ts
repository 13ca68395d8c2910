// Test page for model folders as Hugging Face / transformers.js lay them out (tests/corpus/hf, served at /corpus/):
// drives createRuntime() like an app, and transformers.js' own pipeline on the same folders (window.hfTest).
import { createRuntime, type Runtime } from '../../src/api/runtime';
import type { BackendChoice, DTypeOption, LoadProgress } from '../../src/api/types';
import { BackendSelector } from '../../src/engine/select';
import { WebvlError } from '../../src/errors';
import { MODEL_CACHE_NAME } from '../../src/models/byte-cache';
import { openModelFolder } from '../../src/models/model-folder';
import { classifyImage } from '../../src/pipelines/classify';
import { disposeTensor, encodeImages } from '../../src/pipelines/encode';
import { loadModel } from '../../src/pipelines/loaded-model';
import { matchEncoded } from '../../src/pipelines/match';
import { Stopwatch } from '../../src/pipelines/timings';

let rt: Runtime | undefined;
let progress: LoadProgress[] = [];

function runtime(): Runtime {
  if (!rt) throw new Error('call hfTest.create() first');
  return rt;
}

/** A PNG's exact pixels (no colour conversion, no premultiplication). */
async function pixels(url: string): Promise<ImageData> {
  const blob = await (await fetch(url)).blob();
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  return ctx.getImageData(0, 0, bmp.width, bmp.height);
}

async function codeOf(f: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await f();
  } catch (e) {
    return e instanceof WebvlError
      ? { code: e.code, message: e.message }
      : { code: 'untyped', message: String(e) };
  }
  return { code: 'resolved', message: '' };
}

type Tjs = typeof import('@huggingface/transformers');
let tjs: Promise<Tjs> | undefined;

/** transformers.js with its onnxruntime-web binary from our own origin, local folders only. */
function transformers(): Promise<Tjs> {
  tjs ??= import('@huggingface/transformers').then((m) => {
    m.env.allowRemoteModels = false;
    m.env.allowLocalModels = true;
    m.env.useBrowserCache = false;
    const onnx = m.env.backends.onnx as { wasm?: { wasmPaths?: string; numThreads?: number } };
    if (onnx.wasm) onnx.wasm.wasmPaths = `${location.origin}/tjs-ort/`;
    return m;
  });
  return tjs;
}

const api = {
  codeOf,
  async create(backend: BackendChoice = 'wasm', allowedOrigins: string[] = []) {
    rt?.dispose();
    progress = [];
    rt = await createRuntime({ backend, allowedOrigins, onProgress: (p) => progress.push(p) });
    return rt.info();
  },
  async clearCache() {
    await caches.delete(MODEL_CACHE_NAME);
  },
  async load(url: string, dtype?: DTypeOption) {
    progress = [];
    const info = await runtime().load(url, { dtype });
    return { info, progress };
  },
  loadCode: (url: string, dtype?: DTypeOption) => codeOf(() => runtime().load(url, { dtype })),
  async classify(png: string, labels: string[], template?: string) {
    return runtime().classify(await pixels(png), labels, { template });
  },
  async embedImage(png: string) {
    return Array.from(await runtime().embedImage(await pixels(png)));
  },
  async embedText(texts: string[]) {
    return (await runtime().embedText(texts)).map((v) => Array.from(v));
  },
  async match(png: string, texts: string[]) {
    return runtime().match(await pixels(png), texts);
  },
  async caption(png: string, maxTokens: number, prompt?: string) {
    const streamed: string[] = [];
    const r = await runtime().caption(await pixels(png), {
      maxTokens,
      prompt,
      onToken: (t) => streamed.push(t.text),
    });
    return { ...r, streamed };
  },
  /**
   * transformers.js' own zero-shot pipeline on a local folder (`root` + `name`), on the PNG's exact pixels, and
   * webvl's classify on the same pixels through the runtime already loaded.
   */
  async zeroShotBoth(root: string, name: string, png: string, labels: string[], template: string) {
    const t = await transformers();
    t.env.localModelPath = root;
    const image = await pixels(png);
    const raw = new t.RawImage(new Uint8ClampedArray(image.data), image.width, image.height, 4);
    const classifier = await t.pipeline('zero-shot-image-classification', name, {
      device: 'wasm',
      dtype: 'fp32',
    });
    const theirs = (await classifier(raw, labels, { hypothesis_template: template })) as {
      label: string;
      score: number;
    }[];
    await classifier.dispose();
    const ours = await runtime().classify(image, labels, { template });
    return { theirs, ours };
  },
  /**
   * A load through 'auto' as it behaves on a real GPU (our engine first, onnxruntime-web per graph where our
   * engine refuses), which a software adapter would not pick: the placements say which graph went where and why.
   */
  async autoOnOurEngine(url: string, dtype: DTypeOption, png: string, texts: string[], template?: string) {
    const selector = new BackendSelector({ name: 'webgpu', reason: 'test: as on a hardware adapter' }, true);
    const model = await loadModel(await openModelFolder(url), selector, { dtype });
    try {
      const watch = new Stopwatch();
      const image = await pixels(png);
      if (model.kind !== 'blip') {
        const scores = await classifyImage(model, image, texts, template, watch);
        return { placements: selector.placements, graphs: model.graphs, scores, kind: 'classify' as const };
      }
      const enc = await encodeImages(model, [image], watch);
      const scores = await matchEncoded(model, enc, 0, texts, watch);
      disposeTensor(enc.tokens);
      return { placements: selector.placements, graphs: model.graphs, scores, kind: 'match' as const };
    } finally {
      await model.release();
    }
  },
};

declare global {
  interface Window {
    hfTest: typeof api;
    webvlReady: boolean;
  }
}
window.hfTest = api;
window.webvlReady = true;
