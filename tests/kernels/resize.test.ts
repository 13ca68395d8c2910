// Resize kernel (ops/resize.ts) against its CPU twin (cpu/resize.ts: separable 1-D passes, float64), over the
// modes, coordinate transformations, nearest roundings and cubic options; parameters resolved as the engine
// resolves them (ir/resize-params.ts). The ONNX node tests (npm run conformance) and onnxruntime-node
// (tests/engine/webgpu/op-forms.test.ts) check the same kernel against independent references.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resizeCpu } from '../../src/engine/webgpu/cpu/resize';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import type { Values } from '../../src/engine/webgpu/ir/const-eval';
import type { Attr, Node } from '../../src/engine/webgpu/ir/ir';
import { resizeParams } from '../../src/engine/webgpu/ir/resize-params';
import { resize } from '../../src/engine/webgpu/ops';
import { WebvlError } from '../../src/errors';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

interface Case {
  dims: number[];
  attrs: Record<string, string | number>;
  scales?: number[];
  sizes?: number[];
  roi?: number[];
  axes?: number[];
}

function node(c: Case): Node {
  const attrs: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(c.attrs))
    attrs[k] =
      typeof v === 'string'
        ? { type: 'string', value: v }
        : Number.isInteger(v) && k !== 'cubic_coeff_a' && k !== 'extrapolation_value'
          ? { type: 'int', value: v }
          : { type: 'float', value: v };
  if (c.axes) attrs.axes = { type: 'ints', value: c.axes };
  return {
    name: 'resize',
    opType: 'Resize',
    domain: '',
    attrs,
    inputs: ['x', c.roi ? 'roi' : '', c.scales ? 'scales' : '', c.sizes ? 'sizes' : ''],
    outputs: ['y'],
  };
}

function paramsOf(c: Case) {
  const values: (number[] | undefined)[] = [undefined, c.roi, c.scales, c.sizes];
  const constant = (i: number): Values | undefined => {
    const v = values[i];
    return v && { dtype: 'float32', dims: [v.length], data: Float64Array.from(v) };
  };
  return resizeParams(node(c), c.dims, constant, 19);
}

const CASES: Case[] = [
  { dims: [1, 2, 4, 5], attrs: { mode: 'nearest' }, scales: [1, 1, 2, 1.5] },
  { dims: [1, 1, 6, 7], attrs: { mode: 'nearest', nearest_mode: 'floor' }, scales: [1, 1, 0.5, 0.8] },
  {
    dims: [2, 3, 5],
    attrs: { mode: 'nearest', nearest_mode: 'ceil', coordinate_transformation_mode: 'asymmetric' },
    sizes: [2, 3, 9],
  },
  {
    dims: [1, 1, 4, 4],
    attrs: {
      mode: 'nearest',
      nearest_mode: 'round_prefer_ceil',
      coordinate_transformation_mode: 'align_corners',
    },
    sizes: [1, 1, 7, 3],
  },
  { dims: [1, 2, 4, 6], attrs: { mode: 'linear' }, scales: [1, 1, 1.75, 0.5] },
  {
    dims: [1, 1, 5, 3],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
    sizes: [1, 1, 1, 8],
  },
  {
    dims: [2, 6, 5],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' },
    scales: [1, 0.6, 1.8],
  },
  { dims: [4, 3, 5], attrs: { mode: 'linear' }, scales: [0.5, 2, 1.2] },
  { dims: [1, 1, 4, 4], attrs: { mode: 'cubic' }, scales: [1, 1, 2, 0.75] },
  {
    dims: [1, 2, 5, 6],
    attrs: { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 },
    sizes: [1, 2, 9, 4],
  },
  {
    dims: [1, 1, 4, 5],
    attrs: { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' },
    scales: [1, 1, 1.5, 2],
  },
  {
    dims: [1, 1, 6, 6],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7.5 },
    roi: [0, 0, -0.2, 0.3, 1, 1, 0.8, 1.4],
    sizes: [1, 1, 5, 4],
  },
  {
    dims: [1, 1, 5, 4],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' },
    scales: [1, 1, 1.7, 0.8],
  },
  {
    dims: [1, 3, 4, 4],
    attrs: { mode: 'linear', keep_aspect_ratio_policy: 'not_larger' },
    axes: [2, 3],
    sizes: [6, 10],
  },
  {
    dims: [2, 3, 4],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn' },
    scales: [1, 1, 0.75],
  },
];

describe('resize kernel', () => {
  it.each(CASES)('$attrs on $dims', async (c) => {
    const p = paramsOf(c);
    const n = c.dims.reduce((a, b) => a * b, 1);
    const xv = randomArray(n, rng(n + p.outDims.reduce((a, b) => a + b, 0)), -2, 2);
    const want = resizeCpu(cpuTensor(c.dims, xv), p);
    expect(want.dims).toEqual(p.outDims);
    const out = gpu.empty('float32', p.outDims);
    resize(gpu, gpu.upload('float32', c.dims, xv), out, p);
    expect(gpu.recorded).toEqual(['Resize']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-5);
  });

  it('nearest copies integer words exactly', async () => {
    const p = paramsOf({ dims: [3, 4], attrs: { mode: 'nearest' }, scales: [2, 0.5] });
    const xv = Int32Array.from({ length: 12 }, (_, i) => 1_000_003 * (i - 5));
    const want = resizeCpu(cpuTensor([3, 4], xv), p);
    const out = gpu.empty('int32', p.outDims);
    resize(gpu, gpu.upload('int32', [3, 4], xv), out, p);
    expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data));
  });

  it('refuses antialias, the opset-10 form, and both or neither of scales and sizes', () => {
    const base: Case = { dims: [1, 1, 2, 2], attrs: { mode: 'linear' }, scales: [1, 1, 2, 2] };
    expect(() => paramsOf({ ...base, attrs: { mode: 'linear', antialias: 1 } })).toThrow(/antialias/);
    const constant = () => undefined;
    expect(() => resizeParams(node(base), base.dims, constant, 10)).toThrow(WebvlError);
    expect(() => paramsOf({ ...base, sizes: [1, 1, 4, 4] })).toThrow(/exactly one/);
    expect(() => paramsOf({ dims: [1, 1, 2, 2], attrs: {} })).toThrow(/exactly one/);
    const linearInt = paramsOf(base);
    const x = gpu.upload('int32', [1, 1, 2, 2], new Int32Array(4));
    expect(() => resize(gpu, x, gpu.empty('int32', linearInt.outDims), linearInt)).toThrow(/float32/);
  });
});
