// Kernel rows: our WGSL kernels alone, at the shapes that decide model speed, each timed as many dispatches in
// one command buffer (so launch overhead is amortized and only GPU time is left) and given as GFLOP/s or GB/s
// beside two measured ceilings: the driver's buffer copy (bandwidth) and the best matmul found (compute).
// Every kernel's output is checked against a reference computed another way (CPU, or the f32 kernel).

import { halfToFloat, toHalfBits } from '../src/engine/half';
import { attentionCpu } from '../src/engine/webgpu/cpu/attention';
import { cpuTensor } from '../src/engine/webgpu/cpu/tensor';
import { PipelineCache } from '../src/engine/webgpu/gpu/pipeline-cache';
import { attention, copyStrided, matmul } from '../src/engine/webgpu/ops';
import { DECODE_MAX_QUERIES } from '../src/engine/webgpu/ops/attention';
import type { AttentionVariant, MatmulVariant } from '../src/engine/webgpu/ops/types';
import { buildDispatches, encodeDispatches } from '../src/engine/webgpu/plan/dispatch';
import type {
  GpuView,
  KernelContext,
  KernelFeatures,
  ProgramSpec,
} from '../src/engine/webgpu/plan/kernel-context';
import { rng } from '../tests/support/random';
import { failedRow } from './core';
import type { RowResult } from './spec';
import { relativeDiff, summarize } from './stats';

export interface MatmulShape {
  id: string;
  m: number;
  n: number;
  k: number;
  /** B as float16 weights (two per word), as the engine keeps fp16 models. */
  halfB?: boolean;
  transposeB?: boolean;
}

export interface AttentionShape {
  id: string;
  heads: number;
  headDim: number;
  queries: number;
  keys: number;
  causal: boolean;
  /** A causal sliding window: each query sees its own key and the window − 1 before it. */
  window?: number;
}

export interface KernelSuite {
  copyBytes: number;
  matmuls: MatmulShape[];
  matmulVariants: MatmulVariant[];
  attentions: AttentionShape[];
}

export function kernelSuite(quick: boolean): KernelSuite {
  if (quick) {
    return {
      copyBytes: 4 << 20,
      matmuls: [
        { id: 'matmul 256³', m: 256, n: 256, k: 256 },
        { id: 'gemv 1×256 · 256×1024', m: 1, n: 1024, k: 256 },
      ],
      matmulVariants: ['direct', 'tile32', 'tile64', 'tile128', 'tile64-f16', 'tile128-f16'],
      attentions: [
        { id: 'attention prefill 64', heads: 2, headDim: 64, queries: 64, keys: 64, causal: false },
        { id: 'attention decode over 256', heads: 2, headDim: 64, queries: 1, keys: 256, causal: true },
        {
          id: 'attention prefill 64, window 16',
          heads: 2,
          headDim: 64,
          queries: 64,
          keys: 64,
          causal: true,
          window: 16,
        },
      ],
    };
  }
  const square = [256, 512, 1024, 2048, 4096].map((s) => ({ id: `matmul ${s}³`, m: s, n: s, k: s }));
  return {
    copyBytes: 1 << 30,
    matmuls: [
      ...square,
      // ViT-B/16: QKV and MLP of 8 images (8 × 197 tokens), and of one.
      { id: 'ViT-B QKV b8 (1576×768 · 768×2304)', m: 1576, n: 2304, k: 768 },
      { id: 'ViT-B MLP up b8 (1576×768 · 768×3072)', m: 1576, n: 3072, k: 768 },
      { id: 'ViT-B MLP up b1 (197×768 · 768×3072)', m: 197, n: 3072, k: 768 },
      // One image's narrow products: 48 workgroups of 64×64 tiles, 168 of 32×32 (which fills a GPU better?).
      { id: 'ViT-B MLP down b1 (197×3072 · 3072×768)', m: 197, n: 768, k: 3072 },
      { id: 'ViT-B out proj b1 (197×768 · 768×768)', m: 197, n: 768, k: 768 },
      // Decoding one token of a 1024-wide decoder: matrix-vector products, f32 and f16 weights.
      { id: 'decode MLP (1×1024 · 1024×4096)', m: 1, n: 4096, k: 1024 },
      { id: 'decode MLP (1×1024 · 1024×4096), f16 B', m: 1, n: 4096, k: 1024, halfB: true },
      { id: 'decode LM head (1×1024 · 1024×30524)', m: 1, n: 30524, k: 1024 },
      { id: 'matmul 4096³, f16 B', m: 4096, n: 4096, k: 4096, halfB: true },
    ],
    matmulVariants: ['tile32', 'tile64', 'tile128', 'tile64-f16', 'tile128-f16'],
    attentions: [
      ...[64, 197, 256, 1024, 4096].map((s) => ({
        id: `attention prefill ${s} (12 heads × 64)`,
        heads: 12,
        headDim: 64,
        queries: s,
        keys: s,
        causal: false,
      })),
      // A long causal prefill with and without a sliding window (Gemma-style local layers): the windowed kernel
      // walks 1024 keys a query instead of up to 4096.
      ...[undefined, 1024].map((window) => ({
        id: `attention causal prefill 4096${window ? `, window ${window}` : ''} (8 heads × 64)`,
        heads: 8,
        headDim: 64,
        queries: 4096,
        keys: 4096,
        causal: true,
        window,
      })),
      {
        id: 'attention decode over 4096 (16 heads × 64)',
        heads: 16,
        headDim: 64,
        queries: 1,
        keys: 4096,
        causal: true,
      },
    ],
  };
}

