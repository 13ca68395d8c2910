// ONNX ConvTranspose: the geometry a node asks for once its input and weight shapes are known (kernel, strides,
// dilations, the leading pads and the output size from `pads`, auto_pad or output_shape, and output_padding),
// shared by shape inference (op-shapes.ts) and the lowering (ops/conv-transpose.ts). Padding worked out from an
// output size goes as the spec says: SAME_UPPER puts the odd one at the end, otherwise at the start.
import { convAttributes } from './conv-params';
import { attrInts, type Node } from './ir';

/** Spatial ranks the kernel handles. */
export const MAX_CONV_TRANSPOSE_RANK = 3;

export interface ConvTransposeParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly outSpatial: readonly number[];
  readonly group: number;
  readonly outChannels: number;
}

export function convTransposeParams(
  node: Node,
  xDims: readonly number[],
  wDims: readonly number[],
): ConvTransposeParams {
  const { kernel, strides, dilations, pads, autoPad, group, fail } = convAttributes(node, xDims, wDims);
  const spatial = xDims.slice(2);
  const rank = spatial.length;
  if (xDims[1] !== wDims[0]) fail(`${xDims[1]} input channels, weight [${wDims}]`);
  const adjust = attrInts(node, 'output_padding') ?? Array<number>(rank).fill(0);
  if (adjust.length !== rank || adjust.some((v) => !Number.isInteger(v) || v < 0))
    fail(`output_padding [${adjust}] for ${rank} spatial axes`);
  const given = attrInts(node, 'output_shape');
  if (given && given.length !== rank && given.length !== rank + 2) fail(`output_shape [${given}]`);
  const padsBegin: number[] = [];
  const outSpatial = spatial.map((size, i) => {
    // The output before any padding is cut: (in − 1)·stride + the dilated kernel + output_padding.
    const full = (size - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + adjust[i];
    const target = given
      ? given[given.length - rank + i]
      : autoPad.startsWith('SAME')
        ? size * strides[i]
        : undefined;
    if (target === undefined) {
      const [begin, end] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + rank]];
      padsBegin.push(begin);
      return full - begin - end;
    }
    const total = Math.max(0, full - target);
    padsBegin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2));
    return given ? target : full - total;
  });
  if (outSpatial.some((d) => d < 1)) fail(`output [${outSpatial}] from input [${xDims}]`);
  return { kernel, strides, dilations, padsBegin, outSpatial, group, outChannels: wDims[1] * group };
}
