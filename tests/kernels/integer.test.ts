// Integer quantized kernels (ops/integer.ts: MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv) against their
// CPU twins, exactly; onnxruntime-node (tests/engine/webgpu/op-forms.test.ts) and the ONNX node tests check both
// independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DType } from '../../src/engine/tensor';
import {
  type CpuIntegerOperands,
  convIntegerCpu,
  matmulIntegerCpu,
} from '../../src/engine/webgpu/cpu/integer';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { convParams } from '../../src/engine/webgpu/ir/conv-params';
import { convInteger, matmulInteger } from '../../src/engine/webgpu/ops';
import type { IntegerOperands } from '../../src/engine/webgpu/ops/integer';
import { type AttrValues, onnxNode } from '../support/onnx-node';
import { rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

type Codes = 'uint8' | 'int8';
const RANGE: Record<Codes, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };
const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function randomCodes(dtype: Codes, n: number, rand: () => number): number[] {
  const [lo, hi] = RANGE[dtype];
  return Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));
}

/** The twin's operands packed as the lowering packs them: zero points, y's zero point and bias; then scales. */
function packed(q: CpuIntegerOperands): IntegerOperands {
  const r = q.requant;
  const ints = [q.aZero, q.bZero, ...(r ? [[r.yZero], r.bias] : [])];
  const floats = r ? [r.aScale, r.bScale, [r.yScale]] : [];
  const slices = (parts: readonly (readonly number[])[]) =>
    parts.map((p, j) => ({ at: parts.slice(0, j).reduce((s, x) => s + x.length, 0), length: p.length }));
  const [aZero, bZero, yZero, bias] = slices(ints);
  const [aScale, bScale, yScale] = slices(floats);
  return {
    ints: gpu.upload('int32', [ints.flat().length], ints.flat()),
    aZero,
    bZero,
    requant: r && {
      scales: gpu.upload('float32', [floats.flat().length], floats.flat()),
      aScale,
      bScale,
      yScale,
      yZero,
      bias,
    },
  };
}

