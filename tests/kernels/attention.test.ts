import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionCpu } from '../../src/engine/webgpu/cpu/attention';
import { softmaxCpu } from '../../src/engine/webgpu/cpu/softmax';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { attention } from '../../src/engine/webgpu/ops';
import { DECODE_MAX_QUERIES } from '../../src/engine/webgpu/ops/attention';
import type { AttentionParams } from '../../src/engine/webgpu/ops/types';
import type { GpuView } from '../../src/engine/webgpu/plan/kernel-context';
import { WebvlError } from '../../src/errors';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twin against hand-computed values', () => {
  it('one query, two keys: weights softmax([1, 0]) mix the values', () => {
    const q = cpuTensor([1, 1, 1, 2], [1, 0]);
    const k = cpuTensor([1, 1, 2, 2], [1, 0, 0, 1]);
    const v = cpuTensor([1, 1, 2, 2], [10, 0, 0, 10]);
    const w = 1 / (1 + Math.exp(-1)); // softmax([1, 0])[0] with scale 1
    const out = attentionCpu(q, k, v, { scale: 1 });
    expect(out.data[0]).toBeCloseTo(10 * w, 12);
    expect(out.data[1]).toBeCloseTo(10 * (1 - w), 12);
  });
  it('causal with past: query 0 of 2 after 1 cached key sees keys 0..1 only', () => {
    const q = cpuTensor([1, 1, 2, 1], [0, 0]);
    const k = cpuTensor([1, 1, 3, 1], [0, 0, 0]);
    const v = cpuTensor([1, 1, 3, 1], [1, 2, 30]);
    const out = attentionCpu(q, k, v, { causal: true, pastLength: 1 });
    expect(Array.from(out.data)).toEqual([1.5, 11]);
  });
  it('a fully -10000-masked row averages all values, as ONNX Softmax does', () => {
    const q = cpuTensor([1, 1, 1, 1], [3]);
    const k = cpuTensor([1, 1, 2, 1], [1, -1]);
    const v = cpuTensor([1, 1, 2, 1], [4, 8]);
    const mask = cpuTensor([1, 1, 1, 2], [-10000, -10000]);
    const p = softmaxCpu(cpuTensor([2], [3 - 10000, -3 - 10000])).data;
    expect(attentionCpu(q, k, v, { scale: 1, mask }).data[0]).toBeCloseTo(4 * p[0] + 8 * p[1], 9);
  });
});

interface Case {
  name: string;
  B: number;
  H: number;
  Sq: number;
  Sk: number;
  D: number;
  mask?: 'keypad' | 'full' | 'shared' | 'fullrow-10000' | 'fullrow-min' | 'fullrow-inf';
  causal?: boolean;
  past?: number;
  /** q/k/v read from one packed [B, S, 3·H·D] projection (needs Sq = Sk). */
  packed?: boolean;
  /** k/v live in a cache of this capacity ([B, H, cap, D]) and only Sk of it is attended. */
  cacheCapacity?: number;
  /** Output as [B, H, Sq, D] instead of the default [B, Sq, H·D]. */
  outBHSD?: boolean;
  /** GroupQueryAttention's softcap: scores c·tanh(s / c) before the mask. */
  softcap?: number;
  /** A causal sliding window: query i sees keys past + i − window + 1 … past + i. */
  window?: number;
  /** Attention sinks, one per query head: a virtual key of that score and no value. */
  sinks?: number[];
}

