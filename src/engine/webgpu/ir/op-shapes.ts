// Per-op shape functions for concrete input shapes: output dtype and dims of every op the engine claims.
import { WebvlError } from '../../../errors';
import type { DType } from '../../tensor';
import { einsumDims } from '../plan/einsum';
import {
  broadcastShape,
  normAxis,
  ONNX_TO,
  reshapeDims,
  size,
  sliceRanges,
  splitSizes,
  squeezeDims,
  unsqueezeDims,
  type Values,
} from './const-eval';
import { convParams } from './conv-params';
import { convTransposeParams } from './conv-transpose-params';
import { attrInt, attrInts, attrString, attrTensor, type Node, opKey } from './ir';
import { causalConvParams, linearAttentionDims, linearAttentionParams } from './linear-attention-params';
import { maxUnpoolDims, poolParams } from './pool-params';
import { resizeParams } from './resize-params';
import { dftParams, stftParams } from './signal-params';

export interface TypedShape {
  readonly dtype: DType;
  readonly dims: readonly number[];
}

export interface ShapeContext {
  readonly node: Node;
  /** Input types/shapes; undefined for omitted optional inputs. */
  readonly inputs: readonly (TypedShape | undefined)[];
  /** The constant value of input i, when it is known at plan time. */
  constant(i: number): Values | undefined;
  readonly opset: number;
}

type ShapeFn = (c: ShapeContext) => TypedShape[];

function fail(c: ShapeContext, why: string): never {
  throw new WebvlError('INVALID_MODEL', `${c.node.opType} node '${c.node.name}': ${why}`);
}

function input(c: ShapeContext, i: number): TypedShape {
  const t = c.inputs[i];
  if (!t) fail(c, `input ${i} is missing`);
  return t;
}

function constInts(c: ShapeContext, i: number, what: string): number[] {
  const v = c.constant(i);
  if (!v) {
    throw new WebvlError(
      'UNSUPPORTED_OP',
      `${c.node.opType} node '${c.node.name}': ${what} must be known at plan time`,
      {
        ops: [c.node.opType],
      },
    );
  }
  return Array.from(v.data);
}

const same: ShapeFn = (c) => [input(c, 0)];

/**
 * An axis normalized against `rank`. Outside [−rank, rank) (or [−rank, rank] where the op allows the end, as
 * Flatten does) is the model's error, as onnxruntime refuses it, not an input's.
 */
