// The recurrent layers of hybrid decoders (Qwen3.5's Gated DeltaNet, Mamba-style mixers), as onnxruntime's
// contrib ops state them: LinearAttention (shaders/linear-attention.wgsl), a state matrix per head updated token by
// token, and CausalConvWithState (shaders/causal-conv.wgsl), the short causal convolution before it, whose state is
// the last inputs it saw.
import causalConvWgsl from '../../../../shaders/causal-conv.wgsl?raw';
import linearAttentionWgsl from '../../../../shaders/linear-attention.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
} from './common';

export const LINEAR_ATTENTION_RULES = ['linear', 'gated', 'delta', 'gated_delta'] as const;
export type LinearAttentionRule = (typeof LINEAR_ATTENTION_RULES)[number];

/** Which terms a rule has: the decay (gated, gated_delta) and the delta rule's recall (delta, gated_delta). */
export function ruleTerms(rule: LinearAttentionRule): { readonly gated: boolean; readonly delta: boolean } {
  return {
    gated: rule === 'gated' || rule === 'gated_delta',
    delta: rule === 'delta' || rule === 'gated_delta',
  };
}

/** The key width a thread keeps in registers (one column of the state); wider keys are refused. */
export const MAX_LINEAR_ATTENTION_KEY = 256;
const LINEAR_ATTENTION_WORKGROUP = 64;

export interface LinearAttentionParams {
  readonly rule: LinearAttentionRule;
  readonly qHeads: number;
  /** State (and value) heads. */
  readonly kvHeads: number;
  /** Heads of the packed key: kvHeads, or fewer when several state heads share a key head. */
  readonly keyHeads: number;
  readonly dk: number;
  readonly dv: number;
  readonly scale: number;
  /** decay is [B, T, kvHeads·dk] (one factor per key dimension), else [B, T, kvHeads]. */
  readonly decayPerKey: boolean;
  /** beta is [B, T, 1] (one rate for every head), else [B, T, kvHeads]. */
  readonly betaShared: boolean;
}

/**
 * query [B, T, qHeads·dk], key [B, T, keyHeads·dk], value [B, T, kvHeads·dv], past [B, kvHeads, dk, dv] or null
 * (zeros), decay and beta as the params say (null where the rule takes none) → out [B, T, max(qHeads, kvHeads)·dv],
 * present [B, kvHeads, dk, dv].
 */
export function linearAttention(
  ctx: KernelContext,
  query: GpuView,
  key: GpuView,
  value: GpuView,
  past: GpuView | null,
  decay: GpuView | null,
  beta: GpuView | null,
  out: GpuView,
  present: GpuView,
  p: LinearAttentionParams,
): void {
  for (const [name, v] of [
    ['query', query],
    ['key', key],
    ['value', value],
    ['past_state', past],
    ['decay', decay],
    ['beta', beta],
  ] as const)
    if (v) expectFloat32(`LinearAttention ${name}`, v);
  const [batch, steps] = query.dims;
  const { qHeads, kvHeads, keyHeads, dk, dv } = p;
  if (dk > MAX_LINEAR_ATTENTION_KEY)
    invalid(`LinearAttention: key width ${dk} above ${MAX_LINEAR_ATTENTION_KEY}`);
  expectDims('LinearAttention query', query, [batch, steps, qHeads * dk]);
  expectDims('LinearAttention key', key, [batch, steps, keyHeads * dk]);
  expectDims('LinearAttention value', value, [batch, steps, kvHeads * dv]);
  if (past) expectDims('LinearAttention past_state', past, [batch, kvHeads, dk, dv]);
  const { gated, delta } = ruleTerms(p.rule);
  if (gated !== (decay !== null))
    invalid(`LinearAttention: rule ${p.rule} ${gated ? 'needs' : 'takes no'} decay`);
  if (delta !== (beta !== null))
    invalid(`LinearAttention: rule ${p.rule} ${delta ? 'needs' : 'takes no'} beta`);
  if (decay) expectDims('LinearAttention decay', decay, [batch, steps, kvHeads * (p.decayPerKey ? dk : 1)]);
  if (beta) expectDims('LinearAttention beta', beta, [batch, steps, p.betaShared ? 1 : kvHeads]);
  expectDims('LinearAttention output', out, [batch, steps, Math.max(qHeads, kvHeads) * dv]);
  expectDims('LinearAttention present_state', present, [batch, kvHeads, dk, dv]);
  const threads = batch * kvHeads * dv;
  if (threads === 0 || dk === 0) return;
  ctx.record({
    label: 'LinearAttention',
    wgsl: specialize(linearAttentionWgsl, { DK: dk, GATED: gated ? 1 : 0, DELTA: delta ? 1 : 0 }),
    cacheKey: `linear-attention|${dk}|${gated}|${delta}`,
    workgroups: grid1d(Math.ceil(threads / LINEAR_ATTENTION_WORKGROUP)),
    bindings: [query, key, value, past ?? query, decay ?? query, beta ?? query, out, present],
    uniforms: new UniformWriter()
      .u32s([
        batch,
        steps,
        qHeads,
        kvHeads,
        keyHeads,
        dv,
        past ? 1 : 0,
        p.decayPerKey ? 1 : 0,
        p.betaShared ? 1 : 0,
      ])
      .f32s([p.scale])
      .u32s([0, 0])
      .finish(),
  });
}

