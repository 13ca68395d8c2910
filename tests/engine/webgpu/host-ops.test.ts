// Data-dependent ops (ir/host-ops.ts) between plans: their inputs computed on the GPU and read back, the op
// evaluated on the host, the rest of the graph planned with its results as inputs. Values against
// onnxruntime-node (tests/corpus/ops: nonzero_gather, compress_rows, unique_sorted, non_max_suppression, and
// the ONNX node tests); here, plan reuse across runs and the forms refused at load.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph } from '../../../src/engine/webgpu/ir/ir';
import { onnxNode } from '../../support/onnx-node';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

describe('host ops', () => {
  it('NonZero → GatherND: equal to onnxruntime-node as the count changes; plans reused per count', async () => {
    const bytes = new Uint8Array(readFileSync('tests/corpus/ops/nonzero_gather.onnx'));
    const session = await backend.load(bytes, { label: 'nonzero_gather' });
    const reference = await ort.InferenceSession.create(bytes);
    // 5, 9 and again 5 positive values.
    const inputs = [
      [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, -6, -7],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3],
      [-1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, -7],
    ];
    const built: number[] = [];
    for (const values of inputs) {
      const x = Float32Array.from(values);
      const ours = await session.run({ x: hostTensor('float32', [3, 4], x) });
      const theirs = await reference.run({ x: new ort.Tensor('float32', x, [3, 4]) });
      expect(ours.y.dims).toEqual(theirs.y.dims);
      expect(Array.from((ours.y as { data: Float32Array }).data)).toEqual(
        Array.from(theirs.y.data as Float32Array),
      );
      expect(Array.from((ours.at as { data: BigInt64Array }).data)).toEqual(
        Array.from(theirs.at.data as BigInt64Array),
      );
      built.push(session.describePlan()?.planCache.built ?? -1);
    }
    // The probe (NonZero's input) and a final plan for 5; only a final plan for 9; nothing new for 5 again.
    expect(built).toEqual([2, 3, 3]);
    // More runs over both counts create no buffers and keep none.
    const { pool } = await backend.engineDevice();
    const [created, inUse] = [pool.createdCount, pool.inUseCount];
    for (let i = 0; i < 20; i++)
      await session.run({ x: hostTensor('float32', [3, 4], Float32Array.from(inputs[i % 2])) });
    expect([pool.createdCount, pool.inUseCount]).toEqual([created, inUse]);
    expect(session.describePlan()?.planCache.built).toBe(3);
    await session.release();
    await reference.release();
  });

  it('host ops whose inputs follow from a steering input fold: one plan per grid, onnxruntime-node’s values', async () => {
    // Range → Reshape → Pad by computed amounts → NonZero → GatherND, and TopK of the result (its argsort), all
    // from `grid` (Qwen2.5-VL's window order from image_grid_thw): with the grid bound, nothing is left to stage.
    const bytes = new Uint8Array(readFileSync('tests/corpus/steered/steered_window_order.onnx'));
    const session = await backend.load(bytes, { label: 'steered_window_order' });
    const reference = await ort.InferenceSession.create(bytes);
    let built = 0;
    for (const [h, w] of [
      [3, 4],
      [2, 5],
      [3, 4],
    ]) {
      const x = Float32Array.from({ length: h * w * 3 }, (_, i) => (i * 7) % 11);
      const feeds = { x: hostTensor('float32', [h * w, 3], x), grid: hostTensor('int64', [2], [h, w]) };
      const ours = await session.run(feeds);
      const theirs = await reference.run({
        x: new ort.Tensor('float32', x, [h * w, 3]),
        grid: new ort.Tensor('int64', BigInt64Array.from([BigInt(h), BigInt(w)]), [2]),
      });
      expect(Array.from((ours.y as HostTensor).data as Float32Array)).toEqual(
        Array.from(theirs.y.data as Float32Array),
      );
      expect(Array.from((ours.reverse as HostTensor).data as BigInt64Array)).toEqual(
        Array.from(theirs.reverse.data as BigInt64Array),
      );
      const plan = session.describePlan();
      for (const op of ['NonZero', 'Pad', 'TopK', 'GatherND']) expect(plan?.opCounts[op], op).toBeUndefined();
      built = plan?.planCache.built ?? -1;
    }
    // One plan for each of the two grids (no probe, no staged plans); the first grid again builds nothing.
    expect(built).toBe(2);
    await session.release();
    await reference.release();
  });

  it('bad run-time data for a host op is INVALID_INPUT; the session keeps serving and keeps no buffers', async () => {
    // y = Compress(x · 2, condition, axis 0) + 1: GPU work before and after the host op.
    const graph: Graph = {
      nodes: [
        onnxNode('Mul', {}, ['x', 'two'], ['doubled']),
        onnxNode('Compress', { axis: 0 }, ['doubled', 'keep'], ['kept']),
        onnxNode('Add', {}, ['kept', 'one'], ['y']),
      ],
      initializers: new Map([
        ['two', hostTensor('float32', [], [2])],
        ['one', hostTensor('float32', [], [1])],
      ]),
      inputs: [
        { name: 'x', dtype: 'float32', shape: [4, 2] },
        { name: 'keep', dtype: 'bool', shape: ['n'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32' }],
      valueInfo: new Map(),
      opset: 17,
    };
    const session = await backend.loadGraph(graph);
    const x = hostTensor('float32', [4, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    const good = () => session.run({ x, keep: hostTensor('bool', [3], [0, 1, 1]) });
    // Rows 1 and 2, doubled, plus one (by hand).
    expect(Array.from(((await good()).y as HostTensor).data as Float32Array)).toEqual([5, 7, 9, 11]);
    const bad = () =>
      expect(session.run({ x, keep: hostTensor('bool', [6], [1, 0, 1, 0, 1, 0]) })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/6 conditions for an axis of 4/),
      });
    // The first bad run plans its condition's shape; later ones reuse that plan and leave nothing in use.
    await bad();
    const { pool } = await backend.engineDevice();
    const [created, inUse] = [pool.createdCount, pool.inUseCount];
    for (let i = 0; i < 5; i++) {
      await bad();
      expect(Array.from(((await good()).y as HostTensor).data as Float32Array)).toEqual([5, 7, 9, 11]);
    }
    expect([pool.createdCount, pool.inUseCount]).toEqual([created, inUse]);
    await session.release();
  });

  it('a host op in a graph with an If is UNSUPPORTED_OP at load', async () => {
    const branch = (op: string): Graph => ({
      nodes: [{ name: op, opType: op, domain: '', attrs: {}, inputs: ['x'], outputs: ['b'] }],
      initializers: new Map(),
      inputs: [],
      outputs: [{ name: 'b', dtype: 'float32' }],
      valueInfo: new Map(),
      opset: 17,
    });
    const graph: Graph = {
      nodes: [
        onnxNode('NonZero', {}, ['x'], ['nz']),
        {
          name: 'if',
          opType: 'If',
          domain: '',
          attrs: {
            then_branch: { type: 'graph', value: branch('Relu') },
            else_branch: { type: 'graph', value: branch('Neg') },
          },
          inputs: ['c'],
          outputs: ['y'],
        },
      ],
      initializers: new Map(),
      inputs: [
        { name: 'x', dtype: 'float32', shape: [4] },
        { name: 'c', dtype: 'bool', shape: [1] },
      ],
      outputs: [
        { name: 'y', dtype: 'float32' },
        { name: 'nz', dtype: 'int64' },
      ],
      valueInfo: new Map(),
      opset: 17,
    };
    await expect(backend.loadGraph(graph)).rejects.toMatchObject({
      code: 'UNSUPPORTED_OP',
      details: { ops: ['NonZero'] },
    });
  });
});
