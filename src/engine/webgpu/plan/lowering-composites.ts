// Lowerings built from other kernels rather than a kernel of their own: BatchNormalization, DynamicQuantizeLinear,
// LRN, MeanVarianceNormalization and the two losses. Each is a handful of small dispatches; none is on the hot
// path of the models webvl targets.
import { attrFloat, attrInt, attrInts, attrString } from '../ir/ir';
import type { PoolParams } from '../ir/pool-params';
import * as ops from '../ops';
import type { GpuView } from './kernel-context';
import { floatScalar, type LowerArgs, need, unsupported } from './lower-args';

/**
 * BatchNormalization as y = x · k + c per channel, k = scale / √(var + ε), c = B − mean · k. In inference the
 * statistics are the inputs: k and c are computed at plan time when they are constants (an export that kept the
 * node), else by five small dispatches. In training mode (training_mode = 1) they are the batch's own mean and
 * population variance over every axis but the channel one, and the optional running_mean / running_var outputs
 * blend them into the inputs: input · momentum + batch · (1 − momentum).
 */
export function batchNormalization(a: LowerArgs): void {
  const x = need(a, 0);
  if (x.dtype !== 'float32' || x.dims.length < 2) unsupported(a.node, `a ${x.dtype} [${x.dims}] input`);
  const channels = x.dims[1];
  const epsilon = attrFloat(a.node, 'epsilon', 1e-5);
  const perChannel = (v: GpuView): GpuView => ({ ...v, dims: [channels, ...x.dims.slice(2).map(() => 1)] });
  const vector = () => a.ctx.scratch('float32', [channels]);
  // Opset 14 says so with training_mode; before it, asking for the running statistics did.
  const training = attrInt(a.node, 'training_mode', 0) === 1 || (a.opset < 14 && a.outputs.length > 1);
  const stats = [1, 2, 3, 4].map((i) => a.constant(i));
  let k: GpuView;
  let c: GpuView;
  if (!training && stats.every((s) => s !== undefined)) {
    const [scale, bias, mean, variance] = stats.map((s) => Array.from(s?.data ?? [], Number));
    const kv = scale.map((s, i) => s / Math.sqrt(variance[i] + epsilon));
    k = a.ctx.constant('float32', [channels], Float32Array.from(kv));
    c = a.ctx.constant(
      'float32',
      [channels],
      Float32Array.from(bias, (b, i) => b - mean[i] * kv[i]),
    );
  } else {
    let mean = need(a, 3);
    let variance = need(a, 4);
    if (training) [mean, variance] = batchStatistics(a, x, perChannel);
    const shifted = vector();
    ops.binary(a.ctx, variance, floatScalar(a, epsilon), shifted, 'Add');
    const deviation = vector();
    ops.unary(a.ctx, shifted, deviation, { op: 'Sqrt' });
    k = vector();
    ops.binary(a.ctx, need(a, 1), deviation, k, 'Div');
    const meanK = vector();
    ops.binary(a.ctx, mean, k, meanK, 'Mul');
    c = vector();
    ops.binary(a.ctx, need(a, 2), meanK, c, 'Sub');
    if (training) {
      const momentum = attrFloat(a.node, 'momentum', 0.9);
      for (const [i, batch] of [mean, variance].entries()) {
        const out = a.outputs[i + 1];
        if (!out) continue;
        const kept = vector();
        ops.binary(a.ctx, need(a, i + 3), floatScalar(a, momentum), kept, 'Mul');
        const added = vector();
        ops.binary(a.ctx, batch, floatScalar(a, 1 - momentum), added, 'Mul');
        ops.binary(a.ctx, kept, added, out, 'Add');
      }
    }
  }
  const scaled = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, x, perChannel(k), scaled, 'Mul');
  ops.binary(a.ctx, scaled, perChannel(c), a.outputs[0], 'Add');
}

