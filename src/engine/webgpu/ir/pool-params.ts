// ONNX AveragePool / MaxPool / GlobalAveragePool / GlobalMaxPool: the windows a node asks for once its input's
// shape is known (kernel, strides, dilations, the pads auto_pad or `pads` give, output size with ceil_mode), shared
// by shape inference (op-shapes.ts) and the lowering (plan/lowering.ts → ops/pool.ts). Output size as onnxruntime
// computes it: with ceil_mode, a last window that would start in the end padding is dropped (onnx/onnx#5741).
import { WebvlError } from '../../../errors';
import { attrInt, attrInts, attrString, type Node } from './ir';

/** Spatial ranks the kernel handles (1-D to 3-D pools, as ONNX's node tests and exporters use). */
export const MAX_POOL_RANK = 3;

export interface PoolParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  /** Output spatial dims. */
  readonly outSpatial: readonly number[];
  /** AveragePool: divide by the window's taps within the padded input, not only those inside the input. */
  readonly countIncludePad: boolean;
  /** MaxPool's Indices: 0 row-major (the last axis fastest), 1 column-major (the first spatial axis fastest). */
  readonly storageOrder: 0 | 1;
}

const AUTO_PADS = ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'];

export function isGlobalPool(node: Pick<Node, 'opType'>): boolean {
  return node.opType === 'GlobalAveragePool' || node.opType === 'GlobalMaxPool';
}

/** The pool a node runs over an input of dims [N, C, ...spatial]. Bad attributes: INVALID_MODEL. */
export function poolParams(node: Node, inputDims: readonly number[]): PoolParams {
  const fail = (why: string): never => {
    throw new WebvlError('INVALID_MODEL', `${node.opType} node '${node.name}': ${why}`);
  };
  const spatial = inputDims.slice(2);
  const rank = spatial.length;
  if (inputDims.length < 3) fail(`input rank ${inputDims.length}, expected [N, C, ...spatial]`);
  if (isGlobalPool(node))
    return {
      kernel: spatial,
      strides: spatial.map(() => 1),
      dilations: spatial.map(() => 1),
      padsBegin: spatial.map(() => 0),
      padsEnd: spatial.map(() => 0),
      outSpatial: spatial.map(() => 1),
      countIncludePad: false,
      storageOrder: 0,
    };
  const kernel = attrInts(node, 'kernel_shape') ?? fail('no kernel_shape');
  const ints = (name: string, fallback: number): readonly number[] => {
    const v = attrInts(node, name) ?? kernel.map(() => fallback);
    if (v.length !== rank) fail(`${name} [${v}] for ${rank} spatial axes`);
    return v;
  };
  if (kernel.length !== rank) fail(`kernel [${kernel}] for input [${inputDims}]`);
  const strides = ints('strides', 1);
  const dilations = ints('dilations', 1);
  if ([...kernel, ...strides, ...dilations].some((v) => !Number.isInteger(v) || v < 1))
    fail('kernel_shape, strides and dilations must be positive');
  const pads = attrInts(node, 'pads') ?? Array<number>(2 * rank).fill(0);
  if (pads.length !== 2 * rank || pads.some((p) => !Number.isInteger(p) || p < 0))
    fail(`pads [${pads}] for ${rank} spatial axes`);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (!AUTO_PADS.includes(autoPad)) fail(`auto_pad '${autoPad}'`);
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const storageOrder = attrInt(node, 'storage_order', 0);
  if (storageOrder !== 0 && storageOrder !== 1) fail(`storage_order ${storageOrder}`);
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const outSpatial = spatial.map((size, i) => {
    const extent = (kernel[i] - 1) * dilations[i] + 1;
    let [begin, end] = [pads[i], pads[i + rank]];
    if (autoPad === 'VALID') [begin, end] = [0, 0];
    else if (autoPad !== 'NOTSET') {
      const needed = Math.max(0, (Math.ceil(size / strides[i]) - 1) * strides[i] + extent - size);
      const head = autoPad === 'SAME_UPPER' ? Math.floor(needed / 2) : Math.ceil(needed / 2);
      [begin, end] = [head, needed - head];
    }
    padsBegin.push(begin);
    padsEnd.push(end);
    const span = size + begin + end - extent;
    if (span < 0)
      fail(`window ${extent} larger than the padded input ${size + begin + end} on axis ${i + 2}`);
    let out = Math.floor(span / strides[i]) + 1;
    if (ceil) {
      out = Math.ceil(span / strides[i]) + 1;
      if ((out - 1) * strides[i] >= size + begin) out--;
    }
    return out;
  });
  return {
    kernel,
    strides,
    dilations,
    padsBegin,
    padsEnd,
    outSpatial,
    countIncludePad: attrInt(node, 'count_include_pad', 0) === 1,
    storageOrder: storageOrder as 0 | 1,
  };
}

/**
 * MaxUnpool's output dims for input dims [N, C, ...spatial]: `output_shape` when given (its last spatial values),
 * else each spatial axis as the MaxPool that made the input would have read it: (in − 1)·stride + kernel − pads.
 */
export function maxUnpoolDims(
  node: Node,
  inputDims: readonly number[],
  outputShape: readonly number[] | undefined,
): number[] {
  const fail = (why: string): never => {
    throw new WebvlError('INVALID_MODEL', `MaxUnpool node '${node.name}': ${why}`);
  };
  const spatial = inputDims.slice(2);
  const rank = spatial.length;
  if (inputDims.length < 3) fail(`input rank ${inputDims.length}, expected [N, C, ...spatial]`);
  if (outputShape) {
    if (outputShape.length !== inputDims.length)
      fail(`output_shape [${outputShape}] for input [${inputDims}]`);
    if (outputShape.some((d) => !Number.isInteger(d) || d < 0)) fail(`output_shape [${outputShape}]`);
    return [...outputShape];
  }
  const kernel = attrInts(node, 'kernel_shape');
  const strides = attrInts(node, 'strides') ?? new Array<number>(rank).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * rank).fill(0);
  if (!kernel || kernel.length !== rank || strides.length !== rank || pads.length !== 2 * rank)
    fail(`kernel_shape [${kernel}], strides [${strides}], pads [${pads}] for ${rank} spatial axes`);
  const out = spatial.map((d, i) => (d - 1) * strides[i] + (kernel?.[i] ?? 0) - pads[i] - pads[i + rank]);
  if (out.some((d) => d < 1)) fail(`no output from input [${inputDims}]`);
  return [...inputDims.slice(0, 2), ...out];
}
