// com.microsoft MultiHeadAttention lowered onto one webvl Attention once shapes are known, as onnxruntime's
// CPU provider computes it:
// - query [B, S, N·H]; key/value [B, L, N·H] (their heads read in place), or already split [B, N, L, H];
// - bias [3·N·H] (constant): added to query, key and value (3-D key/value only, as onnxruntime requires);
// - past_key / past_value [B, N, P, H]: present = past then the new keys (one strided copy each, the new keys
//   read in place), and attention runs over the presents; presents without a past are the new keys;
// - unidirectional: causal, query i seeing keys ≤ T − S + i;
// - key_padding_mask ([B] key lengths, [B, T] or [B, S, T] 0/1) adds mask_filter_value where keys are masked,
//   attention_bias ([B|1, N|1, S, T]) is added as is: together one additive mask.
// Packed QKV / KV (5-D) onnxruntime's CPU kernel does not implement; load() refuses them with the CUDA-only
// inputs (backend.ts).
import { WebvlError } from '../../../errors';
import { strides as contiguous, toValues } from '../ir/const-eval';
import { attrFloat, attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { attentionNode, MAX_HEAD_DIM, type View4 } from './fuse-attention';
import { int, ints, NodeBuilder } from './node-builder';
import { paddingMask } from './padding-mask';
import { replaceNodesWith } from './pattern';

function unsupported(node: Node, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `MultiHeadAttention node '${node.name}': ${why}`, {
    ops: ['com.microsoft:MultiHeadAttention'],
  });
}

/** `view` copied into `output` [B, N, ·, H] after `past` (if any): a KV cache's present (one strided copy each). */
export function concatPresent(b: NodeBuilder, past: string, view: View4, output: string): string {
  const sources: string[] = [];
  const attrs: Node['attrs'] = { axis: int(2) };
  const pastDims = past ? (b.shape(past)?.dims ?? []) : [];
  if (past) {
    sources.push(past);
    attrs.dims_0 = ints(pastDims);
    attrs.strides_0 = ints(contiguous(pastDims));
  }
  const i = sources.length;
  sources.push(view.source);
  attrs[`dims_${i}`] = ints(view.dims);
  attrs[`strides_${i}`] = ints(view.strides);
  attrs[`start_${i}`] = int(view.start);
  const outDims = [...view.dims];
  outDims[2] += pastDims[2] ?? 0;
  attrs.out_dims = ints(outDims);
  return b.add('StridedConcat', sources, attrs, {
    domain: WEBVL_DOMAIN,
    outputs: output ? [output] : undefined,
  })[0];
}

/** The additive mask [B|1, N|1, S, T] from key_padding_mask and attention_bias, or '' without either. */
function additiveMask(b: NodeBuilder, node: Node, kpm: string, bias: string, dims: number[]): string {
  const [batch, , seq, total] = dims;
  let mask = kpm ? paddingMask(b, node, kpm, [batch, seq, total], (why) => unsupported(node, why)) : '';
  if (bias) mask = mask ? b.add('Add', [mask, bias])[0] : bias;
  return mask;
}

function lower(graph: Graph, shapes: Map<string, TypedShape>, node: Node): Node[] {
  const [query, key, value, bias, kpm, attnBias, pastKey, pastValue] = node.inputs;
  const b = new NodeBuilder(graph, shapes, node.name);
  const heads = attrInt(node, 'num_heads', 0);
  const qd = shapes.get(query)?.dims ?? [];
  const kd = key ? (shapes.get(key)?.dims ?? []) : [];
  const vd = value ? (shapes.get(value)?.dims ?? []) : [];
  if (qd.length !== 3 || (kd.length !== 3 && kd.length !== 4) || vd.length !== kd.length)
    unsupported(node, `query [${qd}], key [${kd}], value [${vd}]`);
  const [batch, seq, hidden] = qd;
  const headSize = hidden / heads;
  const split = kd.length === 4; // key/value already [B, N, L, H]
  const kvLen = split ? kd[2] : kd[1];
  const vHead = split ? vd[3] : vd[2] / heads;
  if (!Number.isInteger(headSize) || headSize > MAX_HEAD_DIM || vHead !== headSize)
    unsupported(
      node,
      `head sizes ${headSize} (query/key) and ${vHead} (value); the kernel takes equal ones ≤ ${MAX_HEAD_DIM}`,
    );
  if (split && (bias || pastKey)) unsupported(node, 'a bias or past with key/value given as [B, N, L, H]');
  const biasValues = bias ? graph.initializers.get(bias) : undefined;
  if (bias && !biasValues) unsupported(node, 'the bias must be constant');
  const biased = (x: string, slot: number) => {
    if (!biasValues) return x;
    const all = toValues(biasValues).data;
    const slice = Array.from(all.subarray(slot * hidden, (slot + 1) * hidden));
    return b.add('Add', [x, b.constant('float32', [hidden], slice)])[0];
  };
  const q: View4 = {
    source: biased(query, 0),
    dims: [batch, heads, seq, headSize],
    strides: [seq * hidden, headSize, hidden, 1],
    start: 0,
  };
  const kvView = (source: string): View4 =>
    split
      ? {
          source,
          dims: [batch, heads, kvLen, headSize],
          strides: contiguous([batch, heads, kvLen, headSize]),
          start: 0,
        }
      : {
          source,
          dims: [batch, heads, kvLen, headSize],
          strides: [kvLen * hidden, headSize, hidden, 1],
          start: 0,
        };
  let k = kvView(biased(key, 1));
  let v = kvView(biased(value, 2));
  const [, presentKeyName, presentValueName] = node.outputs;
  const cached = (present: string): View4 => {
    const dims = shapes.get(present)?.dims ?? [];
    return { source: present, dims: [...dims], strides: contiguous(dims), start: 0 };
  };
  // With a past, attention reads the presents (past + new); without, the new keys, presents copied aside.
  if (pastKey || presentKeyName) {
    const present = concatPresent(b, pastKey, k, presentKeyName);
    if (pastKey) k = cached(present);
  }
  if (pastValue || presentValueName) {
    const present = concatPresent(b, pastValue, v, presentValueName);
    if (pastValue) v = cached(present);
  }
  const total = k.dims[2];
  const mask = additiveMask(b, node, kpm, attnBias, [batch, heads, seq, total]);
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(headSize);
  b.nodes.push(
    attentionNode(
      node.name,
      q,
      k,
      v,
      mask,
      node.outputs[0],
      [batch, seq, hidden],
      [seq * hidden, headSize, hidden, 1],
      scale,
      attrInt(node, 'unidirectional', 0) === 1,
    ),
  );
  return b.nodes;
}

/** Returns the number of MultiHeadAttention nodes lowered. Needs inferred shapes (and updates them). */
export function lowerMultiHeadAttention(graph: Graph, shapes: Map<string, TypedShape>): number {
  let count = 0;
  for (const node of [...graph.nodes]) {
    if (node.domain !== 'com.microsoft' || node.opType !== 'MultiHeadAttention') continue;
    replaceNodesWith(graph, [node], lower(graph, shapes, node));
    count++;
  }
  return count;
}