/** Mean and population variance of x over every axis but the channel one (axis 1), each [C]. */
function batchStatistics(a: LowerArgs, x: GpuView, perChannel: (v: GpuView) => GpuView): [GpuView, GpuView] {
  const channels = x.dims[1];
  const axes = x.dims.map((_, i) => i).filter((i) => i !== 1);
  const mean = a.ctx.scratch('float32', [channels]);
  ops.reduce(a.ctx, x, mean, { op: 'Mean', axes, keepdims: false });
  const centred = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, x, perChannel(mean), centred, 'Sub');
  const variance = a.ctx.scratch('float32', [channels]);
  ops.reduce(a.ctx, centred, variance, { op: 'SumSquare', axes, keepdims: false });
  const count = x.dims.reduce((p, d) => p * d, 1) / channels;
  const population = a.ctx.scratch('float32', [channels]);
  ops.binary(a.ctx, variance, floatScalar(a, count), population, 'Div');
  return [mean, population];
}

/**
 * DynamicQuantizeLinear on its own (the pack-quantized pass fuses the ones that feed MatMulInteger): uint8 codes
 * over [min(0, min x), max(0, max x)], scale = range / 255, zero point = saturate(round(−low / scale)), each step
 * a small dispatch over scalars, then saturate(round(x / scale) + zero point).
 */
export function dynamicQuantize(a: LowerArgs): void {
  const x = need(a, 0);
  const [codes, scale, zero] = a.outputs;
  if (x.dtype !== 'float32') unsupported(a.node, `a ${x.dtype} input`);
  const scalar = () => a.ctx.scratch('float32', []);
  const extreme = (op: 'Max' | 'Min') => {
    const reduced = scalar();
    ops.reduce(a.ctx, x, reduced, { op, keepdims: false });
    const widened = scalar();
    ops.binary(a.ctx, reduced, floatScalar(a, 0), widened, op);
    return widened;
  };
  const [high, low] = [extreme('Max'), extreme('Min')];
  const range = scalar();
  ops.binary(a.ctx, high, low, range, 'Sub');
  ops.binary(a.ctx, range, floatScalar(a, 255), scale, 'Div');
  const negated = scalar();
  ops.unary(a.ctx, low, negated, { op: 'Neg' });
  const zeroRatio = scalar();
  ops.binary(a.ctx, negated, scale, zeroRatio, 'Div');
  const zeroRounded = scalar();
  ops.unary(a.ctx, zeroRatio, zeroRounded, { op: 'Round' });
  const zeroPoint = scalar();
  ops.unary(a.ctx, zeroRounded, zeroPoint, { op: 'Clip', alpha: 0, beta: 255 });
  ops.cast(a.ctx, zeroPoint, zero);
  quantizeInSteps(a, x, scale, zeroPoint, codes);
}

/**
 * saturate(round_half_even(x / scale) + zero point) into `out`'s 8-bit codes, a dispatch per step; scale and zero
 * point (float, or null for none) broadcast against x.
 */
export function quantizeInSteps(
  a: LowerArgs,
  x: GpuView,
  scale: GpuView,
  zeroPoint: GpuView | null,
  out: GpuView,
): void {
  const [lo, hi] = ops.quantizedRange(out.dtype);
  const scaled = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, x, scale, scaled, 'Div');
  const rounded = a.ctx.scratch('float32', x.dims);
  ops.unary(a.ctx, scaled, rounded, { op: 'Round' });
  let shifted = rounded;
  if (zeroPoint) {
    shifted = a.ctx.scratch('float32', x.dims);
    ops.binary(a.ctx, rounded, zeroPoint, shifted, 'Add');
  }
  const clipped = a.ctx.scratch('float32', x.dims);
  ops.unary(a.ctx, shifted, clipped, { op: 'Clip', alpha: lo, beta: hi });
  ops.cast(a.ctx, clipped, out);
}

/**
 * LRN: x / (bias + α · mean of x² over a window of `size` channels)^β, the window sum as an AveragePool over the
 * channels of a [N, 1, C, rest] view (padding counted, so mean · size is the sum ONNX divides by size).
 */
