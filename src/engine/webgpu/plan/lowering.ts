// Lowering: for every op the engine claims, how its node becomes kernel calls (src/engine/webgpu/ops).
// View ops (Reshape, Squeeze, …) have no lowering: the planner aliases their output to their input buffer.
import { WebvlError } from '../../../errors';
import { type ConvParams, convParams, isPatchConv } from '../ir/conv-params';
import { convTransposeParams, MAX_CONV_TRANSPOSE_RANK } from '../ir/conv-transpose-params';
import { HOST_OPS } from '../ir/host-ops';
import { attrFloat, attrInt, attrInts, attrString, type Node, opKey } from '../ir/ir';
import { causalConvParams, linearAttentionParams } from '../ir/linear-attention-params';
import { padAmounts, REDUCE_OPS, UNARY_OPS } from '../ir/op-shapes';
import { MAX_POOL_RANK, poolParams } from '../ir/pool-params';
import { resizeParams } from '../ir/resize-params';
import type { Activation, BinaryOp, ReduceOp, Strided4, UnaryOp } from '../ops';
import * as ops from '../ops';
import { broadcastDims, contiguousStrides, elementCount } from '../ops/common';
import { SCATTER_REDUCTIONS, type ScatterReduction } from '../ops/gather-elements';
import type { GridPadding, GridSampleMode } from '../ops/grid-sample';
import { ruleTerms } from '../ops/linear-attention';
import { layoutFromAttrs } from '../passes/pack-quantized';
import { einsum } from './einsum';
import type { GpuView } from './kernel-context';
import { constInts, floatScalar, type LowerArgs, type Lowering, need, unsupported } from './lower-args';
import {
  batchNormalization,
  dynamicQuantize,
  localResponseNorm,
  lpNormalization,
  meanVarianceNorm,
  negativeLogLikelihood,
  quantizeInSteps,
  softmaxCrossEntropy,
} from './lowering-composites';
import { QUANTIZED_LOWERINGS } from './lowering-quantized';
import { rnnLowering } from './lowering-rnn';
import { dft, stft } from './lowering-signal';

export type { LowerArgs } from './lower-args';

/** Ops that only reinterpret dims: output shares its input's buffer, no dispatch. */
export const VIEW_OPS: ReadonlySet<string> = new Set([
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Identity',
  'Dropout',
]);

/** Ops that exist only to be folded on the CPU (their inputs are shapes/constants in practice). */
export const FOLD_ONLY_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'EyeLike',
  'HannWindow',
  'HammingWindow',
  'BlackmanWindow',
  'MelWeightMatrix',
  'ConstantOfShape',
  'Range',
]);

function strided(node: Node, prefix: 'q' | 'k' | 'v' | 'kt' | 'vt'): Strided4 {
  const shape = attrInts(node, `${prefix}_shape`) ?? [];
  const strides = attrInts(node, `${prefix}_strides`) ?? [];
  return {
    shape: [shape[0], shape[1], shape[2], shape[3]],
    strides: [strides[0], strides[1], strides[2], strides[3]],
    start: attrInt(node, `${prefix}_start`, 0),
  };
}

/**
 * DepthToSpace / SpaceToDepth as one transpose of a 6-D view. DepthToSpace DCR reads channels as
 * [block, block, C'], CRD as [C', block, block].
 */
function depthSpace(a: LowerArgs, toSpace: boolean): void {
  const x = need(a, 0);
  const bs = attrInt(a.node, 'blocksize', 0);
  if (x.dims.length !== 4 || bs < 1) unsupported(a.node, `blocksize ${bs} on [${x.dims}]`);
  const [n, c, h, w] = x.dims;
  const view = (v: GpuView, dims: number[]): GpuView => ({ ...v, dims });
  if (toSpace) {
    const cc = c / (bs * bs);
    if (attrString(a.node, 'mode', 'DCR') === 'CRD')
      ops.transpose(
        a.ctx,
        view(x, [n, cc, bs, bs, h, w]),
        view(a.outputs[0], [n, cc, h, bs, w, bs]),
        [0, 1, 4, 2, 5, 3],
      );
    else
      ops.transpose(
        a.ctx,
        view(x, [n, bs, bs, cc, h, w]),
        view(a.outputs[0], [n, cc, h, bs, w, bs]),
        [0, 3, 4, 1, 5, 2],
      );
  } else {
    const [hh, ww] = [h / bs, w / bs];
    ops.transpose(
      a.ctx,
      view(x, [n, c, hh, bs, ww, bs]),
      view(a.outputs[0], [n, bs, bs, c, hh, ww]),
      [0, 3, 5, 1, 2, 4],
    );
  }
}

/** GridSample's modes by their opset 16 names (bilinear, bicubic) and opset 20 ones (linear, cubic). */
const GRID_SAMPLE_MODES: Readonly<Record<string, GridSampleMode>> = {
  nearest: 'nearest',
  bilinear: 'linear',
  linear: 'linear',
  bicubic: 'cubic',
  cubic: 'cubic',
};

/** (De)QuantizeLinear's scale and zero point when both are single constants (absent zero point: 0). */
function scalarQuantization(a: LowerArgs): { scale: number; zeroPoint: number } | undefined {
  const scale = a.constant(1);
  const zero = a.node.inputs[2] ? a.constant(2) : undefined;
  if (scale?.data.length !== 1 || (a.node.inputs[2] && zero?.data.length !== 1)) return undefined;
  return { scale: Number(scale.data[0]), zeroPoint: Number(zero?.data[0] ?? 0) };
}

/** (De)QuantizeLinear's zero point as float32, viewed along the node's axis; null without one. */
function floatZeroPoint(a: LowerArgs, along: (v: GpuView) => GpuView): GpuView | null {
  const z = a.inputs[2];
  if (!z) return null;
  const zf = a.ctx.scratch('float32', z.dims);
  ops.cast(a.ctx, z, zf);
  return along(zf);
}

/**
 * (De)QuantizeLinear's per-axis scale / zero point viewed as [C, 1, …] along the node's axis (scalars as they
 * are). Blocked ones (opset 21's block_size: x's shape with the axis divided into blocks) are gathered along the
 * axis to x's full shape, each block's entry repeated over its elements.
 */
