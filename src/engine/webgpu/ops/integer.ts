// ONNX's integer quantized ops (shaders/integer.wgsl): MatMulInteger and ConvInteger sum in i32; QLinearMatMul
// and QLinearConv requantize the sum to 8-bit codes. The small operands (zero points, bias, scales) come packed
// in two buffers, each operand a slice of them (plan/lowering-quantized.ts packs them).
import integerWgsl from '../../../../shaders/integer.wgsl?raw';
import type { ConvParams } from '../ir/conv-params';
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
import { matmulGeometry } from './matmul';
import { quantizedRange } from './unary';

/** Spatial axes the conv entry point walks (1-D and 2-D padded to three). */
export const MAX_CONV_INTEGER_RANK = 3;

/** Where one small operand sits in a packed buffer. */
export interface PackedSlice {
  readonly at: number;
  readonly length: number;
}

/** The requantization of QLinearMatMul / QLinearConv; `ints` also holds y's zero point and the int32 bias. */
export interface Requantize {
  /** float32: a's, b's and y's scales. */
  readonly scales: GpuView;
  readonly aScale: PackedSlice;
  readonly bScale: PackedSlice;
  readonly yScale: PackedSlice;
  readonly yZero: PackedSlice;
  readonly bias: PackedSlice;
}

export interface IntegerOperands {
  /** Zero points (and a requantization's y zero point and bias), one i32 each. */
  readonly ints: GpuView;
  readonly aZero: PackedSlice;
  readonly bZero: PackedSlice;
  readonly requant?: Requantize;
}

/** MatMulInteger (int32 out) or, with `requant`, QLinearMatMul (uint8 / int8 out). */
export function matmulInteger(
  ctx: KernelContext,
  a: GpuView,
  b: GpuView,
  out: GpuView,
  q: IntegerOperands,
): void {
  const label = q.requant ? 'QLinearMatMul' : 'MatMulInteger';
  const g = matmulGeometry(a.dims, b.dims, false);
  expectDims(`${label} output`, out, g.outDims);
  // Per row (or per row of every batch) of A, per column (or per column of every batch) of B.
  const aRows = elementCount(a.dims) / Math.max(g.k, 1);
  const bColumns = elementCount(b.dims) / Math.max(g.k, 1);
  expectSlice(label, 'a zero point', q.aZero, [1, g.m, aRows]);
  expectSlice(label, 'b zero point', q.bZero, [1, g.n, bColumns]);
  if (q.requant) {
    expectSlice(label, 'a scale', q.requant.aScale, [1, g.m, aRows]);
    expectSlice(label, 'b scale', q.requant.bScale, [1, g.n, bColumns]);
    expectSlice(label, 'bias', q.requant.bias, [1]);
  }
  const n = elementCount(g.outDims);
  if (n === 0) return;
  const common = operandUniforms(label, a, b, out, q);
  record(ctx, 'matmul_integer', label, [a, b, q.ints, out], q, n, (w) =>
    common(w.u32s([n, g.m, g.k, g.n]))
      .u32s([g.batchDims.length])
      .u32s([q.aZero.at, q.requant?.aScale.at ?? 0, 0])
      .u32Array(g.batchDims, 2)
      .u32Array(g.aBatchStrides, 2)
      .u32Array(g.bBatchStrides, 2)
      // The conv fields, unused.
      .u32Array([], 7),
  );
}

