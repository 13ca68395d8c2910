// CPU twins of ops/linear-attention.ts (tests only): onnxruntime's LinearAttention and CausalConvWithState
// written as their definitions read, one token at a time, in float64.
import { type CausalConvParams, type LinearAttentionParams, ruleTerms } from '../ops/linear-attention';
import { type CpuTensor, cpuTensor } from './tensor';

/** Which state head (and key head) a query head reads, and which query head a state head answers with. */
export function headPairs(p: LinearAttentionParams): { state: number; query: number; slot: number }[] {
  const pairs = [];
  if (p.qHeads >= p.kvHeads) {
    const group = p.qHeads / p.kvHeads;
    for (let h = 0; h < p.qHeads; h++) pairs.push({ state: Math.floor(h / group), query: h, slot: h });
  } else {
    const group = p.kvHeads / p.qHeads;
    for (let j = 0; j < p.kvHeads; j++) pairs.push({ state: j, query: Math.floor(j / group), slot: j });
  }
  return pairs;
}

/**
 * query [B, T, Hq·dk], key [B, T, Hk·dk], value [B, T, Hkv·dv], past [B, Hkv, dk, dv] or null, decay [B, T, Hkv]
 * or [B, T, Hkv·dk] or null, beta [B, T, Hkv] or [B, T, 1] or null → output [B, T, max(Hq, Hkv)·dv], present.
 */
export function linearAttentionCpu(
  query: CpuTensor,
  key: CpuTensor,
  value: CpuTensor,
  past: CpuTensor | null,
  decay: CpuTensor | null,
  beta: CpuTensor | null,
  p: LinearAttentionParams,
): { output: CpuTensor; present: CpuTensor } {
  const [batch, steps] = query.dims;
  const { dk, dv, kvHeads, keyHeads } = p;
  const slots = Math.max(p.qHeads, kvHeads);
  const output = cpuTensor([batch, steps, slots * dv]);
  const present = cpuTensor([batch, kvHeads, dk, dv], past?.data);
  const { gated, delta } = ruleTerms(p.rule);
  const pairs = headPairs(p);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < steps; t++) {
      const row = b * steps + t;
      for (let j = 0; j < kvHeads; j++) {
        const s = present.data.subarray((b * kvHeads + j) * dk * dv, (b * kvHeads + j + 1) * dk * dv);
        const kh = Math.floor(j / (kvHeads / keyHeads));
        const k = (i: number) => key.data[(row * keyHeads + kh) * dk + i];
        const v = (c: number) => value.data[(row * kvHeads + j) * dv + c];
        for (let i = 0; i < dk && gated; i++) {
          const g = p.decayPerKey
            ? decay!.data[(row * kvHeads + j) * dk + i]
            : decay!.data[row * kvHeads + j];
          for (let c = 0; c < dv; c++) s[i * dv + c] *= Math.exp(g);
        }
        const rate = delta ? beta!.data[p.betaShared ? row : row * kvHeads + j] : 1;
        for (let c = 0; c < dv; c++) {
          let recalled = 0;
          for (let i = 0; i < dk && delta; i++) recalled += s[i * dv + c] * k(i);
          const update = rate * (v(c) - recalled);
          for (let i = 0; i < dk; i++) s[i * dv + c] += k(i) * update;
        }
      }
      for (const { state, query: qh, slot } of pairs) {
        const s = present.data.subarray((b * kvHeads + state) * dk * dv);
        for (let c = 0; c < dv; c++) {
          let o = 0;
          for (let i = 0; i < dk; i++) o += query.data[(row * p.qHeads + qh) * dk + i] * s[i * dv + c];
          output.data[(row * slots + slot) * dv + c] = p.scale * o;
        }
      }
    }
  return { output, present };
}

/**
 * x [B, C, T] (or [B, T, C] channels-last), weight [C, 1, K], bias [C] or null, past [B, C, state] (or [B, state,
 * C]) or null, state = (K - 1)·dilation → y like x, present like past.
 */
export function causalConvCpu(
  x: CpuTensor,
  weight: CpuTensor,
  bias: CpuTensor | null,
  past: CpuTensor | null,
  p: CausalConvParams,
): { y: CpuTensor; present: CpuTensor } {
  const { channels, kernel, dilation, channelsLast } = p;
  const batch = x.dims[0];
  const steps = channelsLast ? x.dims[1] : x.dims[2];
  const state = (kernel - 1) * dilation;
  const xAt = (b: number, c: number, t: number) =>
    x.data[channelsLast ? (b * steps + t) * channels + c : (b * channels + c) * steps + t];
  const stateIndex = (b: number, c: number, s: number) =>
    channelsLast ? (b * state + s) * channels + c : (b * channels + c) * state + s;
  // The virtual input: the past state, then x.
  const virtual = (b: number, c: number, u: number) =>
    u < state ? (past ? past.data[stateIndex(b, c, u)] : 0) : xAt(b, c, u - state);
  const y = cpuTensor(x.dims);
  const present = cpuTensor(channelsLast ? [batch, state, channels] : [batch, channels, state]);
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < channels; c++) {
      for (let t = 0; t < steps; t++) {
        let sum = bias ? bias.data[c] : 0;
        for (let j = 0; j < kernel; j++)
          sum += weight.data[c * kernel + j] * virtual(b, c, t + state - (kernel - 1 - j) * dilation);
        if (p.silu) sum = sum / (1 + Math.exp(-sum));
        y.data[channelsLast ? (b * steps + t) * channels + c : (b * channels + c) * steps + t] = sum;
      }
      for (let s = 0; s < state; s++) present.data[stateIndex(b, c, s)] = virtual(b, c, steps + s);
    }
  return { y, present };
}
