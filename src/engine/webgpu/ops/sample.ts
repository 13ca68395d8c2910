// Token sampling on the GPU (shaders/sample-topk.wgsl): temperature, top-k (the TopK before it), top-p and min-p, so a
// generation step reads back one token id rather than a vocabulary of logits.
import sampleWgsl from '../../../../shaders/sample-topk.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { expectDims, expectFloat32, grid1d, invalid, UniformWriter } from './common';

/** Threads per workgroup of sample-topk.wgsl (one row each). */
const ROWS_PER_GROUP = 64;

export function sampleTopK(
  ctx: KernelContext,
  values: GpuView,
  indices: GpuView,
  sampling: GpuView,
  token: GpuView,
): void {
  expectFloat32('SampleTopK values', values);
  expectFloat32('SampleTopK sampling', sampling);
  if (values.dims.length !== 2) invalid(`SampleTopK: values must be [rows, k], got [${values.dims}]`);
  const [rows, k] = values.dims;
  expectDims('SampleTopK indices', indices, values.dims);
  expectDims('SampleTopK sampling', sampling, [rows, 5]);
  expectDims('SampleTopK token', token, [rows]);
  for (const [name, v] of [
    ['indices', indices],
    ['token', token],
  ] as const)
    if (v.dtype === 'float32' || v.dtype === 'float16') invalid(`SampleTopK ${name} must be integers`);
  if (k === 0) invalid('SampleTopK: k must be at least 1');
  if (rows === 0) return;
  ctx.record({
    label: 'SampleTopK',
    wgsl: sampleWgsl,
    cacheKey: 'sample-topk',
    workgroups: grid1d(Math.ceil(rows / ROWS_PER_GROUP)),
    bindings: [values, indices, sampling, token],
    uniforms: new UniformWriter().u32s([rows, k, 0, 0]).finish(),
  });
}
