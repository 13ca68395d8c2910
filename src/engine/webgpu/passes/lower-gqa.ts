// com.microsoft GroupQueryAttention (what onnxruntime's transformer optimizer and the GenAI builder write for
// LLaMA-style decoders) lowered onto our kernels, as onnxruntime's CPU provider computes it:
// - query [B, S, H·D] with key/value [B, S, Hkv·D], or one packed [B, S, (H + 2·Hkv)·D]; past/present keys and
//   values [B, Hkv, ·, D]; seqlens_k [B] holds each batch row's total length − 1; total_sequence_length T is
//   read on the host (a shape-steering input: the presents are [B, Hkv, max(T, past), D]).
// - A first prompt (S = T): every row starts at position 0, queries attend causally to the new keys only; the
//   presents hold the new keys, zeros after. Otherwise (decoding, or a later prompt chunk at batch 1) row b's
//   past length is seqlens_k[b] + 1 − S: its new keys land there (right-padded batches append where each row
//   ends), and query i sees keys ≤ past + i, by a mask built on the GPU from seqlens_k.
// - do_rotary: queries and keys rotate by the caches at those positions (on a first prompt, 0 … S − 1 in every
//   row, padding included, as onnxruntime's CPU kernel numbers them).
// - local_window_size W > 0 (a sliding window, as Mistral's): a query sees its last visible key and the W − 1
//   before it, W keys at most, as the CPU kernel of onnxruntime 1.30 (the version this project pins) masks them.
//   On a first prompt the attention kernel walks only those keys (its `window`), so no S × S mask exists; later
//   steps fold the window into their seqlens mask, [B, 1, S, T], which they build anyway.
// - attention_bias [B or 1, H or 1, S, T] adds to the scores (the kernel's mask on a first prompt, else added to
//   the seqlens mask). position_ids stays refused: onnxruntime's CPU kernel ignores it on a first prompt.
// - smooth_softmax and head_sink (attention sinks): a virtual key of score 0, or head_sink[h], and no value joins
//   every row's softmax, in the kernel (its start state).
// One webvl Attention per node (GQA: the kernel shares each key/value head among its query heads), a
// webvl KvAppend per present (ops/kv-append.ts), a Rotary per rotated tensor; softcap c > 0 squashes the
// scores (c·tanh(s / c)) in the kernel; a window of 0 (onnxruntime versions disagree on it) is refused at load
// (backend.ts).
import { WebvlError } from '../../../errors';
import { toValues } from '../ir/const-eval';
import { attrFloat, attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { attentionNode, MAX_HEAD_DIM, type View4 } from './fuse-attention';
import { int, ints, NodeBuilder } from './node-builder';
import { replaceNodesWith } from './pattern';

function invalid(node: Node, why: string): never {
  throw new WebvlError('INVALID_INPUT', `GroupQueryAttention node '${node.name}': ${why}`);
}

/** The present for one of keys/values: past rows per batch row, then the new ones (ops/kv-append.ts). */
function present(
  b: NodeBuilder,
  past: string,
  fresh: View4,
  seqlens: string,
  first: boolean,
  dims: readonly number[],
  output: string,
): string {
  return b.add(
    'KvAppend',
    [past, fresh.source, seqlens],
    {
      fresh_shape: ints(fresh.dims),
      fresh_strides: ints(fresh.strides),
      fresh_start: int(fresh.start),
      first: int(first ? 1 : 0),
      out_dims: ints(dims),
    },
    { domain: WEBVL_DOMAIN, outputs: output ? [output] : undefined },
  )[0];
}

/**
 * The additive mask (0 / −inf) under which a query whose last visible key is `limit` sees key j (`keys`, an
 * index tensor broadcasting against `limit`): j ≤ limit, and with a window W > 0 also j > limit − W.
 */
function windowMask(b: NodeBuilder, keys: string, limit: string, window: number): string {
  let visible = b.add('LessOrEqual', [keys, limit])[0];
  if (window > 0) {
    // j > limit − W, i.e. limit ≤ j + W − 1.
    const reach = b.add('Add', [keys, b.constant('int32', [], [window - 1])])[0];
    visible = b.add('And', [visible, b.add('LessOrEqual', [limit, reach])[0]])[0];
  }
  return b.add('Where', [
    visible,
    b.constant('float32', [], [0]),
    b.constant('float32', [], [Number.NEGATIVE_INFINITY]),
  ])[0];
}

function lower(graph: Graph, shapes: Map<string, TypedShape>, node: Node): Node[] {
  const [query, key, value, pastKey, pastValue, seqlens, totalName, cos, sin] = node.inputs;
  const b = new NodeBuilder(graph, shapes, node.name);
  const heads = attrInt(node, 'num_heads', 0);
  const kvHeads = attrInt(node, 'kv_num_heads', 0);
  const qd = shapes.get(query)?.dims ?? [];
  if (qd.length !== 3) invalid(node, `query [${qd}] is not [B, S, hidden]`);
  const [batch, seq, width] = qd;
  const packed = !key;
  const headSize = width / (packed ? heads + 2 * kvHeads : heads);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads !== 0 || !Number.isInteger(headSize))
    invalid(node, `${width} values do not split into ${heads} query and ${kvHeads} key/value heads`);
  if (headSize > MAX_HEAD_DIM)
    throw new WebvlError('UNSUPPORTED_OP', `GroupQueryAttention: head size ${headSize} > ${MAX_HEAD_DIM}`, {
      ops: ['com.microsoft:GroupQueryAttention'],
    });
  const totalTensor = graph.initializers.get(totalName);
  if (!totalTensor) invalid(node, 'total_sequence_length must be known when the plan is made');
  const total = toValues(totalTensor).data[0];
  const pastLen = pastKey ? (shapes.get(pastKey)?.dims[2] ?? 0) : 0;
  const first = seq === total;
  if (!first && seq > 1 && batch !== 1)
    invalid(node, 'a prompt after a past (S > 1, S ≠ total_sequence_length) needs batch 1');
  const cacheLen = Math.max(total, pastLen);
  const range = Array.from({ length: seq }, (_, i) => i);

  // Rotary embedding of queries and keys at each token's position.
  let qSource = query;
  let kSource = packed ? query : key;
  let vSource = packed ? query : value;
  if (attrInt(node, 'do_rotary', 0) === 1) {
    if (!cos || !sin) invalid(node, 'do_rotary needs cos_cache and sin_cache');
    // A first prompt's tokens sit at 0 … S − 1 in every row (an offset of 0), padding rows included.
    const positions = first
      ? b.constant('int32', [1], [0])
      : b.add('Add', [
          b.add('Reshape', [seqlens, b.constant('int64', [2], [batch, 1])])[0],
          b.constant(
            'int32',
            [1, seq],
            range.map((i) => i + 1 - seq),
          ),
        ])[0];
    const rotary = (x: string, n: number, rotated: number) =>
      b.add(
        'Rotary',
        [x, cos, sin, positions],
        {
          interleaved: int(attrInt(node, 'rotary_interleaved', 0)),
          num_heads: int(n),
          rotary_embedding_dim: int(2 * (shapes.get(cos)?.dims[1] ?? 0)),
          rotated_heads: int(rotated),
        },
        { domain: WEBVL_DOMAIN },
      )[0];
    if (packed) {
      qSource = rotary(query, heads + 2 * kvHeads, heads + kvHeads);
      kSource = qSource;
      vSource = qSource;
    } else {
      qSource = rotary(query, heads, heads);
      kSource = rotary(key, kvHeads, kvHeads);
    }
  }

  // Heads as strided views of [B, S, ·] rows (a packed row holds Q, then K, then V heads).
  const rowWidth = (n: number) => (packed ? width : n * headSize);
  const view = (source: string, n: number, start: number): View4 => ({
    source,
    dims: [batch, n, seq, headSize],
    strides: [seq * rowWidth(n), headSize, rowWidth(n), 1],
    start,
  });
  const q = view(qSource, heads, 0);
  const k = view(kSource, kvHeads, packed ? heads * headSize : 0);
  const v = view(vSource, kvHeads, packed ? (heads + kvHeads) * headSize : 0);
  const cacheDims = [batch, kvHeads, cacheLen, headSize];
  const [, presentKeyName, presentValueName] = node.outputs;
  // A first prompt attends to the new keys themselves; otherwise to the presents, which it needs anyway.
  const presentKey =
    presentKeyName || !first ? present(b, pastKey, k, seqlens, first, cacheDims, presentKeyName) : '';
  const presentValue =
    presentValueName || !first ? present(b, pastValue, v, seqlens, first, cacheDims, presentValueName) : '';
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(headSize);
  const outDims = [batch, seq, heads * headSize];
  const outStrides = [seq * heads * headSize, headSize, heads * headSize, 1];
  const window = attrInt(node, 'local_window_size', -1);
  // softcap c > 0: scores become c·tanh(s / c) in the kernel, before the mask.
  const softcap = attrFloat(node, 'softcap', 0);
  // Attention sinks: head_sink's score per head, or 0 for every head under smooth_softmax alone.
  const headSink = node.inputs[11];
  const sinks =
    headSink ||
    (attrInt(node, 'smooth_softmax', 0) === 1
      ? b.constant('float32', [heads], new Array(heads).fill(0))
      : '');
  const attend = (...args: Parameters<typeof attentionNode>): Node => {
    const attention = attentionNode(...args);
    if (softcap > 0) attention.attrs.softcap = { type: 'float', value: softcap };
    if (sinks) {
      while (attention.inputs.length < 6) attention.inputs.push('');
      attention.inputs[6] = sinks;
    }
    return attention;
  };
  // attention_bias [B or 1, H or 1, S, T]: added to the scores, under the causal and window masks.
  const bias = node.inputs[10];
  if (first) {
    // Causal; under a window W query i sees keys i − W + 1 … i, which the kernel walks alone (no S × S mask).
    const attention = attend(
      node.name,
      q,
      k,
      v,
      bias ?? '',
      node.outputs[0],
      outDims,
      outStrides,
      scale,
      true,
    );
    if (window > 0) attention.attrs.window = { type: 'int', value: window };
    b.nodes.push(attention);
    return b.nodes;
  }
  // Query i of row b sees keys 0 … seqlens[b] + 1 − S + i: an additive mask [B, 1, S, T'] of 0 / −inf.
  const limit = b.add('Add', [
    b.add('Reshape', [seqlens, b.constant('int64', [4], [batch, 1, 1, 1])])[0],
    b.constant(
      'int32',
      [1, 1, seq, 1],
      range.map((i) => i + 1 - seq),
    ),
  ])[0];
  const keys = b.constant(
    'int32',
    [1, 1, 1, cacheLen],
    Array.from({ length: cacheLen }, (_, j) => j),
  );
  let mask = windowMask(b, keys, limit, window);
  if (bias) {
    // The bias spans total_sequence_length keys; a longer cache buffer's keys past it are masked already.
    const biasKeys = shapes.get(bias)?.dims[3] ?? total;
    if (biasKeys !== total)
      invalid(node, `attention_bias has ${biasKeys} keys, total_sequence_length is ${total}`);
    const padded =
      cacheLen > total
        ? b.add('Pad', [bias, b.constant('int64', [8], [0, 0, 0, 0, 0, 0, 0, cacheLen - total])])[0]
        : bias;
    mask = b.add('Add', [mask, padded])[0];
  }
  const cache = (source: string): View4 => ({
    source,
    dims: cacheDims,
    strides: [kvHeads * cacheLen * headSize, cacheLen * headSize, headSize, 1],
    start: 0,
  });
  b.nodes.push(
    attend(
      node.name,
      q,
      cache(presentKey),
      cache(presentValue),
      mask,
      node.outputs[0],
      outDims,
      outStrides,
      scale,
      false,
    ),
  );
  return b.nodes;
}

/** Returns the number of GroupQueryAttention nodes lowered. Needs inferred shapes (and updates them). */
export function lowerGroupQueryAttention(graph: Graph, shapes: Map<string, TypedShape>): number {
  let count = 0;
  for (const node of [...graph.nodes]) {
    if (node.domain !== 'com.microsoft' || node.opType !== 'GroupQueryAttention') continue;
    replaceNodesWith(graph, [node], lower(graph, shapes, node));
    count++;
  }
  return count;
}
