import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmaxCpu, topkCpu } from '../../src/engine/webgpu/cpu/argmax-topk';
import { reduceCpu } from '../../src/engine/webgpu/cpu/reduce';
import { softmaxCpu } from '../../src/engine/webgpu/cpu/softmax';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { argmax, reduce, softmax, topk } from '../../src/engine/webgpu/ops';
import { reducedDims } from '../../src/engine/webgpu/ops/reduce';
import type { ReduceOp } from '../../src/engine/webgpu/ops/types';
import { WebvlError } from '../../src/errors';
import { asSoftwareAdapter, maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twins against hand-computed values', () => {
  it('softmax of [0, ln 2, ln 3] is [1/6, 2/6, 3/6], on either axis; its log is ln of those', () => {
    const s = softmaxCpu(cpuTensor([3], [0, Math.LN2, Math.log(3)]));
    const l = softmaxCpu(cpuTensor([3], [0, Math.LN2, Math.log(3)]), -1, true);
    expect(l.data[0]).toBeCloseTo(Math.log(1 / 6), 12);
    expect(l.data[2]).toBeCloseTo(Math.log(1 / 2), 12);
    expect(Array.from(s.data).map((v) => v * 6)).toEqual([1, 2, 3].map((v) => expect.closeTo(v, 12)));
    const t = softmaxCpu(cpuTensor([2, 1], [0, 0]), 0);
    expect(Array.from(t.data)).toEqual([0.5, 0.5]);
  });
  it('reductions', () => {
    const x = cpuTensor([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(Array.from(reduceCpu(x, 'Sum', [1]).data)).toEqual([6, 15]);
    expect(Array.from(reduceCpu(x, 'Mean', [0]).data)).toEqual([2.5, 3.5, 4.5]);
    expect(Array.from(reduceCpu(x, 'Prod').data)).toEqual([720]);
    expect(reduceCpu(x, 'Max', [1], false).dims).toEqual([2]);
    expect(reduceCpu(x, 'L2', [1]).data[0]).toBeCloseTo(Math.sqrt(14), 12);
  });
  it('topk and argmax break ties toward the lower index', () => {
    const x = cpuTensor([2, 4], [1, 3, 3, 0, -1, -5, -1, 2]);
    expect(Array.from(topkCpu(x, 2).indices.data)).toEqual([1, 2, 3, 0]);
    expect(Array.from(topkCpu(x, 2, false).values.data)).toEqual([0, 1, -5, -1]);
    expect(Array.from(argmaxCpu(x).data)).toEqual([1, 3]);
  });
});

describe('softmax kernel vs CPU twin', () => {
  const cases = [
    { dims: [3, 7], axis: -1 },
    { dims: [2, 4, 257], axis: 2 },
    { dims: [2, 5, 3], axis: 1 },
    { dims: [6, 2, 2], axis: 0 },
    { dims: [1, 1, 50, 50], axis: 3 },
  ];
  // Software adapters take the barrier-free row-per-thread variant; test both.
  it.each(
    cases.flatMap((c) => [
      { ...c, software: false },
      { ...c, software: true },
    ]),
  )('$dims axis $axis software=$software', async ({ dims, axis, software }) => {
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    const n = dims.reduce((a, b) => a * b, 1);
    const x = randomArray(n, rng(n), -8, 8);
    // A -10000 additive mask on some entries, as exported attention masks use.
    for (let i = 0; i < n; i += 5) x[i] -= 10000;
    const out = gpu.empty('float32', dims);
    softmax(ctx, gpu.upload('float32', dims, x), out, axis);
    expect(maxError(await gpu.read(out), softmaxCpu(cpuTensor(dims, x), axis).data)).toBeLessThan(1e-6);
    gpu.release();
  });

  it.each(
    cases.flatMap((c) => [
      { ...c, software: false },
      { ...c, software: true },
    ]),
  )('log-softmax: $dims axis $axis software=$software', async ({ dims, axis, software }) => {
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    const n = dims.reduce((a, b) => a * b, 1);
    const x = randomArray(n, rng(n + 1), -8, 8);
    const out = gpu.empty('float32', dims);
    softmax(ctx, gpu.upload('float32', dims, x), out, axis, true);
    expect(gpu.recorded).toEqual(['LogSoftmax']);
    // Outputs down to about −16: a few float32 ulps.
    expect(maxError(await gpu.read(out), softmaxCpu(cpuTensor(dims, x), axis, true).data)).toBeLessThan(1e-5);
    gpu.release();
  });
});

describe('reduce kernel vs CPU twin', () => {
  const ops: ReduceOp[] = [
    'Sum',
    'Mean',
    'Max',
    'Min',
    'Prod',
    'L1',
    'L2',
    'SumSquare',
    'LogSum',
    'LogSumExp',
  ];
  const cases: { dims: number[]; axes?: number[]; keepdims?: boolean }[] = [
    { dims: [3, 70], axes: [-1] },
    { dims: [4, 5, 6], axes: [0, 2], keepdims: false },
    { dims: [2, 3, 4], axes: [1] },
    { dims: [5, 7] },
  ];
  it.each(
    ops.flatMap((op) => [
      { op, software: false },
      { op, software: true },
    ]),
  )('$op software=$software', async ({ op, software }) => {
    const rand = rng(op.length * 13);
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    for (const { dims, axes, keepdims } of cases) {
      const n = dims.reduce((a, b) => a * b, 1);
      // Prod over many elements must stay finite: values near ±1. LogSum needs a positive sum.
      const x =
        op === 'Prod' ? randomArray(n, rand, 0.9, 1.1) : randomArray(n, rand, op === 'LogSum' ? 0.1 : -2, 2);
      const want = reduceCpu(cpuTensor(dims, x), op, axes, keepdims);
      expect(reducedDims(dims, { op, axes, keepdims })).toEqual(want.dims);
      const out = gpu.empty('float32', want.dims);
      reduce(ctx, gpu.upload('float32', dims, x), out, { op, axes, keepdims });
      expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-5);
      gpu.release();
    }
  });

  it.each([false, true])(
    'integer Sum/Max/Min/Prod/L1/SumSquare (int64 held as i32), hand-computed, software=%s',
    async (software) => {
      const ctx = software ? asSoftwareAdapter(gpu) : gpu;
      // [[3, -7, 2], [0, 5, -1]] over each row, and the bool mask sums an Idefics3 export takes (ReduceSum of
      // a 0/1 patch mask cast to int64).
      const x = [3, -7, 2, 0, 5, -1];
      const want: Record<string, number[]> = {
        Sum: [-2, 4],
        Max: [3, 5],
        Min: [-7, -1],
        Prod: [-42, 0],
        L1: [12, 6],
        SumSquare: [62, 26],
      };
      for (const [op, values] of Object.entries(want)) {
        for (const dtype of ['int32', 'int64'] as const) {
          const out = gpu.empty(dtype, [2, 1]);
          reduce(ctx, gpu.upload(dtype, [2, 3], x), out, { op: op as ReduceOp, axes: [1] });
          expect(Array.from(await gpu.read(out)), `${op} ${dtype}`).toEqual(values);
          gpu.release();
        }
      }
      const mask = gpu.upload(
        'int64',
        [2, 4, 4],
        Array.from({ length: 32 }, (_, i) => (i % 4 < 3 || i >= 16 ? 1 : 0)),
      );
      const sums = gpu.empty('int64', [2, 4]);
      reduce(ctx, mask, sums, { op: 'Sum', axes: [2], keepdims: false });
      expect(Array.from(await gpu.read(sums))).toEqual([3, 3, 3, 3, 4, 4, 4, 4]);
      gpu.release();
    },
  );

  it('refuses integer reductions that leave the integers, and mixed dtypes', () => {
    const x = gpu.upload('int64', [2, 3], [1, 2, 3, 4, 5, 6]);
    for (const op of ['Mean', 'L2', 'LogSum', 'LogSumExp'] as const)
      expect(() => reduce(gpu, x, gpu.empty('int64', [2, 1]), { op, axes: [1] })).toThrow(
        /not defined for int64/,
      );
    expect(() => reduce(gpu, x, gpu.empty('float32', [2, 1]), { op: 'Sum', axes: [1] })).toThrow(
      /output is float32/,
    );
    gpu.release();
  });

  it('rejects a wrongly shaped output', () => {
    const x = gpu.upload('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => reduce(gpu, x, gpu.empty('float32', [2]), { op: 'Sum', axes: [1] })).toThrow(WebvlError);
    gpu.release();
  });
});

describe('argmax/topk kernels vs CPU twin', () => {
  it.each([false, true])('argmax over rows with ties and odd lengths, software=%s', async (software) => {
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    const rand = rng(77);
    for (const dims of [
      [5, 1],
      [3, 1000],
      [2, 3, 257],
    ]) {
      const n = dims.reduce((a, b) => a * b, 1);
      // Coarse values so ties happen.
      const x = Float32Array.from(randomArray(n, rand, 0, 20), Math.floor);
      const want = argmaxCpu(cpuTensor(dims, x));
      const out = gpu.empty('int64', want.dims);
      argmax(ctx, gpu.upload('float32', dims, x), out);
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data));
      gpu.release();
    }
  });

  it.each([
    { dims: [4, 10], k: 3, largest: true },
    { dims: [3, 1000], k: 10, largest: true },
    { dims: [2, 257], k: 257, largest: false },
    { dims: [1, 5000], k: 5, largest: true },
    { dims: [70, 33], k: 4, largest: true, software: true },
    { dims: [3, 1000], k: 10, largest: false, software: true },
  ])('topk $dims k=$k largest=$largest software=$software', async ({ dims, k, largest, software }) => {
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    const n = dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from(randomArray(n, rng(n + k), -50, 50), (v) => Math.round(v * 4) / 4);
    const want = topkCpu(cpuTensor(dims, x), k, largest);
    const values = gpu.empty('float32', want.values.dims);
    const indices = gpu.empty('int32', want.indices.dims);
    topk(ctx, gpu.upload('float32', dims, x), values, indices, { k, largest });
    expect(Array.from(await gpu.read(indices))).toEqual(Array.from(want.indices.data));
    expect(Array.from(await gpu.read(values))).toEqual(Array.from(want.values.data));
    gpu.release();
  });

  // Integer inputs (CLIP's text pooling takes ArgMax over int32 token ids): compared exactly, beyond 2^24 too,
  // where a float32 detour would round neighbours together.
  it.each([false, true])('integers: argmax and topk over int32 values, software=%s', async (software) => {
    const ctx = software ? asSoftwareAdapter(gpu) : gpu;
    const dims = [3, 77];
    const rand = rng(9);
    const x = Array.from({ length: 231 }, () => Math.floor(rand() * 50_000));
    x[100] = 2 ** 30;
    x[101] = 2 ** 30 + 64; // float32 rounds it to 2^30: a tie, and index 100 would win
    x[180] = -7;
    const want = argmaxCpu(cpuTensor(dims, x));
    const out = gpu.empty('int64', want.dims);
    argmax(ctx, gpu.upload('int32', dims, x), out);
    expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data));
    const top = topkCpu(cpuTensor(dims, x), 4, false);
    const values = gpu.empty('int32', top.values.dims);
    const indices = gpu.empty('int32', top.indices.dims);
    topk(ctx, gpu.upload('int32', dims, x), values, indices, { k: 4, largest: false });
    expect(Array.from(await gpu.read(values))).toEqual(Array.from(top.values.data));
    expect(Array.from(await gpu.read(indices))).toEqual(Array.from(top.indices.data));
    gpu.release();
  });
});
