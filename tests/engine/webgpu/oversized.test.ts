// Constants larger than one binding (passes/split-oversized.ts), under a forced 8 KB limit: the 300 × 24
// tables of tests/corpus/oversized (scripts/make_oversized_graphs.py) are split into pieces that each fit,
// with outputs equal to onnxruntime-node's; a constant whose reader cannot be split is refused at load.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { halfToFloat, toHalfBits } from '../../../src/engine/half';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph } from '../../../src/engine/webgpu/ir/ir';
import { onnxNode } from '../../support/onnx-node';
import { rng, uniformFloats } from '../../support/random';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/oversized';
const LIMIT = 8192;
const ROWS = 300;
const backend = new WebGpuBackend({ gpu: nodeGpu(), maxBindingBytes: LIMIT });
afterAll(async () => (await backend.engineDevice()).device.destroy());

function feeds(useCache: boolean): Record<string, HostTensor> {
  const rand = rng(5);
  // Every id of the table's range, negative ones included, so each piece serves some rows.
  const ids = BigInt64Array.from({ length: 10 }, () => BigInt(Math.floor(rand() * 2 * ROWS) - ROWS));
  return {
    ids: hostTensor('int64', [2, 5], ids),
    a: hostTensor('float32', [3, 24], uniformFloats(72, 9, -1, 1)),
    use_cache_branch: hostTensor('bool', [1], Uint8Array.of(useCache ? 1 : 0)),
  };
}

function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
}

/** Products per piece: the 300 columns in pieces of at most 8192 / (24 · 4) = 85, rounded to 64. */
const PIECES = 5;

const CASES: Record<string, { useCache?: boolean; ops: Record<string, number> }> = {
  tied_lm_head: { ops: { 'webvl:GatherRows': 1, MatMul: PIECES, Concat: 1, Mul: 1 } },
  gemm_trans_b_bias: { ops: { Gemm: PIECES, Concat: 1 } },
  gemm_scalar_c: { ops: { Gemm: PIECES, Concat: 1 } },
  matmul_cast_f16: { ops: { MatMul: PIECES, Concat: 1 } },
  // The branch taken is spliced in (Identity: its output, a view).
  'table_in_if_branches (then)': { useCache: true, ops: { 'webvl:GatherRows': 1, Identity: 1 } },
  'table_in_if_branches (else)': { useCache: false, ops: { 'webvl:GatherRows': 1, Mul: 1, Identity: 1 } },
};

describe('constants larger than one binding', () => {
  it.each(Object.keys(CASES))('%s: split, equal to onnxruntime-node', async (name) => {
    const { useCache, ops } = CASES[name];
    const file = name.split(' ')[0];
    const bytes = new Uint8Array(readFileSync(`${DIR}/${file}.onnx`));
    const session = await backend.load(bytes, { label: file });
    const reference = await ort.InferenceSession.create(bytes);
    const all = feeds(useCache ?? false);
    const inputs = Object.fromEntries(session.inputNames.map((k) => [k, all[k]]));
    const ours = await session.run(inputs);
    const theirs = await reference.run(
      Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, toOrt(t)])),
    );
    for (const out of session.outputNames) {
      const t = ours[out] as HostTensor;
      expect(t.dims, out).toEqual(theirs[out].dims);
      expect(relativeDiff(t.data as Float32Array, theirs[out].data as Float32Array), out).toBeLessThan(1e-5);
    }
    expect(session.describePlan()?.opCounts).toEqual(ops);
    await session.release();
    await reference.release();
  });

  it('refuses a constant whose reader cannot be split, with OUT_OF_MEMORY at load', async () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/refused_add.onnx`));
    await expect(backend.load(bytes, { label: 'refused_add' })).rejects.toMatchObject({
      code: 'OUT_OF_MEMORY',
      details: { tensor: 'table', limit: LIMIT },
    });
  });

  it('runs the same graphs unsplit under the device limit', async () => {
    const whole = new WebGpuBackend({ gpu: nodeGpu() });
    const bytes = new Uint8Array(readFileSync(`${DIR}/tied_lm_head.onnx`));
    const session = await whole.load(bytes);
    await session.run({ ids: feeds(false).ids });
    expect(session.describePlan()?.opCounts).toMatchObject({ Gather: 1 });
    await session.release();
  });

  it('validates maxBindingBytes', () => {
    for (const bad of [0, 1023, 2.5, Number.NaN, -1])
      expect(() => new WebGpuBackend({ gpu: nodeGpu(), maxBindingBytes: bad })).toThrow(/maxBindingBytes/);
  });
});

describe('float16 tables kept half', () => {
  /** y = Gather(Cast(table, float32), ids) over a float16 [rows, 24] table. */
  function halfTable(rows: number): { graph: Graph; table: Uint16Array } {
    const table = Uint16Array.from(uniformFloats(rows * 24, rows, -2, 2), toHalfBits);
    return {
      table,
      graph: {
        nodes: [
          onnxNode('Cast', { to: 1 }, ['table'], ['table32']),
          onnxNode('Gather', {}, ['table32', 'ids'], ['y']),
        ],
        initializers: new Map([['table', hostTensor('float16', [rows, 24], table)]]),
        inputs: [{ name: 'ids', dtype: 'int64', shape: [2, 5] }],
        outputs: [{ name: 'y', dtype: 'float32' }],
        valueInfo: new Map(),
        opset: 17,
      },
    };
  }

  it.each([
    [100, 'fits one binding as halves (4,800 bytes): read half', 'gather|f16', 4800],
    [300, 'does not (14,400 bytes): widened at load and split into pieces of rows', undefined, 300 * 24 * 4],
  ] as const)('%i rows %s', async (rows, _what, program, held) => {
    const { graph, table } = halfTable(rows);
    const session = await backend.loadGraph(graph, { label: `half table ${rows}` });
    const ids = Array.from({ length: 10 }, (_, i) => (i * 37) % rows);
    const out = await session.run({ ids: hostTensor('int64', [2, 5], ids) });
    const want = ids.flatMap((r) => Array.from(table.subarray(r * 24, r * 24 + 24), halfToFloat));
    expect((out.y as HostTensor).dtype).toBe('float32');
    expect(Array.from((out.y as HostTensor).data as Float32Array)).toEqual(want);
    const plan = session.describePlan();
    if (program) expect(plan?.programKeys).toContain(program);
    else expect(plan?.opCounts['webvl:GatherRows']).toBe(1);
    expect(session.lastRunStats()?.weightBytes).toBe(held);
    await session.release();
  });
});
