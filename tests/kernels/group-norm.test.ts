// GroupNormalization / InstanceNormalization kernel (ops/group-norm.ts) against its CPU twin; the node tests
// (InstanceNormalization) and onnxruntime-node (tests/engine/webgpu/op-forms.test.ts) check it independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupNormCpu } from '../../src/engine/webgpu/cpu/group-norm';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { groupNorm } from '../../src/engine/webgpu/ops';
import { WebvlError } from '../../src/errors';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

describe('CPU twin', () => {
  it('normalizes each group of two channels on its own', () => {
    // Group 0 holds [1, 3 | 5, 7] (mean 4, var 5), group 1 [2, 2 | 2, 2] (var 0: all zeros, then the bias).
    const out = groupNormCpu(
      cpuTensor([1, 4, 2], [1, 3, 5, 7, 2, 2, 2, 2]),
      cpuTensor([2], [1, 1]),
      cpuTensor([2], [0, 9]),
      2,
      0,
      false,
    );
    expect(out.data[0]).toBeCloseTo(-3 / Math.sqrt(5), 12);
    expect(out.data[3]).toBeCloseTo(3 / Math.sqrt(5), 12);
    expect(Number.isNaN(out.data[4])).toBe(true); // 0 / sqrt(0): eps = 0 on a constant group
  });
});

describe('groupNorm kernel vs CPU twin', () => {
  it.each([
    { dims: [2, 6, 4, 5], groups: 3, perChannel: true },
    { dims: [1, 8, 9], groups: 2, perChannel: false },
    { dims: [3, 4, 2, 2, 3], groups: 4, perChannel: true },
    { dims: [2, 32, 300], groups: 1, perChannel: true }, // rows longer than the workgroup
  ])('$dims in $groups groups, per channel $perChannel', async (c) => {
    const rand = rng(c.dims.reduce((a, b) => a * b, 1) + c.groups);
    const n = c.dims.reduce((a, b) => a * b, 1);
    const affine = c.perChannel ? c.dims[1] : c.groups;
    // An offset mean (+3) checks the shifted sums.
    const xv = randomArray(n, rand, 2, 4);
    const sv = randomArray(affine, rand, 0.5, 1.5);
    const bv = randomArray(affine, rand);
    const want = groupNormCpu(
      cpuTensor(c.dims, xv),
      cpuTensor([affine], sv),
      cpuTensor([affine], bv),
      c.groups,
      1e-5,
      c.perChannel,
    );
    const out = gpu.empty('float32', c.dims);
    groupNorm(
      gpu,
      gpu.upload('float32', c.dims, xv),
      gpu.upload('float32', [affine], sv),
      gpu.upload('float32', [affine], bv),
      out,
      { groups: c.groups, epsilon: 1e-5, perChannel: c.perChannel },
    );
    expect(gpu.recorded).toEqual(['GroupNorm']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-5);
  });

  it('rejects channels that do not split into the groups, and a scale of the wrong length', () => {
    const x = gpu.upload('float32', [1, 6, 2], new Float32Array(12));
    const s4 = gpu.upload('float32', [4], new Float32Array(4));
    const out = gpu.empty('float32', [1, 6, 2]);
    expect(() => groupNorm(gpu, x, s4, s4, out, { groups: 4, epsilon: 1e-5, perChannel: false })).toThrow(
      /groups/,
    );
    expect(() => groupNorm(gpu, x, s4, s4, out, { groups: 3, epsilon: 1e-5, perChannel: true })).toThrow(
      WebvlError,
    );
  });
});
