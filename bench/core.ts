// What a benchmark row does, wherever it runs: the browser page (bench/page.ts) and Node on Dawn
// (bench/node/run.ts) call these with their own way to fetch bytes, decode images and open sessions.
import { onnx } from 'onnx-proto';
import type { DispatchTime, Session } from '../src/engine/backend';
import { BackendSelector } from '../src/engine/select';
import { type HostTensor, hostTensor, type Tensor, toHost } from '../src/engine/tensor';
import { cpuTopK } from '../src/index/cpu-topk';
import { GpuMatrix } from '../src/index/gpu-topk';
import type { ModelFolder } from '../src/models/model-folder';
import { answer } from '../src/pipelines/ask';
import { captionBeam, captionGreedy } from '../src/pipelines/caption';
import { disposeTensor, encodeImages, imageTokens } from '../src/pipelines/encode';
import { captionFlorence } from '../src/pipelines/florence2';
import { CACHE_BLOCK, DecoderState, pastNames } from '../src/pipelines/generate/decoder-state';
import { GREEDY } from '../src/pipelines/generate/sampling';
import { CONTEXT_INPUTS, loadModel } from '../src/pipelines/loaded-model';
import { Stopwatch } from '../src/pipelines/timings';
import type { RgbaImage } from '../src/vision/preprocess';
import { rng } from '../tests/support/random';
import type {
  AskRowSpec,
  CaptionRowSpec,
  DecodeRowSpec,
  EngineName,
  FeedSpec,
  GenerateRowSpec,
  GraphEngine,
  GraphRowSpec,
  IndexRowSpec,
  ProfileEntry,
  RowResult,
} from './spec';
import { relativeDiff, summarize, summarizeProfiles } from './stats';

/** What the host gives the rows: bytes by URL, an image's pixels, peak GPU memory around a call. */
export interface BenchHost {
  fetchBytes(url: string): Promise<Uint8Array>;
  /** A model folder, as the runtime opens it. */
  modelStore(url: string): Promise<ModelFolder>;
  rgba(url: string): Promise<RgbaImage>;
  measurePeak<T>(f: () => Promise<T>): Promise<{ result: T; peakBytes: number }>;
  /** A GPU device for the index rows (undefined: no WebGPU here). */
  indexDevice(): Promise<GPUDevice | undefined>;
  /** Engines outside webvl's selector (onnxruntime-node in Node); undefined: not available here. */
  extraSession?(engine: EngineName, bytes: Uint8Array, label: string): Promise<Session | undefined>;
}

export function makeFeeds(specs: readonly FeedSpec[]): Record<string, HostTensor> {
  const rand = rng(1234);
  const feeds: Record<string, HostTensor> = {};
  for (const f of specs) {
    const n = f.dims.reduce((a, b) => a * b, 1);
    const values = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      if (f.positions) values[i] = i % f.dims[f.dims.length - 1];
      else if (f.fill !== undefined) values[i] = f.fill;
      else if (f.dtype === 'float32') values[i] = rand() * 2 - 1;
      else {
        const low = f.low ?? 0;
        values[i] = low + Math.floor(rand() * ((f.high ?? 2) - low));
      }
    }
    feeds[f.name] = hostTensor(f.dtype, f.dims, values);
  }
  return feeds;
}

/** A row whose engine threw: no timings, the error's message instead. */
export function failedRow(id: string, engine: EngineName, e: unknown): RowResult {
  const error = e instanceof Error ? e.message : String(e);
  return { id, engine, warmupMs: Number.NaN, medianMs: Number.NaN, p90Ms: Number.NaN, repeats: 0, error };
}