/** A context that collects programs instead of running them; buffers come from the device directly. */
class Recorder implements KernelContext {
  readonly programs: ProgramSpec[] = [];
  readonly owned: GPUBuffer[] = [];
  constructor(
    readonly device: GPUDevice,
    readonly features: KernelFeatures,
  ) {}
  record(program: ProgramSpec): void {
    this.programs.push(program);
  }
  scratch(dtype: GpuView['dtype'], dims: readonly number[]): GpuView {
    return this.buffer(dtype, dims);
  }
  constant(dtype: GpuView['dtype'], dims: readonly number[], data: Float32Array | Int32Array): GpuView {
    return this.buffer(dtype, dims, data);
  }
  buffer(dtype: GpuView['dtype'], dims: readonly number[], data?: Float32Array | Int32Array): GpuView {
    const n = dims.reduce((a, b) => a * b, 1);
    const bytes = dtype === 'float16' ? Math.ceil(n / 2) * 4 : n * 4;
    const buffer = this.device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.owned.push(buffer);
    if (data) {
      const words = dtype === 'float16' ? Uint16Array.from(data as Float32Array, toHalfBits) : data;
      this.device.queue.writeBuffer(
        buffer,
        0,
        words.buffer,
        words.byteOffset,
        Math.ceil(words.byteLength / 4) * 4,
      );
    }
    return { buffer, dtype, dims: [...dims] };
  }
  async read(view: GpuView): Promise<Float32Array> {
    const n = view.dims.reduce((a, b) => a * b, 1);
    const staging = this.device.createBuffer({
      size: Math.ceil((n * 4) / 16) * 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(view.buffer, 0, staging, 0, staging.size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, n * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }
  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }
}

/** GPU time of one pass of `encode`, from batches of repeats sized to run about `targetMs` each. */
async function timeOnGpu(
  device: GPUDevice,
  encode: (encoder: GPUCommandEncoder) => void,
  batches: number,
  targetMs: number,
): Promise<{ times: number[]; warmupMs: number }> {
  const run = async (repeats: number) => {
    const t = performance.now();
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < repeats; i++) encode(encoder);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t) / repeats;
  };
  const warmupMs = await run(1);
  const once = await run(1);
  const repeats = Math.max(1, Math.min(1000, Math.round(targetMs / Math.max(once, 1e-3))));
  const times: number[] = [];
  for (let i = 0; i < batches; i++) times.push(await run(repeats));
  return { times, warmupMs };
}

function kernelRow(
  id: string,
  variant: string,
  timed: { times: number[]; warmupMs: number },
  work: { flops?: number; bytesMoved?: number },
  maxRelDiffVsReference?: number,
): RowResult {
  const s = summarize(timed.times);
  return {
    id,
    engine: 'webgpu',
    variant,
    warmupMs: timed.warmupMs,
    medianMs: s.median,
    p90Ms: s.p90,
    repeats: s.n,
    ...work,
    maxRelDiffVsReference,
  };
}

function randomData(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 2 - 1;
  return out;
}

