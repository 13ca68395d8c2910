// Elementwise unary ops, GELU and Cast (shaders/unary.wgsl + shaders/activations.wgsl).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import unaryWgsl from '../../../../shaders/unary.wgsl?raw';
import { WRAPPED_INTS } from '../ir/const-eval';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  f32Literal,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
  type WgslScalar,
  wgslScalar,
} from './common';
import type { UnaryOp, UnaryParams } from './types';

/** WGSL for each op on `v` (f32); `u.alpha`/`u.beta` carry the op's attributes. */
const FLOAT_EXPR: Record<UnaryOp, string> = {
  Identity: 'v',
  Abs: 'abs(v)',
  Neg: '-v',
  Relu: 'max(v, 0.0)',
  Sigmoid: 'sigmoid_f32(v)',
  Tanh: 'tanh_f32(v)',
  Erf: 'erf_f32(v)',
  Exp: 'exp(v)',
  Log: 'log(v)',
  Sqrt: 'sqrt(v)',
  Reciprocal: '1.0 / v',
  Floor: 'floor(v)',
  Ceil: 'ceil(v)',
  // ONNX Round is round-half-to-even, which is exactly WGSL round().
  Round: 'round(v)',
  Sin: 'sin_f32(v)',
  Cos: 'cos_f32(v)',
  Sign: 'sign(v)',
  Not: 'select(0.0, 1.0, v == 0.0)',
  Gelu: 'gelu_erf(v)',
  GeluTanh: 'gelu_tanh(v)',
  QuickGelu: 'quick_gelu(v)',
  LeakyRelu: 'select(v * u.alpha, v, v >= 0.0)',
  Clip: 'clamp(v, u.alpha, u.beta)',
  HardSigmoid: 'clamp(u.alpha * v + u.beta, 0.0, 1.0)',
  // log1p(exp(v)) without overflow for large v.
  Softplus: 'select(log(1.0 + exp(v)), v, v > 20.0)',
  Tan: 'sin_f32(v) / cos_f32(v)',
  Asin: 'asin(v)',
  Acos: 'acos(v)',
  Atan: 'atan(v)',
  Sinh: 'sinh(v)',
  Cosh: 'cosh(v)',
  Asinh: 'asinh(v)',
  Acosh: 'acosh(v)',
  Atanh: 'atanh(v)',
  Softsign: 'v / (1.0 + abs(v))',
  Elu: 'select(u.alpha * (exp(v) - 1.0), v, v > 0.0)',
  // beta carries Selu's gamma.
  Selu: 'u.beta * select(u.alpha * (exp(v) - 1.0), v, v > 0.0)',
  Celu: 'max(v, 0.0) + min(0.0, u.alpha * (exp(v / u.alpha) - 1.0))',
  ThresholdedRelu: 'select(0.0, v, v > u.alpha)',
  HardSwish: 'v * clamp(v / 6.0 + 0.5, 0.0, 1.0)',
  // alpha: lambd, beta: bias.
  Shrink: 'select(select(0.0, v - u.beta, v > u.alpha), v + u.beta, v < -u.alpha)',
};

/** Ops that also make sense on the i32 family (ints and bools). */
const INT_EXPR: Partial<Record<UnaryOp, string>> = {
  Identity: 'v',
  Abs: 'abs(v)',
  Neg: '-v',
  Relu: 'max(v, 0)',
  Sign: 'sign(v)',
  Not: 'select(0, 1, v == 0)',
  Clip: 'clamp(v, i32(u.alpha), i32(u.beta))',
};

/** ONNX's attribute defaults. */
const DEFAULT_ALPHA: Partial<Record<UnaryOp, number>> = {
  LeakyRelu: 0.01,
  Clip: -3.4e38,
  HardSigmoid: 0.2,
  Elu: 1,
  Selu: 1.6732631921768188,
  Celu: 1,
  ThresholdedRelu: 1,
  Shrink: 0.5,
};
const DEFAULT_BETA: Partial<Record<UnaryOp, number>> = {
  Clip: 3.4e38,
  HardSigmoid: 0.5,
  Selu: 1.0507010221481323,
};

