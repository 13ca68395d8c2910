// Det kernel (ops/det.ts, elimination with partial pivoting) against its CPU twin (cofactor expansion);
// onnxruntime-node (tests/engine/webgpu/op-forms.test.ts) and the ONNX node tests check it independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detCpu } from '../../src/engine/webgpu/cpu/det';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { det } from '../../src/engine/webgpu/ops';
import { randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

async function gpuDet(dims: number[], values: ArrayLike<number>): Promise<Float32Array> {
  const out = gpu.empty('float32', dims.slice(0, -2));
  det(gpu, gpu.upload('float32', dims, values), out);
  return (await gpu.read(out)) as Float32Array;
}

describe('Det', () => {
  it('twin and kernel on hand-computed cases: a swap, a singular matrix, 1 × 1', async () => {
    // [[0, 2], [3, 4]]: 0·4 − 2·3 = −6 (the kernel must swap rows). [[1, 2], [2, 4]] is singular.
    const values = [0, 2, 3, 4, 1, 2, 2, 4];
    expect(Array.from(detCpu(cpuTensor([2, 2, 2], values)).data)).toEqual([-6, 0]);
    expect(Array.from(await gpuDet([2, 2, 2], values))).toEqual([-6, 0]);
    expect(Array.from(await gpuDet([1, 1], [-2.5]))).toEqual([-2.5]);
  });

  it.each([[[3, 3]], [[4, 2, 2]], [[2, 3, 5, 5]], [[6, 6]]])('random %j', async (dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = randomArray(n, rng(n));
    const want = detCpu(cpuTensor(dims, values)).data;
    const got = await gpuDet(dims, values);
    expect(gpu.recorded).toEqual(['Det']);
    for (let i = 0; i < want.length; i++)
      expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * (1 + Math.abs(want[i])));
  });

  it('a non-square input is INVALID_INPUT', () => {
    expect(() =>
      det(gpu, gpu.upload('float32', [2, 3], new Array(6).fill(1)), gpu.empty('float32', [])),
    ).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
