import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binaryCpu,
  castCpu,
  erf,
  unaryCpu,
  unaryScalar,
  whereCpu,
} from '../../src/engine/webgpu/cpu/elementwise';
import { rotaryCacheCpu, rotaryCpu } from '../../src/engine/webgpu/cpu/rotary';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import type { RotaryCacheParams } from '../../src/engine/webgpu/ops';
import { binary, cast, gelu, rotary, rotaryCache, unary, where } from '../../src/engine/webgpu/ops';
import type { BinaryOp, UnaryOp } from '../../src/engine/webgpu/ops/types';
import { WebvlError } from '../../src/errors';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twins against hand-computed values', () => {
  it('erf matches tabulated values', () => {
    // Abramowitz & Stegun table 7.1.
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778, 9);
    expect(erf(1)).toBeCloseTo(0.8427007929, 9);
    expect(erf(-2)).toBeCloseTo(-0.995322265, 9);
    expect(erf(3.5)).toBeCloseTo(0.9999992569, 9);
  });
  it('gelu, sigmoid, round-half-even and clip', () => {
    expect(unaryScalar('Gelu', 1)).toBeCloseTo(0.8413447461, 9);
    expect(unaryScalar('GeluTanh', 1)).toBeCloseTo(0.8411919906, 9);
    expect(unaryScalar('Sigmoid', 0)).toBe(0.5);
    expect(unaryScalar('Round', 2.5)).toBe(2);
    expect(unaryScalar('Round', -1.5)).toBe(-2);
    expect(unaryScalar('Clip', 5, -1, 2)).toBe(2);
  });
  it('binary broadcasting, integer division and modulo', () => {
    const a = cpuTensor([2, 1], [1, 2]);
    const b = cpuTensor([3], [10, 20, 30]);
    expect(Array.from(binaryCpu('Add', a, b).data)).toEqual([11, 21, 31, 12, 22, 32]);
    expect(binaryCpu('Add', a, b).dims).toEqual([2, 3]);
    const i = cpuTensor([2], [-7, 7]);
    const j = cpuTensor([2], [2, -2]);
    expect(Array.from(binaryCpu('Div', i, j, true).data)).toEqual([-3, -3]);
    expect(Array.from(binaryCpu('Mod', i, j, true).data)).toEqual([1, -1]);
    const w = whereCpu(cpuTensor([2], [1, 0]), cpuTensor([1], [5]), cpuTensor([2, 1], [7, 8]));
    expect(Array.from(w.data)).toEqual([5, 7, 5, 8]);
    expect(Array.from(castCpu(cpuTensor([3], [-1.7, 2.9, 0]), 'int').data)).toEqual([-1, 2, 0]);
  });
});

const FLOAT_UNARY: { op: UnaryOp; lo: number; hi: number; alpha?: number; beta?: number }[] = [
  { op: 'Abs', lo: -3, hi: 3 },
  { op: 'Neg', lo: -3, hi: 3 },
  { op: 'Relu', lo: -3, hi: 3 },
  { op: 'Sigmoid', lo: -20, hi: 20 },
  { op: 'Tanh', lo: -60, hi: 60 },
  { op: 'Erf', lo: -4, hi: 4 },
  { op: 'Exp', lo: -10, hi: 10 },
  { op: 'Log', lo: 0.01, hi: 100 },
  { op: 'Sqrt', lo: 0, hi: 100 },
  { op: 'Reciprocal', lo: 0.1, hi: 10 },
  { op: 'Floor', lo: -5, hi: 5 },
  { op: 'Ceil', lo: -5, hi: 5 },
  { op: 'Sin', lo: -3, hi: 3 },
  { op: 'Cos', lo: -3, hi: 3 },
  { op: 'Gelu', lo: -6, hi: 6 },
  { op: 'GeluTanh', lo: -6, hi: 6 },
  { op: 'QuickGelu', lo: -6, hi: 6 },
  { op: 'LeakyRelu', lo: -3, hi: 3, alpha: 0.2 },
  { op: 'Clip', lo: -3, hi: 3, alpha: -1, beta: 0.5 },
  { op: 'HardSigmoid', lo: -6, hi: 6 },
  { op: 'Softplus', lo: -10, hi: 30 },
  { op: 'Tan', lo: -1.4, hi: 1.4 },
  { op: 'Asin', lo: -1, hi: 1 },
  { op: 'Acos', lo: -1, hi: 1 },
  { op: 'Atan', lo: -10, hi: 10 },
  { op: 'Sinh', lo: -3, hi: 3 },
  { op: 'Cosh', lo: -3, hi: 3 },
  { op: 'Asinh', lo: -10, hi: 10 },
  { op: 'Acosh', lo: 1, hi: 10 },
  { op: 'Atanh', lo: -0.95, hi: 0.95 },
  { op: 'Softsign', lo: -10, hi: 10 },
  { op: 'Elu', lo: -4, hi: 4, alpha: 0.7 },
  { op: 'Selu', lo: -4, hi: 4 },
  { op: 'Celu', lo: -4, hi: 4, alpha: 2 },
  { op: 'ThresholdedRelu', lo: -3, hi: 3, alpha: 0.5 },
  { op: 'HardSwish', lo: -5, hi: 5 },
  { op: 'Shrink', lo: -3, hi: 3, alpha: 1.2, beta: 0.3 },
];

