// Image → model input in two dispatches (shaders/resize-normalize.wgsl): horizontal then vertical resample with
// precomputed taps, 8-bit rounding between passes as Pillow does, crop and normalize fused into the second.
import resizeWgsl from '../../../../shaders/resize-normalize.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { elementCount, expectFloat32, invalid, UniformWriter } from './common';
import type { PackedTapsLayout, ResampleTaps, ResizeNormalizeParams } from './types';

/** Both axes' taps in one float32 array (start and count stored as floats: exact below 2^24). */
export function packResampleTaps(
  x: ResampleTaps,
  y: ResampleTaps,
): { data: Float32Array; layout: PackedTapsLayout } {
  const axisLength = (t: ResampleTaps) => t.start.length * (2 + t.maxTaps);
  const yBase = axisLength(x);
  const data = new Float32Array(yBase + axisLength(y));
  for (const [t, base] of [
    [x, 0],
    [y, yBase],
  ] as const) {
    const n = t.start.length;
    data.set(t.start, base);
    data.set(t.count, base + n);
    data.set(t.weights.subarray(0, n * t.maxTaps), base + 2 * n);
  }
  return { data, layout: { maxTapsX: x.maxTaps, maxTapsY: y.maxTaps, yBase, length: data.length } };
}

export function resizeNormalize(
  ctx: KernelContext,
  image: GpuView,
  taps: GpuView,
  out: GpuView,
  params: ResizeNormalizeParams,
): void {
  const { srcWidth, srcHeight, resizedWidth, resizedHeight, top, left } = params;
  const sizes = [srcWidth, srcHeight, resizedWidth, resizedHeight];
  if (!sizes.every((s) => Number.isInteger(s) && s > 0)) {
    invalid(`resizeNormalize: bad sizes ${srcWidth}×${srcHeight} → ${resizedWidth}×${resizedHeight}`);
  }
  if (!Number.isInteger(top) || !Number.isInteger(left))
    invalid('resizeNormalize: crop offsets must be integers');
  // One u32 per RGBA pixel; accept [H, W, 4] byte dims or [H, W] word dims describing the same buffer.
  const words =
    image.dims.length === 3 && image.dims[2] === 4 ? elementCount(image.dims) / 4 : elementCount(image.dims);
  if (words !== srcWidth * srcHeight) {
    invalid(`resizeNormalize: image view [${image.dims}] does not hold ${srcWidth}×${srcHeight} RGBA pixels`);
  }
  const layout = params.taps;
  const need = layout.yBase + resizedHeight * (2 + layout.maxTapsY);
  if (layout.yBase !== resizedWidth * (2 + layout.maxTapsX) || elementCount(taps.dims) < need) {
    invalid(
      `resizeNormalize: taps view [${taps.dims}] does not match ${resizedWidth}×${resizedHeight} outputs`,
    );
  }
  expectFloat32('resizeNormalize taps', taps);
  expectFloat32('resizeNormalize output', out);
  if (out.dims.length !== 4 || out.dims[1] !== 3) {
    invalid(`resizeNormalize: output must be [N, 3, H, W], got [${out.dims}]`);
  }
  const [batch, , outH, outW] = out.dims;
  const index = params.batchIndex ?? 0;
  if (!(Number.isInteger(index) && index >= 0 && index < batch)) {
    invalid(`resizeNormalize: batch index ${index} outside [0, ${batch})`);
  }
  if (outH === 0 || outW === 0) return;
  const mid = ctx.scratch('float32', [3, srcHeight, resizedWidth]);
  const uniforms = new UniformWriter()
    .u32s([srcWidth, srcHeight, resizedWidth, resizedHeight, outW, outH])
    .i32s([top, left])
    .u32s([layout.maxTapsX, layout.maxTapsY, layout.yBase, index * 3 * outH * outW])
    .f32s([...params.scale, 0, ...params.shift, 0])
    .finish();
  const bindings = [image, taps, mid, out];
  ctx.record({
    label: 'ResizeHorizontal',
    wgsl: resizeWgsl,
    cacheKey: 'resize-normalize',
    entryPoint: 'horizontal',
    workgroups: [Math.ceil(resizedWidth / 16), Math.ceil(srcHeight / 16)],
    bindings,
    uniforms,
  });
  ctx.record({
    label: 'ResizeVerticalNormalize',
    wgsl: resizeWgsl,
    cacheKey: 'resize-normalize',
    entryPoint: 'vertical',
    workgroups: [Math.ceil(outW / 16), Math.ceil(outH / 16)],
    bindings,
    uniforms,
  });
}
