// Lowerings of ONNX's integer quantized ops onto ops/integer.ts: MatMulInteger, ConvInteger (onnxruntime
// quantize_dynamic's forms when the pack-quantized pass cannot fold them) and QLinearMatMul, QLinearConv (its
// QOperator format). Their small operands are packed into one int32 buffer (zero points, bias) and one float32
// buffer (scales): at plan time when all are constants, else by one copy each.
import type { DType } from '../../tensor';
import { type ConvParams, convParams } from '../ir/conv-params';
import * as ops from '../ops';
import { MAX_CONV_INTEGER_RANK, type PackedSlice, type Requantize } from '../ops/integer';
import type { GpuView } from './kernel-context';
import { type LowerArgs, type Lowering, need, unsupported } from './lower-args';

/** Inputs `indices` (null, or an absent optional input: one 0) as slices of one buffer of `dtype`. */
function pack(
  a: LowerArgs,
  dtype: 'int32' | 'float32',
  indices: readonly (number | null)[],
): { view: GpuView; slices: PackedSlice[] } {
  const present = (i: number | null): i is number => i !== null && a.inputs[i] != null;
  const lengths = indices.map((i) => (present(i) ? need(a, i).dims.reduce((p, d) => p * d, 1) : 1));
  const slices = lengths.map((length, j) => ({ at: lengths.slice(0, j).reduce((p, l) => p + l, 0), length }));
  const total = lengths.reduce((p, l) => p + l, 0);
  const Data = dtype === 'int32' ? Int32Array : Float32Array;
  const values = indices.map((i) => (present(i) ? a.constant(i) : { data: [0] }));
  if (values.every((v) => v !== undefined)) {
    const data = new Data(total);
    values.forEach((v, j) => {
      data.set(Array.from(v?.data ?? [], Number), slices[j].at);
    });
    return { view: a.ctx.constant(dtype, [total], data), slices };
  }
  const flat = (v: GpuView, length: number): GpuView => ({ ...v, dtype, dims: [length] });
  const view = a.ctx.scratch(dtype, [total]);
  const parts = indices.map((i, j) =>
    flat(present(i) ? need(a, i) : a.ctx.constant(dtype, [1], new Data(1)), lengths[j]),
  );
  ops.concat(a.ctx, parts, view, 0);
  return { view, slices };
}

/** A or x must be 8-bit codes (so must B or w): the packed zero points are read as the same i32 storage. */
function codes(a: LowerArgs, i: number): GpuView {
  const v = need(a, i);
  const ok: readonly DType[] = ['uint8', 'int8'];
  if (!ok.includes(v.dtype)) unsupported(a.node, `a ${v.dtype} input ${i}`);
  return v;
}

function conv(a: LowerArgs, x: GpuView, w: GpuView): ConvParams {
  if (x.dims.length - 2 > MAX_CONV_INTEGER_RANK) unsupported(a.node, `${x.dims.length - 2} spatial axes`);
  return convParams(a.node, x.dims, w.dims);
}

export const QUANTIZED_LOWERINGS: Readonly<Record<string, Lowering>> = {
  // (A, B, a_zero_point?, b_zero_point?) → int32.
  MatMulInteger: (a) => {
    const { view, slices } = pack(a, 'int32', [2, 3]);
    ops.matmulInteger(a.ctx, codes(a, 0), codes(a, 1), a.outputs[0], {
      ints: view,
      aZero: slices[0],
      bZero: slices[1],
    });
  },
  // (x, w, x_zero_point?, w_zero_point?) → int32.
  ConvInteger: (a) => {
    const [x, w] = [codes(a, 0), codes(a, 1)];
    const { view, slices } = pack(a, 'int32', [2, 3]);
    ops.convInteger(a.ctx, x, w, a.outputs[0], conv(a, x, w), {
      ints: view,
      aZero: slices[0],
      bZero: slices[1],
    });
  },
  // (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) → y's code type.
  QLinearMatMul: (a) => {
    const ints = pack(a, 'int32', [2, 5, 7, null]);
    const scales = pack(a, 'float32', [1, 4, 6]);
    ops.matmulInteger(a.ctx, codes(a, 0), codes(a, 3), a.outputs[0], {
      ints: ints.view,
      aZero: ints.slices[0],
      bZero: ints.slices[1],
      requant: requantize(ints.slices, scales),
    });
  },
  // (x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B?) → y's code type.
  QLinearConv: (a) => {
    const [x, w] = [codes(a, 0), codes(a, 3)];
    const ints = pack(a, 'int32', [2, 5, 7, 8]);
    const scales = pack(a, 'float32', [1, 4, 6]);
    ops.convInteger(a.ctx, x, w, a.outputs[0], conv(a, x, w), {
      ints: ints.view,
      aZero: ints.slices[0],
      bZero: ints.slices[1],
      requant: requantize(ints.slices, scales),
    });
  },
};

function requantize(
  ints: readonly PackedSlice[],
  scales: { view: GpuView; slices: PackedSlice[] },
): Requantize {
  const [aScale, bScale, yScale] = scales.slices;
  return { scales: scales.view, aScale, bScale, yScale, yZero: ints[2], bias: ints[3] };
}
