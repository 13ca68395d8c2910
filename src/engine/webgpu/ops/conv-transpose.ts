// ONNX ConvTranspose over 1 to 3 spatial axes (shaders/conv-transpose.wgsl): groups, strides, dilations, pads and
// output size as ir/conv-transpose-params.ts derives them, optional bias.
import convTransposeWgsl from '../../../../shaders/conv-transpose.wgsl?raw';
import { type ConvTransposeParams, MAX_CONV_TRANSPOSE_RANK } from '../ir/conv-transpose-params';
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
  vec4Slot,
} from './common';

export function convTranspose(
  ctx: KernelContext,
  x: GpuView,
  w: GpuView,
  bias: GpuView | null,
  out: GpuView,
  p: ConvTransposeParams,
): void {
  for (const [name, v] of [
    ['input', x],
    ['weight', w],
    ['output', out],
    ...(bias ? [['bias', bias] as const] : []),
  ] as const)
    expectFloat32(`ConvTranspose ${name}`, v);
  const spatial = x.dims.slice(2);
  if (spatial.length < 1 || spatial.length > MAX_CONV_TRANSPOSE_RANK)
    invalid(`ConvTranspose: ${spatial.length} spatial axes (1 to ${MAX_CONV_TRANSPOSE_RANK} are supported)`);
  const [batch, inChannels] = x.dims;
  expectDims('ConvTranspose weight', w, [inChannels, p.outChannels / p.group, ...p.kernel]);
  if (bias) expectDims('ConvTranspose bias', bias, [p.outChannels]);
  const outDims = [batch, p.outChannels, ...p.outSpatial];
  expectDims('ConvTranspose output', out, outDims);
  const n = elementCount(outDims);
  if (n === 0) return;
  const bindings = bias ? [x, w, out, bias] : [x, w, out];
  ctx.record({
    label: 'ConvTranspose',
    wgsl: specialize(convTransposeWgsl, {
      BIAS: bias ? '@group(0) @binding(3) var<storage, read> b: array<f32>;' : '',
      START: bias ? 'b[oc]' : '0.0',
      UNIFORM: bindings.length,
    }),
    cacheKey: `conv-transpose|${bias ? 'bias' : ''}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings,
    uniforms: new UniformWriter()
      .u32s([n, inChannels, p.outChannels, inChannels / p.group, p.outChannels / p.group])
      .u32Array(vec4Slot(spatial, 1), 1)
      .u32Array(vec4Slot(p.outSpatial, 1), 1)
      .u32Array(vec4Slot(p.kernel, 1), 1)
      .u32Array(vec4Slot(p.strides, 1), 1)
      .u32Array(vec4Slot(p.dilations, 1), 1)
      .u32Array(vec4Slot(p.padsBegin, 0), 1)
      .finish(),
  });
}