function quantizationAxis(a: LowerArgs, x: GpuView): (v: GpuView) => GpuView {
  const rank = x.dims.length;
  const axisAttr = attrInt(a.node, 'axis', 1);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const blockSize = attrInt(a.node, 'block_size', 0);
  if (blockSize > 0) {
    const along = x.dims[axis];
    const blockOf = a.ctx.constant(
      'int32',
      [along],
      Int32Array.from({ length: along }, (_, i) => Math.floor(i / blockSize)),
    );
    return (v) => {
      const expected = x.dims.map((d, i) => (i === axis ? Math.ceil(d / blockSize) : d));
      if (v.dims.join() !== expected.join())
        throw new WebvlError(
          'INVALID_MODEL',
          `${a.node.opType} node '${a.node.name}': blocked parameters [${v.dims}], x needs [${expected}]`,
        );
      const full = a.ctx.scratch(v.dtype, x.dims);
      ops.gather(a.ctx, v, blockOf, full, axis);
      return full;
    };
  }
  const perAxis = need(a, 1).dims.length === 1 && need(a, 1).dims[0] !== 1;
  return (v) => (perAxis ? { ...v, dims: [v.dims[0], ...new Array<number>(rank - axis - 1).fill(1)] } : v);
}

function scatterReduction(a: LowerArgs): ScatterReduction {
  const reduction = attrString(a.node, 'reduction', 'none') as ScatterReduction;
  if (!SCATTER_REDUCTIONS.includes(reduction)) unsupported(a.node, `reduction '${reduction}'`);
  return reduction;
}

/**
 * Before opset 13, (Log)Softmax and Hardmax coerce x to 2-D at `axis` and work along its second dim: views of x
 * and of the output as [∏ dims before the axis, ∏ the rest], contiguous as they are.
 */
function flattenedAt(a: LowerArgs, axisAttr: number): { x: GpuView; out: GpuView } {
  const x = need(a, 0);
  const axis = axisAttr < 0 ? axisAttr + x.dims.length : axisAttr;
  const dims = [elementCount(x.dims.slice(0, axis)), elementCount(x.dims.slice(axis))];
  return { x: { ...x, dims }, out: { ...a.outputs[0], dims } };
}

function softmaxLowering(a: LowerArgs, log: boolean): void {
  const axis = attrInt(a.node, 'axis', a.opset >= 13 ? -1 : 1);
  if (a.opset < 13) {
    const flat = flattenedAt(a, axis);
    ops.softmax(a.ctx, flat.x, flat.out, -1, log);
    return;
  }
  ops.softmax(a.ctx, need(a, 0), a.outputs[0], axis, log);
}

/** ArgMax / ArgMin over any axis: the axis is moved last (one transpose into scratch) for the row kernel. */
function argReduce(a: LowerArgs, largest: boolean): void {
  const x = need(a, 0);
  argAlong(
    a,
    x,
    attrInt(a.node, 'axis', 0),
    largest,
    attrInt(a.node, 'select_last_index', 0) === 1,
    a.outputs[0],
  );
}

/** Index of the largest (smallest) element along `axis` into `target`, whose dims are x's with that axis 1. */
function argAlong(
  a: LowerArgs,
  x: GpuView,
  axisAttr: number,
  largest: boolean,
  lastIndex: boolean,
  target: GpuView,
) {
  const rank = x.dims.length;
  const { rows } = axisLast(a, x, axisAttr < 0 ? axisAttr + rank : axisAttr);
  // keepdims only changes how the output is viewed: its elements are the rows' results in order.
  ops.argmax(a.ctx, rows, { ...target, dims: rows.dims.slice(0, -1) }, { largest, lastIndex });
}

/** x with `axis` moved last (a transpose into scratch unless it is last already), for the row kernels. */
function axisLast(a: LowerArgs, x: GpuView, axis: number): { rows: GpuView; perm: number[] } {
  const perm = [...x.dims.keys()].filter((d) => d !== axis).concat(axis);
  if (axis === x.dims.length - 1) return { rows: x, perm };
  const rows = a.ctx.scratch(
    x.dtype,
    perm.map((p) => x.dims[p]),
  );
  ops.transpose(a.ctx, x, rows, perm);
  return { rows, perm };
}

/** Hardmax: 1 where an element is the first largest along the axis (argmax, then a compare with the axis' indices). */
function hardmax(a: LowerArgs): void {
  const attr = attrInt(a.node, 'axis', a.opset >= 13 ? -1 : 1);
  const { x, out } = a.opset < 13 ? flattenedAt(a, attr) : { x: need(a, 0), out: a.outputs[0] };
  const rank = x.dims.length;
  const axisAttr = a.opset < 13 ? -1 : attr;
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (x.dtype !== 'float32' || axis < 0 || axis >= rank)
    unsupported(a.node, `axis ${axisAttr} of a ${x.dtype} input`);
  const best = a.ctx.scratch(
    'int32',
    x.dims.map((d, i) => (i === axis ? 1 : d)),
  );
  argAlong(a, x, axis, true, false, best);
  const length = x.dims[axis];
  const positions = a.ctx.constant(
    'int32',
    [length, ...x.dims.slice(axis + 1).map(() => 1)],
    Int32Array.from({ length }, (_, i) => i),
  );
  const hits = a.ctx.scratch('bool', x.dims);
  ops.binary(a.ctx, best, positions, hits, 'Equal');
  ops.cast(a.ctx, hits, out);
}

/**
 * A 3-D convolution in its patch-embedding form (a video VLM's Conv3d over frames × patches): each window is a
 * disjoint patch, so the output is the patches, gathered into rows by one strided copy (a tail shorter than the
 * kernel dropped), times the weights as a [Cout, Cin·k₁·k₂·k₃] matrix, moved back to channels-first.
 */
