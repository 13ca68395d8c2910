// The steps the attention contrib graphs (tests/corpus/contrib-attention) run through, and their feeds: shared by
// tests/engine/webgpu/contrib-attention.test.ts (Node) and e2e/engine.e2e.ts (Chromium).
import { type HostTensor, hostTensor } from '../../src/engine/tensor';
import { decodeModel } from '../../src/engine/webgpu/ir/onnx-decode';
import { rng, uniformFloats } from './random';

export interface Step {
  readonly name: string;
  readonly batch: number;
  readonly seq: number;
  /** Length of the past_key / past_value inputs (a buffer may be longer than any row's past). */
  readonly past: number;
  readonly total: number;
  /** Each row's total length − 1 (onnxruntime's seqlens_k). */
  readonly seqlens: readonly number[];
  /** Key/value length of cross attention (MultiHeadAttention's L). */
  readonly keys?: number;
}

export const GQA_STEPS: Step[] = [
  { name: 'prompt', batch: 1, seq: 5, past: 0, total: 5, seqlens: [4] },
  { name: 'decode', batch: 1, seq: 1, past: 5, total: 6, seqlens: [5] },
  { name: 'next prompt chunk', batch: 1, seq: 3, past: 4, total: 7, seqlens: [6] },
  { name: 'right-padded prompt', batch: 2, seq: 5, past: 0, total: 5, seqlens: [4, 2] },
  { name: 'right-padded decode', batch: 2, seq: 1, past: 5, total: 6, seqlens: [5, 3] },
  { name: 'decode into a longer buffer', batch: 1, seq: 1, past: 8, total: 6, seqlens: [5] },
];

export const GQA_GRAPHS = [
  'gqa',
  'gqa_rotary',
  'gqa_packed_rotary_interleaved',
  'gqa_local_window',
  'gqa_softcap',
  'gqa_smooth_softmax',
  'gqa_head_sink',
  'gqa_attention_bias',
];

/**
 * Random floats for the float inputs at this step's dims; seqlens_k and total_sequence_length as given; a key
 * padding mask of random 0/1 (each row keeps its first key) or of key lengths in 1 … L.
 */
export function attentionFeeds(bytes: Uint8Array, step: Step): Record<string, HostTensor> {
  const dims: Record<string, number> = {
    B: step.batch,
    S: step.seq,
    P: step.past,
    L: step.keys ?? 0,
    T: step.total,
    '2B': 2 * step.batch,
  };
  const out: Record<string, HostTensor> = {};
  decodeModel(bytes).inputs.forEach((v, i) => {
    const shape = (v.shape ?? []).map((d) => (typeof d === 'number' ? d : dims[d]));
    const n = shape.reduce((a, b) => a * b, 1);
    const rand = rng(90 + i + step.seq * 7 + step.past);
    if (v.name === 'seqlens_k')
      out[v.name] = hostTensor('int32', [step.batch], Int32Array.from(step.seqlens));
    else if (v.name === 'total_sequence_length')
      out[v.name] = hostTensor('int32', [], Int32Array.of(step.total));
    else if (v.name === 'key_padding_mask') {
      const keys = shape[shape.length - 1];
      const values =
        shape.length === 1
          ? Int32Array.from({ length: n }, () => 1 + Math.floor(rand() * (step.keys ?? 1)))
          : Int32Array.from({ length: n }, (_, j) => (j % keys === 0 || rand() < 0.6 ? 1 : 0));
      out[v.name] = hostTensor('int32', shape, values);
    } else
      out[v.name] = hostTensor('float32', shape, uniformFloats(n, 90 + i + step.seq * 7 + step.past, -1, 1));
  });
  return out;
}

/**
 * The output rows onnxruntime defines: on a GroupQueryAttention first prompt (its rows' lengths in seqlens),
 * positions past a row's length hold whatever its kernel leaves there; elsewhere every row counts (the other
 * attention ops have no seqlens).
 */
export function definedRows(data: Float32Array, step: Step, width: number): Float32Array {
  if (step.seq !== step.total || step.seqlens.length === 0) return data;
  const kept: number[] = [];
  for (let b = 0; b < step.batch; b++)
    for (let s = 0; s <= Math.min(step.seqlens[b], step.seq - 1); s++)
      kept.push(...data.subarray((b * step.seq + s) * width, (b * step.seq + s + 1) * width));
  return Float32Array.from(kept);
}

const mha = (name: string, batch: number, seq: number, keys: number, past = 0): Step => ({
  name,
  batch,
  seq,
  past,
  keys,
  total: past + keys,
  seqlens: [],
});

/** MultiHeadAttention graphs and their steps. */
export const MHA_CASES = [
  { graph: 'mha_bias_past_causal', step: mha('prompt', 2, 4, 4) },
  { graph: 'mha_bias_past_causal', step: mha('decode', 2, 1, 1, 4) },
  { graph: 'mha_presents_bias', step: mha('cross attention', 2, 3, 5) },
  { graph: 'mha_padding_mask_attention_bias', step: mha('cross attention', 2, 3, 6) },
  { graph: 'mha_key_lengths', step: mha('cross attention', 3, 2, 5) },
  { graph: 'mha_split_kv', step: mha('cross attention', 2, 3, 4) },
];

/** com.microsoft Attention (one packed projection) graphs and their steps. */
export const PACKED_ATTENTION_CASES = [
  { graph: 'attention_past_causal', step: mha('prompt', 2, 4, 4) },
  { graph: 'attention_past_causal', step: mha('decode', 2, 1, 1, 4) },
  { graph: 'attention_present_bias', step: mha('encoder', 2, 5, 5) },
  // mask_index: BERT's [B, S] 0/1 mask, key lengths [B], lengths and starts [2B], [B, S, S], GPT-2's over a past.
  { graph: 'attention_mask_index_2d', step: mha('encoder', 2, 5, 5) },
  { graph: 'attention_mask_index_lengths', step: mha('encoder', 3, 4, 4) },
  { graph: 'attention_mask_index_lengths_starts', step: mha('encoder', 2, 5, 5) },
  { graph: 'attention_mask_index_3d', step: mha('encoder', 2, 4, 4) },
  { graph: 'attention_mask_index_past_causal', step: mha('prompt', 2, 4, 4) },
  { graph: 'attention_mask_index_past_causal', step: mha('decode', 2, 1, 1, 4) },
];