const CASES: Case[] = [
  { name: 'self D8 S7', B: 2, H: 2, Sq: 7, Sk: 7, D: 8 },
  {
    name: 'softcap 2, causal, key padding D16 S40',
    B: 2,
    H: 2,
    Sq: 40,
    Sk: 40,
    D: 16,
    causal: true,
    mask: 'keypad',
    softcap: 2,
  },
  { name: 'softcap 1.5, decode D32 past 20', B: 1, H: 2, Sq: 1, Sk: 21, D: 32, causal: true, softcap: 1.5 },
  { name: 'key padding D16 S33', B: 2, H: 3, Sq: 33, Sk: 33, D: 16, mask: 'keypad' },
  // Sliding windows: narrower than a workgroup's rows and a key tile, across tiles, after a past, wider than
  // every key (plain causal), and on the split-keys kernel.
  { name: 'window 5, causal D16 S70', B: 2, H: 2, Sq: 70, Sk: 70, D: 16, causal: true, window: 5 },
  {
    name: 'window 40, prefill after past 9, key padding',
    B: 2,
    H: 2,
    Sq: 30,
    Sk: 39,
    D: 16,
    causal: true,
    past: 9,
    window: 40,
    mask: 'keypad',
  },
  { name: 'window 300 over 40 keys', B: 1, H: 2, Sq: 40, Sk: 40, D: 8, causal: true, window: 300 },
  { name: 'window 8, decode D32 past 20', B: 1, H: 2, Sq: 1, Sk: 21, D: 32, causal: true, window: 8 },
  { name: 'window 3, split-keys after past 64', B: 2, H: 2, Sq: 3, Sk: 67, D: 32, causal: true, window: 3 },
  // Attention sinks: above and below the scores, with key padding, fully masked rows (the sink keeps them at 0),
  // a decode step.
  {
    name: 'sinks, causal key padding D16 S40',
    B: 2,
    H: 2,
    Sq: 40,
    Sk: 40,
    D: 16,
    causal: true,
    mask: 'keypad',
    sinks: [3, -2],
  },
  {
    name: 'sinks, fully -inf-masked rows',
    B: 2,
    H: 2,
    Sq: 5,
    Sk: 6,
    D: 8,
    mask: 'fullrow-inf',
    sinks: [0, 1],
  },
  { name: 'sinks, decode D32 past 20', B: 1, H: 3, Sq: 1, Sk: 21, D: 32, causal: true, sinks: [0, 4, -1] },
  { name: 'cross D32 Sq16 Sk129 full mask', B: 2, H: 2, Sq: 16, Sk: 129, D: 32, mask: 'full' },
  { name: 'causal packed QKV D64 S64', B: 2, H: 2, Sq: 64, Sk: 64, D: 64, causal: true, packed: true },
  { name: 'decode D64 past 64', B: 2, H: 2, Sq: 1, Sk: 65, D: 64, causal: true, mask: 'keypad' },
  {
    name: 'decode D32 past 17 from cache',
    B: 2,
    H: 2,
    Sq: 1,
    Sk: 18,
    D: 32,
    causal: true,
    cacheCapacity: 40,
  },
  { name: 'decode D16 past 0', B: 2, H: 1, Sq: 1, Sk: 1, D: 16, causal: true },
  { name: 'prefill after past 1', B: 2, H: 2, Sq: 7, Sk: 8, D: 16, causal: true, past: 1 },
  { name: 'D8 S257 shared mask', B: 2, H: 2, Sq: 257, Sk: 257, D: 8, mask: 'shared' },
  { name: 'cross Sq129 Sk1', B: 2, H: 2, Sq: 129, Sk: 1, D: 16, outBHSD: true },
  { name: 'fully -10000-masked rows', B: 2, H: 2, Sq: 5, Sk: 6, D: 8, mask: 'fullrow-10000' },
  { name: 'fully finfo.min-masked rows', B: 2, H: 1, Sq: 5, Sk: 6, D: 8, mask: 'fullrow-min' },
  { name: 'fully -inf-masked rows give zeros', B: 2, H: 1, Sq: 5, Sk: 6, D: 8, mask: 'fullrow-inf' },
  { name: 'D64 S257 causal', B: 2, H: 2, Sq: 257, Sk: 257, D: 64, causal: true },
  // Head sizes the wide kernel splits unevenly (20 over 8 lanes) or in smaller key tiles (128).
  { name: 'D20 S40 causal', B: 1, H: 2, Sq: 40, Sk: 40, D: 20, causal: true },
  { name: 'D128 S37 key padding', B: 2, H: 2, Sq: 37, Sk: 37, D: 128, mask: 'keypad' },
  // Sq ≤ DECODE_MAX_QUERIES takes the split-keys kernel; the Sq = 1 cases above do too.
  {
    name: 'split-keys: 3 queries after past 64, full mask',
    B: 2,
    H: 2,
    Sq: 3,
    Sk: 67,
    D: 32,
    causal: true,
    mask: 'full',
  },
  { name: 'split-keys: fully -inf-masked rows', B: 2, H: 1, Sq: 4, Sk: 6, D: 8, mask: 'fullrow-inf' },
  {
    name: 'split-keys: fully -10000-masked rows, cross',
    B: 2,
    H: 2,
    Sq: 4,
    Sk: 129,
    D: 16,
    mask: 'fullrow-10000',
  },
];