function patchConv(a: LowerArgs, p: ConvParams): void {
  const [x, w, out] = [need(a, 0), need(a, 1), a.outputs[0]];
  if (p.group !== 1 || !isPatchConv(p))
    unsupported(a.node, '3 spatial axes other than disjoint patches (strides = kernel, no pads, one group)');
  const [n, c, ...spatial] = x.dims;
  const [k1, k2, k3] = p.kernel;
  const [o1, o2, o3] = p.outSpatial;
  const [s1, s2, s3] = [spatial[1] * spatial[2], spatial[2], 1];
  const volume = spatial[0] * s1;
  // x as [N, O₁, O₂, O₃, C, k₁, k₂, k₃]: the patch of each output position, one row each.
  const dims = [n, o1, o2, o3, c, k1, k2, k3];
  const strides = [c * volume, k1 * s1, k2 * s2, k3 * s3, volume, s1, s2, s3];
  const rows = n * o1 * o2 * o3;
  const width = c * k1 * k2 * k3;
  const weights: GpuView = { ...w, dims: [p.outChannels, width] };
  if (rows === n && spatial.every((d, i) => d === p.kernel[i])) {
    // One patch per image, the whole of it (Qwen2-VL's patch embedding: pixel_values rows viewed as patches):
    // the rows are the input as it lies, and [N, Cout] is already channels-first.
    ops.matmul(
      a.ctx,
      { ...x, dims: [n, width] },
      weights,
      a.inputs[2] ?? null,
      { ...out, dims: [n, p.outChannels] },
      {
        transposeB: true,
      },
    );
    return;
  }
  const patches = a.ctx.scratch('float32', [rows, width]);
  ops.copyStrided(a.ctx, x, strides, 0, patches, contiguousStrides(dims), 0, dims, 'Conv patches');
  const products = a.ctx.scratch('float32', [n, o1 * o2 * o3, p.outChannels]);
  ops.matmul(a.ctx, { ...patches, dims: [n, o1 * o2 * o3, width] }, weights, a.inputs[2] ?? null, products, {
    transposeB: true,
  });
  ops.transpose(a.ctx, products, { ...out, dims: [n, p.outChannels, o1 * o2 * o3] }, [0, 2, 1]);
}

