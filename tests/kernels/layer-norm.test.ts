import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerNormCpu } from '../../src/engine/webgpu/cpu/layer-norm';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { layerNorm } from '../../src/engine/webgpu/ops';
import { WebvlError } from '../../src/errors';
import { asSoftwareAdapter, maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twin against hand-computed values', () => {
  it('normalizes [1, 2, 3] to [-√1.5, 0, √1.5] then scales and shifts', () => {
    const { out, sum } = layerNormCpu(
      cpuTensor([1, 3], [0, 2, 2]),
      cpuTensor([3], [1, 2, 1]),
      cpuTensor([3], [0, 0, 10]),
      cpuTensor([1, 3], [1, 0, 1]),
      0,
    );
    expect(Array.from(sum.data)).toEqual([1, 2, 3]);
    expect(out.data[0]).toBeCloseTo(-Math.sqrt(1.5), 12);
    expect(out.data[1]).toBeCloseTo(0, 12);
    expect(out.data[2]).toBeCloseTo(10 + Math.sqrt(1.5), 12);
  });

  it('mean 2 and 1/sqrt(var + eps) = 1/sqrt(2/3 + 0.5) of the row [1, 2, 3], dims [1, 1]', () => {
    const { mean, invStdDev } = layerNormCpu(
      cpuTensor([1, 3], [1, 2, 3]),
      cpuTensor([3], [1, 1, 1]),
      undefined,
      undefined,
      0.5,
    );
    expect(mean.dims).toEqual([1, 1]);
    expect(mean.data[0]).toBeCloseTo(2, 12);
    expect(invStdDev.data[0]).toBeCloseTo(1 / Math.sqrt(2 / 3 + 0.5), 12);
  });
});

describe('layerNorm kernel vs CPU twin', () => {
  const cases = [
    { dims: [3, 7], beta: true, residual: false, sum: false },
    { dims: [2, 50, 64], beta: true, residual: true, sum: true },
    { dims: [5, 257], beta: false, residual: true, sum: false },
    { dims: [1, 768], beta: true, residual: false, sum: false, offset: 1000 },
    { dims: [130, 32], beta: true, residual: true, sum: true },
    { dims: [2, 3, 70], beta: true, residual: false, sum: false, stats: true },
    { dims: [4, 9], beta: false, residual: true, sum: true, stats: true, offset: 100 },
  ];
  // Software adapters take the barrier-free row-per-thread variant; test both.
  it.each(
    cases.flatMap((c) => [
      { ...c, software: false },
      { ...c, software: true },
    ]),
  )(
    '$dims beta=$beta residual=$residual sum=$sum stats=$stats software=$software',
    async ({ dims, beta, residual, sum, stats, offset, software }) => {
      const ctx = software ? asSoftwareAdapter(gpu) : gpu;
      const rand = rng(dims.reduce((a, b) => a * b, 1));
      const n = dims.reduce((a, b) => a * b, 1);
      const cols = dims[dims.length - 1];
      // A large common offset checks that the statistics are two-pass (E[x²] − E[x]² would cancel badly).
      const x = Float32Array.from(randomArray(n, rand, -3, 3), (v) => v + (offset ?? 0));
      const r = randomArray(n, rand, -1, 1);
      const g = randomArray(cols, rand, 0.5, 1.5);
      const bt = randomArray(cols, rand, -1, 1);
      const want = layerNormCpu(
        cpuTensor(dims, x),
        cpuTensor([cols], g),
        beta ? cpuTensor([cols], bt) : undefined,
        residual ? cpuTensor(dims, r) : undefined,
        1e-5,
      );
      const out = gpu.empty('float32', dims);
      const sumOut = sum ? gpu.empty('float32', dims) : null;
      const statsDims = [...dims.slice(0, -1), 1];
      const statsOut = stats
        ? { mean: gpu.empty('float32', statsDims), invStdDev: gpu.empty('float32', statsDims) }
        : null;
      layerNorm(
        ctx,
        gpu.upload('float32', dims, x),
        gpu.upload('float32', [cols], g),
        beta ? gpu.upload('float32', [cols], bt) : null,
        residual ? gpu.upload('float32', dims, r) : null,
        out,
        sumOut,
        { epsilon: 1e-5 },
        statsOut,
      );
      expect(maxError(await gpu.read(out), want.out.data)).toBeLessThan(offset ? 5e-4 : 5e-6);
      if (sumOut) expect(maxError(await gpu.read(sumOut), want.sum.data)).toBeLessThan(1e-6);
      if (statsOut) {
        expect(maxError(await gpu.read(statsOut.mean), want.mean.data)).toBeLessThan(1e-6);
        expect(maxError(await gpu.read(statsOut.invStdDev), want.invStdDev.data)).toBeLessThan(
          offset ? 5e-4 : 5e-6,
        );
      }
      gpu.release();
    },
  );

  it('rejects a gamma of the wrong length', () => {
    const x = gpu.upload('float32', [2, 4], new Float32Array(8));
    expect(() =>
      layerNorm(
        gpu,
        x,
        gpu.upload('float32', [3], [1, 1, 1]),
        null,
        null,
        gpu.empty('float32', [2, 4]),
        null,
      ),
    ).toThrow(WebvlError);
    gpu.release();
  });
});