export async function timeRepeats(
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

async function firstOutput(outputs: Record<string, Tensor>, names: readonly string[]): Promise<Float32Array> {
  // Read every output back: that is what a caller of the graph pays for.
  const host = await Promise.all(names.map((n) => toHost(outputs[n])));
  return Float32Array.from(host[0].data as ArrayLike<number>);
}

/** What one engine's timed runs of a graph row produced. */
export interface GraphRun {
  warmupMs: number;
  times: number[];
  last: Float32Array;
  dispatches?: number;
  bytesRead?: number;
  weightBytes?: number;
  chosen?: string;
  profile?: ProfileEntry[];
}

async function openSession(
  host: BenchHost,
  engine: EngineName,
  bytes: Uint8Array,
  label: string,
): Promise<{ session: Session; chosen?: string; ours: boolean }> {
  const extra = await host.extraSession?.(engine, bytes, label);
  if (extra) return { session: extra, ours: engine === 'webgpu-f16' };
  // The same selector users get: a fixed backend, or 'auto' with its per-device choice and ORT fallback.
  const selector = await BackendSelector.create(engine as GraphEngine);
  const session = await selector.load(bytes, { label });
  const chosen = selector.placements.map((p) => `${p.backend} (${p.reason})`).join('; ');
  return { session, chosen, ours: selector.placements.every((p) => p.backend === 'webgpu') };
}

export async function benchGraph(
  host: BenchHost,
  row: GraphRowSpec,
  engine: EngineName,
  repeats: number,
  bytes?: Uint8Array,
  /** Profiled runs after the timed ones (our engine on adapters with timestamp-query); 0: none. */
  profileRuns = 0,
): Promise<GraphRun> {
  const model = bytes ?? (await host.fetchBytes(row.model));
  const { session, chosen, ours } = await openSession(host, engine, model, row.id);
  const feeds = makeFeeds(row.feeds);
  let last: Float32Array = new Float32Array();
  try {
    const { warmupMs, times } = await timeRepeats(repeats, async () => {
      last = await firstOutput(await session.run(feeds), session.outputNames);
    });
    const stats = session.lastRunStats();
    // ORT does not report its kernel launches; its graph's node count (before ORT's own fusions) stands in.
    const dispatches = ours
      ? stats?.dispatches
      : (onnx.ModelProto.decode(model).graph?.node?.length ?? undefined);
    const runs: (readonly DispatchTime[])[] = [];
    for (let i = 0; i < (ours ? profileRuns : 0); i++) {
      const run = await session.profile?.(feeds);
      if (run) runs.push(run);
    }
    const profile = runs.length > 0 ? summarizeProfiles(runs) : undefined;
    return {
      ...{ warmupMs, times, last, dispatches, chosen, profile },
      ...{ bytesRead: stats?.bytesRead, weightBytes: stats?.weightBytes },
    };
  } finally {
    await session.release();
  }
}

/** Cross-checks each engine's output against the reference engine's (ORT wasm) for the same row. */
export class ReferenceOutputs {
  private readonly outputs = new Map<string, Float32Array>();
  constructor(readonly referenceEngine: EngineName = 'wasm') {}
  /** Records the reference output, or returns the relative difference of another engine's output. */
  check(id: string, engine: EngineName, output: Float32Array): number | undefined {
    if (engine === this.referenceEngine) {
      this.outputs.set(id, output);
      return undefined;
    }
    const ref = this.outputs.get(id);
    return ref ? relativeDiff(output, ref) : undefined;
  }
}

export function graphResult(
  row: { id: string; tolerance?: number },
  engine: EngineName,
  r: GraphRun,
  peakBytes: number,
  maxRelDiffVsReference: number | undefined,
): RowResult {
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
    weightGpuBytes: r.weightBytes,
    chosen: r.chosen,
    profile: r.profile,
    maxRelDiffVsReference,
    tolerance: row.tolerance,
  };
}

/** One untimed warm-up run (its result kept), then `repeats` runs with the GPU memory peak measured around them. */
async function warmThenRepeat<T>(host: BenchHost, repeats: number, once: () => Promise<T>) {
  const w0 = performance.now();
  const first = await once();
  const warmupMs = performance.now() - w0;
  const runs: T[] = [];
  const { peakBytes } = await host.measurePeak(async () => {
    for (let i = 0; i < repeats; i++) runs.push(await once());
  });
  return { first, warmupMs, runs, peakBytes };
}

/** One timed generation: total ms, ms per token (the first includes what comes before it), the token ids. */
interface TokenRun {
  total: number;
  steps: number[];
  ids: number[];
}

/**
 * The row of a generation benchmark: total, time to the first token, per-token medians, and the token ids
 * against ORT wasm's (recorded when `engine` is wasm; a mismatch counts as a relative difference of 1).
 */
