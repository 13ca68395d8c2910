// If nodes whose condition is computed from run-time data (tests/corpus/control-flow,
// scripts/make_control_flow_graphs.py): a probe plan computes each condition and reads it back, and the graph
// runs as the plan of the branches taken, equal to onnxruntime-node on every path (nested and chained Ifs).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());
const bytes = new Uint8Array(readFileSync('tests/corpus/control-flow/run_time_if.onnx'));

/**
 * Inputs for each path (an 8-value pattern tiled to x's 128 values, more than a shape-steering input may have,
 * so the conditions are computed on the GPU): sum > 0 with max > 1 (nested then) or ≤ 1 (nested else),
 * sum ≤ 0; mean |h| < 1 or not (then/then cannot give mean |h| < 1: h = |2x + 1| with sum x > 0).
 */
const N = 128;
const PATTERNS: Record<string, number[]> = {
  'then/then, square': [0.3, -0.1, 0.2, 1.5, -0.4, 0.1, 0.2, -0.3],
  'then/else, sqrt': [0.3, -0.1, 0.2, 0.5, -0.4, 0.1, 0.2, -0.3],
  'then/else, square': [1, 1, 1, 1, -0.9, -0.9, -0.9, -0.9],
  'else, sqrt': [-0.3, 0.1, -0.2, -0.5, 0.4, -0.1, -0.2, 0.3],
  'else, square': [-3, 1, -2, -5, 4, -1, -2, 3],
};
const PATHS = Object.fromEntries(
  Object.entries(PATTERNS).map(([k, p]) => [k, Array.from({ length: N }, (_, i) => p[i % p.length])]),
);

describe('If on run-time data', () => {
  it.each(Object.keys(PATHS))('%s: equal to onnxruntime-node, planned without an If', async (path) => {
    const session = await backend.load(bytes, { label: 'run_time_if' });
    const reference = await ort.InferenceSession.create(bytes);
    const x = Float32Array.from(PATHS[path]);
    const ours = (await session.run({ x: hostTensor('float32', [N], x) })).y;
    const theirs = (await reference.run({ x: new ort.Tensor('float32', x, [N]) })).y;
    expect(ours.dims).toEqual([N]);
    expect(relativeDiff((ours as { data: Float32Array }).data, theirs.data as Float32Array)).toBeLessThan(
      1e-6,
    );
    const ops = Object.keys(session.describePlan()?.opCounts ?? {});
    expect(ops).not.toContain('If');
    await session.release();
    await reference.release();
  });

  it('serves every path from one session, each branch combination planned once', async () => {
    const session = await backend.load(bytes, { label: 'run_time_if' });
    const reference = await ort.InferenceSession.create(bytes);
    const signatures = new Set<string>();
    for (const round of [0, 1]) {
      for (const values of Object.values(PATHS)) {
        const x = Float32Array.from(values);
        const ours = (await session.run({ x: hostTensor('float32', [N], x) })).y as { data: Float32Array };
        const theirs = (await reference.run({ x: new ort.Tensor('float32', x, [N]) })).y.data as Float32Array;
        expect(relativeDiff(ours.data, theirs)).toBeLessThan(1e-6);
        if (round === 0) signatures.add(session.describePlan()?.signature ?? '');
      }
    }
    // Five paths, five final plans, each keyed on the conditions read back.
    expect(signatures.size).toBe(5);
    for (const s of signatures) expect(s).toMatch(/\|if:/);
    await session.release();
    await reference.release();
  });

  it('cannot be prepared from shapes alone', async () => {
    const session = await backend.load(bytes, { label: 'run_time_if' });
    expect(await session.prepare({ x: { dtype: 'float32', dims: [N] } })).toBeUndefined();
    await session.release();
  });
});