/**
 * Where WGSL's builtins allow more error: sin/cos an absolute 2^-11 on [-π, π], which SwiftShader uses (~1e-4);
 * asin/acos inherit atan2's precision (SwiftShader: 2.6e-5 near ±1); asinh/acosh are log-based (3e-6 at 3).
 */
const UNARY_TOLERANCE: Partial<Record<UnaryOp, number>> = {
  Sin: 5e-4,
  Cos: 5e-4,
  Asin: 5e-5,
  Acos: 5e-5,
  Asinh: 1e-5,
  Acosh: 1e-5,
};

describe('unary kernels vs CPU twin', () => {
  it.each(FLOAT_UNARY)('$op', async ({ op, lo, hi, alpha, beta }) => {
    const rand = rng(op.length * 7919);
    const n = 1037; // not a multiple of the workgroup size
    const x = randomArray(n, rand, lo, hi);
    const gx = gpu.upload('float32', [n], x);
    const gy = gpu.empty('float32', [n]);
    unary(gpu, gx, gy, { op, alpha, beta });
    const got = await gpu.read(gy);
    const want = unaryCpu(op, cpuTensor([n], x), alpha, beta).data;
    expect(maxError(got, want)).toBeLessThan(UNARY_TOLERANCE[op] ?? 2e-6);
    gpu.release();
  });

  it('gelu() picks the right variant', async () => {
    const x = randomArray(300, rng(3), -4, 4);
    const gx = gpu.upload('float32', [300], x);
    const gy = gpu.empty('float32', [300]);
    gelu(gpu, gx, gy, 'tanh');
    expect(maxError(await gpu.read(gy), unaryCpu('GeluTanh', cpuTensor([300], x)).data)).toBeLessThan(2e-6);
    gpu.release();
  });

  it('integer Neg/Abs and bool Not', async () => {
    const xs = [-5, 0, 7, -2147483647];
    const gx = gpu.upload('int32', [4], xs);
    const gy = gpu.empty('int32', [4]);
    unary(gpu, gx, gy, { op: 'Abs' });
    expect(Array.from(await gpu.read(gy))).toEqual(xs.map(Math.abs));
    const gb = gpu.upload('bool', [3], [1, 0, 1]);
    const gn = gpu.empty('bool', [3]);
    unary(gpu, gb, gn, { op: 'Not' });
    expect(Array.from(await gpu.read(gn))).toEqual([0, 1, 0]);
    gpu.release();
  });

  it('cast float↔int↔bool', async () => {
    const x = [-2.7, -0.2, 0, 0.9, 3.5, 1e6];
    const gx = gpu.upload('float32', [6], x);
    const gi = gpu.empty('int64', [6]);
    const gb = gpu.empty('bool', [6]);
    const gf = gpu.empty('float32', [6]);
    cast(gpu, gx, gi);
    cast(gpu, gx, gb);
    cast(gpu, gi, gf);
    const fx = Float32Array.from(x);
    expect(Array.from(await gpu.read(gi))).toEqual(Array.from(castCpu(cpuTensor([6], fx), 'int').data));
    expect(Array.from(await gpu.read(gb))).toEqual(Array.from(castCpu(cpuTensor([6], fx), 'bool').data));
    expect(Array.from(await gpu.read(gf))).toEqual(Array.from(castCpu(cpuTensor([6], fx), 'int').data));
    gpu.release();
  });

  it('rejects mismatched output dims with INVALID_INPUT', () => {
    const gx = gpu.upload('float32', [4], [1, 2, 3, 4]);
    const gy = gpu.empty('float32', [5]);
    try {
      unary(gpu, gx, gy, { op: 'Exp' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WebvlError);
      expect((e as WebvlError).code).toBe('INVALID_INPUT');
    }
    gpu.release();
  });
});

const SHAPES: [number[], number[]][] = [
  [
    [3, 17],
    [3, 17],
  ],
  [[2, 3, 17], [17]],
  [
    [4, 1, 5],
    [1, 3, 1],
  ],
  [[1], [6, 7]],
  [
    [2, 1, 3, 1, 2],
    [5, 1, 4, 1],
  ],
];

describe('binary kernels vs CPU twin (NumPy broadcasting)', () => {
  const ops: BinaryOp[] = [
    'Add',
    'Sub',
    'Mul',
    'Div',
    'Pow',
    'Max',
    'Min',
    'Equal',
    'Less',
    'Greater',
    'PRelu',
  ];
  it.each(ops)('%s over broadcast shapes', async (op) => {
    const rand = rng(op.charCodeAt(0) * 31 + op.length);
    for (const [da, db] of SHAPES) {
      const na = da.reduce((p, q) => p * q, 1);
      const nb = db.reduce((p, q) => p * q, 1);
      let a = randomArray(na, rand, -3, 3);
      let b = randomArray(nb, rand, -3, 3);
      if (op === 'Pow') {
        // Negative bases with integral exponents (x² in decomposed LayerNorm) and positive bases with any.
        b = Float32Array.from(b, (v, i) => (i % 2 === 0 ? Math.round(v) : v));
        a = Float32Array.from(a, (v, i) => (i % 3 === 0 ? v : Math.abs(v) + 0.1));
      }
      if (op === 'Equal') b = Float32Array.from(b, (v, i) => (i % 2 ? a[i % na] : v));
      const compare = op === 'Equal' || op === 'Less' || op === 'Greater';
      const want = binaryCpu(op, cpuTensor(da, a), cpuTensor(db, b));
      const ga = gpu.upload('float32', da, a);
      const gb = gpu.upload('float32', db, b);
      const go = gpu.empty(compare ? 'bool' : 'float32', want.dims);
      binary(gpu, ga, gb, go, op);
      const got = await gpu.read(go);
      // Pow mixes negative bases and fractional exponents → NaN in both (checked by maxError's NaN rule).
      if (compare) expect(Array.from(got)).toEqual(Array.from(want.data));
      else expect(maxError(got, want.data)).toBeLessThan(op === 'Pow' ? 1e-5 : 1e-6);
      gpu.release();
    }
  });

  it('int32 Div/Mod follow ONNX integer semantics', async () => {
    const a = [-7, 7, -7, 7, 9, -9];
    const b = [2, -2, -2, 2, 4, 4];
    for (const op of ['Div', 'Mod', 'FMod', 'Add', 'Mul'] as const) {
      const go = gpu.empty('int32', [6]);
      binary(gpu, gpu.upload('int32', [6], a), gpu.upload('int32', [6], b), go, op);
      const want = binaryCpu(op, cpuTensor([6], a), cpuTensor([6], b), true).data;
      expect(Array.from(await gpu.read(go))).toEqual(Array.from(want));
    }
    gpu.release();
  });

  it('BitShift: uint8 loses bits past 8; the wider types, held as int32, shift 32 bits', async () => {
    const x = [1, 255, 200, 3, 128, 77, 255];
    const s = [3, 1, 7, 0, 8, 200, 9];
    const want: Record<'BitShiftLeft' | 'BitShiftRight', number[]> = {
      BitShiftLeft: [8, 254, 0, 3, 0, 0, 0],
      BitShiftRight: [0, 127, 1, 3, 0, 0, 0],
    };
    for (const op of ['BitShiftLeft', 'BitShiftRight'] as const) {
      const go = gpu.empty('uint8', [7]);
      binary(gpu, gpu.upload('uint8', [7], x), gpu.upload('uint8', [7], s), go, op);
      expect(Array.from(await gpu.read(go))).toEqual(want[op]);
      expect(Array.from(binaryCpu(op, cpuTensor([7], x), cpuTensor([7], s), true).data)).toEqual(want[op]);
    }
    // uint16 / uint32 held as int32: 32-bit shifts, right ones logical (hand-computed bit patterns).
    const wide = [1, -1, 40000, 5, 7];
    const by = [31, 28, 3, 32, 0];
    const wantWide = {
      BitShiftLeft: [-2147483648, -268435456, 320000, 0, 7],
      BitShiftRight: [0, 15, 5000, 0, 7],
    };
    for (const op of ['BitShiftLeft', 'BitShiftRight'] as const) {
      const go = gpu.empty('int32', [5]);
      binary(gpu, gpu.upload('int32', [5], wide), gpu.upload('int32', [5], by), go, op);
      expect(Array.from(await gpu.read(go))).toEqual(wantWide[op]);
    }
    gpu.release();
  });

  it('FMod keeps the dividend sign, Mod the divisor sign (hand-computed)', async () => {
    const a = [-7, 7, -7, 7];
    const b = [2, -2, -2, 2];
    const want: Record<'Mod' | 'FMod', number[]> = { Mod: [1, -1, -1, 1], FMod: [-1, 1, -1, 1] };
    for (const op of ['Mod', 'FMod'] as const) {
      const go = gpu.empty('int32', [4]);
      binary(gpu, gpu.upload('int32', [4], a), gpu.upload('int32', [4], b), go, op);
      expect(Array.from(await gpu.read(go))).toEqual(want[op]);
      expect(Array.from(binaryCpu(op, cpuTensor([4], a), cpuTensor([4], b), true).data)).toEqual(want[op]);
    }
    gpu.release();
  });

  it('Pow: integer, float^int and int^float operands', async () => {
    const ints = [2, -3, 5, 1, 0, -2];
    const exps = [10, 3, 0, 7, 2, 5];
    // int32 ^ int32: exact by squaring.
    const gi = gpu.empty('int32', [6]);
    binary(gpu, gpu.upload('int32', [6], ints), gpu.upload('int32', [6], exps), gi, 'Pow');
    expect(Array.from(await gpu.read(gi))).toEqual([1024, -27, 1, 1, 0, -32]);
    // float32 ^ int32 → float32.
    const base = [1.5, -2, 0.25, 3, -0.5, 2];
    const gf = gpu.empty('float32', [6]);
    binary(gpu, gpu.upload('float32', [6], base), gpu.upload('int32', [6], exps), gf, 'Pow');
    const wantF = binaryCpu('Pow', cpuTensor([6], base), cpuTensor([6], exps)).data;
    expect(maxError(await gpu.read(gf), wantF)).toBeLessThan(1e-6);
    // int32 ^ float32 → int32 (integral exponents exact, others truncated).
    const fexp = [10, 3, 0.5, 7, 2, 5];
    const gm = gpu.empty('int32', [6]);
    binary(gpu, gpu.upload('int32', [6], [2, -3, 9, 1, 0, -2]), gpu.upload('float32', [6], fexp), gm, 'Pow');
    expect(Array.from(await gpu.read(gm))).toEqual([1024, -27, 3, 1, 0, -32]);
    // Other ops still require equal dtypes.
    expect(() =>
      binary(
        gpu,
        gpu.upload('float32', [1], [1]),
        gpu.upload('int32', [1], [1]),
        gpu.empty('float32', [1]),
        'Add',
      ),
    ).toThrow(WebvlError);
    gpu.release();
  });

  it('rejects incompatible shapes', () => {
    const ga = gpu.upload('float32', [3], [1, 2, 3]);
    const gb = gpu.upload('float32', [2], [1, 2]);
    expect(() => binary(gpu, ga, gb, gpu.empty('float32', [3]), 'Add')).toThrow(WebvlError);
    gpu.release();
  });

  it('where with three-way broadcasting', async () => {
    const rand = rng(11);
    const cond = Array.from({ length: 5 }, () => (rand() > 0.5 ? 1 : 0));
    const x = randomArray(4 * 5, rand);
    const y = randomArray(3 * 1 * 1, rand);
    const want = whereCpu(cpuTensor([5], cond), cpuTensor([4, 5], x), cpuTensor([3, 1, 1], y));
    const go = gpu.empty('float32', want.dims);
    where(
      gpu,
      gpu.upload('bool', [5], cond),
      gpu.upload('float32', [4, 5], x),
      gpu.upload('float32', [3, 1, 1], y),
      go,
    );
    expect(maxError(await gpu.read(go), want.data)).toBe(0);
    gpu.release();
  });
});

describe('rotary embedding kernel', () => {
  it('CPU twin: a hand-computed pair rotation', () => {
    // d = 2: rotate_half([a, b]) = [−b, a]; cos = cos θ, sin = sin θ rotate the pair by θ.
    const t = Math.PI / 6;
    const out = rotaryCpu(
      cpuTensor([1, 2], [1, 0]),
      cpuTensor([1, 2], [Math.cos(t), Math.cos(t)]),
      cpuTensor([1, 2], [Math.sin(t), Math.sin(t)]),
    );
    expect(out.data[0]).toBeCloseTo(Math.cos(t), 12);
    expect(out.data[1]).toBeCloseTo(Math.sin(t), 12);
  });

  it.each([
    { x: [1, 4, 9, 16], cs: [1, 1, 9, 16] }, // LLaMA: [b, heads, s, d] with cos/sin [b, 1, s, d]
    { x: [2, 3, 5, 8], cs: [5, 8] },
    { x: [3, 6], cs: [3, 6] },
  ])('$x with cos/sin $cs against the CPU twin', async (c) => {
    const rand = rng(c.x.length * 13 + c.cs.length);
    const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
    const xv = randomArray(size(c.x), rand);
    const cv = randomArray(size(c.cs), rand);
    const sv = randomArray(size(c.cs), rand);
    const want = rotaryCpu(cpuTensor(c.x, xv), cpuTensor(c.cs, cv), cpuTensor(c.cs, sv));
    const out = gpu.empty('float32', c.x);
    rotary(
      gpu,
      gpu.upload('float32', c.x, xv),
      gpu.upload('float32', c.cs, cv),
      gpu.upload('float32', c.cs, sv),
      out,
    );
    expect(gpu.recorded).toEqual(['Rotary']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-6);
    gpu.release();
  });

  it('rejects an odd last axis and cos/sin that do not broadcast', () => {
    const x = gpu.upload('float32', [2, 3], new Float32Array(6));
    const cs = gpu.upload('float32', [2, 3], new Float32Array(6));
    expect(() => rotary(gpu, x, cs, cs, gpu.empty('float32', [2, 3]))).toThrow(/even/);
    const x4 = gpu.upload('float32', [2, 4], new Float32Array(8));
    const bad = gpu.upload('float32', [3, 4], new Float32Array(12));
    expect(() => rotary(gpu, x4, bad, bad, gpu.empty('float32', [2, 4]))).toThrow(WebvlError);
    gpu.release();
  });
});

describe('rotary embedding from position-indexed caches', () => {
  it('CPU twin: interleaved pairs rotate by their position angle', () => {
    // One head [a, b, c, d] at position 1: pairs (a, b) and (c, d), angles θ0 and θ1 from cache row 1.
    const [t0, t1] = [0.3, 1.1];
    const cos = cpuTensor([2, 2], [1, 1, Math.cos(t0), Math.cos(t1)]);
    const sin = cpuTensor([2, 2], [0, 0, Math.sin(t0), Math.sin(t1)]);
    const out = rotaryCacheCpu(cpuTensor([1, 1, 4], [1, 0, 0, 2]), cos, sin, cpuTensor([1], [1]), {
      layout: 'bsnh',
      heads: 1,
      rotaryDim: 4,
      interleaved: true,
    });
    const want = [Math.cos(t0), Math.sin(t0), -2 * Math.sin(t1), 2 * Math.cos(t1)];
    for (const [i, w] of want.entries()) expect(out.data[i]).toBeCloseTo(w, 12);
  });

  it.each<{ dims: number[]; p: RotaryCacheParams; offset: boolean }>([
    { dims: [2, 3, 4 * 8], p: { layout: 'bsnh', heads: 4, rotaryDim: 8, interleaved: false }, offset: false },
    { dims: [2, 3, 5, 8], p: { layout: 'bnsh', heads: 3, rotaryDim: 8, interleaved: true }, offset: true },
    {
      dims: [1, 4, 2 * 16],
      p: { layout: 'bsnh', heads: 2, rotaryDim: 6, interleaved: false },
      offset: false,
    },
    // A packed QKV: 2 query + 1 key heads rotate, the value head is copied.
    {
      dims: [2, 3, 4 * 8],
      p: { layout: 'bsnh', heads: 4, rotaryDim: 8, interleaved: true, rotatedHeads: 3 },
      offset: false,
    },
  ])('$dims $p.layout, rotary dim $p.rotaryDim, interleaved $p.interleaved', async (c) => {
    const rand = rng(c.dims.reduce((a, b) => a * b, 1) + c.p.rotaryDim);
    const n = c.dims.reduce((a, b) => a * b, 1);
    const [b] = c.dims;
    const s = c.p.layout === 'bsnh' ? c.dims[1] : c.dims[2];
    const rows = 12;
    const half = c.p.rotaryDim / 2;
    const xv = randomArray(n, rand);
    const cv = randomArray(rows * half, rand);
    const sv = randomArray(rows * half, rand);
    // Positions past the cache clamp to its last row; the offset form counts on from positions[0].
    const pv = c.offset ? [7] : Array.from({ length: b * s }, (_, i) => (i * 5) % (rows + 2));
    const pDims = c.offset ? [1] : [b, s];
    const want = rotaryCacheCpu(
      cpuTensor(c.dims, xv),
      cpuTensor([rows, half], cv),
      cpuTensor([rows, half], sv),
      cpuTensor(pDims, pv),
      c.p,
    );
    const out = gpu.empty('float32', c.dims);
    rotaryCache(
      gpu,
      gpu.upload('float32', c.dims, xv),
      gpu.upload('float32', [rows, half], cv),
      gpu.upload('float32', [rows, half], sv),
      gpu.upload('int32', pDims, pv),
      out,
      c.p,
    );
    expect(gpu.recorded).toEqual(['RotaryEmbedding']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-6);
    gpu.release();
  });

  it('rejects caches that do not match the rotary dim, and an odd rotary dim', () => {
    const x = gpu.upload('float32', [1, 2, 8], new Float32Array(16));
    const cache = gpu.upload('float32', [4, 3], new Float32Array(12));
    const pos = gpu.upload('int32', [1, 2], [0, 1]);
    const out = gpu.empty('float32', [1, 2, 8]);
    const p: RotaryCacheParams = { layout: 'bsnh', heads: 1, rotaryDim: 8, interleaved: false };
    expect(() => rotaryCache(gpu, x, cache, cache, pos, out, p)).toThrow(/caches/);
    expect(() => rotaryCache(gpu, x, cache, cache, pos, out, { ...p, rotaryDim: 5 })).toThrow(/even/);
    gpu.release();
  });
});
