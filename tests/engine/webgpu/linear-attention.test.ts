// onnxruntime's recurrent contrib ops (tests/corpus/linear-attention, scripts/make_linear_attention_graphs.py) on
// our engine against onnxruntime-node: a 6-token prompt from zero (or random) state, then one token fed the
// prompt's present state, as a hybrid decoder runs them. Each node is one dispatch. The CPU twins
// (cpu/linear-attention.ts), written from the operators' definitions, agree with onnxruntime too.
import { readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { causalConvCpu, linearAttentionCpu } from '../../../src/engine/webgpu/cpu/linear-attention';
import { cpuTensor } from '../../../src/engine/webgpu/cpu/tensor';
import type { Node } from '../../../src/engine/webgpu/ir/ir';
import {
  causalConvParams,
  linearAttentionParams,
} from '../../../src/engine/webgpu/ir/linear-attention-params';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { recurrentFeeds } from '../../support/corpus-feeds';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/linear-attention';
const PROMPT = 6;
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

const worst = new Map<string, number>();
afterAll(() => console.log('max relative error vs onnxruntime-node:', Object.fromEntries(worst)));

const files = readdirSync(DIR).filter((f) => f.endsWith('.onnx'));

function toOrt(feeds: Record<string, HostTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [
      k,
      new ort.Tensor('float32', t.data as Float32Array, [...t.dims]),
    ]),
  );
}

describe('LinearAttention / CausalConvWithState vs onnxruntime-node', () => {
  it('has the graphs the script writes', () => {
    expect(files.length).toBe(13);
  });

  it.each(files)('%s: a prompt, then a token fed its state', async (file) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/${file}`));
    const session = await backend.load(bytes, { label: file });
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    let state: HostTensor | undefined;
    for (const [steps, seed] of [
      [PROMPT, 10],
      [1, 30],
    ]) {
      const feeds = recurrentFeeds(bytes, steps, seed, state);
      const ours = await session.run(feeds);
      const theirs = await reference.run(toOrt(feeds));
      for (const name of session.outputNames) {
        const a = ours[name] as HostTensor;
        expect(a.dims, name).toEqual(theirs[name].dims);
        const err = relativeDiff(a.data as Float32Array, theirs[name].data as Float32Array);
        worst.set(file, Math.max(worst.get(file) ?? 0, err));
        expect(err, `${name} at ${steps} steps`).toBeLessThan(1e-4);
      }
      state = ours.present_state as HostTensor;
    }
    const counts = session.describePlan()?.opCounts ?? {};
    const op = file.startsWith('conv')
      ? 'com.microsoft:CausalConvWithState'
      : 'com.microsoft:LinearAttention';
    expect(counts[op]).toBe(1);
    // The delta rules' keys, L2-normalized as torch exports transformers' l2norm: one RMS norm dispatch.
    if (file.includes('delta')) expect(counts['webvl:LayerNorm']).toBe(1);
    await session.release();
    await reference.release();
  });
});

describe('the CPU twins agree with onnxruntime-node', () => {
  it.each(files.filter((f) => !f.startsWith('conv')))('%s', async (file) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/${file}`));
    const model = decodeModel(bytes);
    const node = model.nodes.find((n) => n.opType === 'LinearAttention');
    if (!node) throw new Error('no LinearAttention node');
    // The graph's shaping before the op, computed here: normalized keys, -softplus decay, sigmoid beta.
    const feeds = recurrentFeeds(bytes, PROMPT, 70);
    const get = (name: string) => feeds[name] as HostTensor | undefined;
    const q = get('q') as HostTensor;
    const v = get('v') as HostTensor;
    const kRaw = get('k_raw') as HostTensor;
    const p0 = linearAttentionParams(
      node,
      q.dims,
      kRaw.dims,
      v.dims,
      get('decay_raw')?.dims,
      get('beta_raw')?.dims,
    );
    const key = Float64Array.from(kRaw.data as Float32Array);
    if (node.inputs[1] === 'k')
      for (let row = 0; row < key.length / p0.dk; row++) {
        const at = row * p0.dk;
        const norm = Math.sqrt(key.subarray(at, at + p0.dk).reduce((sum, x) => sum + x * x, 0) + 1e-6);
        for (let i = 0; i < p0.dk; i++) key[at + i] /= norm;
      }
    const decayRaw = get('decay_raw');
    const betaRaw = get('beta_raw');
    const t = (h: HostTensor | undefined, f: (x: number) => number) =>
      h ? cpuTensor(h.dims, Array.from(h.data as Float32Array, f)) : null;
    const twin = linearAttentionCpu(
      cpuTensor(q.dims, q.data as Float32Array),
      cpuTensor(kRaw.dims, key),
      cpuTensor(v.dims, v.data as Float32Array),
      t(get('past_state'), (x) => x),
      t(decayRaw, (x) => -Math.log1p(Math.exp(x))),
      t(betaRaw, (x) => 1 / (1 + Math.exp(-x))),
      p0,
    );
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    const theirs = await reference.run(toOrt(feeds));
    expect(
      relativeDiff(Float32Array.from(twin.output.data), theirs.output.data as Float32Array),
    ).toBeLessThan(1e-5);
    expect(
      relativeDiff(Float32Array.from(twin.present.data), theirs.present_state.data as Float32Array),
    ).toBeLessThan(1e-5);
    await reference.release();
  });

  it.each(files.filter((f) => f.startsWith('conv')))('%s', async (file) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/${file}`));
    const model = decodeModel(bytes);
    const node = model.nodes[0];
    const feeds = recurrentFeeds(bytes, PROMPT, 90);
    const x = feeds.x;
    const weight = model.initializers.get('weight');
    const bias = model.initializers.get('bias');
    if (!weight) throw new Error('no weight');
    const p = causalConvParams(node, x.dims, weight.dims);
    const cpu = (h: HostTensor | undefined) => (h ? cpuTensor(h.dims, h.data as Float32Array) : null);
    const twin = causalConvCpu(
      cpu(x) ?? cpuTensor([0]),
      cpu(weight) ?? cpuTensor([0]),
      cpu(bias),
      cpu(feeds.past_state),
      p,
    );
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    const theirs = await reference.run(toOrt(feeds));
    expect(relativeDiff(Float32Array.from(twin.y.data), theirs.y.data as Float32Array)).toBeLessThan(1e-5);
    expect(
      relativeDiff(Float32Array.from(twin.present.data), theirs.present_state.data as Float32Array),
    ).toBeLessThan(1e-5);
    await reference.release();
  });
});

describe('forms that are refused', () => {
  it('a state window is UNSUPPORTED_OP, an unknown rule INVALID_MODEL', () => {
    const node = (attrs: Record<string, number | string>): Node => ({
      name: 'n',
      opType: 'LinearAttention',
      domain: 'com.microsoft',
      inputs: [],
      outputs: [],
      attrs: Object.fromEntries(
        Object.entries(attrs).map(([k, v]) => [
          k,
          typeof v === 'number' ? { type: 'int' as const, value: v } : { type: 'string' as const, value: v },
        ]),
      ),
    });
    const dims = [1, 2, 16];
    const call = (attrs: Record<string, number | string>) =>
      linearAttentionParams(
        node({ q_num_heads: 2, kv_num_heads: 2, ...attrs }),
        dims,
        dims,
        dims,
        [1, 2, 2],
        [1, 2, 2],
      );
    expect(() => call({ state_window: 2 })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_OP' }));
    expect(() => call({ update_rule: 'mamba' })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }));
    expect(() => call({ kv_num_heads: 3 })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }));
    expect(call({}).rule).toBe('gated_delta');
  });
});
