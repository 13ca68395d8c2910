// Benchmark page: every engine runs the same graphs on the same inputs in this one page.
import { onnx } from 'onnx-proto';
import { measurePeak, trackGpuBuffers } from '../e2e/pages/gpu-buffers';
import { BackendSelector } from '../src/engine/select';
import { type HostTensor, hostTensor, type Tensor, toHost } from '../src/engine/tensor';
import { cpuTopK } from '../src/index/cpu-topk';
import { GpuMatrix, requestIndexDevice } from '../src/index/gpu-topk';
import { ModelStore } from '../src/models/model-store';
import { captionGreedy } from '../src/pipelines/caption';
import { encodeImages } from '../src/pipelines/encode';
import { loadModel } from '../src/pipelines/loaded-model';
import { Stopwatch } from '../src/pipelines/timings';
import { rng } from '../tests/support/random';
import type { CaptionRowSpec, FeedSpec, GraphEngine, GraphRowSpec, IndexRowSpec, RowResult } from './spec';
import { relativeDiff, summarize } from './stats';

function makeFeeds(specs: FeedSpec[]): Record<string, HostTensor> {
  const rand = rng(1234);
  const feeds: Record<string, HostTensor> = {};
  for (const f of specs) {
    const n = f.dims.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => {
      if (f.fill !== undefined) return f.fill;
      if (f.dtype === 'float32') return rand() * 2 - 1;
      const low = f.low ?? 0;
      return low + Math.floor(rand() * ((f.high ?? 2) - low));
    });
    feeds[f.name] = hostTensor(f.dtype, f.dims, values);
  }
  return feeds;
}

/** A row whose engine threw: no timings, the error's message instead. */
function failedRow(id: string, engine: RowResult['engine'], e: unknown): RowResult {
  const error = e instanceof Error ? e.message : String(e);
  return { id, engine, warmupMs: Number.NaN, medianMs: Number.NaN, p90Ms: Number.NaN, repeats: 0, error };
}

/** Reference outputs from ORT wasm, by row id, for cross-checking the other engines. */
const wasmReference = new Map<string, Float32Array>();

async function firstOutput(outputs: Record<string, Tensor>, names: readonly string[]): Promise<Float32Array> {
  const host = await Promise.all(names.map((n) => toHost(outputs[n])));
  return host[0].data as Float32Array;
}

/** What one engine's timed runs of a graph row produced. */
interface GraphRun {
  warmupMs: number;
  times: number[];
  last: Float32Array;
  dispatches?: number;
  bytesRead?: number;
  chosen?: string;
}

async function timeRepeats(
  repeats: number,
  once: () => Promise<void>,
): Promise<{ warmupMs: number; times: number[] }> {
  const t0 = performance.now();
  await once();
  const warmupMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  return { warmupMs, times };
}

async function benchBackend(row: GraphRowSpec, engine: GraphEngine, repeats: number): Promise<GraphRun> {
  // The same selector users get: a fixed backend, or 'auto' with its per-device choice and ORT fallback.
  const selector = await BackendSelector.create(engine);
  const bytes = new Uint8Array(await (await fetch(row.model)).arrayBuffer());
  const session = await selector.load(bytes, { label: row.id });
  const chosen = selector.placements.map((p) => `${p.backend} (${p.reason})`).join('; ');
  const feeds = makeFeeds(row.feeds);
  let last: Float32Array = new Float32Array();
  try {
    const { warmupMs, times } = await timeRepeats(repeats, async () => {
      // Read every output back: that is what a caller of the graph pays for.
      last = await firstOutput(await session.run(feeds), session.outputNames);
    });
    const stats = session.lastRunStats();
    // ORT does not report its kernel launches; its graph's node count (before ORT's own fusions) stands in.
    const dispatches =
      engine === 'webgpu' || selector.decision.name === 'webgpu'
        ? stats?.dispatches
        : (onnx.ModelProto.decode(bytes).graph?.node?.length ?? undefined);
    return { warmupMs, times, last, dispatches, bytesRead: stats?.bytesRead, chosen };
  } finally {
    await session.release();
  }
}

async function benchTransformers(row: GraphRowSpec, repeats: number): Promise<GraphRun> {
  if (!row.transformers) throw new Error('no transformers.js mapping for this row');
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = '/models/';
  const onnxEnv = tjs.env.backends.onnx as { wasm?: { wasmPaths?: string } };
  if (onnxEnv.wasm) onnxEnv.wasm.wasmPaths = `${location.origin}/tjs-ort/`;
  const cls = tjs[row.transformers.cls];
  const model = await cls.from_pretrained(row.transformers.folder, { device: 'wasm', dtype: 'fp32' });
  const feeds = makeFeeds(row.feeds);
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, new tjs.Tensor(t.dtype, t.data as Float32Array, [...t.dims])]),
  );
  let last: Float32Array = new Float32Array();
  const { warmupMs, times } = await timeRepeats(repeats, async () => {
    const out = (await model(inputs)) as Record<string, { data: Float32Array }>;
    last = (out.image_embeds ?? out.text_embeds).data;
  });
  await model.dispose();
  return { warmupMs, times, last };
}

async function benchRow(
  row: GraphRowSpec,
  engine: GraphEngine | 'transformers.js',
  repeats: number,
): Promise<RowResult> {
  try {
    const { result: r, peakBytes } = await measurePeak(() =>
      engine === 'transformers.js' ? benchTransformers(row, repeats) : benchBackend(row, engine, repeats),
    );
    if (engine === 'wasm') wasmReference.set(row.id, r.last);
    const ref = wasmReference.get(row.id);
    const s = summarize(r.times);
    return {
      id: row.id,
      engine,
      warmupMs: r.warmupMs,
      medianMs: s.median,
      p90Ms: s.p90,
      repeats: s.n,
      dispatches: r.dispatches,
      bytesRead: r.bytesRead,
      peakGpuBytes: peakBytes,
      chosen: r.chosen,
      maxRelDiffVsReference: ref && engine !== 'wasm' ? relativeDiff(r.last, ref) : undefined,
    };
  } catch (e) {
    return failedRow(row.id, engine, e);
  }
}

