// Real exporters' graphs (tests/corpus/hf: transformers 5.17 + torch 2.11 TorchScript and dynamo exports,
// onnxruntime's q4 / q8 quantizers) on our engine against onnxruntime-node's CPU provider on the same inputs.
// Every graph must load (no op missing: nothing falls back) and match: float graphs and 4-bit weights (both
// sides dequantize to f32) to 1e-4; 8-bit dynamic quantization to 3e-2, the activation rounding ORT's integer
// path adds and ours (f32 arithmetic on dequantized weights) does not (see passes/pack-quantized.ts); the
// fp32 graph of the same model then bounds ours more tightly. (BLIP's vision tower as transformers 5
// initializes it outputs values near 1e-8, so its rows show the graph runs and agrees, not much more.)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { type HostTensor, hostTensor, type TensorData } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { nodeGpu } from './gpu';

const ROOT = 'tests/corpus/hf';
interface Reference {
  inputs: Record<string, { dims: number[]; data: number[] }>;
}
const reference = (family: string): Reference =>
  JSON.parse(readFileSync(`${ROOT}/${family}/reference.json`, 'utf8')) as Reference;

const INT_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids']);

/** The graph's inputs from the family's reference.json (PyTorch's seeded inputs), plus any it derives. */
function feedsFor(family: string, names: readonly string[]): Record<string, HostTensor> {
  const ref = reference(family).inputs;
  const feeds: Record<string, HostTensor> = {};
  for (const name of names) {
    if (name === 'encoder_hidden_states') {
      // Image tokens of the reference image size: 17 tokens × 64 for the tiny vision towers.
      const n = 2 * 17 * 64;
      feeds[name] = hostTensor(
        'float32',
        [2, 17, 64],
        Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.8),
      );
      continue;
    }
    const r = name === 'input_ids' && family === 'blip-hf' ? ref.input_ids : ref[name];
    if (!r) throw new Error(`${family}: no reference input '${name}'`);
    feeds[name] = INT_INPUTS.has(name)
      ? hostTensor('int64', r.dims, r.data)
      : hostTensor('float32', r.dims, Float32Array.from(r.data));
  }
  return feeds;
}

function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as Float32Array, [...t.dims]);
}

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

/** `externalData`: the graph's weights are in these files beside it, which onnxruntime-node reads from disk. */
async function compare(path: string, family: string, externalData?: readonly string[]) {
  const bytes = new Uint8Array(readFileSync(`${ROOT}/${path}`));
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const session = await backend.load(bytes, {
    label: path,
    externalData:
      externalData &&
      new Map(externalData.map((f) => [f, new Uint8Array(readFileSync(`${ROOT}/${dir}${f}`))])),
  });
  const reference = await (externalData
    ? ort.InferenceSession.create(`${ROOT}/${path}`)
    : ort.InferenceSession.create(bytes));
  try {
    const feeds = feedsFor(family, session.inputNames);
    const ours = await session.run(feeds);
    const theirs = await reference.run(
      Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])),
    );
    const diffs: Record<string, number> = {};
    for (const name of session.outputNames) {
      const a = ours[name] as HostTensor;
      const b = theirs[name];
      expect(a.dims).toEqual(b.dims);
      diffs[name] = relativeDiff(
        Array.from(a.data as Exclude<TensorData, BigInt64Array>),
        b.data as Float32Array,
      );
    }
    return { diffs, plan: session.describePlan() };
  } finally {
    await session.release();
    await reference.release();
  }
}

describe('real exports on our engine vs onnxruntime-node', () => {
  const FLOAT: [string, string][] = [
    ['blip-hf/onnx/vision_model.onnx', 'blip-hf'],
    ['blip-hf/onnx/text_model.onnx', 'blip-hf'],
    ['blip-hf/onnx/itm_model.onnx', 'blip-hf'],
    ['blip-hf/onnx/decoder_model.onnx', 'blip-hf'],
    ['blip-hf/onnx-dynamo/vision_model.onnx', 'blip-hf'],
    ['blip-hf/onnx-dynamo/decoder_model.onnx', 'blip-hf'],
    ['siglip-hf/onnx/vision_model.onnx', 'siglip-hf'],
    ['siglip-hf/onnx/text_model.onnx', 'siglip-hf'],
    ['siglip-hf/onnx/model.onnx', 'siglip-hf'],
    ['siglip-hf/onnx-dynamo/vision_model.onnx', 'siglip-hf'],
    ['siglip-hf/onnx-dynamo/text_model.onnx', 'siglip-hf'],
    ['llama-hf/onnx/model.onnx', 'llama-hf'],
    ['llama-hf/onnx-dynamo/model.onnx', 'llama-hf'],
  ];
  it.each(FLOAT)('%s (float32) within 1e-4', async (path, family) => {
    const { diffs, plan } = await compare(path, family);
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(1e-4);
    expect(plan?.dispatches).toBeGreaterThan(0);
  });

  const Q4: [string, string][] = [
    ['blip-hf/onnx/vision_model_q4.onnx', 'blip-hf'],
    ['siglip-hf/onnx/text_model_q4.onnx', 'siglip-hf'],
    ['llama-hf/onnx/model_q4.onnx', 'llama-hf'],
  ];
  it.each(Q4)('%s (MatMulNBits, 4-bit weights kept packed) within 1e-4', async (path, family) => {
    const { diffs, plan } = await compare(path, family);
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(1e-4);
    expect(plan?.opCounts['webvl:QMatMul'] ?? 0).toBeGreaterThan(0);
  });

  it('siglip-export/onnx/text_model_bnb4.onnx (MatMulBnb4 NF4/FP4, dequantized at load) within 1e-4', async () => {
    const { diffs, plan } = await compare('siglip-export/onnx/text_model_bnb4.onnx', 'siglip-export');
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(1e-4);
    expect(Object.keys(plan?.opCounts ?? {}).some((op) => op.includes('Bnb4'))).toBe(false);
  });

  const Q8: [string, string][] = [
    ['blip-hf/onnx/itm_model_quantized.onnx', 'blip-hf'],
    ['siglip-hf/onnx/vision_model_quantized.onnx', 'siglip-hf'],
    ['llama-hf/onnx/model_quantized.onnx', 'llama-hf'],
  ];
  it.each(Q8)('%s (dynamic 8-bit: W8A32 here, integer in ORT) within 3e-2', async (path, family) => {
    const { diffs, plan } = await compare(path, family);
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(3e-2);
    expect(plan?.opCounts['webvl:QMatMul'] ?? 0).toBeGreaterThan(0);
  });
});

