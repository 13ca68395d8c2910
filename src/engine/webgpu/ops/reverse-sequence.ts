// ONNX ReverseSequence (shaders/reverse-sequence.wgsl): each batch entry's first seq_lens[b] steps reversed.
import reverseSequenceWgsl from '../../../../shaders/reverse-sequence.wgsl?raw';
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

export function reverseSequence(
  ctx: KernelContext,
  x: GpuView,
  lens: GpuView,
  out: GpuView,
  timeAxis: number,
  batchAxis: number,
): void {
  if (x.dims.length < 2) invalid(`ReverseSequence: input rank ${x.dims.length} (at least 2)`);
  if (![timeAxis, batchAxis].every((a) => a === 0 || a === 1) || timeAxis === batchAxis)
    invalid(`ReverseSequence: time_axis ${timeAxis} and batch_axis ${batchAxis} must be 0 and 1`);
  if (isFloat(lens.dtype)) invalid('ReverseSequence: sequence lengths must be integers');
  if (x.dtype === 'float16') invalid('ReverseSequence: float16 is not supported');
  expectDims('ReverseSequence sequence_lens', lens, [x.dims[batchAxis]]);
  expectDims('ReverseSequence output', out, x.dims);
  const n = elementCount(x.dims);
  if (n === 0) return;
  const strides = contiguousStrides(x.dims);
  const T = wgslScalar(x.dtype);
  ctx.record({
    label: 'ReverseSequence',
    wgsl: specialize(reverseSequenceWgsl, { T, L: 'i32' }),
    cacheKey: `reverse-sequence|${T}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, lens, out],
    uniforms: new UniformWriter()
      .u32s([n, x.dims[timeAxis], x.dims[batchAxis], strides[timeAxis], strides[batchAxis]])
      .finish(),
  });
}