const LOWERINGS: Record<string, Lowering> = {
  MatMul: (a) => ops.matmul(a.ctx, need(a, 0), need(a, 1), null, a.outputs[0]),
  Gemm: (a) => {
    // transA: A transposed into scratch first; C broadcasts over [M, N] in the matmul epilogue, times beta.
    let x = need(a, 0);
    if (attrInt(a.node, 'transA', 0) !== 0) {
      const t = a.ctx.scratch(x.dtype, [x.dims[1], x.dims[0]]);
      ops.transpose(a.ctx, x, t, [1, 0]);
      x = t;
    }
    const beta = attrFloat(a.node, 'beta', 1);
    ops.matmul(a.ctx, x, need(a, 1), beta === 0 ? null : (a.inputs[2] ?? null), a.outputs[0], {
      transposeB: attrInt(a.node, 'transB', 0) === 1,
      alpha: attrFloat(a.node, 'alpha', 1),
      beta,
    });
  },
  'webvl:Linear': (a) =>
    ops.linear(a.ctx, need(a, 0), need(a, 1), a.inputs[2] ?? null, a.outputs[0], {
      transposeB: attrInt(a.node, 'transB', 0) === 1,
      activation: attrString(a.node, 'activation', 'none') as Activation,
      gate: attrInt(a.node, 'gate', 0) === 1,
    }),
  'webvl:QMatMul': (a) => {
    // B packed by passes/pack-quantized.ts, read as [N, K] and dequantized by the matmul kernels.
    const node = a.node;
    const layout = layoutFromAttrs(node, attrInt(node, 'N', 0), attrInt(node, 'K', 0));
    const b: GpuView = { ...need(a, 1), dims: [layout.n, layout.k], quant: layout };
    ops.matmul(a.ctx, need(a, 0), b, a.inputs[2] ?? null, a.outputs[0], {
      transposeB: true,
      activation: attrString(node, 'activation', 'none') as Activation,
      gate: attrInt(node, 'gate', 0) === 1,
    });
  },
  'webvl:QGather': (a) => {
    // Table packed by passes/pack-quantized-gather.ts; its logical dims are row_dims.
    const rowDims = attrInts(a.node, 'row_dims') ?? [];
    const k = rowDims[rowDims.length - 1];
    const layout = layoutFromAttrs(a.node, rowDims.reduce((p, d) => p * d, 1) / k, k);
    ops.gatherQuantized(a.ctx, need(a, 1), layout, rowDims, need(a, 0), a.outputs[0]);
  },
  'webvl:GatherRows': (a) =>
    // passes/split-oversized.ts: indices, then the table's pieces of consecutive rows.
    ops.gatherRows(
      a.ctx,
      a.inputs.slice(1).map((_, i) => need(a, i + 1)),
      attrInts(a.node, 'row_starts') ?? [],
      need(a, 0),
      a.outputs[0],
    ),
  'webvl:SampleTopK': (a) => ops.sampleTopK(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0]),
  'webvl:RepetitionPenalty': (a) =>
    ops.repetitionPenalty(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0]),
  'webvl:Rotary': (a) => {
    const tokenCaches = attrInt(a.node, 'token_caches', 0) === 1;
    if (a.inputs.length < 4 && !tokenCaches)
      return ops.rotary(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0]);
    // The cache form (canonicalize-contrib.ts: com.microsoft RotaryEmbedding), inputs x, cos, sin, positions.
    const x = need(a, 0);
    const cos = need(a, 1);
    const rank4 = x.dims.length === 4;
    const rotaryDim = attrInt(a.node, 'rotary_embedding_dim', 0);
    // onnxruntime: without num_heads (3-D x), the caches give the head size (all of it rotates).
    const heads = rank4 ? x.dims[1] : attrInt(a.node, 'num_heads', 0) || x.dims[2] / ((cos.dims[1] ?? 0) * 2);
    const headSize = rank4 ? x.dims[3] : x.dims[2] / heads;
    const section = attrInts(a.node, 'mrope_section');
    if (section && section.length !== 3)
      unsupported(a.node, `mrope_section [${section}] is not three sections`);
    const layout = attrInt(a.node, 'mrope_layout', 0);
    if (layout !== 0 && layout !== 1) unsupported(a.node, `mrope_layout ${layout}`);
    // Caches per token ([B, S, rotary / 2], opset 23's RotaryEmbedding without position ids) are read as a
    // cache of B · S rows, row b · S + s for token s of row b.
    const positions = tokenCaches ? cos : need(a, 3);
    ops.rotaryCache(
      a.ctx,
      x,
      tokenCaches ? rowsOf(cos) : cos,
      tokenCaches ? rowsOf(need(a, 2)) : need(a, 2),
      positions,
      a.outputs[0],
      {
        layout: rank4 ? 'bnsh' : 'bsnh',
        heads,
        rotaryDim: rotaryDim || headSize,
        interleaved: attrInt(a.node, 'interleaved', 0) === 1,
        rotatedHeads: attrInt(a.node, 'rotated_heads', heads),
        mrope: section && { section: [section[0], section[1], section[2]], interleaved: layout === 1 },
        tokenRows: tokenCaches,
      },
    );
  },
  'webvl:Gelu': (a) =>
    ops.gelu(
      a.ctx,
      need(a, 0),
      a.outputs[0],
      attrString(a.node, 'approximate', 'none') as 'none' | 'tanh' | 'quick',
    ),
  'webvl:LayerNorm': (a) => {
    // Outputs: [y, residual sum?], or with stats=1 [y, mean, invStdDev] (LayerNormalization's optional outputs).
    const stats = attrInt(a.node, 'stats', 0) === 1;
    ops.layerNorm(
      a.ctx,
      need(a, 0),
      need(a, 1),
      a.inputs[2] ?? null,
      a.inputs[3] ?? null,
      a.outputs[0],
      stats ? null : (a.outputs[1] ?? null),
      {
        epsilon: attrFloat(a.node, 'epsilon', 1e-5),
        rms: attrInt(a.node, 'rms', 0) === 1,
      },
      stats ? { mean: a.outputs[1], invStdDev: a.outputs[2] } : null,
    );
  },
  'webvl:Attention': (a) => {
    const outStrides = attrInts(a.node, 'out_strides') ?? [];
    ops.attention(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.inputs[3] ?? null, a.outputs[0], {
      q: strided(a.node, 'q'),
      k: strided(a.node, 'k'),
      v: strided(a.node, 'v'),
      out: { strides: [outStrides[0], outStrides[1], outStrides[2], outStrides[3]] },
      scale: attrFloat(a.node, 'scale', 1),
      softcap: attrFloat(a.node, 'softcap', 0),
      causal: attrInt(a.node, 'causal', 0) === 1,
      window: attrInt(a.node, 'window', 0),
      // Input 6: attention sinks, one per query head (passes/lower-gqa.ts).
      sinks: a.inputs[6] ? need(a, 6) : undefined,
      // Inputs 4 and 5: this step's keys and values after a KV cache read in place (passes/past-capacity.ts).
      tail: a.inputs[4]
        ? { k: need(a, 4), v: need(a, 5), kLayout: strided(a.node, 'kt'), vLayout: strided(a.node, 'vt') }
        : undefined,
    });
  },
  'webvl:KvAppend': (a) => {
    const shape = attrInts(a.node, 'fresh_shape') ?? [];
    const strides = attrInts(a.node, 'fresh_strides') ?? [];
    ops.kvAppend(a.ctx, a.inputs[0] ?? null, need(a, 1), need(a, 2), a.outputs[0], {
      fresh: {
        shape: [shape[0], shape[1], shape[2], shape[3]],
        strides: [strides[0], strides[1], strides[2], strides[3]],
        start: attrInt(a.node, 'fresh_start', 0),
      },
      first: attrInt(a.node, 'first', 0) === 1,
    });
  },
  'webvl:StridedConcat': (a) => {
    // One strided copy per input into its slice of the output (transposed inputs read in place).
    const out = a.outputs[0];
    const rank = out.dims.length;
    const axis =
      attrInt(a.node, 'axis', 0) < 0 ? attrInt(a.node, 'axis', 0) + rank : attrInt(a.node, 'axis', 0);
    const outStrides = new Array<number>(rank);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      outStrides[d] = acc;
      acc *= out.dims[d];
    }
    let offset = 0;
    a.inputs.forEach((src, i) => {
      const dims = attrInts(a.node, `dims_${i}`) ?? [];
      const strides = attrInts(a.node, `strides_${i}`) ?? [];
      if (!src) unsupported(a.node, `input ${i} is missing`);
      if (dims.every((d) => d > 0))
        ops.copyStrided(
          a.ctx,
          src,
          strides,
          attrInt(a.node, `start_${i}`, 0),
          out,
          outStrides,
          offset * outStrides[axis],
          dims,
        );
      offset += dims[axis];
    });
  },
  Softmax: (a) => softmaxLowering(a, false),
  LRN: localResponseNorm,
  NegativeLogLikelihoodLoss: (a) => negativeLogLikelihood(a, need(a, 0), need(a, 1), a.inputs[2] ?? null),
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
  MeanVarianceNormalization: meanVarianceNorm,
  ConvTranspose: (a) => {
    const x = need(a, 0);
    const w = need(a, 1);
    if (x.dims.length - 2 > MAX_CONV_TRANSPOSE_RANK) unsupported(a.node, `${x.dims.length - 2} spatial axes`);
    ops.convTranspose(
      a.ctx,
      x,
      w,
      a.inputs[2] ?? null,
      a.outputs[0],
      convTransposeParams(a.node, x.dims, w.dims),
    );
  },
  Hardmax: hardmax,
  BatchNormalization: batchNormalization,
  DepthToSpace: (a) => depthSpace(a, true),
  SpaceToDepth: (a) => depthSpace(a, false),
  LogSoftmax: (a) => softmaxLowering(a, true),
  Transpose: (a) => ops.transpose(a.ctx, need(a, 0), a.outputs[0], attrInts(a.node, 'perm')),
  Concat: (a) =>
    ops.concat(
      a.ctx,
      a.inputs.map((v, i) => v ?? need(a, i)),
      a.outputs[0],
      attrInt(a.node, 'axis', 0),
    ),
  Slice: (a) => {
    const starts = a.opset >= 10 ? constInts(a, 1) : (attrInts(a.node, 'starts') as number[] | undefined);
    const ends = a.opset >= 10 ? constInts(a, 2) : (attrInts(a.node, 'ends') as number[] | undefined);
    if (!starts || !ends) return unsupported(a.node, 'starts/ends must be constant');
    const axes = a.opset >= 10 ? constInts(a, 3) : attrInts(a.node, 'axes');
    const steps = a.opset >= 10 ? constInts(a, 4) : undefined;
    ops.slice(a.ctx, need(a, 0), a.outputs[0], { starts, ends, axes, steps });
  },
  Expand: (a) => ops.expand(a.ctx, need(a, 0), a.outputs[0]),
  Gather: (a) => ops.gather(a.ctx, need(a, 0), need(a, 1), a.outputs[0], attrInt(a.node, 'axis', 0)),
  Where: (a) => ops.where(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0]),
  GatherND: (a) =>
    ops.gatherNd(a.ctx, need(a, 0), need(a, 1), a.outputs[0], attrInt(a.node, 'batch_dims', 0)),
  IsNaN: (a) => ops.isNan(a.ctx, need(a, 0), a.outputs[0]),
  Pad: (a) => {
    const x = need(a, 0);
    const mode = attrString(a.node, 'mode', 'constant');
    if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap')
      return unsupported(a.node, `mode '${mode}'`);
    const value =
      a.opset >= 11 ? (a.node.inputs[2] ? a.constant(2)?.data[0] : 0) : attrFloat(a.node, 'value', 0);
    if (value === undefined) return unsupported(a.node, 'the constant value must be known at plan time');
    ops.pad(
      a.ctx,
      x,
      a.outputs[0],
      padAmounts({ node: a.node, constant: a.constant, opset: a.opset }, x.dims.length),
      mode,
      value,
    );
  },
  GatherElements: (a) =>
    ops.gatherElements(a.ctx, need(a, 0), need(a, 1), a.outputs[0], attrInt(a.node, 'axis', 0)),
  ScatterND: (a) =>
    ops.scatterNd(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0], scatterReduction(a)),
  ScatterElements: (a) =>
    ops.scatterElements(
      a.ctx,
      need(a, 0),
      need(a, 1),
      need(a, 2),
      a.outputs[0],
      attrInt(a.node, 'axis', 0),
      scatterReduction(a),
    ),
  GridSample: (a) => {
    const x = need(a, 0);
    if (x.dims.length !== 4) unsupported(a.node, `a ${x.dims.length - 2}-D image (2-D only)`);
    const name = attrString(a.node, 'mode', 'linear');
    const mode = GRID_SAMPLE_MODES[name];
    const padding = attrString(a.node, 'padding_mode', 'zeros') as GridPadding;
    if (!mode || !['zeros', 'border', 'reflection'].includes(padding))
      unsupported(a.node, `mode '${name}', padding_mode '${padding}'`);
    ops.gridSample(a.ctx, x, need(a, 1), a.outputs[0], {
      mode,
      padding,
      alignCorners: attrInt(a.node, 'align_corners', 0) === 1,
    });
  },
  OneHot: (a) => {
    const depth = a.constant(1)?.data[0];
    if (depth === undefined) return unsupported(a.node, 'depth must be known at plan time');
    ops.oneHot(
      a.ctx,
      need(a, 0),
      need(a, 2),
      a.outputs[0],
      Math.trunc(Number(depth)),
      attrInt(a.node, 'axis', -1),
    );
  },
  // Scatter (opsets 9-10) is ScatterElements without a reduction.
  Scatter: (a) =>
    ops.scatterElements(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0], attrInt(a.node, 'axis', 0)),
  // Statistics per (n, c) plane: group normalization with one channel per group.
  InstanceNormalization: (a) =>
    ops.groupNorm(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0], {
      groups: need(a, 0).dims[1],
      epsilon: attrFloat(a.node, 'epsilon', 1e-5),
      perChannel: true,
    }),
  // Opset 18 gave scale and bias one value per group; 21 made them per channel.
  GroupNormalization: (a) =>
    ops.groupNorm(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0], {
      groups: attrInt(a.node, 'num_groups', 0),
      epsilon: attrFloat(a.node, 'epsilon', 1e-5),
      perChannel: a.opset >= 21,
    }),
  Resize: (a) => {
    const x = need(a, 0);
    ops.resize(a.ctx, x, a.outputs[0], resizeParams(a.node, x.dims, a.constant, a.opset));
  },
  Upsample: (a) => LOWERINGS.Resize(a),
  ReverseSequence: (a) =>
    ops.reverseSequence(
      a.ctx,
      need(a, 0),
      need(a, 1),
      a.outputs[0],
      attrInt(a.node, 'time_axis', 0),
      attrInt(a.node, 'batch_axis', 1),
    ),
  MaxUnpool: (a) => ops.maxUnpool(a.ctx, need(a, 0), need(a, 1), a.outputs[0]),
  RoiAlign: (a) => {
    const mode = attrString(a.node, 'mode', 'avg');
    if (mode !== 'avg' && mode !== 'max') unsupported(a.node, `mode '${mode}'`);
    // Before opset 16 RoiAlign had no coordinate mode and behaved as output_half_pixel.
    const coordinates = attrString(
      a.node,
      'coordinate_transformation_mode',
      a.opset >= 16 ? 'half_pixel' : 'output_half_pixel',
    );
    if (coordinates !== 'half_pixel' && coordinates !== 'output_half_pixel')
      unsupported(a.node, `coordinate_transformation_mode '${coordinates}'`);
    ops.roiAlign(a.ctx, need(a, 0), need(a, 1), need(a, 2), a.outputs[0], {
      outputHeight: attrInt(a.node, 'output_height', 1),
      outputWidth: attrInt(a.node, 'output_width', 1),
      samplingRatio: attrInt(a.node, 'sampling_ratio', 0),
      spatialScale: attrFloat(a.node, 'spatial_scale', 1),
      halfPixel: coordinates === 'half_pixel',
      mode,
    });
  },
  Det: (a) => ops.det(a.ctx, need(a, 0), a.outputs[0]),
  CumSum: (a) => {
    const axis = constInts(a, 1)?.[0];
    if (axis === undefined) return unsupported(a.node, 'axis must be known when planning');
    ops.cumsum(
      a.ctx,
      need(a, 0),
      a.outputs[0],
      axis,
      attrInt(a.node, 'exclusive', 0) === 1,
      attrInt(a.node, 'reverse', 0) === 1,
    );
  },
  BitShift: (a) => {
    const direction = attrString(a.node, 'direction', '');
    if (direction !== 'LEFT' && direction !== 'RIGHT') unsupported(a.node, `direction '${direction}'`);
    ops.binary(
      a.ctx,
      need(a, 0),
      need(a, 1),
      a.outputs[0],
      direction === 'LEFT' ? 'BitShiftLeft' : 'BitShiftRight',
    );
  },
  Einsum: (a) => {
    const equation = attrString(a.node, 'equation', '');
    einsum(
      a.ctx,
      equation,
      a.inputs.map((_, i) => need(a, i)),
      a.outputs[0],
    );
  },
  Trilu: (a) => {
    const k = a.node.inputs[1] ? constInts(a, 1)?.[0] : 0;
    if (k === undefined) return unsupported(a.node, 'k must be known at plan time');
    ops.trilu(a.ctx, need(a, 0), a.outputs[0], attrInt(a.node, 'upper', 1) === 1, k);
  },
  LayerNormalization: (a) => {
    // Over axes axis … last (fuse-layernorm.ts takes the last-axis form): the same kernel on 2-D views
    // [rows, cols], γ/β flattened to cols, the statistics one per row.
    const x = need(a, 0);
    const { rows, cols } = normalizedRows(a, x);
    const beta = a.inputs[2];
    // Mean and InvStdDev are both optional: the kernel writes both, one of them into scratch if only the other
    // is asked for.
    const [, mean, invStdDev] = a.outputs;
    const stat = (v: GpuView | null | undefined) =>
      v ? viewAs(v, [rows, 1]) : a.ctx.scratch('float32', [rows, 1]);
    ops.layerNorm(
      a.ctx,
      viewAs(x, [rows, cols]),
      viewAs(need(a, 1), [cols]),
      beta ? viewAs(beta, [cols]) : null,
      null,
      viewAs(a.outputs[0], [rows, cols]),
      null,
      { epsilon: attrFloat(a.node, 'epsilon', 1e-5) },
      mean || invStdDev ? { mean: stat(mean), invStdDev: stat(invStdDev) } : null,
    );
  },
  // Opset 23's RMSNormalization: the same kernel as LayerNormalization's, root mean square only, over axes axis …
  // last; a scale that broadcasts to them is expanded first.
  RMSNormalization: (a) => {
    const x = need(a, 0);
    const { rows, cols, normalized } = normalizedRows(a, x);
    let scale = need(a, 1);
    if (scale.dims.reduce((p, d) => p * d, 1) !== cols) {
      const full = a.ctx.scratch(scale.dtype, normalized);
      ops.expand(a.ctx, scale, full);
      scale = full;
    }
    ops.layerNorm(
      a.ctx,
      viewAs(x, [rows, cols]),
      viewAs(scale, [cols]),
      null,
      null,
      viewAs(a.outputs[0], [rows, cols]),
      null,
      { epsilon: attrFloat(a.node, 'epsilon', 1e-5), rms: true },
      null,
    );
  },
  DequantizeLinear: (a) => {
    // Constant codes were folded at load (pack-quantized.ts); these are codes computed at run time (a Gather
    // from a quantized table). One constant scale and zero point: one dispatch. Otherwise (per-axis, or values
    // that arrive as inputs): y = (f32(x) − f32(zero point)) · scale, the per-axis tensors viewed as [C, 1, …].
    const x = need(a, 0);
    const single = scalarQuantization(a);
    if (single) {
      ops.dequantize(a.ctx, x, a.outputs[0], single.scale, single.zeroPoint);
      return;
    }
    const along = quantizationAxis(a, x);
    const xf = a.ctx.scratch('float32', x.dims);
    ops.cast(a.ctx, x, xf);
    let centred = xf;
    const zero = floatZeroPoint(a, along);
    if (zero) {
      centred = a.ctx.scratch('float32', x.dims);
      ops.binary(a.ctx, xf, zero, centred, 'Sub');
    }
    ops.binary(a.ctx, centred, along(need(a, 1)), a.outputs[0], 'Mul');
  },
  DynamicQuantizeLinear: dynamicQuantize,
  QuantizeLinear: (a) => {
    // One constant scale and zero point: one dispatch. Otherwise saturate(round(x / scale) + zero point) in steps,
    // the per-axis tensors viewed along the axis.
    const x = need(a, 0);
    const out = a.outputs[0];
    const single = scalarQuantization(a);
    if (single) {
      ops.quantize(a.ctx, x, out, single.scale, single.zeroPoint);
      return;
    }
    const along = quantizationAxis(a, x);
    quantizeInSteps(a, x, along(need(a, 1)), floatZeroPoint(a, along), out);
  },
  IsInf: (a) =>
    ops.isInf(
      a.ctx,
      need(a, 0),
      a.outputs[0],
      attrInt(a.node, 'detect_positive', 1) === 1,
      attrInt(a.node, 'detect_negative', 1) === 1,
    ),
  Tile: (a) => {
    const repeats = constInts(a, 1);
    if (!repeats) return unsupported(a.node, 'repeats must be constant');
    ops.tile(a.ctx, need(a, 0), a.outputs[0], repeats);
  },
  Split: (a) => {
    // One strided copy per output, each a slice of the input along the axis.
    const x = need(a, 0);
    const axis =
      attrInt(a.node, 'axis', 0) < 0
        ? attrInt(a.node, 'axis', 0) + x.dims.length
        : attrInt(a.node, 'axis', 0);
    let start = 0;
    a.outputs.forEach((out) => {
      const n = out.dims[axis];
      ops.slice(a.ctx, x, out, { starts: [start], ends: [start + n], axes: [axis] });
      start += n;
    });
  },
  Cast: (a) => ops.cast(a.ctx, need(a, 0), a.outputs[0], attrInt(a.node, 'to', 1)),
  // `to` written once shapes are known (passes/cast-like.ts).
  CastLike: (a) => ops.cast(a.ctx, need(a, 0), a.outputs[0], attrInt(a.node, 'to', 1)),
  Conv: (a) => {
    // 2-D on the conv2d kernels; 1-D as 2-D of height 1; 3-D in its patch-embedding form.
    const [x, w, out] = [need(a, 0), need(a, 1), a.outputs[0]];
    const p = convParams(a.node, x.dims, w.dims);
    if (x.dims.length === 5) return patchConv(a, p);
    if (x.dims.length !== 3 && x.dims.length !== 4) unsupported(a.node, `${x.dims.length - 2} spatial axes`);
    const flat = x.dims.length === 3;
    const plane = (v: GpuView): GpuView => (flat ? { ...v, dims: [v.dims[0], v.dims[1], 1, v.dims[2]] } : v);
    const pair = (v: readonly number[], fill: number): [number, number] =>
      flat ? [fill, v[0]] : [v[0], v[1]];
    const [begin, end] = [pair(p.padsBegin, 0), pair(p.padsEnd, 0)];
    ops.conv2d(a.ctx, plane(x), plane(w), a.inputs[2] ?? null, plane(out), {
      strides: pair(p.strides, 1),
      pads: [begin[0], begin[1], end[0], end[1]],
      dilations: pair(p.dilations, 1),
      group: p.group,
    });
  },
  ArgMax: (a) => argReduce(a, true),
  ArgMin: (a) => argReduce(a, false),
  TopK: (a) => {
    const k = constInts(a, 1)?.[0];
    if (k === undefined) return unsupported(a.node, 'k must be constant');
    const x = need(a, 0);
    const rank = x.dims.length;
    const axisAttr = attrInt(a.node, 'axis', -1);
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    const params = { k, largest: attrInt(a.node, 'largest', 1) === 1 };
    if (axis === rank - 1) return ops.topk(a.ctx, x, a.outputs[0], a.outputs[1], params);
    // Another axis: moved last for the row kernel, and both outputs moved back.
    const { rows, perm } = axisLast(a, x, axis);
    const dims = [...rows.dims.slice(0, -1), k];
    const values = a.ctx.scratch(x.dtype, dims);
    const indices = a.ctx.scratch(a.outputs[1].dtype, dims);
    ops.topk(a.ctx, rows, values, indices, params);
    const back = perm.map((_, i) => perm.indexOf(i));
    ops.transpose(a.ctx, values, a.outputs[0], back);
    ops.transpose(a.ctx, indices, a.outputs[1], back);
  },
};

