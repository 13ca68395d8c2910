// Lowerings of ONNX's integer quantized ops onto ops/integer.ts: MatMulInteger, ConvInteger (onnxruntime
// quantize_dynamic's forms when the pack-quantized pass cannot fold them) and QLinearMatMul, QLinearConv (its
// QOperator format). Their small operands are packed into one int32 buffer (zero points, bias) and one float32
// buffer (scales), by packInputs (lower-args.ts).
import type { DType } from '../../tensor';
import { type ConvParams, convParams } from '../ir/conv-params';
import * as ops from '../ops';
import { MAX_CONV_INTEGER_RANK, type PackedSlice, type Requantize } from '../ops/integer';
import type { GpuView } from './kernel-context';
import {
  type LowerArgs,
  type Lowering,
  need,
  type PackedInputs,
  packInputs,
  unsupported,
} from './lower-args';

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
    const { view, slices } = packInputs(a, 'int32', [2, 3]);
    ops.matmulInteger(a.ctx, codes(a, 0), codes(a, 1), a.outputs[0], {
      ints: view,
      aZero: slices[0],
      bZero: slices[1],
    });
  },
  // (x, w, x_zero_point?, w_zero_point?) → int32.
  ConvInteger: (a) => {
    const [x, w] = [codes(a, 0), codes(a, 1)];
    const { view, slices } = packInputs(a, 'int32', [2, 3]);
    ops.convInteger(a.ctx, x, w, a.outputs[0], conv(a, x, w), {
      ints: view,
      aZero: slices[0],
      bZero: slices[1],
    });
  },
  // (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) → y's code type.
  QLinearMatMul: (a) => {
    const ints = packInputs(a, 'int32', [2, 5, 7, null]);
    const scales = packInputs(a, 'float32', [1, 4, 6]);
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
    const ints = packInputs(a, 'int32', [2, 5, 7, 8]);
    const scales = packInputs(a, 'float32', [1, 4, 6]);
    ops.convInteger(a.ctx, x, w, a.outputs[0], conv(a, x, w), {
      ints: ints.view,
      aZero: ints.slices[0],
      bZero: ints.slices[1],
      requant: requantize(ints.slices, scales),
    });
  },
};

function requantize(ints: readonly PackedSlice[], scales: PackedInputs): Requantize {
  const [aScale, bScale, yScale] = scales.slices;
  return { scales: scales.view, aScale, bScale, yScale, yZero: ints[2], bias: ints[3] };
}