async function adapterInfo(): Promise<Record<string, string | boolean>> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { description: 'no WebGPU adapter' };
  const i = adapter.info;
  return { vendor: i.vendor, architecture: i.architecture, description: i.description, device: i.device };
}

function unitRows(n: number, dim: number, rand: () => number): Float32Array {
  const m = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) {
      const x = rand() * 2 - 1;
      m[r * dim + j] = x;
      ss += x * x;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < dim; j++) m[r * dim + j] *= inv;
  }
  return m;
}

/** Index search: ours (one WGSL top-k over the GPU-resident matrix) and exact JS top-k, same vectors. */
async function benchIndex(row: IndexRowSpec, repeats: number): Promise<RowResult[]> {
  const rand = rng(99);
  const matrix = unitRows(row.rows, row.dim, rand);
  const queries = Array.from({ length: repeats + 1 }, () => unitRows(1, row.dim, rand));
  const device = await requestIndexDevice();
  const results: RowResult[] = [];
  const cpuHits = queries.map((q) => cpuTopK(matrix, row.rows, row.dim, q, row.k));
  let qi = 0;
  const cpu = await timeRepeats(repeats, async () => {
    cpuTopK(matrix, row.rows, row.dim, queries[qi++ % queries.length], row.k);
  });
  const s = summarize(cpu.times);
  results.push({
    id: row.id,
    engine: 'js-cpu',
    warmupMs: cpu.warmupMs,
    medianMs: s.median,
    p90Ms: s.p90,
    repeats: s.n,
  });
  if (!device) return results;
  const gpu = new GpuMatrix(device, row.dim, row.rows);
  try {
    gpu.writeRows(0, matrix);
    let worst = 0;
    qi = 0;
    const timed = await timeRepeats(repeats, async () => {
      const i = qi++ % queries.length;
      const hits = await gpu.search(queries[i], row.rows, row.k);
      worst = Math.max(
        worst,
        relativeDiff(
          hits.map((h) => h.score),
          cpuHits[i].map((h) => h.score),
        ),
      );
    });
    const g = summarize(timed.times);
    results.push({
      id: row.id,
      engine: 'webgpu',
      warmupMs: timed.warmupMs,
      medianMs: g.median,
      p90Ms: g.p90,
      repeats: g.n,
      dispatches: 2,
      bytesRead: row.k * 8,
      maxRelDiffVsReference: worst,
    });
  } finally {
    gpu.destroy();
    device.destroy();
  }
  return results;
}

async function rgbaOf(url: string) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0);
  return g.getImageData(0, 0, bitmap.width, bitmap.height);
}

const captionReference = new Map<string, number[]>();

/** Greedy captioning for exactly `tokens` tokens: time to first token, then each token's own time. */
async function benchCaption(row: CaptionRowSpec, engine: GraphEngine, repeats: number): Promise<RowResult> {
  try {
    const selector = await BackendSelector.create(engine);
    const model = await loadModel(await ModelStore.open(row.model), selector, 'fp32');
    const image = await rgbaOf(row.image);
    const once = async () => {
      const watch = new Stopwatch();
      const t0 = performance.now();
      const stamps: number[] = [];
      const enc = await encodeImages(model, [image], watch);
      const out = await captionGreedy(
        model,
        enc.tokens,
        {
          maxTokens: row.tokens,
          minTokens: row.tokens,
          onToken: () => {
            stamps.push(performance.now());
            return undefined;
          },
        },
        watch,
      );
      if (enc.tokens.location === 'gpu') enc.tokens.dispose();
      return {
        total: performance.now() - t0,
        steps: stamps.map((t, i) => t - (i ? stamps[i - 1] : t0)),
        ids: out.tokenIds,
      };
    };
    const w0 = performance.now();
    const first = await once();
    const warmupMs = performance.now() - w0;
    const runs: Awaited<ReturnType<typeof once>>[] = [];
    const { peakBytes } = await measurePeak(async () => {
      for (let i = 0; i < repeats; i++) runs.push(await once());
    });
    await model.release();
    if (engine === 'wasm') captionReference.set(row.id, first.ids);
    const ref = captionReference.get(row.id);
    const s = summarize(runs.map((r) => r.total));
    return {
      id: row.id,
      engine,
      warmupMs,
      medianMs: s.median,
      p90Ms: s.p90,
      repeats: s.n,
      ttftMs: summarize(runs.map((r) => r.steps[0])).median,
      perTokenMs: first.steps.map((_, t) => summarize(runs.map((r) => r.steps[t])).median),
      // Peak while decoding (the model's weights, loaded before, are not counted).
      peakGpuBytes: peakBytes,
      chosen: selector.placements.map((p) => p.backend).join(','),
      // Same tokens as ORT wasm, or a mismatch flagged as a relative difference of 1.
      maxRelDiffVsReference: ref && engine !== 'wasm' ? +(ref.join(',') !== first.ids.join(',')) : undefined,
    };
  } catch (e) {
    return failedRow(row.id, engine, e);
  }
}

trackGpuBuffers();
const api = { benchRow, benchIndex, benchCaption, adapterInfo };

declare global {
  interface Window {
    webvlBench: typeof api;
    webvlReady: boolean;
  }
}
window.webvlBench = api;
window.webvlReady = true;
