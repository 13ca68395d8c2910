// ONNX Gather along any axis (shaders/gather.wgsl): embeddings, token selection, index lookups.
import gatherWgsl from '../../../../shaders/gather.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  isFloat,
  UniformWriter,
} from './common';

export function gather(ctx: KernelContext, data: GpuView, indices: GpuView, out: GpuView, axis = 0): void {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) invalid(`Gather: axis ${axis} out of range for rank ${rank}`);
  if (isFloat(indices.dtype)) invalid(`Gather: indices must be integers, got ${indices.dtype}`);
  if (data.dtype === 'float16') invalid('Gather: float16 data is not supported yet');
  if (out.dtype !== data.dtype) invalid(`Gather: output dtype ${out.dtype} differs from data ${data.dtype}`);
  const outDims = [...data.dims.slice(0, ax), ...indices.dims, ...data.dims.slice(ax + 1)];
  expectDims('Gather output', out, outDims);
  const n = elementCount(outDims);
  if (n === 0) return;
  if (data.dims[ax] === 0) invalid('Gather: indexing an empty axis');
  ctx.record({
    label: 'Gather',
    wgsl: gatherWgsl,
    cacheKey: 'gather',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [data, indices, out],
    uniforms: new UniformWriter()
      .u32s([n, data.dims[ax], elementCount(data.dims.slice(ax + 1)), elementCount(indices.dims)])
      .finish(),
  });
}
