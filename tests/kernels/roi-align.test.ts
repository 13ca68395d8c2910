// RoiAlign kernel (ops/roi-align.ts) on hand-computed cases; onnxruntime-node (tests/engine/webgpu/op-forms.test.ts)
// and the ONNX node tests check it on larger ones.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { roiAlign } from '../../src/engine/webgpu/ops';
import { TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

describe('RoiAlign', () => {
  it('one sample per bin: the pixel centre (half_pixel), the 2 × 2 mean (output_half_pixel), 0 for a bad image', async () => {
    // x = [[1, 2], [3, 4]]; roi [0, 0, 1, 1], one bin, one sample.
    const run = async (halfPixel: boolean, image: number) => {
      const out = gpu.empty('float32', [1, 1, 1, 1]);
      roiAlign(
        gpu,
        gpu.upload('float32', [1, 1, 2, 2], [1, 2, 3, 4]),
        gpu.upload('float32', [1, 4], [0, 0, 1, 1]),
        gpu.upload('int64', [1], [image]),
        out,
        { outputHeight: 1, outputWidth: 1, samplingRatio: 1, spatialScale: 1, halfPixel, mode: 'avg' },
      );
      return (await gpu.read(out))[0];
    };
    // half_pixel: the roi spans [-0.5, 0.5], its one sample at (0, 0): pixel 1.
    expect(await run(true, 0)).toBe(1);
    // output_half_pixel: the roi spans [0, 1], its sample at (0.5, 0.5): the mean 2.5.
    expect(await run(false, 0)).toBe(2.5);
    // An image index outside x's batch gives zeros, not another tensor's memory.
    expect(await run(false, 1)).toBe(0);
    expect(await run(false, -1)).toBe(0);
  });
});
