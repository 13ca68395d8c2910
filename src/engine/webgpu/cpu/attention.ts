// CPU twin of attention (tests only): the textbook form, float64 — full score matrix, max-subtracted softmax,
// then the weighted sum of values. q [B,H,Sq,D], k/v [B,H,Sk,D] contiguous; mask broadcast to [B,H,Sq,Sk].
import { broadcastIndex, type CpuTensor, cpuTensor } from './tensor';

export interface AttentionCpuOptions {
  scale?: number;
  mask?: CpuTensor;
  causal?: boolean;
  /** Default Sk − Sq. Query i sees keys 0 … pastLength + i when causal. */
  pastLength?: number;
  /** Scores become c·tanh(s / c) after the scale, before the mask; 0 or absent: none. */
  softcap?: number;
  /** With causal: query i sees only keys pastLength + i − window + 1 … pastLength + i; 0 or absent: all. */
  window?: number;
  /** Per query head, a virtual key of this score and no value in every row's softmax (attention sinks). */
  sinks?: ArrayLike<number>;
}

/** Returns [B, H, Sq, D]. Rows whose scores are all -inf give zeros (what our kernel documents). */
export function attentionCpu(
  q: CpuTensor,
  k: CpuTensor,
  v: CpuTensor,
  options: AttentionCpuOptions = {},
): CpuTensor {
  const [B, H, Sq, D] = q.dims;
  const Sk = k.dims[2];
  // Grouped-query attention: k/v have fewer heads, each shared by `group` query heads.
  const Hkv = k.dims[1];
  const group = H / Hkv;
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const past = options.pastLength ?? Sk - Sq;
  const out = cpuTensor([B, H, Sq, D]);
  const scores = new Float64Array(Sk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Sq; i++) {
        const qo = ((b * H + h) * Sq + i) * D;
        for (let j = 0; j < Sk; j++) {
          const ko = ((b * Hkv + Math.floor(h / group)) * Sk + j) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q.data[qo + d] * k.data[ko + d];
          s *= scale;
          if (options.softcap) s = options.softcap * Math.tanh(s / options.softcap);
          if (options.mask) s += options.mask.data[broadcastIndex([b, h, i, j], options.mask.dims)];
          if (options.causal && j > past + i) s = Number.NEGATIVE_INFINITY;
          if (options.causal && options.window && j <= past + i - options.window)
            s = Number.NEGATIVE_INFINITY;
          scores[j] = s;
        }
        const sink = options.sinks ? options.sinks[h] : Number.NEGATIVE_INFINITY;
        let m = sink;
        for (let j = 0; j < Sk; j++) m = Math.max(m, scores[j]);
        if (m === Number.NEGATIVE_INFINITY) continue; // all keys excluded: zeros
        let sum = Math.exp(sink - m); // the sink's weight (0 without one)
        for (let j = 0; j < Sk; j++) {
          scores[j] = Math.exp(scores[j] - m);
          sum += scores[j];
        }
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Sk; j++)
            acc += scores[j] * v.data[((b * Hkv + Math.floor(h / group)) * Sk + j) * D + d];
          out.data[qo + d] = acc / sum;
        }
      }
  return out;
}