export interface CausalConvParams {
  readonly channels: number;
  readonly kernel: number;
  readonly dilation: number;
  readonly silu: boolean;
  /** Activations [B, T, C] and states [B, state, C], else [B, C, T] and [B, C, state]. */
  readonly channelsLast: boolean;
}

/**
 * x [B, C, T] (or [B, T, C]), weight [C, 1, K], bias [C] or null, past [B, C, (K-1)·dilation] (or [B, state, C])
 * or null (zeros) → y like x, present like past.
 */
export function causalConv(
  ctx: KernelContext,
  x: GpuView,
  weight: GpuView,
  bias: GpuView | null,
  past: GpuView | null,
  y: GpuView,
  present: GpuView,
  p: CausalConvParams,
): void {
  for (const [name, v] of [
    ['input', x],
    ['weight', weight],
    ['bias', bias],
    ['past_state', past],
  ] as const)
    if (v) expectFloat32(`CausalConvWithState ${name}`, v);
  const { channels, kernel, dilation, channelsLast } = p;
  if (x.dims.length !== 3) invalid(`CausalConvWithState: input must have rank 3, got [${x.dims}]`);
  const batch = x.dims[0];
  const steps = channelsLast ? x.dims[1] : x.dims[2];
  const state = (kernel - 1) * dilation;
  expectDims(
    'CausalConvWithState input',
    x,
    channelsLast ? [batch, steps, channels] : [batch, channels, steps],
  );
  expectDims('CausalConvWithState weight', weight, [channels, 1, kernel]);
  if (bias) expectDims('CausalConvWithState bias', bias, [channels]);
  const stateDims = channelsLast ? [batch, state, channels] : [batch, channels, state];
  if (past) expectDims('CausalConvWithState past_state', past, stateDims);
  expectDims('CausalConvWithState output', y, x.dims);
  expectDims('CausalConvWithState present_state', present, stateDims);
  // The next state comes from the threads of the steps: a call needs one.
  if (steps === 0) invalid('CausalConvWithState: an input of no steps');
  const threads = batch * channels * steps;
  if (threads === 0) return;
  ctx.record({
    label: 'CausalConvWithState',
    wgsl: causalConvWgsl,
    cacheKey: 'causal-conv',
    workgroups: grid1d(Math.ceil(threads / ELEMENTWISE_WORKGROUP)),
    bindings: [x, weight, bias ?? weight, past ?? weight, y, present],
    uniforms: new UniformWriter()
      .u32s([batch, channels, steps, kernel, dilation, past ? 1 : 0, bias ? 1 : 0, p.silu ? 1 : 0])
      .u32s([channelsLast ? 1 : 0, 0, 0, 0])
      .finish(),
  });
}