/** ConvInteger (int32 out) or, with `requant`, QLinearConv (uint8 / int8 out) over 1 to 3 spatial axes. */
export function convInteger(
  ctx: KernelContext,
  x: GpuView,
  w: GpuView,
  out: GpuView,
  p: ConvParams,
  q: IntegerOperands,
): void {
  const label = q.requant ? 'QLinearConv' : 'ConvInteger';
  const spatial = x.dims.slice(2);
  if (spatial.length < 1 || spatial.length > MAX_CONV_INTEGER_RANK)
    invalid(`${label}: ${spatial.length} spatial axes (1 to ${MAX_CONV_INTEGER_RANK} are supported)`);
  const [batch, inChannels] = x.dims;
  expectDims(`${label} weight`, w, [p.outChannels, inChannels / p.group, ...p.kernel]);
  expectDims(`${label} output`, out, [batch, p.outChannels, ...p.outSpatial]);
  expectSlice(label, 'x zero point', q.aZero, [1]);
  expectSlice(label, 'w zero point', q.bZero, [1, p.outChannels]);
  if (q.requant) {
    expectSlice(label, 'x scale', q.requant.aScale, [1]);
    expectSlice(label, 'w scale', q.requant.bScale, [1, p.outChannels]);
    expectSlice(label, 'bias', q.requant.bias, [1, p.outChannels]);
  }
  const n = elementCount(out.dims);
  if (n === 0) return;
  const common = operandUniforms(label, x, w, out, q);
  record(ctx, 'conv_integer', label, [x, w, q.ints, out], q, n, (u) =>
    common(u.u32s([n, 0, 0, 0]))
      .u32s([0])
      .u32s([q.aZero.at, q.requant?.aScale.at ?? 0, 0])
      .u32Array([], 2)
      .u32Array([], 2)
      .u32Array([], 2)
      .u32s([inChannels, p.outChannels, inChannels / p.group, p.outChannels / p.group])
      .u32Array(vec4Slot(spatial, 1), 1)
      .u32Array(vec4Slot(p.outSpatial, 1), 1)
      .u32Array(vec4Slot(p.kernel, 1), 1)
      .u32Array(vec4Slot(p.strides, 1), 1)
      .u32Array(vec4Slot(p.dilations, 1), 1)
      .u32Array(vec4Slot(p.padsBegin, 0), 1),
  );
}

function expectSlice(label: string, name: string, s: PackedSlice, lengths: readonly number[]): void {
  if (!lengths.includes(s.length))
    invalid(`${label}: ${name} has ${s.length} values, expected ${[...new Set(lengths)].join(' or ')}`);
}

/** Checks the dtypes and writes the uniform fields both entry points share after the first four words. */
function operandUniforms(
  label: string,
  a: GpuView,
  b: GpuView,
  out: GpuView,
  q: IntegerOperands,
): (w: UniformWriter) => UniformWriter {
  for (const [name, v] of [
    ['a', a],
    ['b', b],
  ] as const)
    if (v.dtype !== 'uint8' && v.dtype !== 'int8')
      invalid(`${label}: ${name} must be uint8 or int8, got ${v.dtype}`);
  if (q.ints.dtype !== 'int32') invalid(`${label}: packed zero points must be int32, got ${q.ints.dtype}`);
  const r = q.requant;
  if (r) {
    expectFloat32(`${label} scales`, r.scales);
    expectSlice(label, 'y scale', r.yScale, [1]);
    expectSlice(label, 'y zero point', r.yZero, [1]);
  } else if (out.dtype !== 'int32') invalid(`${label} writes int32, got ${out.dtype}`);
  const [lo, hi] = r ? quantizedRange(out.dtype) : [0, 0];
  return (w) =>
    w
      .u32s([q.aZero.length, q.bZero.length, r?.aScale.length ?? 1, r?.bScale.length ?? 1])
      .u32s([q.bZero.at, r?.yZero.at ?? 0, r?.bias.at ?? 0, r?.bias.length ?? 1])
      .u32s([r?.bScale.at ?? 0, r?.yScale.at ?? 0])
      .i32s([lo, hi]);
}

function record(
  ctx: KernelContext,
  entryPoint: 'matmul_integer' | 'conv_integer',
  label: string,
  bindings: GpuView[],
  q: IntegerOperands,
  n: number,
  uniforms: (w: UniformWriter) => UniformWriter,
): void {
  const r = q.requant;
  ctx.record({
    label,
    wgsl: specialize(integerWgsl, {
      SCALES: r ? '@group(0) @binding(4) var<storage, read> scales: array<f32>;' : '',
      FINISH: r ? REQUANTIZE : 'return acc;',
      UNIFORM: r ? 5 : 4,
    }),
    cacheKey: `integer|${entryPoint}|${r ? 'requant' : 'sum'}`,
    entryPoint,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: r ? [...bindings, r.scales] : bindings,
    uniforms: uniforms(new UniformWriter()).finish(),
  });
}

/**
 * finish() of the QLinear ops, as onnxruntime requantizes: the multiplier a_scale · b_scale / y_scale in f32, the
 * sum (plus bias) times it, rounded half to even (WGSL's round), plus y's zero point, saturated.
 */
const REQUANTIZE = `let multiplier = scales[u.a_scale_at + row % u.a_scale_len] *
    scales[u.b_scale_at + col % u.b_scale_len] / scales[u.y_scale_at];
  let v = round(f32(acc + ints[u.bias_at + col % u.bias_len]) * multiplier) + f32(ints[u.y_zero_at]);
  return i32(clamp(v, f32(u.lo), f32(u.hi)));`;
