import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unaryScalar } from '../../src/engine/webgpu/cpu/elementwise';
import { conv2dCpu, gatherCpu } from '../../src/engine/webgpu/cpu/gather-conv';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { conv2d, gather } from '../../src/engine/webgpu/ops';
import { conv2dOutputDims } from '../../src/engine/webgpu/ops/conv2d';
import { WebvlError } from '../../src/errors';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twins against hand-computed values', () => {
  it('gather rows and columns with a negative index', () => {
    const data = cpuTensor([3, 2], [1, 2, 3, 4, 5, 6]);
    expect(Array.from(gatherCpu(data, cpuTensor([2], [2, -3])).data)).toEqual([5, 6, 1, 2]);
    expect(Array.from(gatherCpu(data, cpuTensor([1, 1], [1]), 1).data)).toEqual([2, 4, 6]);
  });
  it('conv: 2×2 box filter with padding, and a stride-2 patch embedding', () => {
    const x = cpuTensor([1, 1, 2, 2], [1, 2, 3, 4]);
    const w = cpuTensor([1, 1, 2, 2], [1, 1, 1, 1]);
    expect(Array.from(conv2dCpu(x, w, { pads: [1, 1, 0, 0] }).data)).toEqual([1, 3, 4, 10]);
    const patches = conv2dCpu(cpuTensor([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), w, { strides: [2, 2] });
    expect(Array.from(patches.data)).toEqual([14, 22]);
  });
});

describe('gather kernel vs CPU twin', () => {
  it.each([
    { dims: [50, 16], idx: [2, 7], axis: 0 },
    { dims: [4, 9, 5], idx: [3], axis: 1 },
    { dims: [3, 4, 6], idx: [2, 2], axis: -1 },
    { dims: [10], idx: [], axis: 0 },
  ])('data $dims indices $idx axis $axis', async ({ dims, idx, axis }) => {
    const rand = rng(dims.length * 17 + idx.length);
    const n = dims.reduce((a, b) => a * b, 1);
    const ax = axis < 0 ? axis + dims.length : axis;
    const ni = idx.reduce((a, b) => a * b, 1);
    const indices = Array.from({ length: ni }, () => Math.floor(rand() * dims[ax] * 2) - dims[ax]);
    const data = randomArray(n, rand);
    const want = gatherCpu(cpuTensor(dims, data), cpuTensor(idx, indices), axis);
    const out = gpu.empty('float32', want.dims);
    gather(gpu, gpu.upload('float32', dims, data), gpu.upload('int64', idx, indices), out, axis);
    expect(maxError(await gpu.read(out), want.data)).toBe(0);
    gpu.release();
  });
});

describe('conv2d kernel vs CPU twin', () => {
  it.each([
    { x: [2, 3, 16, 16], w: [8, 3, 4, 4], strides: [4, 4] as [number, number] },
    { x: [1, 4, 9, 7], w: [6, 4, 3, 3], pads: [1, 1, 1, 1] as [number, number, number, number], bias: true },
    {
      x: [1, 4, 11, 10],
      w: [4, 2, 3, 2],
      group: 2,
      strides: [2, 1] as [number, number],
      dilations: [2, 1] as [number, number],
      relu: true,
    },
    {
      x: [1, 3, 13, 13],
      w: [5, 3, 3, 3],
      pads: [0, 2, 1, 0] as [number, number, number, number],
      bias: true,
    },
  ])('x $x w $w', async (c) => {
    const rand = rng(c.x.join('').length + c.w[0]);
    const nx = c.x.reduce((a, b) => a * b, 1);
    const nw = c.w.reduce((a, b) => a * b, 1);
    const x = randomArray(nx, rand);
    const w = randomArray(nw, rand);
    const bias = randomArray(c.w[0], rand);
    const base = conv2dCpu(cpuTensor(c.x, x), cpuTensor(c.w, w), {
      strides: c.strides,
      pads: c.pads,
      dilations: c.dilations,
      group: c.group,
      bias: c.bias ? cpuTensor([c.w[0]], bias) : undefined,
    });
    const want = c.relu ? Float64Array.from(base.data, (v) => unaryScalar('Relu', v)) : base.data;
    const params = { strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group };
    expect(conv2dOutputDims(c.x, c.w, params)).toEqual(base.dims);
    const out = gpu.empty('float32', base.dims);
    conv2d(
      gpu,
      gpu.upload('float32', c.x, x),
      gpu.upload('float32', c.w, w),
      c.bias ? gpu.upload('float32', [c.w[0]], bias) : null,
      out,
      { ...params, activation: c.relu ? 'relu' : 'none' },
    );
    expect(maxError(await gpu.read(out), want)).toBeLessThan(2e-6);
    gpu.release();
  });

  it('rejects a group that does not divide the channels', () => {
    const x = gpu.upload('float32', [1, 3, 4, 4], new Float32Array(48));
    const w = gpu.upload('float32', [2, 3, 1, 1], new Float32Array(6));
    expect(() => conv2d(gpu, x, w, null, gpu.empty('float32', [1, 2, 4, 4]), { group: 2 })).toThrow(
      WebvlError,
    );
    gpu.release();
  });
});