describe('integer twins (hand-computed)', () => {
  it('MatMulInteger: the ONNX spec example (a zero point 12)', () => {
    const a = cpuTensor([4, 3], [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
    const b = cpuTensor([3, 2], [1, 4, 2, 5, 3, 6]);
    const y = matmulIntegerCpu(a, b, { aZero: [12], bZero: [0] });
    expect(Array.from(y.data)).toEqual([-38, -83, -44, -98, -50, -113, -56, -128]);
  });

  it('requantization rounds half to even, then adds the zero point and saturates (twin and kernel)', async () => {
    // [1, 1] × [1, 4] codes: sums 5, 7, −3 and 127; multiplier 1 · 0.5 / 1; zero point 250; uint8.
    const q: CpuIntegerOperands = {
      aZero: [0],
      bZero: [0],
      requant: { aScale: [1], bScale: [0.5], yScale: 1, yZero: 250, bias: [0], lo: 0, hi: 255 },
    };
    // 2.5 → 2, 3.5 → 4, −1.5 → −2, 63.5 → 64 (then 314 saturates).
    const want = [252, 254, 248, 255];
    expect(
      Array.from(matmulIntegerCpu(cpuTensor([1, 1], [1]), cpuTensor([1, 4], [5, 7, -3, 127]), q).data),
    ).toEqual(want);
    const out = gpu.empty('uint8', [1, 4]);
    matmulInteger(
      gpu,
      gpu.upload('uint8', [1, 1], [1]),
      gpu.upload('int8', [1, 4], [5, 7, -3, 127]),
      out,
      packed(q),
    );
    expect(Array.from(await gpu.read(out))).toEqual(want);
  });
});

const MATMUL_CASES: {
  name: string;
  a: number[];
  b: number[];
  types: [Codes, Codes];
  zeros: [number, number];
  requant?: { aScales: number; bScales: number; out: Codes };
}[] = [
  { name: '2-D, one zero point each', a: [5, 7], b: [7, 6], types: ['uint8', 'uint8'], zeros: [1, 1] },
  {
    name: 'per row × per column, int8 × uint8',
    a: [6, 9],
    b: [9, 5],
    types: ['int8', 'uint8'],
    zeros: [6, 5],
  },
  {
    name: 'broadcast batch, per row of every batch',
    a: [2, 3, 4, 8],
    b: [3, 8, 5],
    types: ['uint8', 'int8'],
    zeros: [24, 15],
  },
  {
    name: 'K of 300 (sums past 2^24 would be inexact in f32)',
    a: [3, 300],
    b: [300, 4],
    types: ['uint8', 'uint8'],
    zeros: [1, 1],
  },
  {
    name: 'QLinearMatMul, per-column scales, uint8 out',
    a: [4, 10],
    b: [10, 6],
    types: ['uint8', 'int8'],
    zeros: [1, 6],
    requant: { aScales: 1, bScales: 6, out: 'uint8' },
  },
  {
    name: 'QLinearMatMul, batched, per-row scales, int8 out',
    a: [2, 3, 7],
    b: [2, 7, 4],
    types: ['int8', 'int8'],
    zeros: [3, 1],
    requant: { aScales: 3, bScales: 1, out: 'int8' },
  },
];

describe('MatMulInteger / QLinearMatMul', () => {
  it.each(MATMUL_CASES)('$name', async (c) => {
    const rand = rng(count(c.a) + count(c.b));
    const [ta, tb] = c.types;
    const av = randomCodes(ta, count(c.a), rand);
    const bv = randomCodes(tb, count(c.b), rand);
    const q: CpuIntegerOperands = {
      aZero: randomCodes(ta, c.zeros[0], rand),
      bZero: randomCodes(tb, c.zeros[1], rand),
      requant: c.requant && {
        aScale: Array.from({ length: c.requant.aScales }, () => Math.fround(0.01 + 0.05 * rand())),
        bScale: Array.from({ length: c.requant.bScales }, () => Math.fround(0.001 + 0.01 * rand())),
        yScale: Math.fround(0.05 + 0.1 * rand()),
        yZero: randomCodes(c.requant.out, 1, rand)[0],
        bias: [0],
        lo: RANGE[c.requant.out][0],
        hi: RANGE[c.requant.out][1],
      },
    };
    const want = matmulIntegerCpu(cpuTensor(c.a, av), cpuTensor(c.b, bv), q);
    const outType: DType = c.requant?.out ?? 'int32';
    const out = gpu.empty(outType, want.dims);
    matmulInteger(gpu, gpu.upload(ta, c.a, av), gpu.upload(tb, c.b, bv), out, packed(q));
    expect(gpu.recorded).toEqual([c.requant ? 'QLinearMatMul' : 'MatMulInteger']);
    const got = Array.from(await gpu.read(out));
    expect(got).toEqual(Array.from(want.data));
    // A requantized case must not saturate everywhere (it would hide the arithmetic).
    if (c.requant) expect(new Set(got).size).toBeGreaterThan(8);
  });

  it('zero points of the wrong length are INVALID_INPUT', () => {
    const q = packed({ aZero: [1, 2], bZero: [0] });
    expect(() =>
      matmulInteger(
        gpu,
        gpu.upload('uint8', [3, 4], new Array(12).fill(1)),
        gpu.upload('uint8', [4, 2], new Array(8).fill(1)),
        gpu.empty('int32', [3, 2]),
        q,
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

const CONV_CASES: {
  name: string;
  x: number[];
  w: number[];
  attrs: AttrValues;
  wZeros: number;
  requant?: { bias: boolean; out: Codes };
}[] = [
  {
    name: '2-D, pads and stride',
    x: [1, 3, 6, 5],
    w: [4, 3, 3, 3],
    attrs: { pads: [1, 1, 1, 1], strides: [2, 1] },
    wZeros: 1,
  },
  {
    name: 'groups, dilations, per-channel w zero points',
    x: [2, 4, 7, 6],
    w: [6, 2, 2, 3],
    attrs: { group: 2, dilations: [2, 1], auto_pad: 'SAME_UPPER' },
    wZeros: 6,
  },
  { name: '1-D', x: [2, 3, 9], w: [2, 3, 4], attrs: { strides: [2], pads: [2, 1] }, wZeros: 2 },
  { name: '3-D', x: [1, 2, 4, 3, 5], w: [3, 2, 2, 2, 3], attrs: { pads: [0, 1, 1, 1, 0, 1] }, wZeros: 1 },
  {
    name: 'QLinearConv with bias, per-channel scales, uint8 out',
    x: [1, 3, 5, 5],
    w: [4, 3, 3, 3],
    attrs: { pads: [1, 1, 1, 1] },
    wZeros: 4,
    requant: { bias: true, out: 'uint8' },
  },
  {
    name: 'QLinearConv, no bias, int8 out, SAME_LOWER',
    x: [2, 3, 6, 8],
    w: [3, 3, 2, 2],
    attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] },
    wZeros: 1,
    requant: { bias: false, out: 'int8' },
  },
];

describe('ConvInteger / QLinearConv', () => {
  it.each(CONV_CASES)('$name', async (c) => {
    const rand = rng(count(c.x) + 3 * count(c.w));
    const [tx, tw]: [Codes, Codes] = c.requant?.out === 'int8' ? ['int8', 'int8'] : ['uint8', 'int8'];
    const xv = randomCodes(tx, count(c.x), rand);
    const wv = randomCodes(tw, count(c.w), rand);
    const p = convParams(onnxNode('ConvInteger', c.attrs, ['x', 'w']), c.x, c.w);
    const q: CpuIntegerOperands = {
      aZero: randomCodes(tx, 1, rand),
      bZero: randomCodes(tw, c.wZeros, rand),
      requant: c.requant && {
        aScale: [Math.fround(0.01 + 0.05 * rand())],
        bScale: Array.from({ length: c.wZeros }, () => Math.fround(0.001 + 0.01 * rand())),
        yScale: Math.fround(0.2 + 0.2 * rand()),
        yZero: randomCodes(c.requant.out, 1, rand)[0],
        bias: c.requant.bias ? Array.from({ length: c.w[0] }, () => Math.floor(rand() * 4000) - 2000) : [0],
        lo: RANGE[c.requant.out][0],
        hi: RANGE[c.requant.out][1],
      },
    };
    const want = convIntegerCpu(cpuTensor(c.x, xv), cpuTensor(c.w, wv), p, q);
    const out = gpu.empty(c.requant?.out ?? 'int32', want.dims);
    convInteger(gpu, gpu.upload(tx, c.x, xv), gpu.upload(tw, c.w, wv), out, p, packed(q));
    expect(gpu.recorded).toEqual([c.requant ? 'QLinearConv' : 'ConvInteger']);
    const got = Array.from(await gpu.read(out));
    expect(got).toEqual(Array.from(want.data));
    if (c.requant) expect(new Set(got).size).toBeGreaterThan(8);
  });

  it('convolution geometry (hand-computed): SAME_UPPER / SAME_LOWER put the odd pad at the end / start', () => {
    // in 6, stride 2, kernel 3 → out 3, total pad (3 − 1)·2 + 3 − 6 = 1.
    const upper = convParams(
      onnxNode('Conv', { strides: [2], auto_pad: 'SAME_UPPER' }, ['x', 'w']),
      [1, 1, 6],
      [1, 1, 3],
    );
    expect([upper.outSpatial, upper.padsBegin, upper.padsEnd]).toEqual([[3], [0], [1]]);
    const lower = convParams(
      onnxNode('Conv', { strides: [2], auto_pad: 'SAME_LOWER' }, ['x', 'w']),
      [1, 1, 6],
      [1, 1, 3],
    );
    expect([lower.outSpatial, lower.padsBegin, lower.padsEnd]).toEqual([[3], [1], [0]]);
    // Explicit pads, dilation 2: span 5, (7 + 1 + 2 − 5) / 1 + 1 = 6.
    const dilated = convParams(
      onnxNode('Conv', { pads: [1, 2], dilations: [2] }, ['x', 'w']),
      [1, 2, 7],
      [3, 2, 3],
    );
    expect([dilated.outSpatial, dilated.outChannels]).toEqual([[6], 3]);
    expect(() => convParams(onnxNode('Conv', { group: 2 }, ['x', 'w']), [1, 4, 5], [3, 2, 3])).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL' }),
    );
  });
});