function tokenRowResult(
  row: { id: string },
  engine: EngineName,
  measured: { first: TokenRun; warmupMs: number; runs: TokenRun[]; peakBytes: number },
  reference: Map<string, number[]>,
  chosen: string,
): RowResult {
  const { first, warmupMs, runs, peakBytes } = measured;
  if (engine === 'wasm') reference.set(row.id, first.ids);
  const ref = reference.get(row.id);
  const s = summarize(runs.map((r) => r.total));
  return {
    id: row.id,
    engine,
    warmupMs,
    medianMs: s.median,
    p90Ms: s.p90,
    repeats: s.n,
    ttftMs: summarize(runs.map((r) => r.steps[0])).median,
    perTokenMs: perTokenMedians(first.steps.length, runs),
    // Peak while generating (the model's weights, loaded before, are not counted).
    peakGpuBytes: peakBytes,
    chosen,
    maxRelDiffVsReference: ref && engine !== 'wasm' ? +(ref.join(',') !== first.ids.join(',')) : undefined,
  };
}

/** Step durations from the timestamps at which each token arrived, the first from `t0`. */
const stepsFrom = (t0: number, stamps: readonly number[]) =>
  stamps.map((t, i) => t - (i ? stamps[i - 1] : t0));

/** Median time of each token position over runs that each timed `count` tokens. */
function perTokenMedians(count: number, runs: readonly { steps: readonly number[] }[]): number[] {
  return Array.from({ length: count }, (_, t) => summarize(runs.map((r) => r.steps[t])).median);
}

export function unitRows(n: number, dim: number, rand: () => number): Float32Array {
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
export async function benchIndex(host: BenchHost, row: IndexRowSpec, repeats: number): Promise<RowResult[]> {
  const rand = rng(99);
  const matrix = unitRows(row.rows, row.dim, rand);
  const queries = Array.from({ length: repeats + 1 }, () => unitRows(1, row.dim, rand));
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
  const device = await host.indexDevice();
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
      // The whole matrix is read once per query: the search is memory-bound.
      bytesMoved: row.rows * row.dim * 4,
      maxRelDiffVsReference: worst,
    });
  } finally {
    gpu.destroy();
    device.destroy();
  }
  return results;
}

/** Captioning (greedy for exactly `tokens` tokens, or beam search): time to first token, then each step's own time. */
export async function benchCaption(
  host: BenchHost,
  row: CaptionRowSpec,
  engine: GraphEngine,
  repeats: number,
  reference: Map<string, number[]>,
): Promise<RowResult> {
  try {
    const selector = await BackendSelector.create(engine);
    const model = await loadModel(await host.modelStore(row.model), selector, { dtype: 'fp32' });
    const image = await host.rgba(row.image);
    const once = async () => {
      const watch = new Stopwatch();
      const t0 = performance.now();
      const stamps: number[] = [];
      const onToken = () => {
        stamps.push(performance.now());
        return undefined;
      };
      if (model.florence) {
        // Florence-2 encodes the image and its task prompt itself; its last step is forced to the end token.
        const out = await captionFlorence(
          model,
          model.florence,
          image,
          { maxTokens: row.tokens, numBeams: row.beams, minTokens: row.beams ? 0 : row.tokens, onToken },
          watch,
        );
        return { total: performance.now() - t0, steps: stepsFrom(t0, stamps), ids: out.tokenIds };
      }
      const enc = await encodeImages(model, [image], watch);
      const out = row.beams
        ? await captionBeam(
            model,
            imageTokens(enc),
            { maxTokens: row.tokens, numBeams: row.beams, onToken },
            watch,
          )
        : await captionGreedy(
            model,
            imageTokens(enc),
            { maxTokens: row.tokens, minTokens: row.tokens, onToken },
            watch,
          );
      disposeTensor(enc.tokens);
      return { total: performance.now() - t0, steps: stepsFrom(t0, stamps), ids: out.tokenIds };
    };
    const measured = await warmThenRepeat(host, repeats, once);
    await model.release();
    return tokenRowResult(
      row,
      engine,
      measured,
      reference,
      selector.placements.map((p) => p.backend).join(','),
    );
  } catch (e) {
    return failedRow(row.id, engine, e);
  }
}