/** Reference matmul on the CPU for small shapes; above this many MACs the tile32 kernel's output stands in. */
const CPU_REFERENCE_MACS = 2 ** 27;

function cpuMatmul(a: Float32Array, b: Float32Array, s: MatmulShape): Float32Array {
  const out = new Float32Array(s.m * s.n);
  for (let i = 0; i < s.m; i++) {
    for (let kk = 0; kk < s.k; kk++) {
      const av = a[i * s.k + kk];
      for (let j = 0; j < s.n; j++) out[i * s.n + j] += av * b[s.transposeB ? j * s.k + kk : kk * s.n + j];
    }
  }
  return out;
}

function halfRounded(x: Float32Array): Float32Array {
  return Float32Array.from(x, (v) => halfToFloat(toHalfBits(v)));
}

export class KernelBench {
  private readonly pipelines: PipelineCache;
  constructor(
    private readonly device: GPUDevice,
    private readonly features: KernelFeatures,
    private readonly batches = 5,
    private readonly targetMs = 40,
  ) {
    this.pipelines = new PipelineCache(device);
  }

  /** GPU time of the programs `ctx` recorded, run as one pass. */
  private async timeRecorded(ctx: Recorder): Promise<{ times: number[]; warmupMs: number }> {
    const built = await buildDispatches(this.device, this.pipelines, ctx.programs);
    try {
      return await this.time((e) => encodeDispatches(e, built.dispatches));
    } finally {
      built.uniformBuffer?.destroy();
    }
  }

  private time(encode: (encoder: GPUCommandEncoder) => void) {
    return timeOnGpu(this.device, encode, this.batches, this.targetMs);
  }

