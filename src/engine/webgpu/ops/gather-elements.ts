// ONNX GatherElements (shaders/gather-elements.wgsl), ScatterND (shaders/scatter-nd.wgsl) and ScatterElements
// (shaders/scatter-elements.wgsl).
import gatherElementsWgsl from '../../../../shaders/gather-elements.wgsl?raw';
import scatterElementsWgsl from '../../../../shaders/scatter-elements.wgsl?raw';
import scatterNdWgsl from '../../../../shaders/scatter-nd.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  contiguousStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  isFloat,
  specialize,
  UniformWriter,
  wgslScalar,
} from './common';
import { copyStrided } from './copy';

const MAX_RANK = 8;

export function gatherElements(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  out: GpuView,
  axis: number,
): void {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank || indices.dims.length !== rank)
    invalid('GatherElements: indices must have the rank of data');
  if (rank > MAX_RANK) invalid(`GatherElements: rank ${rank} exceeds ${MAX_RANK}`);
  if (isFloat(indices.dtype)) invalid('GatherElements: indices must be integers');
  if (data.dtype === 'float16' || out.dtype !== data.dtype)
    invalid('GatherElements: output dtype must match data');
  expectDims('GatherElements output', out, indices.dims);
  const n = elementCount(indices.dims);
  if (n === 0) return;
  if (data.dims[ax] === 0) invalid('GatherElements: indexing an empty axis');
  ctx.record({
    label: 'GatherElements',
    wgsl: gatherElementsWgsl,
    cacheKey: 'gather-elements',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [data, indices, out],
    uniforms: new UniformWriter()
      .u32s([n, rank, ax])
      .u32Array(indices.dims, 2)
      .u32Array(data.dims, 2)
      .u32Array(contiguousStrides(data.dims), 2)
      .finish(),
  });
}

export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min';
export const SCATTER_REDUCTIONS: readonly ScatterReduction[] = ['none', 'add', 'mul', 'max', 'min'];
const COMBINE: Record<ScatterReduction, string> = {
  none: 'update',
  add: 'old + update',
  mul: 'old * update',
  max: 'max(old, update)',
  min: 'min(old, update)',
};

/**
 * out = data with updates[e] written to (or combined into) data at e's coordinates with the axis one replaced by
 * indices[e], for every element e of indices (and updates, which share its dims).
 */
export function scatterElements(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  updates: GpuView,
  out: GpuView,
  axis: number,
  reduction: ScatterReduction = 'none',
): void {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank || indices.dims.length !== rank)
    invalid('ScatterElements: indices must have the rank of data');
  if (rank > MAX_RANK) invalid(`ScatterElements: rank ${rank} exceeds ${MAX_RANK}`);
  if (isFloat(indices.dtype)) invalid('ScatterElements: indices must be integers');
  if (data.dtype === 'float16' || updates.dtype !== data.dtype || out.dtype !== data.dtype)
    invalid('ScatterElements: updates and output must match data');
  expectDims('ScatterElements updates', updates, indices.dims);
  expectDims('ScatterElements output', out, data.dims);
  if (indices.dims.some((d, i) => i !== ax && d > data.dims[i]))
    invalid(`ScatterElements: indices [${indices.dims}] exceed data [${data.dims}] off the axis`);
  const n = elementCount(data.dims);
  if (n === 0) return;
  const T = wgslScalar(data.dtype);
  ctx.record({
    label: 'ScatterElements',
    wgsl: specialize(scatterElementsWgsl, { T, COMBINE: COMBINE[reduction] }),
    cacheKey: `scatter-elements|${T}|${reduction}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [data, indices, updates, out],
    uniforms: new UniformWriter()
      .u32s([n, rank, ax, indices.dims[ax]])
      .u32Array(data.dims, 2)
      .u32Array(indices.dims, 2)
      .u32Array(contiguousStrides(indices.dims), 2)
      .finish(),
  });
}

/** out = data with the slices that indices address replaced (or added to, multiplied by) by updates. */
export function scatterNd(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  updates: GpuView,
  out: GpuView,
  reduction: ScatterReduction = 'none',
): void {
  const k = indices.dims[indices.dims.length - 1];
  if (k === undefined || k < 1 || k > data.dims.length || k > MAX_RANK) invalid('ScatterND: bad index depth');
  if (isFloat(indices.dtype)) invalid('ScatterND: indices must be integers');
  if (data.dtype === 'float16' || updates.dtype !== data.dtype) invalid('ScatterND: updates must match data');
  expectDims('ScatterND output', out, data.dims);
  expectDims('ScatterND updates', updates, [...indices.dims.slice(0, -1), ...data.dims.slice(k)]);
  const n = elementCount(data.dims);
  if (n === 0) return;
  copyStrided(
    ctx,
    data,
    contiguousStrides(data.dims),
    0,
    out,
    contiguousStrides(out.dims),
    0,
    data.dims,
    'ScatterND copy',
  );
  const inner = elementCount(data.dims.slice(k));
  const tuples = elementCount(indices.dims.slice(0, -1));
  if (inner === 0 || tuples === 0) return;
  const T = wgslScalar(data.dtype);
  ctx.record({
    label: 'ScatterND',
    wgsl: specialize(scatterNdWgsl, { T, COMBINE: COMBINE[reduction] }),
    cacheKey: `scatter-nd|${T}|${reduction}`,
    workgroups: grid1d(Math.ceil(inner / ELEMENTWISE_WORKGROUP)),
    bindings: [indices, updates, out],
    uniforms: new UniformWriter()
      .u32s([inner, tuples, k])
      .u32Array(data.dims.slice(0, k), 2)
      .u32Array(contiguousStrides(data.dims).slice(0, k), 2)
      .finish(),
  });
}