/** A fixed, non-uniform RGBA test image (a gradient with stripes) of the given size. */
function testImage(width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    data.set([(x * 255) / width, (y * 255) / height, (x + y) % 16 < 8 ? 200 : 40, 255], i * 4);
  }
  return { width, height, data };
}

/**
 * A question to a generative VLM: a new conversation per run (image encoded, prompt fed), then `tokens`
 * greedy steps, the end token fed like any other so every engine times the same steps. The answer's token ids
 * are compared with ORT wasm's.
 */
export async function benchAsk(
  host: BenchHost,
  row: AskRowSpec,
  engine: GraphEngine,
  repeats: number,
  reference: Map<string, number[]>,
): Promise<RowResult> {
  try {
    const selector = await BackendSelector.create(engine);
    const model = await loadModel(await host.modelStore(row.model), selector, { dtype: 'fp32' });
    const image = testImage(96, 80);
    const once = async () => {
      const t0 = performance.now();
      const stamps: number[] = [];
      const { result, conversation } = await answer(
        model,
        image,
        [{ role: 'user', content: row.question }],
        undefined,
        {
          maxTokens: row.tokens,
          ignoreEos: true,
          onToken: () => {
            stamps.push(performance.now());
            return undefined;
          },
        },
        new Stopwatch(),
      );
      conversation.release();
      return {
        total: performance.now() - t0,
        steps: stepsFrom(t0, stamps),
        ids: result.tokenIds,
        onDevice: result.cacheOnDevice,
      };
    };
    const measured = await warmThenRepeat(host, repeats, once);
    await model.release();
    const where = selector.placements.map((p) => p.backend).join(',');
    return tokenRowResult(
      row,
      engine,
      measured,
      reference,
      `${where}${measured.first.onDevice ? '; KV cache on the GPU, fixed capacity' : ''}`,
    );
  } catch (e) {
    return failedRow(row.id, engine, e);
  }
}

/**
 * Token generation through DecoderState, as ask() runs it, on fixed random embeddings (so every engine does the
 * same steps): prefill, then per-token times. The tokens picked are compared with ORT wasm's.
 */
export async function benchGenerate(
  host: BenchHost,
  row: GenerateRowSpec,
  engine: EngineName,
  repeats: number,
  bytes: Uint8Array,
  reference: Map<string, number[]>,
): Promise<RowResult> {
  const kv = { layers: row.layers, heads: row.kvHeads, headDim: row.headDim };
  const presents = pastNames(kv).map((n) => n.replace('past_key_values', 'present'));
  let session: Session | undefined;
  try {
    const label = row.id;
    const extra = await host.extraSession?.(engine, bytes, label);
    const selector = extra ? undefined : await BackendSelector.create(engine as GraphEngine);
    session =
      extra ??
      (await selector?.load(bytes, {
        label,
        keepOnDevice: presents,
        nextToken: { logits: 'logits', topK: 1 },
      }));
    if (!session) throw new Error(`no session for ${engine}`);
    const handle = { session, kv, kvCache: async () => selector?.kvCache(label) };
    const rand = rng(4242);
    const embeds = (n: number) =>
      hostTensor(
        'float32',
        [1, n, row.hidden],
        Float32Array.from({ length: n * row.hidden }, () => rand() * 2 - 1),
      );
    const prompt = embeds(row.promptTokens);
    const steps = Array.from({ length: row.tokens }, () => embeds(1));
    const once = async () => {
      const state = new DecoderState(handle, GREEDY, row.promptTokens + row.tokens + 1);
      const times: number[] = [];
      const ids: number[] = [];
      try {
        let t0 = performance.now();
        ids.push(await state.feed(prompt));
        times.push(performance.now() - t0);
        for (const e of steps) {
          t0 = performance.now();
          ids.push(await state.feed(e));
          times.push(performance.now() - t0);
        }
        return { total: times.reduce((a, b) => a + b, 0), steps: times, ids, onDevice: state.cacheOnDevice };
      } finally {
        state.release();
      }
    };
    const measured = await warmThenRepeat(host, repeats, once);
    const result = tokenRowResult(
      row,
      engine,
      measured,
      reference,
      measured.first.onDevice
        ? 'KV cache on the GPU at a fixed capacity, token picked on the GPU'
        : 'presents fed back',
    );
    return { ...result, weightGpuBytes: session.lastRunStats()?.weightBytes };
  } catch (e) {
    return failedRow(row.id, engine, e);
  } finally {
    await session?.release();
  }
}

