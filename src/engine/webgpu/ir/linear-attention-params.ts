// com.microsoft LinearAttention and CausalConvWithState: what a node asks for once its inputs' shapes are known,
// shared by shape inference (op-shapes.ts) and the lowering (plan/lowering.ts → ops/linear-attention.ts). Forms
// onnxruntime's CPU and WebGPU kernels leave out (a state window, 2-D and 3-D convolutions) are UNSUPPORTED_OP;
// attributes or shapes that contradict each other are INVALID_MODEL.
import { WebvlError } from '../../../errors';
import {
  type CausalConvParams,
  LINEAR_ATTENTION_RULES,
  type LinearAttentionParams,
  type LinearAttentionRule,
  MAX_LINEAR_ATTENTION_KEY,
  ruleTerms,
} from '../ops/linear-attention';
import { attrFloat, attrInt, attrString, type Node, opKey } from './ir';

function failer(node: Node) {
  return {
    invalid: (why: string): never => {
      throw new WebvlError('INVALID_MODEL', `${node.opType} node '${node.name}': ${why}`);
    },
    unsupported: (why: string): never => {
      throw new WebvlError('UNSUPPORTED_OP', `${opKey(node)} node '${node.name}': ${why}`, {
        ops: [opKey(node)],
      });
    },
  };
}

/** A whole quotient, or the failure. */
function divide(total: number, parts: number, what: string, fail: (why: string) => never): number {
  if (parts < 1 || total % parts !== 0) fail(`${what}: ${total} does not split into ${parts}`);
  return total / parts;
}

/** Dims of query, key, value and (where given) decay and beta, each [B, T, ·]. */
export function linearAttentionParams(
  node: Node,
  query: readonly number[],
  key: readonly number[],
  value: readonly number[],
  decay: readonly number[] | undefined,
  beta: readonly number[] | undefined,
): LinearAttentionParams {
  const { invalid, unsupported } = failer(node);
  if (attrInt(node, 'state_window', 0) !== 0)
    unsupported('a state window (onnxruntime runs it on CUDA only)');
  const rule = attrString(node, 'update_rule', 'gated_delta');
  if (!(LINEAR_ATTENTION_RULES as readonly string[]).includes(rule)) invalid(`update_rule '${rule}'`);
  const qHeads = attrInt(node, 'q_num_heads', 0);
  const kvHeads = attrInt(node, 'kv_num_heads', 0);
  if (qHeads < 1 || kvHeads < 1) invalid('q_num_heads and kv_num_heads are required and positive');
  if (qHeads % kvHeads !== 0 && kvHeads % qHeads !== 0)
    invalid(`${qHeads} query heads and ${kvHeads} state heads: neither divides the other`);
  for (const [name, dims] of [
    ['query', query],
    ['key', key],
    ['value', value],
    ['decay', decay],
    ['beta', beta],
  ] as const)
    if (dims && (dims.length !== 3 || dims[0] !== query[0] || dims[1] !== query[1]))
      invalid(`${name} must be [batch, steps, ·] like the query, got [${dims}]`);
  const dk = divide(query[2], qHeads, 'query width by q_num_heads', invalid);
  const keyHeads = divide(key[2], dk, 'key width by the key width per head', invalid);
  if (kvHeads % keyHeads !== 0) invalid(`${keyHeads} key heads do not divide ${kvHeads} state heads`);
  const dv = divide(value[2], kvHeads, 'value width by kv_num_heads', invalid);
  if (dk > MAX_LINEAR_ATTENTION_KEY) unsupported(`key width ${dk} (at most ${MAX_LINEAR_ATTENTION_KEY})`);
  const r = rule as LinearAttentionRule;
  const { gated, delta } = ruleTerms(r);
  if (gated && !decay) invalid(`update_rule ${r} needs a decay input`);
  if (delta && !beta) invalid(`update_rule ${r} needs a beta input`);
  if (decay && gated && decay[2] !== kvHeads && decay[2] !== kvHeads * dk)
    invalid(`decay width ${decay[2]}: expected ${kvHeads} (per head) or ${kvHeads * dk} (per key dimension)`);
  if (beta && delta && beta[2] !== kvHeads && beta[2] !== 1)
    invalid(`beta width ${beta[2]}: expected ${kvHeads} (per head) or 1`);
  const scale = attrFloat(node, 'scale', 0);
  return {
    rule: r,
    qHeads,
    kvHeads,
    keyHeads,
    dk,
    dv,
    scale: scale === 0 ? 1 / Math.sqrt(dk) : scale,
    decayPerKey: gated && decay?.[2] !== kvHeads,
    betaShared: delta && beta?.[2] !== kvHeads,
  };
}

/** LinearAttention's outputs: [B, T, max(Hq, Hkv)·dv] and the state [B, Hkv, dk, dv]. */
export function linearAttentionDims(p: LinearAttentionParams, query: readonly number[]): number[][] {
  return [
    [query[0], query[1], Math.max(p.qHeads, p.kvHeads) * p.dv],
    [query[0], p.kvHeads, p.dk, p.dv],
  ];
}

const ACTIVATIONS = ['none', 'silu', 'swish'];

/**
 * CausalConvWithState over input dims (channels-first [B, C, T]; channels-last [B, T, d1, ...]) and weight dims
 * [C, 1, K]: the parameters and the state's dims.
 */
export function causalConvParams(
  node: Node,
  input: readonly number[],
  weight: readonly number[],
): CausalConvParams & { readonly stateDims: number[] } {
  const { invalid, unsupported } = failer(node);
  if (attrInt(node, 'ndim', 1) !== 1)
    unsupported('2-D and 3-D convolutions (onnxruntime runs them on CUDA only)');
  if (attrInt(node, 'state_window', 0) !== 0)
    unsupported('a state window (onnxruntime runs it on CUDA only)');
  const activation = attrString(node, 'activation', 'none');
  if (!ACTIVATIONS.includes(activation)) invalid(`activation '${activation}'`);
  const dilation = attrInt(node, 'dilation', 1);
  if (dilation < 1) invalid(`dilation ${dilation}`);
  const channelsLastAttr = attrInt(node, 'channels_last', 0);
  if (channelsLastAttr !== 0 && channelsLastAttr !== 1) invalid(`channels_last ${channelsLastAttr}`);
  const channelsLast = channelsLastAttr === 1;
  if (weight.length !== 3 || weight[1] !== 1)
    invalid(`weight must be [channels, 1, kernel], got [${weight}]`);
  const [channels, , kernel] = weight;
  if (kernel < 1) invalid('an empty kernel');
  if (channelsLast ? input.length < 3 : input.length !== 3)
    invalid(
      `input [${input}]: expected ${channelsLast ? '[batch, steps, channels...]' : '[batch, channels, steps]'}`,
    );
  const inputChannels = channelsLast ? input.slice(2).reduce((a, b) => a * b, 1) : input[1];
  if (inputChannels !== channels) invalid(`${inputChannels} input channels for a ${channels}-channel weight`);
  const state = (kernel - 1) * dilation;
  return {
    channels,
    kernel,
    dilation,
    silu: activation !== 'none',
    channelsLast,
    stateDims: channelsLast ? [input[0], state, ...input.slice(2)] : [input[0], channels, state],
  };
}
