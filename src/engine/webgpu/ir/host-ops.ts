// Ops whose output shape depends on their input values (NonZero, Compress, Unique, NonMaxSuppression): the
// session computes their inputs on the GPU, reads them back and evaluates them here, on the host, then runs the
// rest of the graph with their results as inputs (session.ts, runWithHostOps). Values in evaluation form
// (const-eval.ts); outputs as ONNX and onnxruntime give them.
import { WebvlError } from '../../../errors';
import { normAxis, size, strides, type Values } from './const-eval';
import { attrInt, type Node } from './ir';

export const HOST_OPS: ReadonlySet<string> = new Set(['NonZero', 'Compress', 'Unique', 'NonMaxSuppression']);

export function isHostOp(node: Pick<Node, 'opType' | 'domain'>): boolean {
  return (node.domain === '' || node.domain === 'ai.onnx') && HOST_OPS.has(node.opType);
}

function invalid(node: Node, why: string): never {
  throw new WebvlError('INVALID_INPUT', `${node.opType} node '${node.name}': ${why}`);
}

const int64 = (dims: readonly number[], data: ArrayLike<number>): Values => ({
  dtype: 'int64',
  dims,
  data: Float64Array.from(data),
});

/** The node's outputs from its inputs (null for omitted optional ones). */
export function evaluateHostOp(node: Node, inputs: readonly (Values | null)[]): Values[] {
  const x = inputs[0];
  if (!x) return invalid(node, 'input 0 is missing');
  switch (node.opType) {
    case 'NonZero':
      return [nonZero(x)];
    case 'Compress': {
      const condition = inputs[1];
      if (!condition) return invalid(node, 'no condition');
      return [compress(node, x, condition)];
    }
    case 'Unique':
      return unique(node, x);
    case 'NonMaxSuppression':
      return [nonMaxSuppression(node, inputs)];
    default:
      return invalid(node, 'not a host op');
  }
}

/** [rank, count]: the coordinates of the non-zero elements, in row-major order. */
function nonZero(x: Values): Values {
  const at: number[] = [];
  for (let i = 0; i < x.data.length; i++) if (x.data[i] !== 0) at.push(i);
  const rank = x.dims.length;
  const s = strides(x.dims);
  const out = new Float64Array(Math.max(rank, 1) * at.length);
  at.forEach((i, k) => {
    let rest = i;
    for (let d = 0; d < rank; d++) {
      out[d * at.length + k] = Math.floor(rest / s[d]);
      rest %= s[d];
    }
  });
  // A scalar has rank 0 but ONNX gives [1, count] (its one coordinate, 0).
  return { dtype: 'int64', dims: [Math.max(rank, 1), at.length], data: out };
}

/** The slices along `axis` (of the flattened input without one) whose condition is true. */
function compress(node: Node, x: Values, condition: Values): Values {
  const axisAttr = attrInt(node, 'axis');
  const dims = axisAttr === undefined ? [x.data.length] : x.dims;
  const axis = axisAttr === undefined ? 0 : normAxis(axisAttr, dims.length);
  if (axis < 0 || axis >= dims.length) return invalid(node, `axis ${axisAttr} for rank ${dims.length}`);
  if (condition.dims.length !== 1) return invalid(node, `condition [${condition.dims}] must be 1-D`);
  if (condition.data.length > dims[axis])
    return invalid(node, `${condition.data.length} conditions for an axis of ${dims[axis]}`);
  const kept: number[] = [];
  condition.data.forEach((c, i) => {
    if (c !== 0) kept.push(i);
  });
  const inner = size(dims.slice(axis + 1));
  const outer = size(dims.slice(0, axis));
  const out = new Float64Array(outer * kept.length * inner);
  let w = 0;
  for (let o = 0; o < outer; o++)
    for (const k of kept) {
      const from = (o * dims[axis] + k) * inner;
      out.set(x.data.subarray(from, from + inner), w);
      w += inner;
    }
  const outDims = [...dims];
  outDims[axis] = kept.length;
  return { dtype: x.dtype, dims: outDims, data: out };
}

/**
 * Unique elements (or slices along `axis`), sorted ascending (lexicographically for slices) or in order of
 * first occurrence; with the first index of each, each input's index into them, and their counts.
 */