describe('weights in external-data files (clip-external: clip-export re-saved by onnx)', () => {
  it.each([
    ['vision_model.onnx', ['vision_model.onnx.data']],
    ['text_model.onnx', ['text_model.onnx_data', 'text_model.onnx_data_1']],
    ['model.onnx', ['model.onnx_data']],
  ])('%s reads its tensors from %j as onnxruntime-node does from disk, within 1e-4', async (graph, files) => {
    const { diffs } = await compare(`clip-external/onnx/${graph}`, 'clip-export', files);
    expect(Object.keys(diffs).length).toBeGreaterThan(0);
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(1e-4);
  });

  it('a data file shorter than its tensors say, or one not given, is INVALID_MODEL at load naming the file', async () => {
    const dir = `${ROOT}/clip-external/onnx/`;
    const graph = new Uint8Array(readFileSync(`${dir}text_model.onnx`));
    const data = new Uint8Array(readFileSync(`${dir}text_model.onnx_data_1`));
    const refused = async (externalData: Map<string, Uint8Array>) => {
      try {
        await backend.load(graph, { label: 'truncated', externalData });
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('loaded');
    };
    const full = new Uint8Array(readFileSync(`${dir}text_model.onnx_data`));
    const short = await refused(
      new Map([
        ['text_model.onnx_data', full],
        ['text_model.onnx_data_1', data.subarray(0, data.length - 4)],
      ]),
    );
    expect(short.code).toBe('INVALID_MODEL');
    expect(short.message).toContain("'text_model.onnx_data_1'");
    const missing = await refused(new Map([['text_model.onnx_data', full]]));
    expect(missing.code).toBe('INVALID_MODEL');
    expect(missing.message).toContain("'text_model.onnx_data_1'");
  });
});

describe('torch 2.x patterns fuse', () => {
  it.each([
    ['llama-hf/onnx/model.onnx', 'llama-hf'],
    ['llama-hf/onnx-dynamo/model.onnx', 'llama-hf'],
  ])(
    '%s: every RMSNorm (2 per layer and the final one) is one LayerNorm dispatch, every attention one, rotary and SwiGLU fused',
    async (path, family) => {
      const { diffs, plan } = await compare(path, family);
      expect(diffs.logits).toBeLessThan(1e-4);
      expect(plan?.opCounts['webvl:LayerNorm']).toBe(5);
      expect(plan?.opCounts.ReduceMean ?? 0).toBe(0);
      // SDPA's NaN guard (Where(IsNaN(p), 0, p)) and the GQA key/value repeat fold into the fused attention.
      expect(plan?.opCounts['webvl:Attention']).toBe(2);
      expect(plan?.opCounts.Softmax ?? 0).toBe(0);
      // Rotary embedding of queries and keys: one dispatch each (no Neg/Slice/Concat of rotate_half left).
      expect(plan?.opCounts['webvl:Rotary']).toBe(4);
      expect(plan?.opCounts.Neg ?? 0).toBe(0);
      // SwiGLU: silu in the gate projection's epilogue, the product in the up projection's.
      expect(plan?.opCounts['webvl:Linear']).toBe(4);
      expect(plan?.opCounts.Sigmoid ?? 0).toBe(0);
    },
  );
  it('llama-hf/onnx/model.onnx: GQA keys and values are read shared by their query heads, never repeated', async () => {
    const { diffs, plan } = await compare('llama-hf/onnx/model.onnx', 'llama-hf');
    expect(diffs.logits).toBeLessThan(1e-4);
    // The one Expand left broadcasts the attention mask; repeat_kv's per layer (keys and values) are gone.
    expect(plan?.opCounts.Expand ?? 0).toBe(1);
  });
});