const BINARY_OPS: readonly BinaryOp[] = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Mod',
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
  'PRelu',
];
/** Max and Min take any number of inputs, as Sum (Add) and Mean do. */
const VARIADIC: ReadonlySet<BinaryOp> = new Set(['Max', 'Min']);

/** `op` folded over every input, pairwise through scratch tensors, into `out`; one input is a copy. */
function foldInputs(a: LowerArgs, op: BinaryOp, out: GpuView): void {
  const n = a.inputs.length;
  if (n === 1) {
    ops.expand(a.ctx, need(a, 0), out);
    return;
  }
  let acc = need(a, 0);
  for (let i = 1; i < n; i++) {
    const x = need(a, i);
    const target = i === n - 1 ? out : a.ctx.scratch(out.dtype, broadcastDims(acc.dims, x.dims));
    ops.binary(a.ctx, acc, x, target, op);
    acc = target;
  }
}

for (const op of BINARY_OPS) {
  LOWERINGS[op] = (a) => {
    const n = a.inputs.length;
    if (n !== 2 && !(VARIADIC.has(op) && n >= 1)) unsupported(a.node, 'only the two-input form');
    foldInputs(a, op === 'Mod' && attrInt(a.node, 'fmod', 0) === 1 ? 'FMod' : op, a.outputs[0]);
  };
}
LOWERINGS.Sum = (a) => foldInputs(a, 'Add', a.outputs[0]);
LOWERINGS.Mean = (a) => {
  const out = a.outputs[0];
  if (out.dtype !== 'float32') unsupported(a.node, `a ${out.dtype} mean`);
  const sum = a.ctx.scratch(out.dtype, out.dims);
  foldInputs(a, 'Add', sum);
  ops.binary(a.ctx, sum, floatScalar(a, a.inputs.length), out, 'Div');
};

