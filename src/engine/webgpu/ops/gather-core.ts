// The engine's own Gather (shaders/gather-core.wgsl), used while ./gather.ts is not yet implemented
// (see ../kernel-fallback.ts). Same signature and semantics as ./gather.ts; out-of-range indices clamp.
import wgsl from '../../../../shaders/gather-core.wgsl?raw';
import type { GpuView, KernelContext } from '../kernel-context';

export function gatherCore(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  out: GpuView,
  axisArg = 0,
): void {
  const axis = axisArg < 0 ? axisArg + data.dims.length : axisArg;
  const size = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  const count = size(indices.dims);
  const inner = size(data.dims.slice(axis + 1));
  const total = size(data.dims.slice(0, axis)) * count * inner;
  const uniforms = new Uint32Array([total, count, data.dims[axis], inner]).buffer;
  const groups = Math.ceil(total / 256);
  const gx = Math.min(Math.max(groups, 1), 65535);
  ctx.record({
    label: 'gather-core',
    wgsl,
    cacheKey: 'gather-core',
    workgroups: [gx, Math.ceil(groups / gx) || 1],
    bindings: [data, indices, out],
    uniforms,
  });
}