function recordElementwise(
  ctx: KernelContext,
  label: string,
  x: GpuView,
  out: GpuView,
  types: { in: WgslScalar; out: WgslScalar },
  expr: string,
  alpha: number,
  beta: number,
): void {
  expectDims(`${label} output`, out, x.dims);
  const n = elementCount(x.dims);
  if (n === 0) return;
  const wgsl = specialize(activationsWgsl + unaryWgsl, { IN: types.in, OUT: types.out, EXPR: expr });
  ctx.record({
    label,
    wgsl,
    cacheKey: `unary|${types.in}|${types.out}|${expr}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, out],
    uniforms: new UniformWriter().u32s([n]).f32s([alpha, beta]).finish(),
  });
}

export function unary(ctx: KernelContext, x: GpuView, out: GpuView, params: UnaryParams): void {
  const { op } = params;
  if (x.dtype !== out.dtype) invalid(`${op}: output dtype ${out.dtype} differs from input ${x.dtype}`);
  if (x.dtype === 'float16') invalid(`${op}: float16 is not supported by the unary kernel yet`);
  const scalar = wgslScalar(x.dtype);
  const expr = scalar === 'f32' ? FLOAT_EXPR[op] : INT_EXPR[op];
  if (expr === undefined) invalid(`${op} is not defined for ${x.dtype}`);
  const alpha = params.alpha ?? DEFAULT_ALPHA[op] ?? 0;
  const beta = params.beta ?? DEFAULT_BETA[op] ?? 0;
  recordElementwise(ctx, op, x, out, { in: scalar, out: scalar }, expr, alpha, beta);
}

const GELU_OP = { none: 'Gelu', tanh: 'GeluTanh', quick: 'QuickGelu' } as const;

export function gelu(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  approximate: 'none' | 'tanh' | 'quick' = 'none',
): void {
  if (x.dtype !== 'float32') invalid(`Gelu needs float32, got ${x.dtype}`);
  unary(ctx, x, out, { op: GELU_OP[approximate] });
}

/** f32 → the nearest half, as f32 again (pack2x16float rounds; no shader-f16 needed). */
const ROUND_TO_HALF = 'unpack2x16float(pack2x16float(vec2<f32>(v, 0.0))).x';

/**
 * f32 → the nearest bfloat16 (ties to even), as f32 again: the low 16 bits rounded away on the bits, as
 * onnxruntime's Cast does. NaN keeps its NaN (the add could carry it into infinity).
 */
function roundToBfloat16(value: string): string {
  const bits = `bitcast<u32>(${value})`;
  const rounded = `((${bits} + 0x7fffu + ((${bits} >> 16u) & 1u)) & 0xffff0000u)`;
  return `bitcast<f32>(select(${rounded}, 0x7fc00000u, (${bits} & 0x7fffffffu) > 0x7f800000u))`;
}

/** The ONNX element type a view's dtype names, where it holds no wider type (ir/const-eval.ts ONNX_TO). */
const ONNX_CODE: Partial<Record<GpuView['dtype'], number>> = { uint8: 2, int8: 3 };

/**
 * Cast between the GPU forms (f32, one i32 per element). `to`: the node's ONNX element type, when it says more
 * than `out`'s dtype: float16 or bfloat16 (values stay f32 on the GPU, plan.ts, rounded to that precision), or
 * int16 / uint16 held as i32. Integer targets narrower than i32 wrap to their width, as NumPy and onnxruntime do.
 */
export function cast(ctx: KernelContext, x: GpuView, out: GpuView, to?: number): void {
  if (x.dtype === 'float16' || out.dtype === 'float16') invalid('Cast: float16 views are f32 on the GPU');
  if (to === 10 || to === 16) {
    const from = wgslScalar(x.dtype);
    const value = from === 'f32' ? 'v' : 'f32(v)';
    const [label, expr] =
      to === 10
        ? ['float16', ROUND_TO_HALF.replace('v,', `${value},`)]
        : ['bfloat16', roundToBfloat16(value)];
    recordElementwise(ctx, `Cast(${x.dtype}→${label})`, x, out, { in: from, out: 'f32' }, expr, 0, 0);
    return;
  }
  const from = wgslScalar(x.dtype);
  const target = wgslScalar(out.dtype);
  let expr: string;
  if (out.dtype === 'bool') {
    expr = from === 'f32' ? 'select(0, 1, v != 0.0)' : 'select(0, 1, v != 0)';
  } else if (from === target) {
    expr = 'v';
  } else if (target === 'i32') {
    // WGSL f32→i32 truncates toward zero and saturates, as ONNX Cast does for in-range values.
    expr = 'i32(v)';
  } else {
    expr = 'f32(v)';
  }
  const wrap = WRAPPED_INTS[ONNX_CODE[out.dtype] ?? to ?? 0];
  if (wrap) {
    const shift = 32 - wrap.bits;
    expr = wrap.signed ? `((${expr} << ${shift}u) >> ${shift}u)` : `(${expr} & ${2 ** wrap.bits - 1})`;
  }
  recordElementwise(ctx, `Cast(${x.dtype}→${out.dtype})`, x, out, { in: from, out: target }, expr, 0, 0);
}

/** bits & 0x7fffffff of an f32: above 0x7f800000 is NaN, equal is ±infinity (a bit test, since a compiler may
 * assume v == v). */
const MAGNITUDE = '(bitcast<u32>(v) & 0x7fffffffu)';

export function isNan(ctx: KernelContext, x: GpuView, out: GpuView): void {
  if (x.dtype !== 'float32') invalid(`IsNaN needs float32, got ${x.dtype}`);
  if (out.dtype !== 'bool') invalid(`IsNaN writes bool, got ${out.dtype}`);
  recordElementwise(
    ctx,
    'IsNaN',
    x,
    out,
    { in: 'f32', out: 'i32' },
    `select(0, 1, ${MAGNITUDE} > 0x7f800000u)`,
    0,
    0,
  );
}

export function isInf(ctx: KernelContext, x: GpuView, out: GpuView, positive = true, negative = true): void {
  if (x.dtype !== 'float32') invalid(`IsInf needs float32, got ${x.dtype}`);
  if (out.dtype !== 'bool') invalid(`IsInf writes bool, got ${out.dtype}`);
  const sign = positive && negative ? 'true' : positive ? 'v > 0.0' : negative ? 'v < 0.0' : 'false';
  const expr = `select(0, 1, ${MAGNITUDE} == 0x7f800000u && ${sign})`;
  recordElementwise(ctx, 'IsInf', x, out, { in: 'f32', out: 'i32' }, expr, 0, 0);
}

/** DequantizeLinear with one scale and zero point: y = (x − zeroPoint) · scale, 8-bit codes held as i32. */
export function dequantize(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  scale: number,
  zeroPoint: number,
): void {
  if (x.dtype !== 'uint8' && x.dtype !== 'int8' && x.dtype !== 'int32')
    invalid(`DequantizeLinear: codes must be integers, got ${x.dtype}`);
  if (out.dtype !== 'float32') invalid(`DequantizeLinear writes float32, got ${out.dtype}`);
  recordElementwise(
    ctx,
    'DequantizeLinear',
    x,
    out,
    { in: 'i32', out: 'f32' },
    '(f32(v) - u.beta) * u.alpha',
    scale,
    zeroPoint,
  );
}

/** The codes an 8-bit QuantizeLinear output holds. */
export function quantizedRange(dtype: GpuView['dtype']): readonly [number, number] {
  if (dtype === 'uint8') return [0, 255];
  if (dtype === 'int8') return [-128, 127];
  return invalid(`QuantizeLinear writes uint8 or int8, got ${dtype}`);
}

/** QuantizeLinear with one scale and zero point: saturate(round_half_even(x / scale) + zero point). */
export function quantize(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  scale: number,
  zeroPoint: number,
): void {
  if (x.dtype !== 'float32') invalid(`QuantizeLinear reads float32, got ${x.dtype}`);
  const [lo, hi] = quantizedRange(out.dtype);
  recordElementwise(
    ctx,
    'QuantizeLinear',
    x,
    out,
    { in: 'f32', out: 'i32' },
    `i32(clamp(round(v / u.alpha) + u.beta, ${f32Literal(lo)}, ${f32Literal(hi)}))`,
    scale,
    zeroPoint,
  );
}
