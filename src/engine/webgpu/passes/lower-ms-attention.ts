// com.microsoft Attention (BERT/GPT-2 as onnxruntime's optimizer fuses them) lowered once shapes are known: the
// packed QKV projection as one Linear, then one webvl Attention reading Q, K and V as strided views of its
// output. With `past` [2, B, N, P, H] the present [2, B, N, P + S, H] is the past followed by the new keys and
// values (one strided copy each, read in place from the projection), and attention runs over it; a present
// without a past is the new keys and values. unidirectional is causal (query i sees keys ≤ P + i). mask_index
// ([B] key lengths, [2B] lengths and starts, [B, T] or [B, S, T] 0/1: passes/padding-mask.ts) and attention_bias
// add into one mask; the 4-D Megatron mask is refused when shapes are known, past_sequence_length at load
// (backend.ts), unequal Q/K/V sizes too.
import { WebvlError } from '../../../errors';
import { strides as contiguous } from '../ir/const-eval';
import { attrFloat, attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { attentionNode, MAX_HEAD_DIM, type View4 } from './fuse-attention';
import { int, ints, NodeBuilder } from './node-builder';
import { paddingMask } from './padding-mask';
import { replaceNodesWith } from './pattern';

function lower(graph: Graph, shapes: Map<string, TypedShape>, node: Node): Node[] {
  const [input, weights, bias, maskIndex, past, attnBias] = node.inputs;
  const b = new NodeBuilder(graph, shapes, node.name);
  const heads = attrInt(node, 'num_heads', 0);
  const xd = shapes.get(input)?.dims ?? [];
  const wd = shapes.get(weights)?.dims ?? [];
  const [batch, seq] = xd;
  const hidden = wd[1] / 3;
  const d = hidden / heads;
  if (xd.length !== 3 || wd.length !== 2 || !Number.isInteger(d) || d > MAX_HEAD_DIM)
    throw new WebvlError('UNSUPPORTED_OP', `Attention node '${node.name}': input [${xd}], weights [${wd}]`, {
      ops: ['com.microsoft:Attention'],
    });
  const qkv = b.add(
    'Linear',
    [input, weights, bias ?? ''],
    { transB: int(0), activation: { type: 'string', value: 'none' } },
    { domain: WEBVL_DOMAIN },
  )[0];
  // [B, N, S, H] heads of the projection's Q (0), K (1) or V (2) third.
  const third = (i: number): View4 => ({
    source: qkv,
    dims: [batch, heads, seq, d],
    strides: [seq * 3 * hidden, d, 3 * hidden, 1],
    start: i * hidden,
  });
  let k = third(1);
  let v = third(2);
  const presentName = node.outputs[1];
  if (past || presentName) {
    const pastDims = past ? (shapes.get(past)?.dims ?? []) : [];
    const pastLen = pastDims[3] ?? 0;
    const attrs: Node['attrs'] = { axis: int(3), out_dims: ints([2, batch, heads, pastLen + seq, d]) };
    const sources: string[] = [];
    if (past) {
      sources.push(past);
      attrs.dims_0 = ints(pastDims);
      attrs.strides_0 = ints(contiguous(pastDims));
    }
    // K and V of the projection as one [2, B, N, S, H] view: the second index steps from K's third to V's.
    const i = sources.length;
    sources.push(qkv);
    attrs[`dims_${i}`] = ints([2, batch, heads, seq, d]);
    attrs[`strides_${i}`] = ints([hidden, seq * 3 * hidden, d, 3 * hidden, 1]);
    attrs[`start_${i}`] = int(hidden);
    const present = b.add('StridedConcat', sources, attrs, {
      domain: WEBVL_DOMAIN,
      outputs: presentName ? [presentName] : undefined,
    })[0];
    if (past) {
      const cache = [batch, heads, pastLen + seq, d];
      const half = cache.reduce((p, x) => p * x, 1);
      k = { source: present, dims: cache, strides: contiguous(cache), start: 0 };
      v = { source: present, dims: cache, strides: contiguous(cache), start: half };
    }
  }
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(d);
  // mask_index (key lengths, lengths and starts, or a 0/1 mask over the past and new keys) and attention_bias:
  // one additive mask.
  const total = (past ? (shapes.get(past)?.dims[3] ?? 0) : 0) + seq;
  let mask = maskIndex
    ? paddingMask(b, node, maskIndex, [batch, seq, total], (why) => {
        throw new WebvlError('UNSUPPORTED_OP', `Attention node '${node.name}': mask_index as ${why}`, {
          ops: ['com.microsoft:Attention'],
        });
      })
    : '';
  if (attnBias) mask = mask ? b.add('Add', [mask, attnBias])[0] : attnBias;
  b.nodes.push(
    attentionNode(
      node.name,
      third(0),
      k,
      v,
      mask,
      node.outputs[0],
      [batch, seq, hidden],
      [seq * hidden, d, hidden, 1],
      scale,
      attrInt(node, 'unidirectional', 0) === 1,
    ),
  );
  return b.nodes;
}

/** Returns the number of com.microsoft Attention nodes lowered. Needs inferred shapes (and updates them). */
export function lowerMsAttention(graph: Graph, shapes: Map<string, TypedShape>): number {
  let count = 0;
  for (const node of [...graph.nodes]) {
    if (node.domain !== 'com.microsoft' || node.opType !== 'Attention') continue;
    replaceNodesWith(graph, [node], lower(graph, shapes, node));
    count++;
  }
  return count;
}