function unique(node: Node, x: Values): Values[] {
  const axisAttr = attrInt(node, 'axis');
  const sorted = attrInt(node, 'sorted', 1) !== 0;
  const dims = axisAttr === undefined ? [x.data.length] : x.dims;
  const axis = axisAttr === undefined ? 0 : normAxis(axisAttr, dims.length);
  if (axis < 0 || axis >= dims.length) return invalid(node, `axis ${axisAttr} for rank ${dims.length}`);
  const n = dims[axis];
  const inner = size(dims.slice(axis + 1));
  const outer = size(dims.slice(0, axis));
  // Slice i: its elements in row-major order over the other axes.
  const slice = (i: number): number[] => {
    const v: number[] = [];
    for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) v.push(x.data[(o * n + i) * inner + k]);
    return v;
  };
  const slices = Array.from({ length: n }, (_, i) => slice(i));
  const key = (v: readonly number[]) => v.join(',');
  const first = new Map<string, number>();
  slices.forEach((v, i) => {
    if (!first.has(key(v))) first.set(key(v), i);
  });
  const order = [...first.values()];
  if (sorted)
    order.sort((a, b) => {
      const [va, vb] = [slices[a], slices[b]];
      for (let k = 0; k < va.length; k++) if (va[k] !== vb[k]) return va[k] - vb[k];
      return 0;
    });
  const position = new Map(order.map((i, p) => [key(slices[i]), p]));
  const inverse = slices.map((v) => position.get(key(v)) as number);
  const counts = order.map(() => 0);
  for (const p of inverse) counts[p]++;
  const outDims = [...dims];
  outDims[axis] = order.length;
  const y = new Float64Array(size(outDims));
  for (let o = 0; o < outer; o++)
    order.forEach((i, p) => {
      for (let k = 0; k < inner; k++) y[(o * order.length + p) * inner + k] = x.data[(o * n + i) * inner + k];
    });
  return [
    { dtype: x.dtype, dims: outDims, data: y },
    int64([order.length], order),
    int64([n], inverse),
    int64([order.length], counts),
  ];
}

/**
 * [selected, 3] rows (batch, class, box): per batch and class, boxes whose score passes score_threshold (>),
 * highest score first (the lower index on ties), each kept unless its IoU with one kept before exceeds
 * iou_threshold, up to max_output_boxes_per_class.
 */
function nonMaxSuppression(node: Node, inputs: readonly (Values | null)[]): Values {
  const [boxes, scores] = inputs as Values[];
  if (!scores) return invalid(node, 'no scores');
  if (boxes.dims.length !== 3 || boxes.dims[2] !== 4) return invalid(node, `boxes [${boxes.dims}]`);
  const [batches, count] = boxes.dims;
  if (scores.dims.length !== 3 || scores.dims[0] !== batches || scores.dims[2] !== count)
    return invalid(node, `scores [${scores.dims}] for boxes [${boxes.dims}]`);
  const classes = scores.dims[1];
  const maxPerClass = inputs[2]?.data[0] ?? 0;
  const iouThreshold = inputs[3]?.data[0] ?? 0;
  const scoreThreshold = inputs[4]?.data[0];
  const centered = attrInt(node, 'center_point_box', 0) === 1;
  const corners = (b: number, i: number): [number, number, number, number] => {
    const at = (b * count + i) * 4;
    const [p, q, r, s] = boxes.data.subarray(at, at + 4);
    // center_point_box 1: [x_center, y_center, width, height]; 0: two corners [y1, x1, y2, x2], either way round.
    if (centered) return [q - s / 2, p - r / 2, q + s / 2, p + r / 2];
    return [Math.min(p, r), Math.min(q, s), Math.max(p, r), Math.max(q, s)];
  };
  const iou = (a: readonly number[], b: readonly number[]): number => {
    const h = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const w = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const overlap = h * w;
    const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap;
    return union > 0 ? overlap / union : 0;
  };
  const rows: number[] = [];
  for (let b = 0; b < batches; b++)
    for (let c = 0; c < classes; c++) {
      const score = (i: number) => scores.data[(b * classes + c) * count + i];
      const candidates = Array.from({ length: count }, (_, i) => i)
        .filter((i) => scoreThreshold === undefined || score(i) > scoreThreshold)
        .sort((i, j) => score(j) - score(i) || i - j);
      const kept: number[] = [];
      for (const i of candidates) {
        if (kept.length >= maxPerClass) break;
        const box = corners(b, i);
        if (kept.every((k) => iou(corners(b, k), box) <= iouThreshold)) kept.push(i);
      }
      for (const i of kept) rows.push(b, c, i);
    }
  return int64([rows.length / 3, 3], rows);
}