function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Decoding of `tokens` steps through a decoder_with_past graph after a prompt of `pastLength` tokens, through
 * DecoderState as greedy captions run it: on our engine the KV cache is held on the GPU at a fixed capacity
 * (passes/past-capacity.ts: the decoder's positions come from its past's length) and the image states'
 * cross-attention keys/values are computed once (passes/hoist-context.ts), elsewhere each step's presents
 * are the next step's past. Each step reads the logits back, as greedy decoding does, but feeds a fixed token
 * sequence, so every engine computes the same steps and the last step's logits can be compared with wasm's. The
 * prompt (fed a token at a time, as decoder_with_past graphs take it) is not timed.
 */
export async function benchDecode(
  host: BenchHost,
  row: DecodeRowSpec,
  engine: EngineName,
  repeats: number,
  bytes: Uint8Array,
  reference: ReferenceOutputs,
): Promise<RowResult> {
  const kv = { layers: row.layers, heads: row.heads, headDim: row.headDim };
  const presents = pastNames(kv).map((n) => n.replace('past_key_values', 'present'));
  let session: Session | undefined;
  try {
    const extra = await host.extraSession?.(engine, bytes, row.id);
    const selector = extra ? undefined : await BackendSelector.create(engine as GraphEngine);
    session =
      extra ??
      (await selector?.load(bytes, {
        label: row.id,
        keepOnDevice: presents,
        pastLength: true,
        // As captions load their decoders: the image states' own work is done once per sequence.
        contextInputs: CONTEXT_INPUTS,
      }));
    if (!session) throw new Error(`no session for ${engine}`);
    const handle = { session, kv, kvCache: async () => selector?.kvCache(row.id) };
    const context = makeFeeds([
      { name: 'encoder_hidden_states', dtype: 'float32', dims: [1, row.encoderTokens, row.encoderDim] },
    ]);
    const rand = rng(77);
    const ids = (n: number) =>
      hostTensor(
        'int64',
        [1, n],
        Array.from({ length: n }, () => 5 + Math.floor(rand() * (row.vocab - 5))),
      );
    // decoder_with_past graphs take one token at a time: the prompt too.
    const prompt = Array.from({ length: row.pastLength }, () => ids(1));
    const tokens = Array.from({ length: row.tokens }, () => ids(1));
    const once = async () => {
      const state = new DecoderState(handle, GREEDY, row.pastLength + row.tokens, CACHE_BLOCK, context);
      const steps: number[] = [];
      let last: Float32Array = new Float32Array();
      let picked = 0;
      try {
        for (const token of prompt) await state.logitsAfter(token);
        for (const token of tokens) {
          const t0 = performance.now();
          [last] = await state.logitsAfter(token);
          picked += argmaxOf(last);
          steps.push(performance.now() - t0);
        }
        return { steps, last, picked, onDevice: state.cacheOnDevice };
      } finally {
        state.release();
      }
    };
    const { first, warmupMs, runs, peakBytes } = await warmThenRepeat(host, repeats, once);
    const totals = summarize(runs.map((r) => r.steps.reduce((a, b) => a + b, 0)));
    return {
      id: row.id,
      engine,
      warmupMs,
      medianMs: totals.median,
      p90Ms: totals.p90,
      repeats: totals.n,
      perTokenMs: perTokenMedians(first.steps.length, runs),
      peakGpuBytes: peakBytes,
      weightGpuBytes: session.lastRunStats()?.weightBytes,
      maxRelDiffVsReference: reference.check(row.id, engine, first.last),
      chosen: first.onDevice ? 'KV cache on the GPU at a fixed capacity' : 'presents fed back',
    };
  } catch (e) {
    return failedRow(row.id, engine, e);
  } finally {
    await session?.release();
  }
}