function makeMask(c: Case, rand: () => number): { dims: number[]; data: Float32Array } | undefined {
  const { B, Sq, Sk } = c;
  switch (c.mask) {
    case undefined:
      return undefined;
    case 'keypad': {
      // Batch b pads its last 3·b keys (BERT-style (1 − m) · -10000).
      const data = new Float32Array(B * Sk);
      for (let b = 0; b < B; b++) for (let j = Sk - 3 * b; j < Sk; j++) if (j >= 0) data[b * Sk + j] = -10000;
      return { dims: [B, 1, 1, Sk], data };
    }
    case 'full':
      return { dims: [B, 1, Sq, Sk], data: randomArray(B * Sq * Sk, rand, -3, 3) };
    case 'shared':
      return {
        dims: [1, 1, Sq, Sk],
        data: Float32Array.from({ length: Sq * Sk }, (_, i) => ((i * 7) % 5 === 0 ? -10000 : 0)),
      };
    default: {
      const value =
        c.mask === 'fullrow-10000' ? -10000 : c.mask === 'fullrow-min' ? -3.4028234663852886e38 : -Infinity;
      const data = new Float32Array(B * Sq * Sk);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < Sq; i++)
          for (let j = 0; j < Sk; j++) {
            // Rows 1 and 3 entirely masked; other rows mask key 0.
            if (i === 1 || i === 3 || j === 0) data[(b * Sq + i) * Sk + j] = value;
          }
      return { dims: [B, 1, Sq, Sk], data };
    }
  }
}

// Every case on the kernel the engine picks and on the wide one (a hardware adapter's pick for small grids).
const VARIANT_CASES = CASES.flatMap((c) =>
  (c.Sq <= DECODE_MAX_QUERIES ? (['decode', 'wide'] as const) : (['tiled', 'wide'] as const)).map(
    (variant) => ({
      ...c,
      variant,
    }),
  ),
);

