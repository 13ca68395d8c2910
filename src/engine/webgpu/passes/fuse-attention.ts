// Attention fusion: MatMul(Q, Kᵀ) → [Mul|Div scale] → [Add mask] → Softmax → MatMul(·, V), with the
// Reshape/Transpose chains that split heads in front and merge them behind, → one webvl Attention node.
// Q, K and V become strided views of the projections (no transpose copies), and the output is written
// straight into the merged-heads layout. onnxruntime's attention ops lower to the same node (lower-gqa.ts,
// lower-mha.ts, lower-ms-attention.ts). Heads without a batch axis ([H, S, D]: Qwen2-VL's vision attention over
// one image's patches) are read as a batch of one.
import { strides as contiguous } from '../ir/const-eval';
import { attrInt, attrInts, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { GraphView, replaceNodes, rewriteEach } from './pattern';

/** Largest head size the attention kernel takes. */
export const MAX_HEAD_DIM = 128;

/** A 4-D [B, H, S, D] view (element strides, start) of a tensor, as webvl Attention reads q, k and v. */
export interface View4 {
  source: string;
  dims: number[];
  strides: number[];
  start: number;
}

function isContiguous(dims: readonly number[], strides: readonly number[]): boolean {
  const c = contiguous(dims);
  return dims.every((d, i) => d === 1 || c[i] === strides[i]);
}

const VIEW_OPS = new Set(['Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity']);

/**
 * Describes `value` as a strided view of the tensor before its chain of Reshape/Transpose nodes, so the
 * kernel can read it in place. Stops at the first reshape of a non-contiguous view.
 */
function resolveView(
  v: GraphView,
  value: string,
  shapes: ReadonlyMap<string, TypedShape>,
): View4 | undefined {
  const chain: Node[] = [];
  let cur = value;
  for (;;) {
    const p = v.producer.get(cur);
    if (p?.domain !== '' || !VIEW_OPS.has(p.opType) || v.isConstant(p.inputs[0])) break;
    chain.unshift(p);
    cur = p.inputs[0];
  }
  let source = cur;
  let dims = [...(shapes.get(cur)?.dims ?? [])];
  let strides = contiguous(dims);
  for (const node of chain) {
    const outDims = [...(shapes.get(node.outputs[0])?.dims ?? [])];
    if (node.opType === 'Transpose') {
      const perm = attrInts(node, 'perm') ?? dims.map((_, i) => dims.length - 1 - i);
      strides = perm.map((p) => strides[p]);
      dims = perm.map((p) => dims[p]);
    } else {
      if (!isContiguous(dims, strides)) {
        source = node.inputs[0];
        dims = [...(shapes.get(source)?.dims ?? [])];
      }
      dims = outDims;
      strides = contiguous(dims);
    }
  }
  // [H, S, D]: a batch of one.
  if (dims.length === 3) return { source, dims: [1, ...dims], strides: [sizeOf(dims), ...strides], start: 0 };
  if (dims.length !== 4) return undefined;
  return { source, dims, strides, start: 0 };
}

function sizeOf(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** A webvl Attention node over q/k/v views, writing `out` through `outStrides` (its dims `outDims`). */
export function attentionNode(
  name: string,
  q: View4,
  k: View4,
  v: View4,
  mask: string,
  out: string,
  outDims: readonly number[],
  outStrides: readonly number[],
  scale: number,
  causal: boolean,
): Node {
  const ints = (value: readonly number[]) => ({ type: 'ints' as const, value: [...value] });
  return {
    name,
    opType: 'Attention',
    domain: WEBVL_DOMAIN,
    attrs: {
      q_shape: ints(q.dims),
      q_strides: ints(q.strides),
      q_start: { type: 'int', value: q.start },
      k_shape: ints(k.dims),
      k_strides: ints(k.strides),
      k_start: { type: 'int', value: k.start },
      v_shape: ints(v.dims),
      v_strides: ints(v.strides),
      v_start: { type: 'int', value: v.start },
      out_dims: ints(outDims),
      out_strides: ints(outStrides),
      scale: { type: 'float', value: scale },
      causal: { type: 'int', value: causal ? 1 : 0 },
    },
    inputs: [q.source, k.source, v.source, mask],
    outputs: [out],
  };
}

/** A scalar constant multiplier in front of `value` (Mul by c or Div by c), absorbed into the scale. */
function scalarScale(
  v: GraphView,
  node: Node | undefined,
  value: string,
): { factor: number; input: string } | undefined {
  if (!node || !v.usedOnlyBy(node.outputs[0], v.consumers.get(node.outputs[0]) ?? [])) return undefined;
  if (node.opType === 'Mul') {
    for (const i of node.inputs) {
      const c = v.scalar(i);
      const other = v.other(node, i);
      if (c !== undefined && other !== undefined) return { factor: c, input: other };
    }
  }
  if (node.opType === 'Div' && node.inputs[0] !== value) {
    const c = v.scalar(node.inputs[1]);
    if (c !== undefined) return { factor: 1 / c, input: node.inputs[0] };
  }
  return undefined;
}

/** Where(IsNaN(p), 0, p) reading softmax output `p` (and nothing else reading them): its nodes and output. */
function nanGuard(v: GraphView, p: string): { nodes: Node[]; out: string } | undefined {
  const readers = v.consumers.get(p) ?? [];
  const isNan = readers.find((n) => n.opType === 'IsNaN');
  const where = readers.find((n) => n.opType === 'Where');
  if (!isNan || !where || readers.length !== 2) return undefined;
  if (where.inputs[0] !== isNan.outputs[0] || where.inputs[2] !== p || v.scalar(where.inputs[1]) !== 0)
    return undefined;
  if (!v.usedOnlyBy(isNan.outputs[0], [where])) return undefined;
  // The node read outside the pattern first, as the chain check below expects.
  return { nodes: [where, isNan], out: where.outputs[0] };
}

/**
 * GQA's repeat_kv, as torch exports it: Reshape(Expand(Unsqueeze(x, 2), [b, kvh, rep, s, d]), [b, kvh·rep, s, d]).
 * Returns x, whose heads the attention kernel can share across the repeat instead of reading copies.
 */
function unrepeat(v: GraphView, value: string, shapes: ReadonlyMap<string, TypedShape>): string | undefined {
  const reshape = v.producedBy(value, 'Reshape');
  const expand = reshape && v.producedBy(reshape.inputs[0], 'Expand');
  const unsqueeze = expand && v.producedBy(expand.inputs[0], 'Unsqueeze');
  if (!reshape || !expand || !unsqueeze) return undefined;
  const x = unsqueeze.inputs[0];
  const xd = shapes.get(x)?.dims;
  const ed = shapes.get(expand.outputs[0])?.dims;
  const rd = shapes.get(value)?.dims;
  if (!xd || !ed || !rd || xd.length !== 4 || ed.length !== 5 || rd.length !== 4) return undefined;
  const [b, kvh, s, d] = xd;
  const fits = ed.join() === [b, kvh, ed[2], s, d].join() && rd.join() === [b, kvh * ed[2], s, d].join();
  return fits ? x : undefined;
}

/** Kᵀ as Transpose(0, 1, 3, 2) of repeated keys: the view of the unrepeated keys, transposed the same way. */
function unrepeatedKeys(
  v: GraphView,
  kIn: string,
  shapes: ReadonlyMap<string, TypedShape>,
): View4 | undefined {
  const tr = v.producedBy(kIn, 'Transpose');
  const keys =
    tr && attrInts(tr, 'perm')?.join() === '0,1,3,2' ? unrepeat(v, tr.inputs[0], shapes) : undefined;
  const view = keys ? resolveView(v, keys, shapes) : undefined;
  if (!view) return undefined;
  return {
    ...view,
    dims: [view.dims[0], view.dims[1], view.dims[3], view.dims[2]],
    strides: [view.strides[0], view.strides[1], view.strides[3], view.strides[2]],
  };
}

function broadcastsTo(mask: readonly number[], target: readonly number[]): boolean {
  if (mask.length > 4) return false;
  const off = target.length - mask.length;
  return mask.every((d, i) => d === 1 || d === target[off + i]);
}

function fuseDecomposed(graph: Graph, softmax: Node, shapes: ReadonlyMap<string, TypedShape>): boolean {
  const v = new GraphView(graph);
  const sDims = shapes.get(softmax.inputs[0])?.dims;
  const rank = sDims?.length;
  if (!sDims || (rank !== 4 && rank !== 3)) return false;
  const axis = attrInt(softmax, 'axis', graph.opset >= 13 ? -1 : 1);
  if (axis !== -1 && axis !== sDims.length - 1) return false;
  const chain: Node[] = [softmax];
  let cur = softmax.inputs[0];
  let scale = 1;
  let mask = '';
  // Optional additive mask.
  const add = v.producedBy(cur, 'Add');
  if (add) {
    for (const [i, s] of add.inputs.entries()) {
      const p = v.producer.get(s);
      if (
        p &&
        (p.opType === 'MatMul' || p.opType === 'Mul' || p.opType === 'Div') &&
        v.onlyConsumer(s) === add
      ) {
        const m = add.inputs[1 - i];
        const mt = shapes.get(m);
        if (mt?.dtype === 'float32' && broadcastsTo(mt.dims, sDims)) {
          mask = m;
          cur = s;
          chain.push(add);
          break;
        }
      }
    }
    if (!mask) return false;
  }
  // Optional scale after QKᵀ.
  const scaleNode = v.producer.get(cur);
  if (scaleNode && (scaleNode.opType === 'Mul' || scaleNode.opType === 'Div') && v.onlyConsumer(cur)) {
    const s = scalarScale(v, scaleNode, cur);
    if (!s) return false;
    scale *= s.factor;
    cur = s.input;
    chain.push(scaleNode);
  }
  const qk = v.producedBy(cur, 'MatMul');
  if (!qk || !v.onlyConsumer(cur)) return false;
  chain.push(qk);
  // torch's SDPA export guards rows that are masked out entirely: Where(IsNaN(p), 0, p). The kernel already
  // writes 0 for a row whose every score is −inf, so the guard folds in.
  let probs = softmax.outputs[0];
  const guard = nanGuard(v, probs);
  if (guard) {
    chain.unshift(...guard.nodes);
    probs = guard.out;
  }
  const pv = v.onlyConsumer(probs, 'MatMul');
  if (!pv || pv.inputs[0] !== probs) return false;
  for (const n of chain.slice(1)) if (!v.usedOnlyBy(n.outputs[0], chain)) return false;

  // Scalar multipliers applied to Q (and K) before the product, as CLIP's exporter writes them.
  let [qIn, kIn] = qk.inputs;
  for (const side of [0, 1] as const) {
    const value = side === 0 ? qIn : kIn;
    const p = v.producer.get(value);
    const s = p && v.onlyConsumer(value) === qk ? scalarScale(v, p, value) : undefined;
    if (s && shapes.get(s.input)?.dims.length === shapes.get(value)?.dims.length) {
      scale *= s.factor;
      if (side === 0) qIn = s.input;
      else kIn = s.input;
    }
  }
  const q = resolveView(v, qIn, shapes);
  // GQA: keys and values read unrepeated only when both are, so they keep the same head count.
  const sharedKeys = unrepeatedKeys(v, kIn, shapes);
  const sharedValues = sharedKeys && unrepeat(v, pv.inputs[1], shapes);
  const kT = sharedValues ? sharedKeys : resolveView(v, kIn, shapes);
  // A scalar multiplier in front of the head split (e.g. (x·Wq + b)·scale, then Reshape/Transpose).
  for (const view of [q, kT]) {
    if (!view || view.source === qIn || view.source === kIn) continue;
    const p = v.producer.get(view.source);
    const readers = v.consumers.get(view.source) ?? [];
    const s =
      p && readers.length === 1 && VIEW_OPS.has(readers[0].opType)
        ? scalarScale(v, p, view.source)
        : undefined;
    if (s && shapes.get(s.input)?.dims.join() === shapes.get(view.source)?.dims.join()) {
      scale *= s.factor;
      view.source = s.input;
    }
  }
  const val = resolveView(v, sharedValues ?? pv.inputs[1], shapes);
  if (!q || !kT || !val) return false;
  const k: View4 = {
    ...kT,
    dims: [kT.dims[0], kT.dims[1], kT.dims[3], kT.dims[2]],
    strides: [kT.strides[0], kT.strides[1], kT.strides[3], kT.strides[2]],
  };
  const [b, h, sq, d] = q.dims;
  const sk = k.dims[2];
  // Keys/values may have fewer heads, each serving a group of query heads (GQA): the kernel reads them shared.
  const same = (x: View4, dd: number) =>
    x.dims[0] === b && h % x.dims[1] === 0 && x.dims[2] === sk && x.dims[3] === dd;
  if (
    !same(k, d) ||
    !same(val, val.dims[3]) ||
    k.dims[1] !== val.dims[1] ||
    d > MAX_HEAD_DIM ||
    val.dims[3] > MAX_HEAD_DIM
  )
    return false;
  for (const x of [q, k, val]) if (shapes.get(x.source)?.dtype !== 'float32') return false;
  const dv = val.dims[3];

  // Output: merge heads in place when Transpose(0,2,1,3) [→ Reshape to [B, Sq, H·Dv]] follows (without a batch
  // axis: Transpose(1,0,2) [→ Reshape to [Sq, H·Dv]]).
  const batched = rank === 4;
  let out = pv.outputs[0];
  let outDims: readonly number[] = batched ? [b, h, sq, dv] : [h, sq, dv];
  const outNodes: Node[] = [];
  let outStrides = contiguous([b, h, sq, dv]);
  const tr = v.onlyConsumer(out, 'Transpose');
  const perm = tr && attrInts(tr, 'perm');
  if (tr && perm && perm.join() === (batched ? '0,2,1,3' : '1,0,2')) {
    out = tr.outputs[0];
    outNodes.push(tr);
    outDims = batched ? [b, sq, h, dv] : [sq, h, dv];
    outStrides = [sq * h * dv, dv, h * dv, 1];
    const rs = v.onlyConsumer(out, 'Reshape');
    const rsDims = rs && shapes.get(rs.outputs[0])?.dims;
    const merged = batched ? [b, sq, h * dv] : [sq, h * dv];
    if (rs && rsDims && rsDims.join() === merged.join()) {
      out = rs.outputs[0];
      outNodes.push(rs);
      outDims = rsDims;
    }
  }
  const fused = attentionNode(
    `${qk.name}_attention`,
    q,
    k,
    val,
    mask,
    out,
    outDims,
    outStrides,
    scale,
    false,
  );
  // The head-split chains in front are left for dead-code elimination (other readers may still need them).
  replaceNodes(graph, [...chain, pv, ...outNodes], fused);
  return true;
}

/** Returns the number of attention blocks fused. Needs inferred shapes; run dead-code elimination after. */
export function fuseAttention(graph: Graph, shapes: Map<string, TypedShape>): number {
  return rewriteEach(
    graph,
    (node) => node.domain === '' && node.opType === 'Softmax' && fuseDecomposed(graph, node, shapes),
  );
}
