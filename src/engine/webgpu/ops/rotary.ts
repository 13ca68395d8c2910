// Rotary position embedding, rotate-half form (shaders/rotary.wgsl): one dispatch for what exports spell as
// two Slices, a Neg, a Concat, two Muls and an Add per query or key tensor.
import rotaryWgsl from '../../../../shaders/rotary.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { MAX_RANK } from './binary';
import {
  broadcastDims,
  broadcastStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  sameDims,
  UniformWriter,
} from './common';

export function rotary(ctx: KernelContext, x: GpuView, cos: GpuView, sin: GpuView, out: GpuView): void {
  for (const [name, t] of [
    ['x', x],
    ['cos', cos],
    ['sin', sin],
    ['output', out],
  ] as const)
    expectFloat32(`Rotary ${name}`, t);
  expectDims('Rotary output', out, x.dims);
  const d = x.dims.at(-1) ?? 0;
  if (d % 2 !== 0) invalid(`Rotary: the last axis (${d}) must be even`);
  if (!sameDims(cos.dims, sin.dims)) invalid(`Rotary: cos [${cos.dims}] and sin [${sin.dims}] differ`);
  if (cos.dims.at(-1) !== d || !sameDims(broadcastDims(cos.dims, x.dims), x.dims))
    invalid(`Rotary: cos/sin [${cos.dims}] do not broadcast to x [${x.dims}] along its last axis`);
  if (x.dims.length > MAX_RANK) invalid(`Rotary: rank ${x.dims.length} exceeds ${MAX_RANK}`);
  const n = elementCount(x.dims);
  if (n === 0) return;
  ctx.record({
    label: 'Rotary',
    wgsl: rotaryWgsl,
    cacheKey: 'rotary',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, cos, sin, out],
    uniforms: new UniformWriter()
      .u32s([n, x.dims.length, d / 2, 0])
      .u32Array(x.dims, 2)
      .u32Array(broadcastStrides(cos.dims, x.dims), 2)
      .finish(),
  });
}