  /** Bandwidth ceilings: the driver's buffer-to-buffer copy, and our copy kernel on the same bytes. */
  async copy(bytes: number): Promise<RowResult[]> {
    const ctx = new Recorder(this.device, this.features);
    const rows: RowResult[] = [];
    try {
      const n = bytes / 4;
      // The bytes' values do not matter to a copy.
      const src = ctx.buffer('float32', [n]);
      const dst = ctx.buffer('float32', [n]);
      const moved = { bytesMoved: 2 * bytes };
      const driver = await this.time((e) => e.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, bytes));
      rows.push(kernelRow(`copy ${bytes >> 20} MiB`, 'copyBufferToBuffer', driver, moved));
      copyStrided(ctx, src, [1], 0, dst, [1], 0, [n]);
      const ours = await this.timeRecorded(ctx);
      rows.push(kernelRow(`copy ${bytes >> 20} MiB`, 'copy.wgsl', ours, moved));
    } catch (e) {
      rows.push({ ...failedRow(`copy ${bytes >> 20} MiB`, 'webgpu', e), variant: 'copy' });
    } finally {
      ctx.destroy();
    }
    return rows;
  }

  async matmul(s: MatmulShape, variants: readonly MatmulVariant[]): Promise<RowResult[]> {
    const ctx = new Recorder(this.device, this.features);
    const rows: RowResult[] = [];
    try {
      const a = randomData(s.m * s.k, 11);
      const b = randomData(s.k * s.n, 12);
      const bUsed = s.halfB ? halfRounded(b) : b;
      const av = ctx.buffer('float32', [s.m, s.k], a);
      const bv = ctx.buffer(s.halfB ? 'float16' : 'float32', s.transposeB ? [s.n, s.k] : [s.k, s.n], bUsed);
      let reference: Float32Array | undefined =
        s.m * s.n * s.k <= CPU_REFERENCE_MACS ? cpuMatmul(a, bUsed, s) : undefined;
      const work = {
        flops: 2 * s.m * s.n * s.k,
        bytesMoved: 4 * s.m * s.k + (s.halfB ? 2 : 4) * s.k * s.n + 4 * s.m * s.n,
      };
      const candidates: MatmulVariant[] = s.m === 1 ? ['gemv', 'gemv-splitk'] : [...variants];
      for (const variant of candidates) {
        if (variant.endsWith('-f16') && !this.features.shaderF16) continue;
        if (variant === 'direct' && !this.features.softwareAdapter) continue;
        const one = new Recorder(this.device, this.features);
        const out = ctx.buffer('float32', [s.m, s.n]);
        try {
          matmul(one, av, bv, null, out, { transposeB: s.transposeB, variant });
          const timed = await this.timeRecorded(one);
          const got = await ctx.read(out);
          // Without a CPU reference, the first f32 kernel's output is the reference for the rest.
          reference ??= variant.endsWith('-f16') ? undefined : got;
          rows.push(
            kernelRow(s.id, variant, timed, work, reference ? relativeDiff(got, reference) : undefined),
          );
        } catch (e) {
          rows.push({ ...failedRow(s.id, 'webgpu', e), variant });
        } finally {
          one.destroy();
        }
      }
    } finally {
      ctx.destroy();
    }
    return rows;
  }

  async attention(s: AttentionShape): Promise<RowResult[]> {
    const ctx = new Recorder(this.device, this.features);
    const rows: RowResult[] = [];
    try {
      const { heads: H, headDim: D, queries: Sq, keys: Sk } = s;
      const q = randomData(H * Sq * D, 21);
      const k = randomData(H * Sk * D, 22);
      const v = randomData(H * Sk * D, 23);
      const qv = ctx.buffer('float32', [1, H, Sq, D], q);
      const kv = ctx.buffer('float32', [1, H, Sk, D], k);
      const vv = ctx.buffer('float32', [1, H, Sk, D], v);
      // CPU reference on at most 64 queries (the last ones: they see the most keys), as [Sq, H·D] like ours.
      const checkQ = Math.min(Sq, 64);
      const first = Sq - checkQ;
      const want = attentionCpu(
        cpuTensor([1, H, checkQ, D], sliceQueries(q, H, Sq, D, first, checkQ)),
        cpuTensor([1, H, Sk, D], k),
        cpuTensor([1, H, Sk, D], v),
        { causal: s.causal, pastLength: Sk - Sq + first, window: s.window },
      );
      const wantRows = new Float32Array(checkQ * H * D);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < checkQ; i++)
          for (let d = 0; d < D; d++) wantRows[(i * H + h) * D + d] = want.data[(h * checkQ + i) * D + d];
      // Query-key pairs computed: all, the causal triangle, or at most `window` keys a query.
      let pairs = Sq * Sk;
      if (s.causal) {
        pairs = 0;
        for (let i = 0; i < Sq; i++) pairs += Math.min(Sk - Sq + i + 1, s.window || Sk);
      }
      const work = { flops: 4 * H * D * pairs, bytesMoved: 4 * H * D * (2 * Sq + 2 * Sk) };
      const variants: AttentionVariant[] =
        Sq <= DECODE_MAX_QUERIES
          ? ['decode']
          : ['tiled', 'wide', ...(this.features.shaderF16 ? (['tiled-f16'] as const) : [])];
      for (const variant of variants) {
        const one = new Recorder(this.device, this.features);
        const out = ctx.buffer('float32', [1, Sq, H * D]);
        try {
          attention(one, qv, kv, vv, null, out, { causal: s.causal, window: s.window, variant });
          const timed = await this.timeRecorded(one);
          const got = (await ctx.read(out)).subarray(first * H * D);
          rows.push(kernelRow(s.id, `attention ${variant}`, timed, work, relativeDiff(got, wantRows)));
        } catch (e) {
          rows.push({ ...failedRow(s.id, 'webgpu', e), variant: `attention ${variant}` });
        } finally {
          one.destroy();
        }
      }
    } catch (e) {
      rows.push({ ...failedRow(s.id, 'webgpu', e), variant: 'attention' });
    } finally {
      ctx.destroy();
    }
    return rows;
  }

  async run(suite: KernelSuite, log: (r: RowResult) => void): Promise<RowResult[]> {
    const rows: RowResult[] = [];
    const add = (rs: RowResult[]) => {
      for (const r of rs) log(r);
      rows.push(...rs);
    };
    add(await this.copy(suite.copyBytes));
    for (const s of suite.matmuls) add(await this.matmul(s, suite.matmulVariants));
    for (const s of suite.attentions) add(await this.attention(s));
    return rows;
  }
}

function sliceQueries(q: Float32Array, H: number, Sq: number, D: number, first: number, count: number) {
  const out = new Float32Array(H * count * D);
  for (let h = 0; h < H; h++)
    out.set(q.subarray((h * Sq + first) * D, (h * Sq + first + count) * D), h * count * D);
  return out;
}
