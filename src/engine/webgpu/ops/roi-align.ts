// ONNX RoiAlign (shaders/roi-align.wgsl): bilinear samples averaged (or maxed) over each roi's output bins.
import roiAlignWgsl from '../../../../shaders/roi-align.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  isFloat,
  UniformWriter,
} from './common';

export interface RoiAlignParams {
  readonly outputHeight: number;
  readonly outputWidth: number;
  /** Samples per bin side; 0: ceil(roi size / output size). */
  readonly samplingRatio: number;
  readonly spatialScale: number;
  /** half_pixel (opset 16's default) or output_half_pixel (opset 10's behaviour). */
  readonly halfPixel: boolean;
  readonly mode: 'avg' | 'max';
}

export function roiAlign(
  ctx: KernelContext,
  x: GpuView,
  rois: GpuView,
  batchIndices: GpuView,
  out: GpuView,
  p: RoiAlignParams,
): void {
  expectFloat32('RoiAlign input', x);
  expectFloat32('RoiAlign rois', rois);
  expectFloat32('RoiAlign output', out);
  if (isFloat(batchIndices.dtype)) invalid('RoiAlign: batch_indices must be integers');
  if (x.dims.length !== 4) invalid(`RoiAlign: input [${x.dims}] must be [N, C, H, W]`);
  const count = rois.dims[0];
  expectDims('RoiAlign rois', rois, [count, 4]);
  expectDims('RoiAlign batch_indices', batchIndices, [count]);
  for (const v of [p.outputHeight, p.outputWidth])
    if (!Number.isInteger(v) || v < 1) invalid(`RoiAlign: output size ${v}`);
  if (!Number.isInteger(p.samplingRatio) || p.samplingRatio < 0)
    invalid(`RoiAlign: sampling_ratio ${p.samplingRatio}`);
  const [images, channels, height, width] = x.dims;
  expectDims('RoiAlign output', out, [count, channels, p.outputHeight, p.outputWidth]);
  const n = elementCount(out.dims);
  if (n === 0 || height === 0 || width === 0) return;
  ctx.record({
    label: 'RoiAlign',
    wgsl: roiAlignWgsl,
    cacheKey: 'roi-align',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, rois, batchIndices, out],
    uniforms: new UniformWriter()
      .u32s([n, channels, height, width, p.outputHeight, p.outputWidth, p.samplingRatio, p.halfPixel ? 1 : 0])
      .f32s([p.spatialScale])
      .u32s([p.mode === 'max' ? 1 : 0, images])
      .finish(),
  });
}
