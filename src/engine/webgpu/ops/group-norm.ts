// GroupNormalization / InstanceNormalization (shaders/group-norm.wgsl): statistics per (batch, group) over the
// group's channels and spatial positions, then a per-channel (or per-group) affine, in one dispatch.
import groupNormWgsl from '../../../../shaders/group-norm.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { elementCount, expectDims, expectFloat32, grid1d, invalid, UniformWriter } from './common';

export interface GroupNormParams {
  readonly groups: number;
  readonly epsilon: number;
  /** scale/bias hold one value per channel (GroupNormalization-21, InstanceNormalization) or per group (-18). */
  readonly perChannel: boolean;
}

/** x [N, C, ...]; scale and bias [C] (perChannel) or [groups]; out like x. */
export function groupNorm(
  ctx: KernelContext,
  x: GpuView,
  scale: GpuView,
  bias: GpuView,
  out: GpuView,
  p: GroupNormParams,
): void {
  for (const [name, v] of [
    ['input', x],
    ['scale', scale],
    ['bias', bias],
    ['output', out],
  ] as const)
    expectFloat32(`GroupNorm ${name}`, v);
  if (x.dims.length < 2) invalid(`GroupNorm: input must be [N, C, ...], got [${x.dims}]`);
  expectDims('GroupNorm output', out, x.dims);
  const [n, c] = x.dims;
  if (!Number.isInteger(p.groups) || p.groups < 1 || c % p.groups !== 0)
    invalid(`GroupNorm: ${c} channels do not split into ${p.groups} groups`);
  const affine = p.perChannel ? c : p.groups;
  if (elementCount(scale.dims) !== affine || elementCount(bias.dims) !== affine)
    invalid(`GroupNorm: scale/bias need ${affine} values, got [${scale.dims}] and [${bias.dims}]`);
  const spatial = elementCount(x.dims.slice(2));
  const rows = n * p.groups;
  const cols = (c / p.groups) * spatial;
  if (rows === 0 || cols === 0) return;
  ctx.record({
    label: 'GroupNorm',
    wgsl: groupNormWgsl,
    cacheKey: 'groupnorm',
    workgroups: grid1d(rows),
    bindings: [x, scale, bias, out],
    uniforms: new UniformWriter()
      .u32s([rows, cols, p.groups, c / p.groups, spatial, p.perChannel ? 1 : 0])
      .f32s([p.epsilon])
      .finish(),
  });
}