describe('attention kernel vs CPU twin', () => {
  it.each(VARIANT_CASES)('$name ($variant)', async (c) => {
    gpu.release();
    const { B, H, Sq, Sk, D } = c;
    const rand = rng(B * 1000 + Sq * 31 + Sk * 7 + D);
    const q = randomArray(B * H * Sq * D, rand, -2, 2);
    const k = randomArray(B * H * Sk * D, rand, -2, 2);
    const v = randomArray(B * H * Sk * D, rand, -2, 2);
    const mask = makeMask(c, rand);
    const want = attentionCpu(
      cpuTensor([B, H, Sq, D], q),
      cpuTensor([B, H, Sk, D], k),
      cpuTensor([B, H, Sk, D], v),
      {
        mask: mask ? cpuTensor(mask.dims, mask.data) : undefined,
        causal: c.causal,
        pastLength: c.past,
        softcap: c.softcap,
        window: c.window,
        sinks: c.sinks,
      },
    );

    let qView: GpuView;
    let kView: GpuView;
    let vView: GpuView;
    let layouts: Pick<AttentionParams, 'q' | 'k' | 'v'>;
    if (c.packed) {
      // [B, S, 3, H, D] memory, as one fused QKV projection writes it.
      const S = Sq;
      const packed = new Float32Array(B * S * 3 * H * D);
      const put = (src: Float32Array, which: number) => {
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let s = 0; s < S; s++)
              for (let d = 0; d < D; d++)
                packed[(((b * S + s) * 3 + which) * H + h) * D + d] = src[((b * H + h) * S + s) * D + d];
      };
      put(q, 0);
      put(k, 1);
      put(v, 2);
      const view = gpu.upload('float32', [B, S, 3 * H * D], packed);
      qView = kView = vView = view;
      const strides = [S * 3 * H * D, D, 3 * H * D, 1] as const;
      layouts = {
        q: { shape: [B, H, S, D] as const, strides, start: 0 },
        k: { shape: [B, H, S, D] as const, strides, start: H * D },
        v: { shape: [B, H, S, D] as const, strides, start: 2 * H * D },
      };
    } else if (c.cacheCapacity) {
      const cap = c.cacheCapacity;
      const toCache = (src: Float32Array) => {
        const buf = randomArray(B * H * cap * D, rand, 50, 60); // garbage beyond Sk must not be read
        for (let bh = 0; bh < B * H; bh++)
          buf.set(src.subarray(bh * Sk * D, (bh + 1) * Sk * D), bh * cap * D);
        return buf;
      };
      qView = gpu.upload('float32', [B, H, Sq, D], q);
      kView = gpu.upload('float32', [B, H, cap, D], toCache(k));
      vView = gpu.upload('float32', [B, H, cap, D], toCache(v));
      const strides = [H * cap * D, cap * D, D, 1] as const;
      layouts = {
        k: { shape: [B, H, Sk, D] as const, strides },
        v: { shape: [B, H, Sk, D] as const, strides },
      };
    } else {
      qView = gpu.upload('float32', [B, H, Sq, D], q);
      kView = gpu.upload('float32', [B, H, Sk, D], k);
      vView = gpu.upload('float32', [B, H, Sk, D], v);
      layouts = {};
    }
    const out = gpu.empty('float32', c.outBHSD ? [B, H, Sq, D] : [B, Sq, H * D]);
    attention(gpu, qView, kView, vView, mask ? gpu.upload('float32', mask.dims, mask.data) : null, out, {
      ...layouts,
      out: c.outBHSD ? { strides: [H * Sq * D, Sq * D, D, 1] } : undefined,
      causal: c.causal,
      pastLength: c.past,
      softcap: c.softcap,
      window: c.window,
      sinks: c.sinks ? gpu.upload('float32', [c.sinks.length], Float32Array.from(c.sinks)) : undefined,
      variant: c.variant,
    });
    expect(gpu.recorded).toEqual(['Attention']);
    const got = await gpu.read(out);
    // Bring the twin's [B, H, Sq, D] into the output's layout.
    const expected = c.outBHSD ? want.data : new Float64Array(B * Sq * H * D);
    if (!c.outBHSD)
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let s = 0; s < Sq; s++)
            for (let d = 0; d < D; d++)
              expected[((b * Sq + s) * H + h) * D + d] = want.data[((b * H + h) * Sq + s) * D + d];
    // Scores of -10000-masked keys carry f32 rounding of (score − 10000) (ulp 1e-3), in ONNX's f32 graph as
    // here; the twin keeps them in float64, so those rows agree only to ~1e-3 of a softmax weight.
    expect(maxError(got, expected)).toBeLessThan(c.mask === 'fullrow-10000' ? 2e-3 : 2e-5);
    gpu.release();
  });

  it('rejects mismatched head sizes and layouts that leave the buffer', () => {
    const q = gpu.upload('float32', [1, 1, 2, 8], new Float32Array(16));
    const k = gpu.upload('float32', [1, 1, 3, 4], new Float32Array(12));
    const out = gpu.empty('float32', [1, 2, 8]);
    expect(() => attention(gpu, q, k, k, null, out)).toThrow(WebvlError);
    const k8 = gpu.upload('float32', [1, 1, 3, 8], new Float32Array(24));
    expect(() =>
      attention(gpu, q, k8, k8, null, out, {
        k: { shape: [1, 1, 4, 8], strides: [32, 32, 8, 1] },
        v: { shape: [1, 1, 4, 8], strides: [32, 32, 8, 1] },
      }),
    ).toThrow(WebvlError);
    gpu.release();
  });
});

describe('grouped-query attention (query heads share key/value heads)', () => {
  it.each([
    { name: 'prefill, 4 query heads on 2 kv heads, causal', Sq: 9, Sk: 9 },
    { name: 'decode, 6 query heads on 2 kv heads, past 16', Sq: 1, Sk: 17, H: 6 },
  ])('$name', async ({ Sq, Sk, H = 4 }) => {
    gpu.release();
    const [B, Hkv, D] = [2, 2, 16];
    const rand = rng(Sq * 31 + Sk);
    const q = randomArray(B * H * Sq * D, rand);
    const k = randomArray(B * Hkv * Sk * D, rand);
    const v = randomArray(B * Hkv * Sk * D, rand);
    const want = attentionCpu(
      cpuTensor([B, H, Sq, D], q),
      cpuTensor([B, Hkv, Sk, D], k),
      cpuTensor([B, Hkv, Sk, D], v),
      { causal: true },
    );
    const out = gpu.empty('float32', [B, H, Sq, D]);
    attention(
      gpu,
      gpu.upload('float32', [B, H, Sq, D], q),
      gpu.upload('float32', [B, Hkv, Sk, D], k),
      gpu.upload('float32', [B, Hkv, Sk, D], v),
      null,
      out,
      { causal: true, out: { strides: [H * Sq * D, Sq * D, D, 1] } },
    );
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-6);
    gpu.release();
  });
});

