// ONNX MaxUnpool (shaders/max-unpool.wgsl): zeros, then each input element at its MaxPool index.
import maxUnpoolWgsl from '../../../../shaders/max-unpool.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
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
import { expand } from './copy';

export function maxUnpool(ctx: KernelContext, x: GpuView, indices: GpuView, out: GpuView): void {
  if (isFloat(indices.dtype)) invalid('MaxUnpool: indices must be integers');
  if (x.dtype === 'float16' || out.dtype !== x.dtype)
    invalid(`MaxUnpool: ${x.dtype} input, ${out.dtype} output`);
  expectDims('MaxUnpool indices', indices, x.dims);
  const size = elementCount(out.dims);
  if (size === 0) return;
  const T = wgslScalar(x.dtype);
  const zero = T === 'f32' ? new Float32Array(1) : new Int32Array(1);
  expand(ctx, ctx.constant(x.dtype, [], zero), out);
  const n = elementCount(x.dims);
  if (n === 0) return;
  ctx.record({
    label: 'MaxUnpool',
    wgsl: specialize(maxUnpoolWgsl, { T }),
    cacheKey: `max-unpool|${T}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, indices, out],
    uniforms: new UniformWriter().u32s([n, size]).finish(),
  });
}
