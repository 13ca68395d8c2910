// Elementwise binary ops and Where, NumPy broadcasting (shaders/binary.wgsl, shaders/where.wgsl).
import binaryWgsl from '../../../../shaders/binary.wgsl?raw';
import whereWgsl from '../../../../shaders/where.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  broadcastDims,
  broadcastStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  sameDims,
  specialize,
  UniformWriter,
  wgslScalar,
} from './common';
import type { BinaryOp } from './types';

/** Uniform arrays hold 8 dims (2 vec4 slots); higher ranks do not occur in our models. */
export const MAX_RANK = 8;

const ARITH_F32: Partial<Record<BinaryOp, string>> = {
  Add: 'x + y',
  Sub: 'x - y',
  Mul: 'x * y',
  Div: 'x / y',
  Pow: 'pow_onnx(x, y)',
  Max: 'max(x, y)',
  Min: 'min(x, y)',
  // C fmod (ONNX Mod with fmod=1, the only mode ONNX allows for floats).
  Mod: 'x - trunc(x / y) * y',
  FMod: 'x - trunc(x / y) * y',
  PRelu: 'select(x * y, x, x >= 0.0)',
};

const ARITH_I32: Partial<Record<BinaryOp, string>> = {
  Add: 'x + y',
  Sub: 'x - y',
  Mul: 'x * y',
  // Integer division truncates toward zero, as C and ONNX do.
  Div: 'x / y',
  Max: 'max(x, y)',
  Min: 'min(x, y)',
  // ONNX Mod with fmod=0 on ints: the result takes the divisor's sign (Python %).
  Mod: 'select(x % y, x % y + y, (x % y != 0) && ((x % y < 0) != (y < 0)))',
  // ONNX Mod with fmod=1 on ints: C's truncating remainder (the dividend's sign), which WGSL's % is.
  FMod: 'x % y',
  Pow: 'pow_int(x, y)',
  And: 'select(0, 1, x != 0 && y != 0)',
  Or: 'select(0, 1, x != 0 || y != 0)',
  Xor: 'select(0, 1, (x != 0) != (y != 0))',
  PRelu: 'select(x * y, x, x >= 0)',
};

/** uint8, held as i32 in [0, 255]: a left shift is masked to 8 bits; shifts past 7 leave 0. */
const SHIFT_U8: Partial<Record<BinaryOp, string>> = {
  BitShiftLeft: 'select(0, (x << u32(y)) & 255, y < 8)',
  BitShiftRight: 'select(0, x >> u32(y), y < 8)',
};

/**
 * The wider unsigned types, held in the i32 family (onnx-decode.ts narrows uint16 and uint32 to int32, uint64 to
 * int64): shifts of 32 bits, right ones logical; shifts past 31 leave 0.
 */
const SHIFT_U32: Partial<Record<BinaryOp, string>> = {
  BitShiftLeft: 'select(0, x << u32(y), y >= 0 && y < 32)',
  BitShiftRight: 'select(0, i32(u32(x) >> u32(y)), y >= 0 && y < 32)',
};

const COMPARE: Partial<Record<BinaryOp, string>> = {
  Equal: '==',
  Less: '<',
  LessOrEqual: '<=',
  Greater: '>',
  GreaterOrEqual: '>=',
};

function rankCheck(op: string, dims: readonly number[]): void {
  if (dims.length > MAX_RANK) invalid(`${op}: rank ${dims.length} exceeds ${MAX_RANK}`);
}

/**
 * Pow with operands of different dtypes (ONNX Pow has T for the base and T1 for the exponent; the output is T):
 * float base with integer exponent, or integer base with float exponent (integral exponents exactly).
 */
const POW_MIXED: Record<string, string> = {
  'f32|i32': 'pow_onnx(x, f32(y))',
  'i32|f32': 'select(i32(pow_onnx(f32(x), y)), pow_int(x, i32(y)), y == floor(y))',
};

