// ONNX GridSample over 2-D images (shaders/grid-sample.wgsl): nearest, bilinear and bicubic sampling, zeros,
// border and reflection padding, with or without align_corners.
import gridSampleWgsl from '../../../../shaders/grid-sample.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
} from './common';

export type GridSampleMode = 'nearest' | 'linear' | 'cubic';
export type GridPadding = 'zeros' | 'border' | 'reflection';
const MODE: Record<GridSampleMode, number> = { nearest: 0, linear: 1, cubic: 2 };
const PADDING: Record<GridPadding, number> = { zeros: 0, border: 1, reflection: 2 };

export interface GridSampleParams {
  readonly mode: GridSampleMode;
  readonly padding: GridPadding;
  readonly alignCorners: boolean;
}

/** x [N, C, H, W] sampled at grid [N, Ho, Wo, 2] ((x, y) in [-1, 1]) into out [N, C, Ho, Wo]. */
export function gridSample(
  ctx: KernelContext,
  x: GpuView,
  grid: GpuView,
  out: GpuView,
  p: GridSampleParams,
): void {
  for (const [name, v] of [
    ['input', x],
    ['grid', grid],
    ['output', out],
  ] as const)
    expectFloat32(`GridSample ${name}`, v);
  if (x.dims.length !== 4) invalid(`GridSample: a [N, C, H, W] input, got [${x.dims}]`);
  const [n, channels, height, width] = x.dims;
  const [gn, outHeight, outWidth, pair] = grid.dims;
  if (grid.dims.length !== 4 || gn !== n || pair !== 2)
    invalid(`GridSample: grid [${grid.dims}] for input [${x.dims}]`);
  expectDims('GridSample output', out, [n, channels, outHeight, outWidth]);
  const count = elementCount(out.dims);
  if (count === 0) return;
  if (height === 0 || width === 0) invalid('GridSample: an empty image');
  ctx.record({
    label: 'GridSample',
    wgsl: specialize(gridSampleWgsl, { MODE: MODE[p.mode], PADDING: PADDING[p.padding] }),
    cacheKey: `grid-sample|${p.mode}|${p.padding}`,
    workgroups: grid1d(Math.ceil(count / ELEMENTWISE_WORKGROUP)),
    bindings: [x, grid, out],
    uniforms: new UniformWriter()
      .u32s([count, channels, height, width, outHeight, outWidth, p.alignCorners ? 1 : 0])
      .finish(),
  });
}
