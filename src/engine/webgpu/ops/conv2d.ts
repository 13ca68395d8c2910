// 2-D convolution, NCHW (shaders/conv2d.wgsl + shaders/activations.wgsl).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import conv2dWgsl from '../../../../shaders/conv2d.wgsl?raw';
import conv2dIm2colWgsl from '../../../../shaders/conv2d-im2col.wgsl?raw';
import conv2dWindowWgsl from '../../../../shaders/conv2d-window.wgsl?raw';
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
import { ACTIVATION_CODE, matmul } from './matmul';
import type { Conv2dParams, Conv2dVariant } from './types';

/** Output dims of a Conv with explicit pads (ONNX auto_pad must be resolved by the caller). */
export function conv2dOutputDims(
  xDims: readonly number[],
  wDims: readonly number[],
  params: Conv2dParams = {},
): number[] {
  const [n, , h, w] = xDims;
  const [cOut, , kh, kw] = wDims;
  const [sh, sw] = params.strides ?? [1, 1];
  const [pt, pl, pb, pr] = params.pads ?? [0, 0, 0, 0];
  const [dh, dw] = params.dilations ?? [1, 1];
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  return [n, cOut, oh, ow];
}

/** Output columns per thread of the blocked kernels (conv2d.wgsl main_blocked, conv2d-window.wgsl). */
const BLOCK_COLUMNS = 4;
/** Largest kernel size, stride or dilation compiled into conv2d-window.wgsl (its input span stays small). */
const MAX_WINDOW_CONSTANT = 8;
/**
 * Largest im2col buffer one matmul reads (bytes); a larger batch runs in chunks of images. A 3×3 conv of 64
 * channels on a 224×224 image needs 116 MB per image, so such convs stay on the direct kernels.
 */
const MAX_IM2COL_BYTES = 64 << 20;
/** Storage views must start on this byte boundary (WebGPU's default minStorageBufferOffsetAlignment). */
const VIEW_ALIGNMENT = 256;

export function conv2d(
  ctx: KernelContext,
  x: GpuView,
  w: GpuView,
  bias: GpuView | null,
  out: GpuView,
  params: Conv2dParams = {},
): void {
  expectFloat32('Conv input', x);
  expectFloat32('Conv weight', w);
  expectFloat32('Conv output', out);
  if (x.dims.length !== 4 || w.dims.length !== 4) invalid('Conv: input and weight must be 4-D (NCHW, OIHW)');
  const group = params.group ?? 1;
  const [, cIn, h, wd] = x.dims;
  const [cOut, cInPerGroup, kh, kw] = w.dims;
  if (!Number.isInteger(group) || group < 1 || cIn % group !== 0 || cOut % group !== 0) {
    invalid(`Conv: group ${group} must divide Cin ${cIn} and Cout ${cOut}`);
  }
  if (cInPerGroup * group !== cIn)
    invalid(`Conv: weight expects ${cInPerGroup * group} input channels, input has ${cIn}`);
  if (bias) {
    expectFloat32('Conv bias', bias);
    if (elementCount(bias.dims) !== cOut) invalid(`Conv: bias has dims [${bias.dims}], expected [${cOut}]`);
  }
  const outDims = conv2dOutputDims(x.dims, w.dims, params);
  if (outDims[2] <= 0 || outDims[3] <= 0) invalid(`Conv: empty output [${outDims}]`);
  expectDims('Conv output', out, outDims);
  const total = elementCount(outDims);
  if (total === 0) return;
  const [sh, sw] = params.strides ?? [1, 1];
  const [pt, pl] = params.pads ?? [0, 0, 0, 0];
  const [dh, dw] = params.dilations ?? [1, 1];
  const perGroup = cOut / group;
  const uniforms = (threads: number) =>
    new UniformWriter()
      .u32s([outDims[0], cIn, h, wd, cOut, outDims[2], outDims[3], kh, kw, sh, sw, pt, pl, dh, dw, group])
      .u32s([bias ? 1 : 0, ACTIVATION_CODE[params.activation ?? 'none'], threads])
      .finish();
  const rowBlocks = outDims[0] * cOut * outDims[2] * Math.ceil(outDims[3] / BLOCK_COLUMNS);
  const columnBytes = params.maxColumnBytes ?? MAX_IM2COL_BYTES;
  if (!Number.isSafeInteger(columnBytes) || columnBytes < 1)
    invalid(`Conv: maxColumnBytes must be a positive integer, got ${columnBytes}`);
  const chunk = im2colChunk(x.dims, w.dims, outDims, group, x.offset ?? 0, out.offset ?? 0, columnBytes);
  const windowFits = perGroup % 8 === 0 && Math.max(kh, kw, sh, sw, dh, dw) <= MAX_WINDOW_CONSTANT;
  const variant: Conv2dVariant =
    params.variant ??
    (ctx.features.softwareAdapter === true && chunk > 0
      ? 'im2col'
      : windowFits
        ? 'window'
        : perGroup % 4 === 0
          ? 'blocked'
          : 'direct');
  if (variant === 'im2col') {
    if (chunk === 0)
      invalid('Conv: the im2col variant needs group 1, K and OH·OW multiples of 4, and columns that fit');
    conv2dIm2col(ctx, x, w, bias, out, outDims, params, chunk);
    return;
  }
  if (variant === 'window') {
    if (!windowFits)
      invalid('Conv: the window variant needs Cout per group % 8 = 0 and a window of at most 8');
    // 8 channels × 4 columns a thread, the window's sizes compiled in (shaders/conv2d-window.wgsl).
    const window = { KH: kh, KW: kw, SH: sh, SW: sw, DH: dh, DW: dw };
    ctx.record({
      label: 'Conv',
      wgsl: activationsWgsl + conv2dWgsl + specialize(conv2dWindowWgsl, window),
      cacheKey: `conv2d|window|${Object.values(window).join('x')}`,
      entryPoint: 'main_window',
      workgroups: grid1d(Math.ceil(rowBlocks / 8 / ELEMENTWISE_WORKGROUP)),
      bindings: [x, w, bias ?? w, out],
      uniforms: uniforms(rowBlocks / 8),
    });
    return;
  }
  // 4 output channels × 4 columns per thread where the channels of a group come in fours.
  const blocked = variant === 'blocked';
  if (blocked && perGroup % 4 !== 0) invalid('Conv: the blocked variant needs Cout per group % 4 = 0');
  const threads = blocked ? rowBlocks / 4 : total;
  ctx.record({
    label: 'Conv',
    wgsl: activationsWgsl + conv2dWgsl,
    cacheKey: 'conv2d',
    entryPoint: blocked ? 'main_blocked' : 'main',
    workgroups: grid1d(Math.ceil(threads / ELEMENTWISE_WORKGROUP)),
    bindings: [x, w, bias ?? w, out],
    uniforms: uniforms(threads),
  });
}

