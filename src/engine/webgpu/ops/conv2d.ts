// 2-D convolution, NCHW (shaders/conv2d.wgsl + shaders/activations.wgsl).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import conv2dWgsl from '../../../../shaders/conv2d.wgsl?raw';
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
import { ACTIVATION_CODE } from './matmul';
import type { Conv2dParams } from './types';

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
  if (perGroup % 8 === 0 && Math.max(kh, kw, sh, sw, dh, dw) <= MAX_WINDOW_CONSTANT) {
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
  const blocked = perGroup % 4 === 0;
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