function axisIn(c: ShapeContext, axis: number, rank: number, what = 'axis', inclusive = false): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a > (inclusive ? rank : rank - 1))
    fail(c, `${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

const axisAttr = (c: ShapeContext, fallback: number, rank: number, inclusive = false): number =>
  axisIn(c, attrInt(c.node, 'axis', fallback), rank, 'axis', inclusive);

/** The input's type and dims, after checking the op's axis attribute where the node sets one. */
const sameAlongAxis: ShapeFn = (c) => {
  const x = input(c, 0);
  if (c.node.attrs.axis) axisAttr(c, 0, x.dims.length);
  return [x];
};

/** Pad's amounts, begins then ends for every axis: the `pads` input (opset 11+, over `axes` in 18+) or attribute. */
export function padAmounts(c: Pick<ShapeContext, 'node' | 'constant' | 'opset'>, rank: number): number[] {
  const given = c.opset >= 11 ? c.constant(1) : undefined;
  if (c.opset >= 11 && !given) {
    throw new WebvlError('UNSUPPORTED_OP', `Pad node '${c.node.name}': pads must be known at plan time`, {
      ops: ['Pad'],
    });
  }
  const raw = given ? Array.from(given.data) : [...(attrInts(c.node, 'pads') ?? [])];
  const axesValue = c.opset >= 18 && c.node.inputs[3] ? c.constant(3) : undefined;
  if (c.opset >= 18 && c.node.inputs[3] && !axesValue)
    throw new WebvlError('UNSUPPORTED_OP', `Pad node '${c.node.name}': axes must be known at plan time`, {
      ops: ['Pad'],
    });
  const axes = axesValue ? Array.from(axesValue.data, (a) => normAxis(a, rank)) : [...Array(rank).keys()];
  if (axes.some((a) => !(a >= 0 && a < rank)))
    throw new WebvlError(
      'INVALID_MODEL',
      `Pad node '${c.node.name}': axes [${axesValue?.data}] for rank ${rank}`,
    );
  if (raw.length !== 2 * axes.length)
    throw new WebvlError(
      'INVALID_MODEL',
      `Pad node '${c.node.name}': ${raw.length} pads for ${axes.length} axes`,
    );
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    pads[a] = raw[i];
    pads[a + rank] = raw[i + axes.length];
  });
  return pads;
}

const broadcast =
  (dtype?: DType): ShapeFn =>
  (c) => {
    let dims: readonly number[] = [];
    for (let i = 0; i < c.inputs.length; i++) {
      const b = broadcastShape(dims, input(c, i).dims);
      if (!b) fail(c, `cannot broadcast [${dims}] with [${input(c, i).dims}]`);
      dims = b;
    }
    // Where's result dtype is its x/y dtype, not the condition's.
    const first = c.node.opType === 'Where' ? input(c, 1) : input(c, 0);
    return [{ dtype: dtype ?? first.dtype, dims }];
  };

/** RNN / GRU / LSTM: Y, then Y_h (and LSTM's Y_c); [seq, dirs, batch, hidden] and [dirs, batch, hidden], batch first with layout 1. */
function recurrentShapes(c: ShapeContext, outputs: number): TypedShape[] {
  const x = input(c, 0);
  const r = input(c, 2).dims;
  if (x.dims.length !== 3 || r.length !== 3) fail(c, `input [${x.dims}], recurrence weight [${r}]`);
  const dirs = attrString(c.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  const hidden = r[2];
  if (r[0] !== dirs || attrInt(c.node, 'hidden_size', hidden) !== hidden)
    fail(
      c,
      `recurrence weight [${r}] for ${dirs} direction(s), hidden_size ${attrInt(c.node, 'hidden_size', hidden)}`,
    );
  const batchMajor = attrInt(c.node, 'layout', 0) === 1;
  const [seq, batch] = batchMajor ? [x.dims[1], x.dims[0]] : [x.dims[0], x.dims[1]];
  const y = batchMajor ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
  const state = batchMajor ? [batch, dirs, hidden] : [dirs, batch, hidden];
  return [y, state, state].slice(0, outputs).map((dims) => ({ dtype: x.dtype, dims }));
}

/** A convolution's output dims from its input x and weight w. */
function convDims(c: ShapeContext, x: number, w: number): number[] {
  const p = convParams(c.node, input(c, x).dims, input(c, w).dims);
  return [input(c, x).dims[0], p.outChannels, ...p.outSpatial];
}

function matmulDims(c: ShapeContext, a: readonly number[], b: readonly number[]): number[] {
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k = a2[a2.length - 1];
  if (b2[b2.length - 2] !== k) fail(c, `inner dims differ: [${a}] × [${b}]`);
  const batch = broadcastShape(a2.slice(0, -2), b2.slice(0, -2));
  if (!batch) fail(c, `batch dims do not broadcast: [${a}] × [${b}]`);
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return out;
}

function reduceAxes(c: ShapeContext, rank: number): number[] {
  const fromInput = c.opset >= 18 || (c.node.opType === 'ReduceSum' && c.opset >= 13);
  const axes = fromInput ? (c.inputs[1] ? constInts(c, 1, 'axes') : undefined) : attrInts(c.node, 'axes');
  if (!axes || axes.length === 0) {
    return attrInt(c.node, 'noop_with_empty_axes', 0) === 1 ? [] : [...Array(rank).keys()];
  }
  return axes.map((a) => axisIn(c, a, rank));
}

const reduce: ShapeFn = (c) => {
  const x = input(c, 0);
  const axes = new Set(reduceAxes(c, x.dims.length));
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  const dims = keep ? x.dims.map((d, i) => (axes.has(i) ? 1 : d)) : x.dims.filter((_, i) => !axes.has(i));
  return [{ dtype: x.dtype, dims }];
};

/** Pools: Y [N, C, ...out], and MaxPool's optional Indices (int64) of the same dims. */
function poolShape(c: ShapeContext): TypedShape[] {
  const x = input(c, 0);
  const dims = [...x.dims.slice(0, 2), ...poolParams(c.node, x.dims).outSpatial];
  return c.node.outputs[1]
    ? [
        { dtype: x.dtype, dims },
        { dtype: 'int64', dims },
      ]
    : [{ dtype: x.dtype, dims }];
}

/** A window of `size` (its input, known when planning) samples. */
function windowShape(c: ShapeContext): TypedShape[] {
  const dtype = ONNX_TO[attrInt(c.node, 'output_datatype', 1)];
  if (!dtype) fail(c, `output_datatype ${attrInt(c.node, 'output_datatype', 1)}`);
  return [{ dtype, dims: [Math.max(0, Math.trunc(constInts(c, 0, 'the size')[0]))] }];
}

/** A loss over [N, C, d…]: [N, d…] unreduced, a scalar reduced; SoftmaxCrossEntropyLoss's log_prob like the scores. */
function lossShapes(c: ShapeContext): TypedShape[] {
  const x = input(c, 0);
  const target = input(c, 1).dims;
  if (x.dims.length < 2 || target.length !== x.dims.length - 1)
    fail(c, `input [${x.dims}], target [${target}]`);
  const loss = { dtype: x.dtype, dims: attrString(c.node, 'reduction', 'mean') === 'none' ? target : [] };
  return c.node.outputs[1] ? [loss, x] : [loss];
}

const SHAPES: Record<string, ShapeFn> = {
  Identity: same,
  Cast: (c) => {
    const to = ONNX_TO[attrInt(c.node, 'to', 1)];
    if (!to) fail(c, `cast to ONNX type ${attrInt(c.node, 'to', 1)} is not supported`);
    return [{ dtype: to, dims: input(c, 0).dims }];
  },
  // The dtype of its second input, whatever its values.
  CastLike: (c) => [{ dtype: input(c, 1).dtype, dims: input(c, 0).dims }],
  Where: broadcast(),
  MatMul: (c) => [{ dtype: input(c, 0).dtype, dims: matmulDims(c, input(c, 0).dims, input(c, 1).dims) }],
  Gemm: (c) => {
    const a = input(c, 0).dims;
    const b = input(c, 1).dims;
    const m = attrInt(c.node, 'transA', 0) ? a[1] : a[0];
    const n = attrInt(c.node, 'transB', 0) ? b[0] : b[1];
    return [{ dtype: input(c, 0).dtype, dims: [m, n] }];
  },
  Softmax: sameAlongAxis,
  ConvTranspose: (c) => {
    const x = input(c, 0);
    const p = convTransposeParams(c.node, x.dims, input(c, 1).dims);
    return [{ dtype: x.dtype, dims: [x.dims[0], p.outChannels, ...p.outSpatial] }];
  },
  // y, and in training mode the running mean and variance ([C]).
  BatchNormalization: (c) => {
    const x = input(c, 0);
    const stats = { dtype: x.dtype, dims: [x.dims[1]] };
    return [x, stats, stats].slice(0, Math.max(1, c.node.outputs.length));
  },
  DepthToSpace: (c) => {
    const x = input(c, 0);
    const bs = attrInt(c.node, 'blocksize', 0);
    if (x.dims.length !== 4 || bs < 1 || x.dims[1] % (bs * bs) !== 0)
      fail(c, `blocksize ${bs} on [${x.dims}]`);
    const [n, ch, h, w] = x.dims;
    return [{ dtype: x.dtype, dims: [n, ch / (bs * bs), h * bs, w * bs] }];
  },
  SpaceToDepth: (c) => {
    const x = input(c, 0);
    const bs = attrInt(c.node, 'blocksize', 0);
    if (x.dims.length !== 4 || bs < 1 || x.dims[2] % bs !== 0 || x.dims[3] % bs !== 0)
      fail(c, `blocksize ${bs} on [${x.dims}]`);
    const [n, ch, h, w] = x.dims;
    return [{ dtype: x.dtype, dims: [n, ch * bs * bs, h / bs, w / bs] }];
  },
  Size: () => [{ dtype: 'int64', dims: [] }],
  HannWindow: (c) => windowShape(c),
  MelWeightMatrix: (c) => {
    const dtype = ONNX_TO[attrInt(c.node, 'output_datatype', 1)];
    if (!dtype) fail(c, `output_datatype ${attrInt(c.node, 'output_datatype', 1)}`);
    const bins = Math.trunc(constInts(c, 0, 'num_mel_bins')[0]);
    const length = Math.trunc(constInts(c, 1, 'dft_length')[0]);
    if (!(bins >= 1 && length >= 1)) fail(c, `num_mel_bins ${bins}, dft_length ${length}`);
    return [{ dtype, dims: [Math.floor(length / 2) + 1, bins] }];
  },
  DFT: (c) => {
    const x = input(c, 0);
    const p = dftParams(c.node, x.dims, c.constant, c.opset);
    const dims = [...x.dims];
    dims[p.axis] = p.bins;
    dims[dims.length - 1] = 2;
    return [{ dtype: x.dtype, dims }];
  },
  STFT: (c) => {
    const x = input(c, 0);
    const p = stftParams(c.node, x.dims, c.node.inputs[2] ? input(c, 2).dims : undefined, c.constant);
    return [{ dtype: x.dtype, dims: [x.dims[0], p.frames, p.bins, 2] }];
  },
  HammingWindow: (c) => windowShape(c),
  BlackmanWindow: (c) => windowShape(c),
  EyeLike: (c) => {
    const dtype = c.node.attrs.dtype ? ONNX_TO[attrInt(c.node, 'dtype', 1)] : input(c, 0).dtype;
    if (!dtype || input(c, 0).dims.length !== 2) fail(c, 'a 2-D input and a supported dtype');
    return [{ dtype, dims: input(c, 0).dims }];
  },
  LRN: same,
  NegativeLogLikelihoodLoss: (c) => lossShapes(c),
  // The loss, and the optional log-probabilities (the scores' dims).
  SoftmaxCrossEntropyLoss: (c) => lossShapes(c),
  MeanVarianceNormalization: same,
  LogSoftmax: sameAlongAxis,
  Hardmax: sameAlongAxis,
  LpNormalization: same,
  RMSNormalization: same,
  LayerNormalization: (c) => {
    const x = input(c, 0);
    // Mean / InvStdDev: float32 (stash_type 1), the normalized axes (axis … last) kept as 1s.
    const axis = axisAttr(c, -1, x.dims.length);
    const stats = { dtype: 'float32' as const, dims: x.dims.map((d, i) => (i < axis ? d : 1)) };
    return [x, stats, stats];
  },
  Transpose: (c) => {
    const x = input(c, 0);
    const perm = attrInts(c.node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
    if (
      perm.length !== x.dims.length ||
      new Set(perm.map((p) => axisIn(c, p, perm.length))).size !== perm.length
    )
      fail(c, `perm [${perm}] is not a permutation of rank ${x.dims.length}`);
    return [{ dtype: x.dtype, dims: perm.map((p) => x.dims[p]) }];
  },
  Reshape: (c) => {
    const x = input(c, 0);
    const dims = reshapeDims(x.dims, constInts(c, 1, 'the shape'), attrInt(c.node, 'allowzero', 0) === 1);
    if (!dims) fail(c, `cannot reshape [${x.dims}] to [${constInts(c, 1, 'the shape')}]`);
    return [{ dtype: x.dtype, dims }];
  },
  Flatten: (c) => {
    const x = input(c, 0);
    const axis = axisAttr(c, 1, x.dims.length, true);
    return [{ dtype: x.dtype, dims: [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))] }];
  },
  Squeeze: (c) => {
    const x = input(c, 0);
    const axes =
      c.opset >= 13 ? (c.inputs[1] ? constInts(c, 1, 'axes') : undefined) : attrInts(c.node, 'axes');
    for (const a of axes ?? []) {
      const d = x.dims[axisIn(c, a, x.dims.length)];
      if (d !== 1) fail(c, `axis ${a} has size ${d}, not 1`);
    }
    return [{ dtype: x.dtype, dims: squeezeDims(x.dims, axes) }];
  },
  Unsqueeze: (c) => {
    const x = input(c, 0);
    const axes = c.opset >= 13 ? constInts(c, 1, 'axes') : (attrInts(c.node, 'axes') ?? fail(c, 'no axes'));
    const rank = x.dims.length + axes.length;
    if (new Set(axes.map((a) => axisIn(c, a, rank))).size !== axes.length) fail(c, `axes [${axes}] repeat`);
    return [{ dtype: x.dtype, dims: unsqueezeDims(x.dims, axes) }];
  },
  Concat: (c) => {
    const first = input(c, 0);
    const axis = axisAttr(c, 0, first.dims.length);
    const dims = [...first.dims];
    dims[axis] = c.inputs.reduce((a, _t, i) => a + input(c, i).dims[axis], 0);
    return [{ dtype: first.dtype, dims }];
  },
  Slice: (c) => {
    const x = input(c, 0);
    const starts = constInts(c, 1, 'starts');
    const ends = constInts(c, 2, 'ends');
    const axes = c.inputs[3] ? constInts(c, 3, 'axes') : undefined;
    for (const a of axes ?? []) axisIn(c, a, x.dims.length);
    const steps = c.inputs[4] ? constInts(c, 4, 'steps') : undefined;
    return [{ dtype: x.dtype, dims: sliceRanges(x.dims, starts, ends, axes, steps).count }];
  },
  Gather: (c) => {
    const data = input(c, 0);
    const idx = input(c, 1);
    const axis = axisAttr(c, 0, data.dims.length);
    return [
      { dtype: data.dtype, dims: [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)] },
    ];
  },
  Expand: (c) => {
    const x = input(c, 0);
    const dims = broadcastShape(x.dims, constInts(c, 1, 'the shape'));
    if (!dims) fail(c, `cannot expand [${x.dims}]`);
    return [{ dtype: x.dtype, dims }];
  },
  Shape: (c) => {
    const rank = input(c, 0).dims.length;
    const start = normAxis(attrInt(c.node, 'start', 0), rank);
    const end = normAxis(attrInt(c.node, 'end', rank), rank);
    return [{ dtype: 'int64', dims: [Math.max(0, Math.min(end, rank) - Math.max(start, 0))] }];
  },
  ConstantOfShape: (c) => {
    const value = attrTensor(c.node, 'value');
    return [{ dtype: value?.dtype ?? 'float32', dims: constInts(c, 0, 'the shape') }];
  },
  Range: (c) => {
    const [s, l, d] = [0, 1, 2].map((i) => constInts(c, i, 'start/limit/delta')[0]);
    return [{ dtype: input(c, 0).dtype, dims: [Math.max(Math.ceil((l - s) / d), 0)] }];
  },
  Trilu: same,
  CumSum: (c) => {
    const x = input(c, 0);
    const axis = c.constant(1);
    if (axis) axisIn(c, axis.data[0], x.dims.length);
    return [x];
  },
  IsNaN: (c) => [{ dtype: 'bool', dims: input(c, 0).dims }],
  Pad: (c) => {
    const x = input(c, 0);
    const pads = padAmounts(c, x.dims.length);
    return [{ dtype: x.dtype, dims: x.dims.map((d, i) => d + pads[i] + pads[i + x.dims.length]) }];
  },
  GatherElements: (c) => {
    axisAttr(c, 0, input(c, 0).dims.length);
    return [{ dtype: input(c, 0).dtype, dims: input(c, 1).dims }];
  },
  ScatterND: (c) => [input(c, 0)],
  ScatterElements: sameAlongAxis,
  GridSample: (c) => {
    const x = input(c, 0).dims;
    const grid = input(c, 1).dims;
    if (grid.length !== x.length || grid[0] !== x[0] || grid.at(-1) !== x.length - 2)
      fail(c, `grid [${grid}] for input [${x}]`);
    return [{ dtype: input(c, 0).dtype, dims: [x[0], x[1], ...grid.slice(1, -1)] }];
  },
  OneHot: (c) => {
    const indices = input(c, 0).dims;
    const depth = Math.trunc(constInts(c, 1, 'depth')[0]);
    const rank = indices.length + 1;
    const axis = normAxis(attrInt(c.node, 'axis', -1), rank);
    if (depth < 1 || axis < 0 || axis >= rank) fail(c, `depth ${depth}, axis ${axis}`);
    return [{ dtype: input(c, 2).dtype, dims: [...indices.slice(0, axis), depth, ...indices.slice(axis)] }];
  },
  Scatter: (c) => [input(c, 0)],
  ReverseSequence: (c) => {
    const x = input(c, 0);
    const [batch, time] = [attrInt(c.node, 'batch_axis', 1), attrInt(c.node, 'time_axis', 0)];
    if (x.dims.length < 2 || batch === time || ![batch, time].every((a) => a === 0 || a === 1))
      fail(c, `batch_axis ${batch} and time_axis ${time} on rank ${x.dims.length}`);
    return [x];
  },
  RoiAlign: (c) => [
    {
      dtype: input(c, 0).dtype,
      dims: [
        input(c, 1).dims[0],
        input(c, 0).dims[1],
        attrInt(c.node, 'output_height', 1),
        attrInt(c.node, 'output_width', 1),
      ],
    },
  ],
  RNN: (c) => recurrentShapes(c, 2),
  GRU: (c) => recurrentShapes(c, 2),
  LSTM: (c) => recurrentShapes(c, 3),
  Det: (c) => [{ dtype: input(c, 0).dtype, dims: input(c, 0).dims.slice(0, -2) }],
  MaxUnpool: (c) => {
    const shape = c.node.inputs[2] ? constInts(c, 2, 'output_shape') : undefined;
    return [{ dtype: input(c, 0).dtype, dims: maxUnpoolDims(c.node, input(c, 0).dims, shape) }];
  },
  InstanceNormalization: same,
  GroupNormalization: same,
  Resize: (c) => {
    const x = input(c, 0);
    return [{ dtype: x.dtype, dims: resizeParams(c.node, x.dims, c.constant, c.opset).outDims }];
  },
  Upsample: (c) => SHAPES.Resize(c),
  Einsum: (c) => {
    const equation = c.node.attrs.equation;
    if (equation?.type !== 'string') fail(c, 'no equation');
    return [
      {
        dtype: input(c, 0).dtype,
        dims: einsumDims(
          equation.value,
          c.inputs.map((_, i) => input(c, i).dims),
        ),
      },
    ];
  },
  Dropout: (c) => [input(c, 0), { dtype: 'bool', dims: input(c, 0).dims }],
  DequantizeLinear: (c) => [{ dtype: 'float32', dims: input(c, 0).dims }],
  // The zero point's type (uint8 without one).
  MatMulInteger: (c) => [{ dtype: 'int32', dims: matmulDims(c, input(c, 0).dims, input(c, 1).dims) }],
  QLinearMatMul: (c) => [
    { dtype: input(c, 7).dtype, dims: matmulDims(c, input(c, 0).dims, input(c, 3).dims) },
  ],
  ConvInteger: (c) => [{ dtype: 'int32', dims: convDims(c, 0, 1) }],
  QLinearConv: (c) => [{ dtype: input(c, 7).dtype, dims: convDims(c, 0, 3) }],
  QuantizeLinear: (c) => [{ dtype: c.inputs[2]?.dtype ?? 'uint8', dims: input(c, 0).dims }],
  DynamicQuantizeLinear: (c) => [
    { dtype: 'uint8', dims: input(c, 0).dims },
    { dtype: 'float32', dims: [] },
    { dtype: 'uint8', dims: [] },
  ],
  IsInf: (c) => [{ dtype: 'bool', dims: input(c, 0).dims }],
  Tile: (c) => {
    const x = input(c, 0);
    const repeats = constInts(c, 1, 'repeats');
    if (repeats.length !== x.dims.length) fail(c, `${repeats.length} repeats for rank ${x.dims.length}`);
    return [{ dtype: x.dtype, dims: x.dims.map((d, i) => d * repeats[i]) }];
  },
  Split: (c) => {
    const x = input(c, 0);
    const axis = axisAttr(c, 0, x.dims.length);
    return splitSizes(c, x.dims[axis]).map((n) => ({
      dtype: x.dtype,
      dims: x.dims.map((d, i) => (i === axis ? n : d)),
    }));
  },
  GatherND: (c) => {
    const data = input(c, 0);
    const idx = input(c, 1).dims;
    const k = idx[idx.length - 1];
    const b = attrInt(c.node, 'batch_dims', 0);
    if (k === undefined || b + k > data.dims.length) fail(c, 'index tuples deeper than the data');
    return [{ dtype: data.dtype, dims: [...idx.slice(0, -1), ...data.dims.slice(b + k)] }];
  },
  // Without pads or dilations (the forms load() accepts): floor((d − k) / s) + 1 per spatial axis.
  AveragePool: poolShape,
  MaxPool: poolShape,
  GlobalAveragePool: poolShape,
  GlobalMaxPool: poolShape,
  Conv: (c) => [{ dtype: input(c, 0).dtype, dims: convDims(c, 0, 1) }],
  ArgMin: (c) => SHAPES.ArgMax(c),
  ArgMax: (c) => {
    const x = input(c, 0);
    const axis = axisAttr(c, 0, x.dims.length);
    const keep = attrInt(c.node, 'keepdims', 1) === 1;
    const dims = keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
    return [{ dtype: 'int64', dims }];
  },
  TopK: (c) => {
    const x = input(c, 0);
    const axis = axisAttr(c, -1, x.dims.length);
    const k = constInts(c, 1, 'k')[0];
    const dims = x.dims.map((d, i) => (i === axis ? k : d));
    return [
      { dtype: x.dtype, dims },
      { dtype: 'int64', dims },
    ];
  },
  // Contrib ops the attention pass lowers: outputs [B, S, hidden] like the query (packed QKV: a third of W).
  // MultiHeadAttention: output [B, S, N·Hv]; presents [B, N, past + L, H] (key/value [B, L, ·] or [B, N, L, H]).
  'com.microsoft:LinearAttention': (c) => {
    const q = input(c, 0);
    const p = linearAttentionParams(
      c.node,
      q.dims,
      input(c, 1).dims,
      input(c, 2).dims,
      c.inputs[4]?.dims,
      c.inputs[5]?.dims,
    );
    return linearAttentionDims(p, q.dims).map((dims) => ({ dtype: q.dtype, dims }));
  },
  'com.microsoft:CausalConvWithState': (c) => {
    const x = input(c, 0);
    return [x, { dtype: x.dtype, dims: causalConvParams(c.node, x.dims, input(c, 1).dims).stateDims }];
  },
  // Opset 23's Attention: Y like Q with V's head size; presents [B, Nkv, past + L, ·]; QK [B, Nq, S, T].
  Attention: (c) => {
    const q = input(c, 0);
    const k = input(c, 1).dims;
    const v = input(c, 2).dims;
    const rank = q.dims.length;
    if ((rank !== 3 && rank !== 4) || k.length !== rank || v.length !== rank)
      fail(c, `query, key and value must all be 3-D or 4-D, got [${q.dims}], [${k}], [${v}]`);
    const qHeads = rank === 4 ? q.dims[1] : attrInt(c.node, 'q_num_heads', 0);
    const kvHeads = rank === 4 ? k[1] : attrInt(c.node, 'kv_num_heads', 0);
    if (qHeads < 1 || kvHeads < 1) fail(c, 'q_num_heads and kv_num_heads are required for 3-D inputs');
    const [batch, ,] = q.dims;
    const seq = rank === 4 ? q.dims[2] : q.dims[1];
    const length = rank === 4 ? k[2] : k[1];
    const kHead = rank === 4 ? k[3] : k[2] / kvHeads;
    const vHead = rank === 4 ? v[3] : v[2] / kvHeads;
    const past = c.inputs[4]?.dims[2] ?? 0;
    const total = past + length;
    return [
      { dtype: q.dtype, dims: rank === 4 ? [batch, qHeads, seq, vHead] : [batch, seq, qHeads * vHead] },
      { dtype: q.dtype, dims: [batch, kvHeads, total, kHead] },
      { dtype: q.dtype, dims: [batch, kvHeads, total, vHead] },
      { dtype: q.dtype, dims: [batch, qHeads, seq, total] },
    ];
  },
  'com.microsoft:MultiHeadAttention': (c) => {
    const q = input(c, 0);
    const heads = attrInt(c.node, 'num_heads', 0);
    const k = c.inputs[1]?.dims;
    const v = c.inputs[2]?.dims;
    // Packed QKV / KV (5-D, or no key) onnxruntime's CPU kernel does not implement either.
    if (q.dims.length !== 3 || !k || !v || (k.length !== 3 && k.length !== 4))
      throw new WebvlError('UNSUPPORTED_OP', `MultiHeadAttention node '${c.node.name}': packed QKV / KV`, {
        ops: [opKey(c.node)],
      });
    const split = k.length === 4;
    const headSize = q.dims[2] / heads;
    const vHead = split ? v[3] : v[2] / heads;
    const total = (split ? k[2] : k[1]) + (c.inputs[6]?.dims[2] ?? 0);
    return [
      { dtype: q.dtype, dims: [q.dims[0], q.dims[1], heads * vHead] },
      { dtype: q.dtype, dims: [q.dims[0], heads, total, headSize] },
      { dtype: q.dtype, dims: [q.dims[0], heads, total, vHead] },
    ];
  },
  // Attention: output [B, S, hidden]; present [2, B, N, past + S, H].
  'com.microsoft:Attention': (c) => {
    const x = input(c, 0);
    const w = input(c, 1).dims;
    const hidden = w[w.length - 1] / 3;
    const heads = attrInt(c.node, 'num_heads', 1);
    const past = c.inputs[4]?.dims[3] ?? 0;
    return [
      { dtype: x.dtype, dims: [...x.dims.slice(0, -1), hidden] },
      { dtype: x.dtype, dims: [2, x.dims[0], heads, past + x.dims[1], hidden / heads] },
    ];
  },
  // Outputs [B, S, H·D] and the presents [B, Hkv, max(T, past), D]; T (total_sequence_length) must be known.
  'com.microsoft:GroupQueryAttention': (c) => {
    const [b, s, width] = input(c, 0).dims;
    const heads = attrInt(c.node, 'num_heads', 0);
    const kvHeads = attrInt(c.node, 'kv_num_heads', 0);
    const headSize = width / (c.inputs[1] ? heads : heads + 2 * kvHeads);
    if (!Number.isInteger(headSize) || heads <= 0 || kvHeads <= 0)
      fail(c, `${width} values do not split into ${heads} query and ${kvHeads} key/value heads`);
    const total = constInts(c, 6, 'total_sequence_length')[0];
    const cache = Math.max(total, c.inputs[3]?.dims[2] ?? 0);
    const present = { dtype: input(c, 0).dtype, dims: [b, kvHeads, cache, headSize] };
    return [{ dtype: input(c, 0).dtype, dims: [b, s, heads * headSize] }, present, present];
  },
  // Our fused ops (domain webvl), created by the fusion passes.
  'webvl:KvAppend': (c) => [
    { dtype: input(c, 1).dtype, dims: attrInts(c.node, 'out_dims') ?? fail(c, 'no out_dims') },
  ],
  'webvl:Linear': (c) => {
    const x = input(c, 0);
    const w = input(c, 1).dims;
    const n = attrInt(c.node, 'transB', 0) ? w[0] : w[w.length - 1];
    return [{ dtype: x.dtype, dims: [...x.dims.slice(0, -1), n] }];
  },
  // Second output (when present): the residual sum x + residual.
  'webvl:LayerNorm': (c) => {
    const x = input(c, 0);
    if (attrInt(c.node, 'stats', 0) !== 1) return [x, x];
    const stats = { dtype: 'float32' as const, dims: [...x.dims.slice(0, -1), 1] };
    return [x, stats, stats];
  },
  'webvl:Gelu': same,
  'webvl:QMatMul': (c) => {
    const x = input(c, 0);
    return [{ dtype: x.dtype, dims: [...x.dims.slice(0, -1), attrInt(c.node, 'N', 0)] }];
  },
  'webvl:QGather': (c) => {
    const rowDims = attrInts(c.node, 'row_dims') ?? fail(c, 'no row_dims');
    const dtype = ONNX_TO[attrInt(c.node, 'to', 1)] ?? 'float32';
    return [{ dtype, dims: [...input(c, 0).dims, ...rowDims.slice(1)] }];
  },
  'webvl:GatherRows': (c) => {
    const piece = input(c, 1);
    return [{ dtype: piece.dtype, dims: [...input(c, 0).dims, ...piece.dims.slice(1)] }];
  },
  'webvl:Rotary': (c) => [input(c, 0)],
  'webvl:SampleTopK': (c) => [{ dtype: 'int64', dims: input(c, 0).dims.slice(0, -1) }],
  'webvl:RepetitionPenalty': (c) => [input(c, 0)],
  'webvl:StridedConcat': (c) => [
    { dtype: input(c, 0).dtype, dims: attrInts(c.node, 'out_dims') ?? fail(c, 'no out_dims') },
  ],
  'webvl:Attention': (c) => {
    const dims = attrInts(c.node, 'out_dims') ?? fail(c, 'no out_dims');
    return [{ dtype: input(c, 0).dtype, dims }];
  },
};

for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'PRelu', 'Sum', 'Mean', 'BitShift'])
  SHAPES[op] = broadcast();
for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']) {
  SHAPES[op] = broadcast('bool');
}
export const UNARY_OPS = [
  'Abs',
  'Neg',
  'Relu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sin',
  'Cos',
  'Sign',
  'Not',
  'LeakyRelu',
  'Clip',
  'HardSigmoid',
  'Softplus',
  'Gelu',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'Softsign',
  'Elu',
  'Selu',
  'Celu',
  'ThresholdedRelu',
  'HardSwish',
  'Shrink',
] as const;
for (const op of UNARY_OPS) SHAPES[op] = same;
export const REDUCE_OPS = [
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceSumSquare',
  'ReduceLogSum',
  'ReduceLogSumExp',
] as const;
for (const op of REDUCE_OPS) SHAPES[op] = reduce;

export function hasShapeFunction(node: Pick<Node, 'opType' | 'domain'>): boolean {
  return opKey(node) in SHAPES;
}

/** Output types/shapes of a node; UNSUPPORTED_OP when the op has no shape function. */
export function inferNodeShapes(c: ShapeContext): TypedShape[] {
  const fn = SHAPES[opKey(c.node)];
  if (!fn) {
    throw new WebvlError('UNSUPPORTED_OP', `no shape function for ${opKey(c.node)}`, {
      ops: [opKey(c.node)],
    });
  }
  return fn(c);
}
