// Test page for the runtime API: drives createRuntime() and exposes helpers to Playwright as window.rtTest.
import { createRuntime, type Runtime } from '../../src/api/runtime';
import type { BackendChoice, LoadProgress, ModelDType } from '../../src/api/types';
import { WebvlError } from '../../src/errors';
import { cpuTopK, normalized } from '../../src/index/cpu-topk';
import { GpuMatrix } from '../../src/index/gpu-topk';
import { MODEL_CACHE_NAME } from '../../src/models/byte-cache';
import { rng } from '../../tests/support/random';
import * as ref from './runtime-reference';

/** shaders/index-topk.wgsl on this page's WebGPU device vs the CPU path, on seeded random unit rows. */
async function gpuVsCpuTopK(
  n: number,
  d: number,
  k: number,
  seed: number,
  duplicateRows: boolean,
  oneWorkgroup?: boolean,
) {
  const uniform = rng(seed);
  const rand = () => uniform() - 0.5;
  const m = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    // With duplicates, every 7th row copies row r-1: equal scores whose order must go to the lower row.
    const v =
      duplicateRows && r % 7 === 0 && r > 0
        ? m.slice((r - 1) * d, r * d)
        : normalized(Array.from({ length: d }, rand))!;
    m.set(v, r * d);
  }
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  const g = new GpuMatrix(device, d, 64, oneWorkgroup);
  // Uneven batches so the buffer grows several times.
  for (let at = 0; at < n; at += 300) g.writeRows(at, m.subarray(at * d, Math.min(n, at + 300) * d));
  const results = [];
  for (let q = 0; q < 3; q++) {
    const query = normalized(Array.from({ length: d }, rand))!;
    const gpu = await g.search(query, n, k);
    const cpu = cpuTopK(m, n, d, query, k);
    results.push({ gpu, cpu });
  }
  g.destroy();
  device.destroy();
  return results;
}

let rt: Runtime | undefined;
let progress: LoadProgress[] = [];

function runtime(): Runtime {
  if (!rt) throw new Error('call rtTest.create() first');
  return rt;
}

async function pngBlob(url: string): Promise<Blob> {
  return (await fetch(url)).blob();
}

/** The PNG's exact pixels (no colour conversion or premultiplication) on an OffscreenCanvas. */
async function pngPixels(url: string): Promise<{ canvas: OffscreenCanvas; pixels: ImageData }> {
  const bmp = await createImageBitmap(await pngBlob(url), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  return { canvas, pixels: ctx.getImageData(0, 0, bmp.width, bmp.height) };
}

/** Runs f and returns the WebvlError code it failed with (or 'resolved' / 'untyped: …'). */
async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
  return 'resolved';
}

