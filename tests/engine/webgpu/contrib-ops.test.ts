// onnxruntime's contrib ops (tests/corpus/contrib, scripts/make_contrib_graphs.py) on our engine against
// onnxruntime-node on the same random inputs, and what they turn into: each normalization one LayerNorm
// dispatch, each bias + GELU absorbed into the matmul epilogue or one GELU, each quantized embedding lookup one
// gather from the table kept packed, each bnb4 product one MatMul by the weight dequantized at load. Opset 23's
// transformer ops (tests/corpus/opset23) too: RMSNormalization one dispatch, RotaryEmbedding our rotary kernel,
// Attention one fused attention (a strided copy per present).
import { readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import type { HostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { contribFeeds } from '../../support/corpus-feeds';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/contrib';
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

/** Ops after fusion, for the graphs whose fused form is known. */
const EXPECTED_OPS: Record<string, Record<string, number>> = {
  skip_layer_norm: { Add: 1, 'webvl:LayerNorm': 1 },
  skip_simplified_layer_norm: { 'webvl:LayerNorm': 1 },
  simplified_layer_norm: { 'webvl:LayerNorm': 1 },
  matmul_bias_gelu: { 'webvl:Linear': 1 },
  fast_gelu: { Add: 1, 'webvl:Gelu': 1 },
  quick_gelu: { 'webvl:Gelu': 1 },
  ms_gelu: { 'webvl:Gelu': 1 },
  matmul_bnb4_fp4: { MatMul: 1 },
  matmul_bnb4_nf4: { MatMul: 1 },
  gather_block_quantized_q4: { 'webvl:QGather': 1 },
  gather_block_quantized_q4_default_zero: { 'webvl:QGather': 1 },
  gather_block_quantized_q8: { 'webvl:QGather': 1 },
  gather_block_quantized_q4_rank3: { 'webvl:QGather': 1 },
  gather_block_quantized_int4: { 'webvl:QGather': 1 },
  gather_block_quantized_uint4_default_zero: { 'webvl:QGather': 1 },
  rotary_embedding_3d: { 'webvl:Rotary': 1 },
  rotary_embedding_3d_interleaved: { 'webvl:Rotary': 1 },
  rotary_embedding_4d: { 'webvl:Rotary': 1 },
  rotary_embedding_4d_interleaved_offset: { 'webvl:Rotary': 1 },
  rotary_embedding_partial: { 'webvl:Rotary': 1 },
  rotary_embedding_no_heads: { 'webvl:Rotary': 1 },
  mrotary_embedding_sections: { 'webvl:Rotary': 1 },
  mrotary_embedding_interleaved_4d: { 'webvl:Rotary': 1 },
  mrotary_embedding_partial_interleaved: { 'webvl:Rotary': 1 },
  linear_attention_gate: { Add: 1, Softplus: 1, Mul: 1, Sigmoid: 1 },
  linear_attention_gate_decay_only: { Add: 1, Softplus: 1, Mul: 1 },
  gated_rms_norm: { Reshape: 2, 'webvl:LayerNorm': 1, Sigmoid: 1, Mul: 2 },
  lp_normalization_l2: { LpNormalization: 1 },
  lp_normalization_l1_axis1: { LpNormalization: 1 },
};

/** Opset 23's transformer ops (tests/corpus/opset23, scripts/make_opset23_graphs.py), after fusion. */
const EXPECTED_OPSET23: Record<string, Record<string, number>> = {
  rms_norm_last_axis: { RMSNormalization: 1 },
  rms_norm_axis_1: { RMSNormalization: 1 },
  rms_norm_broadcast_scale: { RMSNormalization: 1 },
  rotary_3d: { 'webvl:Rotary': 1 },
  rotary_4d_interleaved: { 'webvl:Rotary': 1 },
  rotary_3d_partial: { 'webvl:Rotary': 1 },
  rotary_4d_token_caches: { 'webvl:Rotary': 1 },
  attention_4d_causal: { 'webvl:Attention': 1 },
  attention_3d_gqa: { 'webvl:Attention': 1 },
  attention_past_causal_gqa: { 'webvl:StridedConcat': 2, 'webvl:Attention': 1 },
  attention_float_mask_2d: { Reshape: 1, 'webvl:Attention': 1 },
  attention_bool_mask_past: { 'webvl:StridedConcat': 2, Where: 1, 'webvl:Attention': 1 },
  attention_softcap_causal_3d: { 'webvl:Attention': 1 },
};

/** Runs `dir/file` on our engine and on onnxruntime-node; the outputs agree and the plan's ops are `expected`. */
async function matchesOnnxruntime(dir: string, file: string, expected: Record<string, number> | undefined) {
  const bytes = new Uint8Array(readFileSync(`${dir}/${file}`));
  const session = await backend.load(bytes, { label: file });
  // onnxruntime's own kernels, its graph fusions off (see op-forms.test.ts).
  const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const feeds = contribFeeds(bytes);
  const ours = await session.run(feeds);
  const theirs = await reference.run(
    Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [
        k,
        new ort.Tensor(t.dtype as 'float32' | 'int64', t.data as Float32Array | BigInt64Array, [...t.dims]),
      ]),
    ),
  );
  for (const name of session.outputNames) {
    expect(
      relativeDiff((ours[name] as HostTensor).data as Float32Array, theirs[name].data as Float32Array),
      name,
    ).toBeLessThan(1e-5);
  }
  expect(session.describePlan()?.opCounts).toEqual(expected);
  await session.release();
  await reference.release();
}

describe.each([
  [DIR, EXPECTED_OPS],
  ['tests/corpus/opset23', EXPECTED_OPSET23],
] as const)('%s vs onnxruntime-node', (dir, expected) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  it('has a graph for every expected case', () => {
    expect(files.map((f) => f.replace('.onnx', '')).sort()).toEqual(Object.keys(expected).sort());
  });
  it.each(files)('%s', (file) => matchesOnnxruntime(dir, file, expected[file.replace('.onnx', '')]));
});
