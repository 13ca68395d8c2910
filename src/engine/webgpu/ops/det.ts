// ONNX Det (shaders/det.wgsl): the determinant of each n × n matrix of [..., n, n], by elimination with partial
// pivoting, one thread per matrix (the matrices of models are few and small).
import detWgsl from '../../../../shaders/det.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { elementCount, expectDims, expectFloat32, grid1d, invalid, UniformWriter } from './common';

const DET_WORKGROUP = 64;

export function det(ctx: KernelContext, x: GpuView, out: GpuView): void {
  expectFloat32('Det input', x);
  expectFloat32('Det output', out);
  const rank = x.dims.length;
  const n = x.dims[rank - 1];
  if (rank < 2 || x.dims[rank - 2] !== n) invalid(`Det: input [${x.dims}] is not [..., n, n]`);
  expectDims('Det output', out, x.dims.slice(0, -2));
  const matrices = elementCount(out.dims);
  if (matrices === 0) return;
  ctx.record({
    label: 'Det',
    wgsl: detWgsl,
    cacheKey: 'det',
    workgroups: grid1d(Math.ceil(matrices / DET_WORKGROUP)),
    bindings: [x, ctx.scratch('float32', x.dims), out],
    uniforms: new UniformWriter().u32s([matrices, n]).finish(),
  });
}
