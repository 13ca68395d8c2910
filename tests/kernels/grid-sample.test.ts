// GridSample kernel (ops/grid-sample.ts) against its CPU twin (after the ONNX reference), every mode × padding ×
// align_corners, with grid points well outside [-1, 1] so that every padding rule is used; onnxruntime-node
// (tests/engine/webgpu/op-forms.test.ts) and the ONNX node tests check both independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gridSampleCpu } from '../../src/engine/webgpu/cpu/grid-sample';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { gridSample } from '../../src/engine/webgpu/ops';
import type { GridPadding, GridSampleMode } from '../../src/engine/webgpu/ops/grid-sample';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

describe('GridSample', () => {
  it('CPU twin on hand-computed points: corners, centre, and a point off the image', () => {
    // 2×2 image [[1, 2], [3, 4]]; align_corners: (−1, −1) is pixel (0, 0), (0, 0) the mean, (1, 1) pixel (1, 1).
    const x = cpuTensor([1, 1, 2, 2], [1, 2, 3, 4]);
    const grid = cpuTensor([1, 1, 4, 2], [-1, -1, 0, 0, 1, 1, 3, 0]);
    const aligned = gridSampleCpu(x, grid, { mode: 'linear', padding: 'zeros', alignCorners: true });
    // (3, 0) maps to column 2, row 0.5: both taps outside → 0 with zeros padding; border clamps to column 1: 3.
    expect(Array.from(aligned.data)).toEqual([1, 2.5, 4, 0]);
    const border = gridSampleCpu(x, grid, { mode: 'linear', padding: 'border', alignCorners: true });
    expect(border.data[3]).toBe(3);
  });

  const modes: GridSampleMode[] = ['nearest', 'linear', 'cubic'];
  const paddings: GridPadding[] = ['zeros', 'border', 'reflection'];
  const cases = modes.flatMap((mode) =>
    paddings.flatMap((padding) => [true, false].map((alignCorners) => ({ mode, padding, alignCorners }))),
  );
  it.each(cases)('$mode, $padding padding, align_corners $alignCorners', async (p) => {
    const rand = rng(p.mode.length * 31 + p.padding.length * 7 + (p.alignCorners ? 1 : 0));
    const dims = [2, 3, 5, 6];
    const gridDims = [2, 4, 7, 2];
    const xv = randomArray(2 * 3 * 5 * 6, rand);
    // Up to 3× past the image's edges: several reflections deep.
    const gv = randomArray(2 * 4 * 7 * 2, rand, -3, 3);
    const want = gridSampleCpu(cpuTensor(dims, xv), cpuTensor(gridDims, gv), p);
    const out = gpu.empty('float32', want.dims);
    gridSample(gpu, gpu.upload('float32', dims, xv), gpu.upload('float32', gridDims, gv), out, p);
    expect(gpu.recorded).toEqual(['GridSample']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-5);
  });
});
