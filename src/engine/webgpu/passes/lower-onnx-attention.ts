// ONNX's own Attention (opset 23, which torch's newer exporters and onnxruntime-genai's builder write) lowered onto
// one webvl Attention once shapes are known, as onnx's reference and onnxruntime compute it:
// - Q [B, Nq, S, H] or [B, S, Nq·H] (q_num_heads), K [B, Nkv, L, H] or [B, L, Nkv·H], V likewise (the heads of the
//   3-D forms read in place); more query heads than key/value heads read them in groups (query head h the key
//   head h / (Nq / Nkv));
// - past_key / past_value [B, Nkv, P, H]: present = past then the new keys (one strided copy each), attention over
//   the presents;
// - is_causal: query i sees keys ≤ P + i (bottom-right aligned);
// - attn_mask, bool (true attends) or added to the scores, broadcast to [B, Nq, S, T] from any rank (a mask
//   shorter than T, which onnxruntime refuses, is UNSUPPORTED_OP);
// - softcap: scores become c·tanh(s / c) before the mask.
// The QK output, nonpad_kv_seqlen (opset 24), unequal query and value head sizes and a softmax precision other than
// float are refused at load (backend.ts) or here with UNSUPPORTED_OP.
import { WebvlError } from '../../../errors';
import { strides as contiguous } from '../ir/const-eval';
import { attrFloat, attrInt, type Graph, type Node } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { attentionNode, MAX_HEAD_DIM, type View4 } from './fuse-attention';
import { concatPresent } from './lower-mha';
import { NodeBuilder } from './node-builder';
import { replaceNodesWith } from './pattern';

function unsupported(node: Node, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `Attention node '${node.name}': ${why}`, { ops: ['Attention'] });
}

/** A [B, N, L, H] view of a 4-D input as it lies, or of a 3-D [B, L, N·H] one's heads in place. */
function headsView(source: string, dims: readonly number[], heads: number): View4 {
  if (dims.length === 4) return { source, dims: [...dims], strides: contiguous(dims), start: 0 };
  const [batch, length, width] = dims;
  const size = width / heads;
  return {
    source,
    dims: [batch, heads, length, size],
    strides: [length * width, size, width, 1],
    start: 0,
  };
}

/** attn_mask as an additive float mask of rank 4 over `total` keys (bool: 0 where true, −∞ where false). */
function additiveMask(b: NodeBuilder, node: Node, mask: string, total: number): string {
  const shape = b.shape(mask);
  if (!shape) unsupported(node, 'attn_mask has no known shape');
  let out = mask;
  if (shape.dtype === 'bool') {
    const zero = b.constant('float32', [], [0]);
    const masked = b.constant('float32', [], [Number.NEGATIVE_INFINITY]);
    out = b.add('Where', [mask, zero, masked])[0];
  } else if (shape.dtype !== 'float32') unsupported(node, `a ${shape.dtype} attn_mask`);
  const dims = [...new Array(Math.max(0, 4 - shape.dims.length)).fill(1), ...shape.dims];
  if (dims.length !== 4) unsupported(node, `attn_mask of rank ${shape.dims.length}`);
  if (shape.dims.length !== 4) out = b.add('Reshape', [out, b.constant('int64', [4], dims)])[0];
  // onnx's reference pads a shorter mask with masked keys; onnxruntime refuses one, and so do we.
  if (dims[3] !== total) unsupported(node, `attn_mask covers ${dims[3]} keys of ${total}`);
  return out;
}

function lower(graph: Graph, shapes: Map<string, TypedShape>, node: Node): Node[] {
  const [query, key, value, mask, pastKey, pastValue, nonpad] = node.inputs;
  if (nonpad) unsupported(node, 'nonpad_kv_seqlen');
  if (node.outputs[3]) unsupported(node, 'the QK matmul output');
  const b = new NodeBuilder(graph, shapes, node.name);
  const qd = shapes.get(query)?.dims ?? [];
  const kd = shapes.get(key)?.dims ?? [];
  const vd = shapes.get(value)?.dims ?? [];
  const rank = qd.length;
  if ((rank !== 3 && rank !== 4) || kd.length !== rank || vd.length !== rank)
    unsupported(node, `query [${qd}], key [${kd}], value [${vd}]`);
  const qHeads = rank === 4 ? qd[1] : attrInt(node, 'q_num_heads', 0);
  const kvHeads = rank === 4 ? kd[1] : attrInt(node, 'kv_num_heads', 0);
  if (qHeads < 1 || kvHeads < 1 || qHeads % kvHeads !== 0)
    unsupported(node, `${qHeads} query heads for ${kvHeads} key/value heads`);
  const q = headsView(query, qd, qHeads);
  let k = headsView(key, kd, kvHeads);
  let v = headsView(value, vd, kvHeads);
  const headSize = q.dims[3];
  if (
    !Number.isInteger(headSize) ||
    k.dims[3] !== headSize ||
    v.dims[3] !== headSize ||
    headSize > MAX_HEAD_DIM
  )
    unsupported(
      node,
      `head sizes ${headSize}, ${k.dims[3]} and ${v.dims[3]}: the kernel takes equal ones ≤ ${MAX_HEAD_DIM}`,
    );
  const [, presentKey, presentValue] = node.outputs;
  const cached = (name: string): View4 => {
    const dims = shapes.get(name)?.dims ?? [];
    return { source: name, dims: [...dims], strides: contiguous(dims), start: 0 };
  };
  if (pastKey || presentKey) {
    const p = concatPresent(b, pastKey, k, presentKey);
    if (pastKey) k = cached(p);
  }
  if (pastValue || presentValue) {
    const p = concatPresent(b, pastValue, v, presentValue);
    if (pastValue) v = cached(p);
  }
  const [batch, , seq] = q.dims;
  const total = k.dims[2];
  const additive = mask ? additiveMask(b, node, mask, total) : '';
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(headSize);
  // The output as the query lies: [B, Nq, S, H], or [B, S, Nq·H] for 3-D inputs.
  const outDims = rank === 4 ? [batch, qHeads, seq, headSize] : [batch, seq, qHeads * headSize];
  const outStrides =
    rank === 4
      ? contiguous([batch, qHeads, seq, headSize])
      : [seq * qHeads * headSize, headSize, qHeads * headSize, 1];
  const attention = attentionNode(
    node.name,
    q,
    k,
    v,
    additive,
    node.outputs[0],
    outDims,
    outStrides,
    scale,
    attrInt(node, 'is_causal', 0) === 1,
  );
  const softcap = attrFloat(node, 'softcap', 0);
  if (softcap > 0) attention.attrs.softcap = { type: 'float', value: softcap };
  b.nodes.push(attention);
  return b.nodes;
}

/** Returns the number of ONNX Attention nodes lowered. Needs inferred shapes (and updates them). */
export function lowerOnnxAttention(graph: Graph, shapes: Map<string, TypedShape>): number {
  let count = 0;
  for (const node of [...graph.nodes]) {
    if ((node.domain !== '' && node.domain !== 'ai.onnx') || node.opType !== 'Attention') continue;
    replaceNodesWith(graph, [node], lower(graph, shapes, node));
    count++;
  }
  return count;
}