/** The attributes a unary op's alpha and beta carry; absent ones take ONNX's defaults (ops/unary.ts). */
const UNARY_ATTRS: Partial<Record<(typeof UNARY_OPS)[number], readonly [string, string?]>> = {
  LeakyRelu: ['alpha'],
  HardSigmoid: ['alpha', 'beta'],
  Elu: ['alpha'],
  Selu: ['alpha', 'gamma'],
  Celu: ['alpha'],
  ThresholdedRelu: ['alpha'],
  Shrink: ['lambd', 'bias'],
};

for (const op of UNARY_OPS) {
  LOWERINGS[op] = (a) => {
    const n = a.node;
    const [alphaAttr, betaAttr] = UNARY_ATTRS[op] ?? [];
    let alpha = alphaAttr ? attrFloat(n, alphaAttr) : undefined;
    let beta = betaAttr ? attrFloat(n, betaAttr) : undefined;
    if (op === 'Clip') {
      const lo =
        a.opset >= 11
          ? n.inputs[1]
            ? a.constant(1)?.data[0]
            : Number.NEGATIVE_INFINITY
          : attrFloat(n, 'min', -Infinity);
      const hi =
        a.opset >= 11
          ? n.inputs[2]
            ? a.constant(2)?.data[0]
            : Number.POSITIVE_INFINITY
          : attrFloat(n, 'max', Infinity);
      if (lo === undefined || hi === undefined) unsupported(n, 'min/max must be constant');
      [alpha, beta] = [lo, hi];
    }
    if (op === 'Gelu') {
      ops.gelu(
        a.ctx,
        need(a, 0),
        a.outputs[0],
        attrString(n, 'approximate', 'none') === 'tanh' ? 'tanh' : 'none',
      );
      return;
    }
    ops.unary(a.ctx, need(a, 0), a.outputs[0], { op: op as UnaryOp, alpha, beta });
  };
}

