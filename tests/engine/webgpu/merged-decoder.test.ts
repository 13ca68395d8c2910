// decoder_model_merged.onnx (scripts/make_merged_decoder.py): an If on `use_cache_branch` picks the first step
// or a cached step. Our engine reads the flag on the host, plans one branch per value with no control flow
// left, and matches onnxruntime-node on both branches; the cached step's inputs come from the first step.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { fillSkeleton } from '../../../bench/base-models';
import { relativeDiff } from '../../../bench/stats';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { uniformFloats } from '../../support/random';
import { nodeGpu } from './gpu';

const bytes = new Uint8Array(readFileSync('tests/corpus/merged/decoder_model_merged.onnx'));
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

const LAYERS = 2;
const pastNames = Array.from({ length: LAYERS }, (_, i) => [
  `past_key_values.${i}.key`,
  `past_key_values.${i}.value`,
]).flat();

function feeds(ids: number[], past: HostTensor[] | undefined): Record<string, HostTensor> {
  const f: Record<string, HostTensor> = {
    input_ids: hostTensor('int64', [2, ids.length / 2], ids),
    encoder_hidden_states: hostTensor('float32', [2, 5, 24], uniformFloats(2 * 5 * 24, 8)),
    use_cache_branch: hostTensor('bool', [1], [past ? 1 : 0]),
  };
  pastNames.forEach((name, i) => {
    f[name] = past?.[i] ?? hostTensor('float32', [2, 4, 0, 8], []);
  });
  return f;
}

const toOrt = (t: HostTensor) => new ort.Tensor(t.dtype, t.data as Float32Array, [...t.dims]);

describe('merged decoder (If on use_cache_branch)', () => {
  it('both branches match onnxruntime-node, each planned without an If', async () => {
    const session = await backend.load(bytes, { label: 'merged' });
    const reference = await ort.InferenceSession.create(bytes);
    const first = feeds([6, 9, 12, 6, 7, 8], undefined);
    const ours1 = await session.run(first);
    const theirs1 = await reference.run(
      Object.fromEntries(Object.entries(first).map(([k, v]) => [k, toOrt(v)])),
    );
    expect(
      relativeDiff((ours1.logits as HostTensor).data as Float32Array, theirs1.logits.data as Float32Array),
    ).toBeLessThan(1e-5);
    expect(session.describePlan()?.opCounts.If).toBeUndefined();

    // The cached step: one new token each, the first step's presents as the past.
    const past = pastNames.map((n) => ours1[n.replace('past_key_values', 'present')] as HostTensor);
    const second = feeds([10, 11], past);
    const ours2 = await session.run(second);
    const theirs2 = await reference.run(
      Object.fromEntries(Object.entries(second).map(([k, v]) => [k, toOrt(v)])),
    );
    for (const name of ['logits', 'present.1.value'])
      expect(
        relativeDiff((ours2[name] as HostTensor).data as Float32Array, theirs2[name].data as Float32Array),
        name,
      ).toBeLessThan(1e-5);
    expect(session.describePlan()?.signature).toContain('use_cache_branch=1');
    expect(session.describePlan()?.opCounts['webvl:Attention']).toBeGreaterThan(0);
    await session.release();
    await reference.release();
  });
});

describe('a q4 merged decoder (MatMulNBits inside both If branches, bench/models llama-q4-tiny)', () => {
  it('packs each weight once for both branches, runs every product packed, and matches onnxruntime-node', async () => {
    const { bytes: q4 } = fillSkeleton(
      new Uint8Array(readFileSync('bench/models/llama-q4-tiny.skeleton.onnx')),
    );
    const session = await backend.load(q4, { label: 'q4' });
    const reference = await ort.InferenceSession.create(q4);
    const embeds = Float32Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i * 0.7));
    const first: Record<string, HostTensor> = {
      inputs_embeds: hostTensor('float32', [1, 5, 64], embeds),
      attention_mask: hostTensor('int64', [1, 5], [1, 1, 1, 1, 1]),
      position_ids: hostTensor('int64', [1, 5], [0, 1, 2, 3, 4]),
      use_cache_branch: hostTensor('bool', [1], [0]),
    };
    for (const name of pastNames) first[name] = hostTensor('float32', [1, 2, 0, 16], []);
    const ours = await session.run(first);
    const theirs = await reference.run(
      Object.fromEntries(Object.entries(first).map(([k, v]) => [k, toOrt(v)])),
    );
    expect(
      relativeDiff((ours.logits as HostTensor).data as Float32Array, theirs.logits.data as Float32Array),
    ).toBeLessThan(1e-4);
    const plan = session.describePlan();
    // 2 layers × 7 projections and the LM head, every one 4-bit; no MatMulNBits left unpacked.
    expect(plan?.opCounts['webvl:QMatMul']).toBe(15);
    expect(plan?.opCounts.MatMul ?? 0).toBe(0);
    await session.release();
    await reference.release();
  });
});