describe('keys from a KV cache read in place, then a tail of new keys (no concatenation)', () => {
  // The cache is [B, Hkv, capacity, D] with `filled` slots valid (the rest hidden by the mask, as a decoder's
  // padding is); the tail is [B, S, Hkv·D], the projection's layout. The twin sees the two concatenated.
  it.each([
    { name: 'decode step after 5 of 8 slots', Sq: 1, filled: 5, capacity: 8, S: 1, H: 2, variant: 'decode' },
    { name: 'the same on the tiled kernel', Sq: 1, filled: 5, capacity: 8, S: 1, H: 2, variant: 'tiled' },
    { name: 'prompt of 6 after 3, causal, GQA 4 on 2', Sq: 6, filled: 3, capacity: 16, S: 6, H: 4 },
    { name: 'the same on the tiled kernel', Sq: 6, filled: 3, capacity: 16, S: 6, H: 4, variant: 'tiled' },
    { name: 'empty cache (no slots)', Sq: 2, filled: 0, capacity: 0, S: 2, H: 2, variant: 'decode' },
    { name: 'full cache, 40 slots', Sq: 1, filled: 40, capacity: 40, S: 1, H: 2, variant: 'tiled' },
  ] as const)('$name', async (c) => {
    gpu.release();
    const [B, Hkv, D] = [2, 2, 16];
    const { Sq, filled, capacity, S, H } = c;
    const rand = rng(capacity * 131 + S * 7 + Sq);
    const cacheK = randomArray(B * Hkv * capacity * D, rand, -2, 2);
    const cacheV = randomArray(B * Hkv * capacity * D, rand, -2, 2);
    const tailK = randomArray(B * S * Hkv * D, rand, -2, 2); // [B, S, Hkv·D]
    const tailV = randomArray(B * S * Hkv * D, rand, -2, 2);
    const q = randomArray(B * H * Sq * D, rand, -2, 2);
    // Keys [B, Hkv, capacity + S, D] as one tensor, for the twin; the mask hides slots [filled, capacity).
    const Sk = capacity + S;
    const joined = (cache: Float32Array, tail: Float32Array) => {
      const out = new Float32Array(B * Hkv * Sk * D);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < Hkv; h++)
          for (let j = 0; j < Sk; j++)
            for (let d = 0; d < D; d++)
              out[((b * Hkv + h) * Sk + j) * D + d] =
                j < capacity
                  ? cache[((b * Hkv + h) * capacity + j) * D + d]
                  : tail[((b * S + (j - capacity)) * Hkv + h) * D + d];
      return out;
    };
    const mask = Float32Array.from({ length: Sk }, (_, j) => (j >= filled && j < capacity ? -3.4e38 : 0));
    const want = attentionCpu(
      cpuTensor([B, H, Sq, D], q),
      cpuTensor([B, Hkv, Sk, D], joined(cacheK, tailK)),
      cpuTensor([B, Hkv, Sk, D], joined(cacheV, tailV)),
      { mask: cpuTensor([1, 1, 1, Sk], mask), causal: true },
    );
    const out = gpu.empty('float32', [B, H, Sq, D]);
    const tailLayout = { shape: [B, Hkv, S, D] as const, strides: [S * Hkv * D, D, Hkv * D, 1] as const };
    attention(
      gpu,
      gpu.upload('float32', [B, H, Sq, D], q),
      gpu.upload('float32', [B, Hkv, capacity, D], cacheK),
      gpu.upload('float32', [B, Hkv, capacity, D], cacheV),
      gpu.upload('float32', [1, 1, 1, Sk], mask),
      out,
      {
        causal: true,
        out: { strides: [H * Sq * D, Sq * D, D, 1] },
        variant: 'variant' in c ? c.variant : undefined,
        tail: {
          k: gpu.upload('float32', [B, S, Hkv * D], tailK),
          v: gpu.upload('float32', [B, S, Hkv * D], tailV),
          kLayout: tailLayout,
          vLayout: tailLayout,
        },
      },
    );
    expect(gpu.recorded).toEqual(['Attention']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-5);
    gpu.release();
  });

  it('rejects a tail whose heads or head size differ from the cache', () => {
    const q = gpu.upload('float32', [1, 2, 1, 8], new Float32Array(16));
    const cache = gpu.upload('float32', [1, 2, 4, 8], new Float32Array(64));
    const out = gpu.empty('float32', [1, 1, 16]);
    const tail = gpu.upload('float32', [1, 1, 1, 8], new Float32Array(8));
    expect(() => attention(gpu, q, cache, cache, null, out, { tail: { k: tail, v: tail } })).toThrow(
      /tail k shape/,
    );
    gpu.release();
  });
});
