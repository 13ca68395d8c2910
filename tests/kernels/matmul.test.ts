import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfToFloat } from '../../src/engine/half';
import { matmulCpu } from '../../src/engine/webgpu/cpu/matmul';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { linear, matmul } from '../../src/engine/webgpu/ops';
import type { Activation, MatmulVariant } from '../../src/engine/webgpu/ops/types';
import { WebvlError } from '../../src/errors';
import { asSoftwareAdapter, maxError, randomArray, rng, TestGpu, toHalfBits } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twin against hand-computed values', () => {
  it('2×2 product, transposed B, bias, relu, rank-1 operands, batch broadcasting', () => {
    const a = cpuTensor([2, 2], [1, 2, 3, 4]);
    const b = cpuTensor([2, 2], [5, 6, 7, 8]);
    expect(Array.from(matmulCpu(a, b).data)).toEqual([19, 22, 43, 50]);
    expect(Array.from(matmulCpu(a, b, { transposeB: true }).data)).toEqual([17, 23, 39, 53]);
    const bias = cpuTensor([2], [-20, -60]);
    expect(Array.from(matmulCpu(a, b, { bias, activation: 'relu' }).data)).toEqual([0, 0, 23, 0]);
    const v = cpuTensor([2], [1, 1]);
    expect(matmulCpu(v, b).dims).toEqual([2]);
    expect(Array.from(matmulCpu(v, b).data)).toEqual([12, 14]);
    expect(Array.from(matmulCpu(a, v).data)).toEqual([3, 7]);
    const batched = matmulCpu(
      cpuTensor([2, 1, 1, 2], [1, 0, 0, 1]),
      cpuTensor([3, 2, 1], [1, 2, 3, 4, 5, 6]),
    );
    expect(batched.dims).toEqual([2, 3, 1, 1]);
    expect(Array.from(batched.data)).toEqual([1, 3, 5, 2, 4, 6]);
  });
});

interface Case {
  a: number[];
  b: number[];
  transposeB?: boolean;
  bias?: boolean;
  activation?: Activation;
  alpha?: number;
}

const CASES: Case[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [5, 7], b: [7, 3] },
  { a: [33, 65], b: [65, 17], bias: true },
  { a: [64, 32], b: [96, 32], transposeB: true, bias: true, activation: 'gelu-erf' },
  { a: [2, 50, 64], b: [64, 130], bias: true, activation: 'gelu-tanh' },
  { a: [2, 3, 9, 16], b: [2, 3, 16, 9] },
  { a: [2, 1, 7, 5], b: [1, 3, 5, 11], activation: 'relu' },
  { a: [3, 1, 40], b: [40, 70], transposeB: false, bias: true, activation: 'quick-gelu' },
  { a: [40], b: [40, 6] },
  { a: [4, 6, 40], b: [40] },
  { a: [31, 33], b: [35, 33], transposeB: true, alpha: 0.125 },
  // K (and N, or B transposed) multiples of 4 take the vec4-staging variant; ragged M/N/K against the tile.
  { a: [2, 1, 33, 36], b: [3, 36, 20], bias: true, activation: 'relu' },
  { a: [5, 68], b: [13, 68], transposeB: true },
  // M = 1 takes the matrix-vector kernel (both B layouts, K past one 256-chunk, N past one workgroup).
  { a: [2, 1, 300], b: [300, 270], bias: true, activation: 'gelu-erf' },
  { a: [1, 1, 77], b: [19, 77], transposeB: true, bias: true },
  { a: [3, 1, 64], b: [3, 64, 64], alpha: 0.5 },
];

/** Every case on the hardware path (tiled / gemv) and on the software-adapter path (matmul-direct). */
function onBothPaths<T extends object>(cases: T[]): (T & { software: boolean })[] {
  return [...cases.map((c) => ({ ...c, software: false })), ...cases.map((c) => ({ ...c, software: true }))];
}

/** Seeded operands of a case: A, B and a bias of length N, drawn in that order. */
function operands(c: Case, seed: number) {
  const rand = rng(seed);
  const size = (dims: number[]) => dims.reduce((x, y) => x * y, 1);
  const av = randomArray(size(c.a), rand);
  const bv = randomArray(size(c.b), rand);
  const n = c.transposeB ? c.b[c.b.length - 2] : c.b.length === 1 ? 1 : c.b[c.b.length - 1];
  return { av, bv, n, biasv: randomArray(n, rand) };
}