/**
 * Images per im2col chunk (0: the variant does not apply). The columns of one image are K = Cin·kH·kW rows of
 * OH·OW floats; a chunk must fit maxBytes, and the views of later chunks must start on VIEW_ALIGNMENT.
 */
function im2colChunk(
  xDims: readonly number[],
  wDims: readonly number[],
  outDims: readonly number[],
  group: number,
  xOffset: number,
  outOffset: number,
  maxBytes: number,
): number {
  const [n, cIn, h, w] = xDims;
  const [cOut, , kh, kw] = wDims;
  const p = outDims[2] * outDims[3];
  // The matmul's vec4 form needs K and the columns in fours; a 3-channel first layer (K = 27) ran slower
  // through the scalar form than on conv2d-window.wgsl.
  if (group !== 1 || (cIn * kh * kw) % 4 !== 0 || p % 4 !== 0) return 0;
  const perImage = cIn * kh * kw * p * 4;
  const chunk = Math.min(n, Math.floor(maxBytes / perImage));
  if (chunk === 0 || chunk === n) return chunk;
  const aligned = (bytes: number) => bytes % VIEW_ALIGNMENT === 0;
  const xBytes = chunk * cIn * h * w * 4;
  const outBytes = chunk * cOut * p * 4;
  return aligned(xOffset) && aligned(outOffset) && aligned(xBytes) && aligned(outBytes) ? chunk : 0;
}

/**
 * A convolution as a matmul: the input windows written out as columns (shaders/conv2d-im2col.wgsl), then the
 * [Cout, Cin·kH·kW] weights times them per image, bias per row, giving NCHW. On SwiftShader that runs a ViT
 * stem's 3×3 convs 2–3.5× faster than conv2d-window.wgsl (tests/kernels/software-variants.bench.ts), whose
 * per-thread index arithmetic and bounds checks cost more than the columns' extra memory traffic.
 */
function conv2dIm2col(
  ctx: KernelContext,
  x: GpuView,
  w: GpuView,
  bias: GpuView | null,
  out: GpuView,
  outDims: readonly number[],
  params: Conv2dParams,
  chunk: number,
): void {
  const [n, cIn, h, wd] = x.dims;
  const [cOut, , kh, kw] = w.dims;
  const [sh, sw] = params.strides ?? [1, 1];
  const [pt, pl] = params.pads ?? [0, 0, 0, 0];
  const [dh, dw] = params.dilations ?? [1, 1];
  const k = cIn * kh * kw;
  const p = outDims[2] * outDims[3];
  const weights: GpuView = { ...w, dims: [cOut, k] };
  const rowBias = bias ? { ...bias, dims: [cOut, 1] } : null;
  const cols = ctx.scratch('float32', [chunk, k, p]);
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const images = Math.min(chunk, n - b0);
    const threads = images * k * Math.ceil(p / 4);
    ctx.record({
      label: 'Conv (im2col)',
      wgsl: conv2dIm2colWgsl,
      cacheKey: 'conv2d|im2col',
      workgroups: grid1d(Math.ceil(threads / ELEMENTWISE_WORKGROUP)),
      bindings: [{ ...x, dims: [images, cIn, h, wd], offset: (x.offset ?? 0) + b0 * cIn * h * wd * 4 }, cols],
      uniforms: new UniformWriter()
        .u32s([cIn, h, wd, outDims[3], kh, kw, sh, sw, pt, pl, dh, dw, k, p, threads, 0])
        .finish(),
    });
    const colsView = images === chunk ? cols : { ...cols, dims: [images, k, p] };
    const outView = { ...out, dims: [images, cOut, p], offset: (out.offset ?? 0) + b0 * cOut * p * 4 };
    matmul(ctx, weights, colsView, rowBias, outView, { activation: params.activation });
  }
}