for (const op of REDUCE_OPS) {
  LOWERINGS[op] = (a) => {
    const fromInput = a.opset >= 18 || (op === 'ReduceSum' && a.opset >= 13);
    let axes = fromInput ? (a.node.inputs[1] ? constInts(a, 1) : undefined) : attrInts(a.node, 'axes');
    if (fromInput && a.node.inputs[1] && !axes) unsupported(a.node, 'axes must be constant');
    if ((!axes || axes.length === 0) && attrInt(a.node, 'noop_with_empty_axes', 0) === 1) axes = [];
    if (axes && axes.length === 0 && attrInt(a.node, 'noop_with_empty_axes', 0) === 1) {
      ops.unary(a.ctx, need(a, 0), a.outputs[0], { op: 'Identity' });
      return;
    }
    ops.reduce(a.ctx, need(a, 0), a.outputs[0], {
      op: op.slice('Reduce'.length) as ReduceOp,
      axes,
      keepdims: attrInt(a.node, 'keepdims', 1) === 1,
    });
  };
}

/** `v` read with other dims (the same elements). */
function viewAs(v: GpuView, dims: number[]): GpuView {
  return { ...v, dims };
}

/**
 * LayerNormalization's and RMSNormalization's split of x at `axis`: the rows before it, the values normalized
 * together after it (`normalized`, their dims; `cols`, their count).
 */