export function localResponseNorm(a: LowerArgs): void {
  const x = need(a, 0);
  const size = attrInt(a.node, 'size', 0);
  if (x.dtype !== 'float32' || x.dims.length < 3 || size < 1)
    unsupported(a.node, `size ${size} on [${x.dims}]`);
  const [n, c] = x.dims;
  const rest = x.dims.slice(2).reduce((p, d) => p * d, 1);
  const view = (v: GpuView): GpuView => ({ ...v, dims: [n, 1, c, rest] });
  const squares = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, x, x, squares, 'Mul');
  const means = a.ctx.scratch('float32', x.dims);
  ops.pool(a.ctx, 'average', view(squares), view(means), channelWindow(size, c, rest));
  const scaled = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, means, floatScalar(a, attrFloat(a.node, 'alpha', 1e-4)), scaled, 'Mul');
  const based = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, scaled, floatScalar(a, attrFloat(a.node, 'bias', 1)), based, 'Add');
  const powered = a.ctx.scratch('float32', x.dims);
  ops.binary(a.ctx, based, floatScalar(a, -attrFloat(a.node, 'beta', 0.75)), powered, 'Pow');
  ops.binary(a.ctx, x, powered, a.outputs[0], 'Mul');
}

/** LRN's channel window as AveragePool parameters over [N, 1, C, rest]: `size` taps placed as ONNX places them. */
function channelWindow(size: number, channels: number, rest: number): PoolParams {
  const before = Math.floor((size - 1) / 2);
  return {
    kernel: [size, 1],
    strides: [1, 1],
    dilations: [1, 1],
    padsBegin: [before, 0],
    padsEnd: [size - 1 - before, 0],
    outSpatial: [channels, rest],
    countIncludePad: true,
    storageOrder: 0,
  };
}

/** MeanVarianceNormalization as its ONNX function: (x − E x) / (√(E x² − (E x)²) + 1e-9) over `axes`. */
export function meanVarianceNorm(a: LowerArgs): void {
  const x = need(a, 0);
  if (x.dtype !== 'float32') unsupported(a.node, `a ${x.dtype} input`);
  const rank = x.dims.length;
  const axes = (attrInts(a.node, 'axes') ?? [0, 2, 3]).map((d) => (d < 0 ? d + rank : d));
  const reducedDims = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const scratch = (dims: readonly number[]) => a.ctx.scratch('float32', dims);
  const mean = (v: GpuView) => {
    const m = scratch(reducedDims);
    ops.reduce(a.ctx, v, m, { op: 'Mean', axes, keepdims: true });
    return m;
  };
  const m = mean(x);
  const squares = scratch(x.dims);
  ops.binary(a.ctx, x, x, squares, 'Mul');
  const meanSquares = mean(squares);
  const squaredMean = scratch(reducedDims);
  ops.binary(a.ctx, m, m, squaredMean, 'Mul');
  const variance = scratch(reducedDims);
  ops.binary(a.ctx, meanSquares, squaredMean, variance, 'Sub');
  const deviation = scratch(reducedDims);
  ops.unary(a.ctx, variance, deviation, { op: 'Sqrt' });
  const divisor = scratch(reducedDims);
  ops.binary(a.ctx, deviation, floatScalar(a, 1e-9), divisor, 'Add');
  const centred = scratch(x.dims);
  ops.binary(a.ctx, x, m, centred, 'Sub');
  ops.binary(a.ctx, centred, divisor, a.outputs[0], 'Div');
}

/**
 * NegativeLogLikelihoodLoss over log-probabilities [N, C, d…] and targets [N, d…]: −input[n, target, d…] ·
 * weight[target], 0 where the target is ignore_index; reduced by none, sum, or mean (the sum over the summed
 * weights of the targets counted). SoftmaxCrossEntropyLoss feeds it LogSoftmax(scores) over the classes.
 */
