// Image → model input in one dispatch (shaders/resize-normalize.wgsl).
import resizeWgsl from '../../../../shaders/resize-normalize.wgsl?raw';
import type { GpuView, KernelContext } from '../kernel-context';
import { elementCount, expectFloat32, invalid, UniformWriter } from './common';
import type { ResizeNormalizeParams } from './types';

export function resizeNormalize(
  ctx: KernelContext,
  image: GpuView,
  out: GpuView,
  params: ResizeNormalizeParams,
): void {
  const { srcWidth, srcHeight } = params;
  if (!(srcWidth > 0 && srcHeight > 0)) invalid(`resizeNormalize: bad source size ${srcWidth}×${srcHeight}`);
  // One u32 per RGBA pixel; accept [H, W, 4] byte dims or [H, W] word dims describing the same buffer.
  const words =
    image.dims.length === 3 && image.dims[2] === 4 ? elementCount(image.dims) / 4 : elementCount(image.dims);
  if (words !== srcWidth * srcHeight) {
    invalid(`resizeNormalize: image view [${image.dims}] does not hold ${srcWidth}×${srcHeight} RGBA pixels`);
  }
  expectFloat32('resizeNormalize output', out);
  if (out.dims.length !== 4 || out.dims[0] !== 1 || out.dims[1] !== 3) {
    invalid(`resizeNormalize: output must be [1, 3, H, W], got [${out.dims}]`);
  }
  const [, , outH, outW] = out.dims;
  const crop = params.crop ?? { x: 0, y: 0, width: srcWidth, height: srcHeight };
  if (
    crop.width < 1 ||
    crop.height < 1 ||
    crop.x < 0 ||
    crop.y < 0 ||
    crop.x + crop.width > srcWidth ||
    crop.y + crop.height > srcHeight ||
    ![crop.x, crop.y, crop.width, crop.height].every(Number.isInteger)
  ) {
    invalid('resizeNormalize: crop must be an integer rectangle inside the image', { crop });
  }
  const mean = params.mean ?? [0, 0, 0];
  const std = params.std ?? [1, 1, 1];
  if (std.some((s) => s === 0)) invalid('resizeNormalize: std must be non-zero');
  if (outH === 0 || outW === 0) return;
  ctx.record({
    label: 'ResizeNormalize',
    wgsl: resizeWgsl,
    cacheKey: 'resize-normalize',
    workgroups: [Math.ceil(outW / 16), Math.ceil(outH / 16)],
    bindings: [image, out],
    uniforms: new UniformWriter()
      .u32s([srcWidth, srcHeight, outW, outH])
      .f32s([crop.x, crop.y, crop.width, crop.height, params.rescale ?? 1 / 255])
      .align()
      .f32s([...mean, 0, ...std.map((s) => 1 / s), 0])
      .finish(),
  });
}
