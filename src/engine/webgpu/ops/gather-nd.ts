// ONNX GatherND (shaders/gather-nd.wgsl): slices of data picked by index tuples, e.g. the pooled token of each
// row (`hidden[arange(B), eos_index]`, which torch.export writes as GatherND).
import gatherNdWgsl from '../../../../shaders/gather-nd.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  contiguousStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  isFloat,
  UniformWriter,
} from './common';

const MAX_INDEX_DEPTH = 8;

/** GatherND's output dims: indices.dims[..-1] followed by data.dims[batchDims + k ..]. */
export function gatherNdDims(
  data: readonly number[],
  indices: readonly number[],
  batchDims: number,
): number[] {
  const k = indices[indices.length - 1];
  return [...indices.slice(0, -1), ...data.slice(batchDims + k)];
}

export function gatherNd(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  out: GpuView,
  batchDims = 0,
): void {
  if (isFloat(indices.dtype)) invalid(`GatherND: indices must be integers, got ${indices.dtype}`);
  if (data.dtype === 'float16') invalid('GatherND: float16 data is not supported yet');
  if (out.dtype !== data.dtype)
    invalid(`GatherND: output dtype ${out.dtype} differs from data ${data.dtype}`);
  const k = indices.dims[indices.dims.length - 1];
  if (indices.dims.length < 1 || k === undefined) invalid('GatherND: indices must have at least one axis');
  if (k < 1 || k > MAX_INDEX_DEPTH || batchDims + k > data.dims.length)
    invalid(
      `GatherND: index depth ${k} with ${batchDims} batch dims does not fit data of rank ${data.dims.length}`,
    );
  for (let d = 0; d < batchDims; d++)
    if (data.dims[d] !== indices.dims[d]) invalid('GatherND: batch dims of data and indices differ');
  expectDims('GatherND output', out, gatherNdDims(data.dims, indices.dims, batchDims));
  const n = elementCount(out.dims);
  if (n === 0) return;
  const strides = contiguousStrides(data.dims);
  const axes = data.dims.slice(batchDims, batchDims + k);
  if (axes.some((d) => d === 0)) invalid('GatherND: indexing an empty axis');
  const tuples = elementCount(indices.dims.slice(0, -1));
  const batches = elementCount(indices.dims.slice(0, batchDims));
  ctx.record({
    label: 'GatherND',
    wgsl: gatherNdWgsl,
    cacheKey: 'gather-nd',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [data, indices, out],
    uniforms: new UniformWriter()
      .u32s([n, elementCount(data.dims.slice(batchDims + k)), k, tuples / batches])
      .u32s([batchDims > 0 ? strides[batchDims - 1] : 0])
      .u32Array(axes, 2)
      .u32Array(strides.slice(batchDims, batchDims + k), 2)
      .finish(),
  });
}