function normalizedRows(a: LowerArgs, x: GpuView): { rows: number; cols: number; normalized: number[] } {
  const rank = x.dims.length;
  const axisAttr = attrInt(a.node, 'axis', -1);
  if (axisAttr < -rank || axisAttr >= rank)
    unsupported(a.node, `axis ${axisAttr} out of range for rank ${rank}`);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const normalized = x.dims.slice(axis);
  return {
    rows: x.dims.slice(0, axis).reduce((p, d) => p * d, 1),
    cols: normalized.reduce((p, d) => p * d, 1),
    normalized,
  };
}

/** A [B, S, half] cache per token as [B · S, half] rows. */
function rowsOf(v: GpuView): GpuView {
  return { ...v, dims: [v.dims.slice(0, -1).reduce((p, d) => p * d, 1), v.dims[v.dims.length - 1] ?? 0] };
}

/** AveragePool / MaxPool, and the Global forms (one window over all spatial axes): ops/pool.ts. */
function poolLowering(kind: 'max' | 'average'): Lowering {
  return (a) => {
    const x = need(a, 0);
    const spatial = x.dims.length - 2;
    if (spatial > MAX_POOL_RANK) unsupported(a.node, `${spatial} spatial axes (at most ${MAX_POOL_RANK})`);
    if (kind === 'average' && x.dtype !== 'float32') unsupported(a.node, `a ${x.dtype} input`);
    ops.pool(a.ctx, kind, x, a.outputs[0], poolParams(a.node, x.dims), a.outputs[1]);
  };
}
LOWERINGS.AveragePool = poolLowering('average');
LOWERINGS.MaxPool = poolLowering('max');
LOWERINGS.GlobalAveragePool = poolLowering('average');
LOWERINGS.GlobalMaxPool = poolLowering('max');
Object.assign(LOWERINGS, QUANTIZED_LOWERINGS);
LOWERINGS.LpNormalization = lpNormalization;
LOWERINGS.DFT = dft;
LOWERINGS.STFT = stft;
LOWERINGS['com.microsoft:LinearAttention'] = (a) => {
  const [query, key, value] = [need(a, 0), need(a, 1), need(a, 2)];
  const [past, decay, beta] = [a.inputs[3] ?? null, a.inputs[4] ?? null, a.inputs[5] ?? null];
  const p = linearAttentionParams(a.node, query.dims, key.dims, value.dims, decay?.dims, beta?.dims);
  const { gated, delta } = ruleTerms(p.rule);
  // A rule ignores the inputs it does not use (onnxruntime does too).
  ops.linearAttention(
    a.ctx,
    query,
    key,
    value,
    past,
    gated ? decay : null,
    delta ? beta : null,
    a.outputs[0],
    a.outputs[1],
    p,
  );
};
LOWERINGS['com.microsoft:CausalConvWithState'] = (a) => {
  const x = need(a, 0);
  const p = causalConvParams(a.node, x.dims, need(a, 1).dims);
  // Trailing channel axes of channels-last activations read as one.
  const flat = (v: GpuView): GpuView =>
    p.channelsLast ? { ...v, dims: [v.dims[0], v.dims[1], p.channels] } : v;
  const past = a.inputs[3] ?? null;
  ops.causalConv(
    a.ctx,
    flat(x),
    need(a, 1),
    a.inputs[2] ?? null,
    past && flat(past),
    flat(a.outputs[0]),
    flat(a.outputs[1]),
    p,
  );
};
LOWERINGS.RNN = rnnLowering('RNN');
LOWERINGS.GRU = rnnLowering('GRU');
LOWERINGS.LSTM = rnnLowering('LSTM');

export function lowering(node: Pick<Node, 'opType' | 'domain'>): Lowering | undefined {
  return LOWERINGS[opKey(node)];
}

/** Every ONNX op (default domain) a graph may contain for our backend to take it. */
export function supportedOps(): string[] {
  const own = [...Object.keys(LOWERINGS).filter((k) => !k.includes(':')), ...HOST_OPS];
  // Constant nodes become initializers when the model is decoded (onnx-decode.ts).
  return [
    ...new Set([
      ...own,
      ...VIEW_OPS,
      ...FOLD_ONLY_OPS,
      'LayerNormalization',
      'Constant',
      'RotaryEmbedding',
      'Attention',
    ]),
  ].sort();
}

/**
 * Ops outside the default domain that load() accepts (lowered by the fusion passes). MatMulNBits and
 * GatherBlockQuantized are not listed: load() packs those it can (passes/pack-quantized*.ts) into webvl ops
 * before it checks, and the rest are refused.
 */
export const SUPPORTED_CONTRIB_OPS: ReadonlySet<string> = new Set([
  'com.microsoft:MultiHeadAttention',
  'com.microsoft:Attention',
  // Lowered onto webvl Attention, KvAppend and Rotary once shapes are known (passes/lower-gqa.ts).
  'com.microsoft:GroupQueryAttention',
  // Rewritten into webvl Rotary's cache form (canonicalize-contrib.ts).
  'com.microsoft:RotaryEmbedding',
  'com.microsoft:MRotaryEmbedding',
  // Hybrid decoders' recurrent layers (ops/linear-attention.ts).
  'com.microsoft:LinearAttention',
  'com.microsoft:CausalConvWithState',
  // Rewritten into standard ops (canonicalize-contrib.ts): the gates before LinearAttention, the gated norm
  // after it.
  'com.microsoft:LinearAttentionGate',
  'com.microsoft:GatedRMSNorm',
  // Rewritten into standard and fused ops by passes/canonicalize-contrib.ts.
  'com.microsoft:Gelu',
  'com.microsoft:QuickGelu',
  'com.microsoft:BiasGelu',
  'com.microsoft:FastGelu',
  'com.microsoft:SkipLayerNormalization',
  'com.microsoft:SkipSimplifiedLayerNormalization',
  'com.microsoft:SimplifiedLayerNormalization',
]);