describe('matmul kernel vs CPU twin', () => {
  const withSoftware = onBothPaths(CASES);
  it.each(withSoftware)(
    '$a × $b transB=$transposeB bias=$bias act=$activation software=$software',
    async (c) => {
      gpu.release();
      const ctx = c.software ? asSoftwareAdapter(gpu) : gpu;
      const { av, bv, n, biasv } = operands(c, c.a.join('').length * 101 + c.b.length);
      const want = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bv), {
        bias: c.bias ? cpuTensor([n], biasv) : undefined,
        transposeB: c.transposeB,
        activation: c.activation,
        alpha: c.alpha,
      });
      const out = gpu.empty('float32', want.dims);
      (c.bias ? linear : matmul)(
        ctx,
        gpu.upload('float32', c.a, av),
        gpu.upload('float32', c.b, bv),
        c.bias ? gpu.upload('float32', [n], biasv) : null,
        out,
        { transposeB: c.transposeB, activation: c.activation, alpha: c.alpha },
      );
      expect(gpu.recorded.length).toBe(1);
      expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-6);
      gpu.release();
    },
  );

  // float16 weights (B packed two per word, widened on load): every variant that reads B, against the CPU twin
  // on the same half-rounded values, so the only difference left is f32 accumulation order.
  const HALF_CASES = [
    { a: [5, 7], b: [7, 3] }, // tiled, scalar loads
    { a: [2, 50, 64], b: [64, 132], bias: true, activation: 'gelu-tanh' as Activation }, // tiled, vec4 loads
    { a: [64, 32], b: [96, 32], transposeB: true, bias: true }, // tiled vec4, B transposed
    { a: [2, 1, 300], b: [300, 270], bias: true }, // gemv
    { a: [1, 1, 77], b: [19, 77], transposeB: true }, // gemv, B transposed
    { a: [33, 65], b: [65, 17], bias: true }, // odd element count: the last word is half padding
  ];
  const halfCases = onBothPaths<Case>(HALF_CASES);
  it.each(halfCases)('float16 B: $a × $b transB=$transposeB software=$software', async (c) => {
    gpu.release();
    const ctx = c.software ? asSoftwareAdapter(gpu) : gpu;
    const { av, bv, n, biasv } = operands(c, c.a.join('').length * 7 + c.b.length);
    const bHalf = Float64Array.from(bv, (x) => halfToFloat(toHalfBits(x)));
    const nb = bv.length;
    const want = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bHalf), {
      bias: c.bias ? cpuTensor([n], biasv) : undefined,
      transposeB: c.transposeB,
      activation: c.activation,
    });
    const out = gpu.empty('float32', want.dims);
    const b = gpu.upload('float16', c.b, bHalf);
    expect(b.buffer.size).toBeLessThan(nb * 4); // really stored as halves
    (c.bias ? linear : matmul)(
      ctx,
      gpu.upload('float32', c.a, av),
      b,
      c.bias ? gpu.upload('float32', [n], biasv) : null,
      out,
      { transposeB: c.transposeB, activation: c.activation },
    );
    // f32 accumulation-order noise only (K up to 300): the same bound as float32 B, with K-sized headroom.
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(5e-6);
    gpu.release();
  });

  // Large register-blocked tiles (shaders/matmul-tiled.wgsl), forced: ragged M and N against the 64/128 tiles,
  // K with a partial last slab, batches, transposed and float16 B, bias and activation.
  const TILED_CASES: (Case & { half?: boolean })[] = [
    { a: [130, 36], b: [36, 132] },
    { a: [2, 70, 64], b: [64, 68], bias: true, activation: 'gelu-erf' },
    { a: [129, 52], b: [140, 52], transposeB: true, alpha: 0.5 },
    { a: [3, 1, 65, 20], b: [20, 200], bias: true, activation: 'relu' },
    { a: [66, 48], b: [48, 132], half: true, bias: true },
    { a: [67, 40], b: [72, 40], transposeB: true, half: true },
  ];
  const tiledCases = (['tile64', 'tile128'] as const).flatMap((variant) =>
    TILED_CASES.map((c) => ({ ...c, variant })),
  );
  it.each(tiledCases)('$variant: $a × $b transB=$transposeB half B=$half', async (c) => {
    gpu.release();
    const { av, bv, n, biasv } = operands(c, c.a.length * 31 + c.b[0]);
    const bRef = c.half ? Float64Array.from(bv, (x) => halfToFloat(toHalfBits(x))) : bv;
    const want = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bRef), {
      bias: c.bias ? cpuTensor([n], biasv) : undefined,
      transposeB: c.transposeB,
      activation: c.activation,
      alpha: c.alpha,
    });
    const out = gpu.empty('float32', want.dims);
    matmul(
      gpu,
      gpu.upload('float32', c.a, av),
      gpu.upload(c.half ? 'float16' : 'float32', c.b, bRef),
      c.bias ? gpu.upload('float32', [n], biasv) : null,
      out,
      { transposeB: c.transposeB, activation: c.activation, alpha: c.alpha, variant: c.variant },
    );
    expect(gpu.recorded).toEqual([c.bias || c.activation ? 'Linear' : 'MatMul']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(5e-6);
    gpu.release();
  });

  // One row split along K (gemv-splitk): several chunks summed by a second pass, one chunk written directly,
  // batches (broadcast A), float16 B, bias and activation in the epilogue.
  const SPLITK_CASES: (Case & { half?: boolean; dispatches: number })[] = [
    { a: [1, 300], b: [300, 272], bias: true, activation: 'gelu-erf', dispatches: 2 },
    { a: [2, 1, 64], b: [64, 8], dispatches: 1 },
    { a: [3, 1, 1, 1000], b: [3, 1000, 132], alpha: 0.5, dispatches: 2 },
    { a: [1, 1, 513], b: [513, 1028], half: true, bias: true, dispatches: 2 },
  ];
  it.each(SPLITK_CASES)('gemv-splitk: $a × $b half B=$half', async (c) => {
    gpu.release();
    const { av, bv, n, biasv } = operands(c, c.b[c.b.length - 1] + c.a.length);
    const bRef = c.half ? Float64Array.from(bv, (x) => halfToFloat(toHalfBits(x))) : bv;
    const want = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bRef), {
      bias: c.bias ? cpuTensor([n], biasv) : undefined,
      activation: c.activation,
      alpha: c.alpha,
    });
    const out = gpu.empty('float32', want.dims);
    matmul(
      gpu,
      gpu.upload('float32', c.a, av),
      gpu.upload(c.half ? 'float16' : 'float32', c.b, bRef),
      c.bias ? gpu.upload('float32', [n], biasv) : null,
      out,
      { activation: c.activation, alpha: c.alpha, variant: 'gemv-splitk' },
    );
    expect(gpu.recorded.length).toBe(c.dispatches);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(5e-6);
    gpu.release();
  });

  // SwiGLU's up projection: silu (or no) activation, then times a gate of the output's dims, on every kernel.
  const GATED_CASES: (Case & { variant?: MatmulVariant; software?: boolean })[] = [
    { a: [1, 9, 64], b: [64, 176], activation: 'silu', software: true }, // direct, vec4
    { a: [2, 5, 7], b: [7, 3], software: true }, // direct, scalar
    { a: [1, 9, 64], b: [176, 64], transposeB: true, activation: 'silu', software: true }, // direct, B transposed
    { a: [1, 1, 64], b: [64, 176], activation: 'silu', variant: 'gemv-splitk' },
    { a: [2, 1, 64], b: [176, 64], transposeB: true, variant: 'gemv' },
    { a: [2, 33, 36], b: [36, 20], activation: 'silu', variant: 'tile32' },
    { a: [1, 70, 64], b: [64, 68], activation: 'silu', variant: 'tile64' },
  ];
  it.each(GATED_CASES)('gate: $a × $b transB=$transposeB act=$activation $variant', async (c) => {
    gpu.release();
    const { av, bv } = operands(c, c.a[1] * 7 + c.b[0]);
    const product = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bv), { transposeB: c.transposeB });
    const gatev = randomArray(product.data.length, rng(c.b[1]));
    const want = matmulCpu(cpuTensor(c.a, av), cpuTensor(c.b, bv), {
      transposeB: c.transposeB,
      activation: c.activation,
      gate: cpuTensor(product.dims, gatev),
    });
    const out = gpu.empty('float32', want.dims);
    linear(
      c.software ? asSoftwareAdapter(gpu) : gpu,
      gpu.upload('float32', c.a, av),
      gpu.upload('float32', c.b, bv),
      gpu.upload('float32', product.dims, gatev),
      out,
      { transposeB: c.transposeB, activation: c.activation, variant: c.variant, gate: true },
    );
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(5e-6);
    gpu.release();
  });

  it('large tiles need vec4-aligned K and N; f16 arithmetic needs shader-f16', () => {
    const a = gpu.upload('float32', [8, 6], new Float32Array(48));
    const b = gpu.upload('float32', [6, 8], new Float32Array(48));
    expect(() => matmul(gpu, a, b, null, gpu.empty('float32', [8, 8]), { variant: 'tile64' })).toThrow(
      /multiples of 4/,
    );
    if (!gpu.features.shaderF16) {
      const a4 = gpu.upload('float32', [8, 8], new Float32Array(64));
      const b4 = gpu.upload('float32', [8, 8], new Float32Array(64));
      expect(() =>
        matmul(gpu, a4, b4, null, gpu.empty('float32', [8, 8]), { variant: 'tile64-f16' }),
      ).toThrow(/shader-f16/);
    }
    gpu.release();
  });

  it('rejects mismatched inner dims and wrong output dims', () => {
    const a = gpu.upload('float32', [2, 3], new Float32Array(6));
    const b = gpu.upload('float32', [4, 2], new Float32Array(8));
    expect(() => matmul(gpu, a, b, null, gpu.empty('float32', [2, 2]))).toThrow(WebvlError);
    const b2 = gpu.upload('float32', [3, 2], new Float32Array(6));
    expect(() => matmul(gpu, a, b2, null, gpu.empty('float32', [3, 2]))).toThrow(WebvlError);
    gpu.release();
  });
});