export function negativeLogLikelihood(
  a: LowerArgs,
  logProbs: GpuView,
  target: GpuView,
  weight: GpuView | null,
): void {
  const out = a.outputs[0];
  const reduction = attrString(a.node, 'reduction', 'mean');
  if (logProbs.dtype !== 'float32' || !['none', 'sum', 'mean'].includes(reduction))
    unsupported(a.node, `a ${logProbs.dtype} input, reduction '${reduction}'`);
  const picks = target.dims;
  const scratch = (dtype: GpuView['dtype'], dims: readonly number[]) => a.ctx.scratch(dtype, dims);
  // The class each position picks, as GatherElements along the classes reads it: out-of-range ones (ignore_index)
  // are clamped and weigh 0.
  const picked = scratch('float32', [picks[0], 1, ...picks.slice(1)]);
  ops.gatherElements(a.ctx, logProbs, { ...target, dims: [picks[0], 1, ...picks.slice(1)] }, picked, 1);
  let weights: GpuView | null = null;
  if (weight) {
    weights = scratch('float32', picks);
    ops.gather(a.ctx, weight, target, weights, 0);
  }
  const ignore = attrInt(a.node, 'ignore_index');
  if (ignore !== undefined) {
    const hit = scratch('bool', picks);
    ops.binary(a.ctx, target, a.ctx.constant(target.dtype, [1], new Int32Array([ignore])), hit, 'Equal');
    const kept = scratch('bool', picks);
    ops.unary(a.ctx, hit, kept, { op: 'Not' });
    const counted = scratch('float32', picks);
    ops.cast(a.ctx, kept, counted);
    if (weights) {
      const masked = scratch('float32', picks);
      ops.binary(a.ctx, weights, counted, masked, 'Mul');
      weights = masked;
    } else weights = counted;
  }
  let losses = { ...picked, dims: picks };
  if (weights) {
    const weighted = scratch('float32', picks);
    ops.binary(a.ctx, losses, weights, weighted, 'Mul');
    losses = weighted;
  }
  if (reduction === 'none') {
    ops.unary(a.ctx, losses, out, { op: 'Neg' });
    return;
  }
  const total = scratch('float32', []);
  ops.reduce(a.ctx, losses, total, { op: 'Sum', keepdims: false });
  if (reduction === 'sum') {
    ops.unary(a.ctx, total, out, { op: 'Neg' });
    return;
  }
  const negated = scratch('float32', []);
  ops.unary(a.ctx, total, negated, { op: 'Neg' });
  let count: GpuView;
  if (weights) {
    count = scratch('float32', []);
    ops.reduce(a.ctx, weights, count, { op: 'Sum', keepdims: false });
  } else
    count = floatScalar(
      a,
      picks.reduce((p, d) => p * d, 1),
    );
  ops.binary(a.ctx, negated, count, out, 'Div');
}

export function softmaxCrossEntropy(a: LowerArgs): void {
  const scores = need(a, 0);
  const logProbs = a.outputs[1] ?? a.ctx.scratch('float32', scores.dims);
  ops.softmax(a.ctx, scores, logProbs, 1, true);
  negativeLogLikelihood(a, logProbs, need(a, 1), a.inputs[2] ?? null);
}

/**
 * LpNormalization: x divided by its L1 or L2 norm along one axis, as a reduction and a division; a vector of norm
 * 0 stays 0, as onnxruntime leaves it (the norm is floored at the smallest normal float, below which every
 * element is 0 anyway).
 */
export function lpNormalization(a: LowerArgs): void {
  const x = need(a, 0);
  const p = attrInt(a.node, 'p', 2);
  if (p !== 1 && p !== 2) unsupported(a.node, `p = ${p} (ONNX allows 1 and 2)`);
  const rank = x.dims.length;
  const axis = attrInt(a.node, 'axis', -1);
  if (axis < -rank || axis >= rank) unsupported(a.node, `axis ${axis} out of range for rank ${rank}`);
  const at = axis < 0 ? axis + rank : axis;
  const normDims = x.dims.map((d, i) => (i === at ? 1 : d));
  const norm = a.ctx.scratch('float32', normDims);
  ops.reduce(a.ctx, x, norm, { op: p === 1 ? 'L1' : 'L2', axes: [at], keepdims: true });
  const floored = a.ctx.scratch('float32', normDims);
  ops.binary(a.ctx, norm, floatScalar(a, 1.1754943508222875e-38), floored, 'Max');
  ops.binary(a.ctx, x, floored, a.outputs[0], 'Div');
}
