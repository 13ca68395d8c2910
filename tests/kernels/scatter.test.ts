// ScatterElements kernel (ops/gather-elements.ts, gather form) against its CPU twin (ONNX's scatter loop); the
// ONNX node tests and onnxruntime-node (tests/engine/webgpu/op-forms.test.ts) check both independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ScatterCombine, scatterElementsCpu } from '../../src/engine/webgpu/cpu/scatter';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { scatterElements } from '../../src/engine/webgpu/ops';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

describe('ScatterElements', () => {
  it('CPU twin on a hand-computed case: repeated indices add in order, negative ones wrap', () => {
    // data [0, 0, 0, 0]; indices [1, -1, 1] → updates 5 and 7 add at 1, 2 lands at 3.
    const out = scatterElementsCpu(
      cpuTensor([4], [0, 0, 0, 0]),
      cpuTensor([3], [1, -1, 1]),
      cpuTensor([3], [5, 2, 7]),
      0,
      'add',
    );
    expect(Array.from(out.data)).toEqual([0, 12, 0, 2]);
  });

  const CASES: { data: number[]; indices: number[]; axis: number; reduction: ScatterCombine }[] = [
    { data: [4, 6], indices: [3, 6], axis: 1, reduction: 'none' },
    { data: [5, 3, 4], indices: [7, 2, 4], axis: 0, reduction: 'add' },
    { data: [3, 5, 2], indices: [3, 4, 1], axis: -2, reduction: 'mul' },
    { data: [6, 4], indices: [9, 3], axis: 0, reduction: 'max' },
    { data: [2, 3, 4], indices: [2, 2, 6], axis: 2, reduction: 'min' },
  ];
  it.each(CASES)(
    '$data along $axis, reduction $reduction (indices $indices, repeats and negatives)',
    async (c) => {
      const rand = rng(c.indices.reduce((a, b) => a * b, 1) + c.axis + 5);
      const m = c.indices.reduce((a, b) => a * b, 1);
      const len = c.data.at(c.axis) as number;
      const indices = Int32Array.from({ length: m }, () => Math.floor(rand() * 2 * len) - len);
      const dv = randomArray(
        c.data.reduce((a, b) => a * b, 1),
        rand,
      );
      const uv = randomArray(m, rand);
      const want = scatterElementsCpu(
        cpuTensor(c.data, dv),
        cpuTensor(c.indices, indices),
        cpuTensor(c.indices, uv),
        c.axis,
        c.reduction,
      );
      const out = gpu.empty('float32', c.data);
      scatterElements(
        gpu,
        gpu.upload('float32', c.data, dv),
        gpu.upload('int32', c.indices, indices),
        gpu.upload('float32', c.indices, uv),
        out,
        c.axis,
        c.reduction,
      );
      expect(gpu.recorded).toEqual(['ScatterElements']);
      expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-6);
    },
  );
});
