// ONNX OneHot (shaders/one-hot.wgsl): a new axis of `depth` at `axis`, values[1] where it equals the index.
import oneHotWgsl from '../../../../shaders/one-hot.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
  wgslScalar,
} from './common';

export function oneHot(
  ctx: KernelContext,
  indices: GpuView,
  values: GpuView,
  out: GpuView,
  depth: number,
  axis: number,
): void {
  const rank = indices.dims.length + 1;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) invalid(`OneHot: axis ${axis} out of range for output rank ${rank}`);
  if (!Number.isInteger(depth) || depth < 1) invalid(`OneHot: depth ${depth}`);
  if (indices.dtype === 'float16' || values.dtype === 'float16' || out.dtype !== values.dtype)
    invalid(`OneHot: ${indices.dtype} indices, ${values.dtype} values, ${out.dtype} output`);
  expectDims('OneHot values', values, [2]);
  expectDims('OneHot output', out, [...indices.dims.slice(0, ax), depth, ...indices.dims.slice(ax)]);
  const n = elementCount(out.dims);
  if (n === 0) return;
  const [I, T] = [wgslScalar(indices.dtype), wgslScalar(values.dtype)];
  ctx.record({
    label: 'OneHot',
    wgsl: specialize(oneHotWgsl, { I, T }),
    cacheKey: `one-hot|${I}|${T}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [indices, values, out],
    uniforms: new UniformWriter().u32s([n, depth, elementCount(indices.dims.slice(ax))]).finish(),
  });
}