const api = {
  ref,
  gpuVsCpuTopK,
  codeOf,
  async create(backend: BackendChoice = 'wasm', ortWasmPaths?: string) {
    await rt?.dispose();
    progress = [];
    rt = await createRuntime({ backend, ortWasmPaths, onProgress: (p) => progress.push(p) });
    return rt.info();
  },
  async dispose() {
    await rt?.dispose();
    rt = undefined;
  },
  info: () => runtime().info(),
  async load(url: string, dtype?: ModelDType) {
    progress = [];
    const info = await runtime().load(url, { dtype });
    return { info, progress };
  },
  loadCode: (url: string) => codeOf(() => runtime().load(url)),
  unload: () => runtime().unload(),
  async classify(png: string, labels: string[], template?: string | readonly string[]) {
    return runtime().classify(await pngBlob(png), labels, { template });
  },
  /** Classifies an ImageBitmap and reports whether the caller's bitmap was detached (transferred). */
  async classifyBitmapTransfers(png: string, labels: string[]) {
    const bmp = await createImageBitmap(await pngBlob(png));
    const scores = await runtime().classify(bmp, labels);
    return { scores, widthAfter: bmp.width };
  },
  async classifyFromCanvas(png: string, labels: string[]) {
    const bmp = await createImageBitmap(await pngBlob(png));
    const canvas = document.createElement('canvas');
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    canvas.getContext('2d')!.drawImage(bmp, 0, 0);
    return runtime().classify(canvas, labels);
  },
  classifyUrl: (png: string, labels: string[]) => runtime().classify(png, labels),
  /** ImageData (its buffer is transferred: length 0 afterwards), OffscreenCanvas, and a plain RGBA object. */
  async classifyPixelForms(png: string, labels: string[]) {
    const { canvas: off, pixels: imageData } = await pngPixels(png);
    const rgba = { width: imageData.width, height: imageData.height, data: new Uint8Array(imageData.data) };
    const fromImageData = await runtime().classify(imageData, labels);
    return {
      fromImageData,
      imageDataLengthAfter: imageData.data.length,
      fromOffscreen: await runtime().classify(off, labels),
      fromRgba: await runtime().classify(rgba, labels),
    };
  },
  async embedImage(png: string) {
    return Array.from(await runtime().embedImage(await pngBlob(png)));
  },
  /** Embeds the PNG scaled (nearest neighbour, in JS) to width×height, so preprocessing has to resize it. */
  async embedScaled(png: string, width: number, height: number) {
    const { pixels: src } = await pngPixels(png);
    const data = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = Math.floor((x * src.width) / width);
        const sy = Math.floor((y * src.height) / height);
        data.set(
          src.data.subarray((sy * src.width + sx) * 4, (sy * src.width + sx) * 4 + 4),
          (y * width + x) * 4,
        );
      }
    }
    return Array.from(await runtime().embedImage({ width, height, data }));
  },
  async embedText(texts: string[]) {
    return (await runtime().embedText(texts)).map((v) => Array.from(v));
  },
  async match(png: string, texts: string[]) {
    return runtime().match(await pngBlob(png), texts);
  },
  async caption(png: string, options: { maxTokens?: number; numBeams?: number } = {}) {
    const tokens: string[] = [];
    const result = await runtime().caption(await pngBlob(png), {
      ...options,
      onToken: (t) => tokens.push(t.text),
    });
    return { ...result, streamed: tokens };
  },
  /** Aborts from inside the first onToken callback; returns the error code and how many tokens came. */
  async captionCancelled(png: string) {
    const ctl = new AbortController();
    let seen = 0;
    const code = await codeOf(() =>
      runtime().caption(png, {
        maxTokens: 32, // blip-tiny's longest caption (its decoder has 32 positions)
        signal: ctl.signal,
        onToken: () => {
          seen++;
          ctl.abort();
        },
      }),
    );
    return { code, seen };
  },
  async capfilt(pngs: string[], threshold: number, texts?: string[]) {
    const blobs = await Promise.all(pngs.map(pngBlob));
    return runtime().capfilt(blobs, { threshold, texts });
  },
  async indexAdd(name: string, items: { id: string; png: string; meta?: Record<string, unknown> }[]) {
    const index = await runtime().openIndex(name);
    const withImages = await Promise.all(
      items.map(async (it) => ({ id: it.id, image: await pngBlob(it.png), meta: it.meta })),
    );
    return { size: await index.add(withImages), backend: index.backend };
  },
  async indexAddCode(name: string, items: { id: string; png?: string; bytes?: number[] }[]) {
    const index = await runtime().openIndex(name);
    const withImages = await Promise.all(
      items.map(async (it) => ({
        id: it.id,
        image: it.png
          ? await pngBlob(it.png)
          : new Blob([new Uint8Array(it.bytes ?? [])], { type: 'image/png' }),
      })),
    );
    return codeOf(() => index.add(withImages));
  },
  async indexSearch(name: string, query: string, k: number, rerank = false) {
    return (await runtime().openIndex(name)).search(query, { k, rerank });
  },
  async indexOp(name: string, op: 'size' | 'clear' | 'remove', ids: string[] = []) {
    const index = await runtime().openIndex(name);
    if (op === 'size') return index.size();
    if (op === 'clear') return index.clear();
    return index.remove(ids);
  },
  errorCodes: {
    badImage: () =>
      codeOf(async () =>
        runtime().classify(new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' }), ['red']),
      ),
    emptyLabels: (png: string) => codeOf(async () => runtime().classify(png, [])),
    emptyText: () => codeOf(async () => runtime().embedText([''])),
    notLoaded: (png: string) => codeOf(async () => runtime().classify(png, ['red'])),
    crossOriginModel: () => codeOf(() => runtime().load('https://example.com/models/clip-tiny/')),
  },
  cache: {
    // Files are cached under `<url>?sha256=<hash>`; these find a file's entry by its URL.
    async tamper(fileUrl: string) {
      const cache = await caches.open(MODEL_CACHE_NAME);
      const key = (await cache.keys()).find((r) => r.url.startsWith(`${fileUrl}?sha256=`));
      if (!key) return false;
      const bytes = new Uint8Array(await (await cache.match(key))!.arrayBuffer());
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      await cache.put(key, new Response(bytes));
      return true;
    },
    has: async (fileUrl: string) =>
      (await (await caches.open(MODEL_CACHE_NAME)).keys()).some((r) =>
        r.url.startsWith(`${fileUrl}?sha256=`),
      ),
    clear: () => caches.delete(MODEL_CACHE_NAME),
  },
};

declare global {
  interface Window {
    rtTest: typeof api;
    webvlReady: boolean;
  }
}

window.rtTest = api;
window.webvlReady = true;
