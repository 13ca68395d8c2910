// onnxruntime's attention contrib ops (tests/corpus/contrib-attention, scripts/make_contrib_graphs.py) on our
// engine against onnxruntime-node, step by step: prompts, decoding, right-padded batches, a cache buffer
// longer than the sequence. Each GroupQueryAttention node must become one webvl Attention dispatch.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import type { HostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import {
  attentionFeeds,
  definedRows,
  GQA_GRAPHS,
  GQA_STEPS,
  MHA_CASES,
  PACKED_ATTENTION_CASES,
  type Step,
} from '../../support/attention-steps';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/contrib-attention';
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

/** The largest relative error seen per graph (the report quotes them). */
const worst = new Map<string, number>();
afterAll(() => console.log('max relative error vs onnxruntime-node:', Object.fromEntries(worst)));

function ortTensor(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
}

/** Runs `graph` on both engines at `step`; compares every output; returns our plan's op counts. */
async function compare(graph: string, step: Step): Promise<Record<string, number> | undefined> {
  const bytes = new Uint8Array(readFileSync(`${DIR}/${graph}.onnx`));
  const session = await backend.load(bytes, { label: graph });
  const reference = await ort.InferenceSession.create(bytes);
  const f = attentionFeeds(bytes, step);
  const ours = await session.run(f);
  const theirs = await reference.run(
    Object.fromEntries(Object.entries(f).map(([k, t]) => [k, ortTensor(t)])),
  );
  for (const name of session.outputNames) {
    const a = ours[name] as HostTensor;
    const e = theirs[name];
    expect(a.dims, name).toEqual(e.dims);
    const width = e.dims[e.dims.length - 1] as number;
    const rows = (x: Float32Array) => (name === 'output' ? definedRows(x, step, width) : x);
    const err = relativeDiff(rows(a.data as Float32Array), rows(e.data as Float32Array));
    worst.set(graph, Math.max(worst.get(graph) ?? 0, err));
    expect(err, name).toBeLessThan(1e-4);
  }
  const counts = session.describePlan()?.opCounts;
  await session.release();
  await reference.release();
  return counts;
}

describe('GroupQueryAttention vs onnxruntime-node', () => {
  for (const graph of GQA_GRAPHS) {
    it.each(GQA_STEPS)(`${graph}: $name`, async (step) => {
      const counts = await compare(graph, step);
      expect(counts?.['webvl:Attention']).toBe(1);
    });
  }
});

describe('MultiHeadAttention vs onnxruntime-node', () => {
  it.each(MHA_CASES)('$graph: $step.name', async ({ graph, step }) => {
    const counts = await compare(graph, step);
    // One attention dispatch; biases are adds (the Linear fusion absorbs them behind a projection).
    expect(counts?.['webvl:Attention']).toBe(1);
  });
});

describe('Attention (packed projection) vs onnxruntime-node', () => {
  it.each(PACKED_ATTENTION_CASES)('$graph: $step.name', async ({ graph, step }) => {
    const counts = await compare(graph, step);
    // The projection is one Linear, the attention one dispatch reading it in place.
    expect(counts?.['webvl:Linear']).toBe(1);
    expect(counts?.['webvl:Attention']).toBe(1);
  });
});