export function binary(ctx: KernelContext, a: GpuView, b: GpuView, out: GpuView, op: BinaryOp): void {
  const mixed = a.dtype !== b.dtype;
  if (mixed && op !== 'Pow') invalid(`${op}: operand dtypes differ (${a.dtype}, ${b.dtype})`);
  if (a.dtype === 'float16' || b.dtype === 'float16')
    invalid(`${op}: float16 is not supported by the binary kernel yet`);
  const dims = broadcastDims(a.dims, b.dims);
  rankCheck(op, dims);
  expectDims(`${op} output`, out, dims);
  const scalar = wgslScalar(a.dtype);
  const scalarB = wgslScalar(b.dtype);
  const cmp = COMPARE[op];
  let expr: string | undefined;
  let outScalar = scalar;
  if (cmp) {
    expr = `select(0, 1, x ${cmp} y)`;
    outScalar = 'i32';
    if (out.dtype !== 'bool') invalid(`${op} writes bool, output is ${out.dtype}`);
  } else {
    expr =
      scalar !== scalarB
        ? POW_MIXED[`${scalar}|${scalarB}`]
        : a.dtype === 'uint8' && SHIFT_U8[op]
          ? SHIFT_U8[op]
          : (a.dtype === 'int32' || a.dtype === 'int64') && SHIFT_U32[op]
            ? SHIFT_U32[op]
            : scalar === 'f32'
              ? ARITH_F32[op]
              : ARITH_I32[op];
    if (out.dtype !== a.dtype) invalid(`${op}: output dtype ${out.dtype} differs from inputs ${a.dtype}`);
  }
  if (expr === undefined) invalid(`${op} is not defined for ${a.dtype}${mixed ? `, ${b.dtype}` : ''}`);
  const n = elementCount(dims);
  if (n === 0) return;
  const same = sameDims(a.dims, dims) && sameDims(b.dims, dims);
  const wgsl = specialize(binaryWgsl, {
    IN: scalar,
    IN_B: scalarB,
    OUT: outScalar,
    EXPR: expr,
    SAME_SHAPE: String(same),
  });
  ctx.record({
    label: op,
    wgsl,
    cacheKey: `binary|${scalar}|${scalarB}|${outScalar}|${expr}|${same}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [a, b, out],
    uniforms: new UniformWriter()
      .u32s([n, dims.length])
      .u32Array(dims, 2)
      .u32Array(broadcastStrides(a.dims, dims), 2)
      .u32Array(broadcastStrides(b.dims, dims), 2)
      .finish(),
  });
}

export function where(ctx: KernelContext, cond: GpuView, x: GpuView, y: GpuView, out: GpuView): void {
  if (cond.dtype !== 'bool') invalid(`Where: condition must be bool, got ${cond.dtype}`);
  if (x.dtype !== y.dtype || out.dtype !== x.dtype) {
    invalid(`Where: x, y and output dtypes must match (${x.dtype}, ${y.dtype}, ${out.dtype})`);
  }
  if (x.dtype === 'float16') invalid('Where: float16 is not supported yet');
  const dims = broadcastDims(broadcastDims(cond.dims, x.dims), y.dims);
  rankCheck('Where', dims);
  expectDims('Where output', out, dims);
  const n = elementCount(dims);
  if (n === 0) return;
  const scalar = wgslScalar(x.dtype);
  ctx.record({
    label: 'Where',
    wgsl: specialize(whereWgsl, { T: scalar }),
    cacheKey: `where|${scalar}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [cond, x, y, out],
    uniforms: new UniformWriter()
      .u32s([n, dims.length])
      .u32Array(dims, 2)
      .u32Array(broadcastStrides(cond.dims, dims), 2)
      .u32Array(broadcastStrides(x.dims, dims), 2)
      .u32Array(broadcastStrides(y.dims, dims), 2)
      .finish(),
  });
}
