// ONNX CumSum (shaders/cumsum.wgsl): running sums along one axis, a thread per line.
import cumsumWgsl from '../../../../shaders/cumsum.wgsl?raw';
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

export function cumsum(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  axis: number,
  exclusive: boolean,
  reverse: boolean,
): void {
  const rank = x.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= rank)
    invalid(`CumSum: axis ${axis} out of range for rank ${rank}`);
  if (x.dtype === 'float16' || x.dtype === 'bool') invalid(`CumSum: ${x.dtype} is not supported`);
  if (out.dtype !== x.dtype) invalid(`CumSum: ${x.dtype} input, ${out.dtype} output`);
  expectDims('CumSum output', out, x.dims);
  const length = x.dims[ax];
  const inner = elementCount(x.dims.slice(ax + 1));
  const lines = elementCount(x.dims) / Math.max(length, 1);
  if (length === 0 || lines === 0) return;
  const T = wgslScalar(x.dtype);
  ctx.record({
    label: 'CumSum',
    wgsl: specialize(cumsumWgsl, { T }),
    cacheKey: `cumsum|${T}`,
    workgroups: grid1d(Math.ceil(lines / ELEMENTWISE_WORKGROUP)),
    bindings: [x, out],
    uniforms: new UniformWriter().u32s([lines, length, inner, exclusive ? 1 : 0, reverse ? 1 : 0]).finish(),
  });
}
