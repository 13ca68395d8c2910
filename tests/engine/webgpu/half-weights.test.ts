// fp16 model files (models/*/onnx/*_fp16.onnx: float16 weights widened by Cast nodes): the engine keeps the
// matmul weights in half precision on the GPU and computes what the original graph computes.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { halfToFloat, toHalfBits } from '../../../src/engine/half';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph, Node } from '../../../src/engine/webgpu/ir/ir';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { MAX_FOLDED_ELEMENTS, tryFold } from '../../../src/engine/webgpu/passes/fold-constants';
import { specialize } from '../../../src/engine/webgpu/passes/optimize';
import { widenHalfConstants } from '../../../src/engine/webgpu/passes/widen-half-constants';
import { uniformFloats } from '../../support/random';
import { nodeGpu } from './gpu';
import { interpret } from './reference-interpreter';

const backends: WebGpuBackend[] = [];
afterAll(async () => {
  for (const b of backends) (await b.engineDevice()).device.destroy();
});

const pixels = (seed: number): HostTensor =>
  hostTensor('float32', [1, 3, 64, 64], uniformFloats(3 * 64 * 64, seed, -2, 2));

function relError(got: Float32Array, want: Float32Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  return diff / scale;
}

describe('float16 weights', () => {
  it('the passes keep every matmul weight of the fp16 graphs half, and the result is unchanged', () => {
    for (const [file, dims] of [
      ['models/clip-tiny/onnx/vision_model_fp16.onnx', { pixel_values: [1, 3, 64, 64] }],
      ['models/blip-tiny/onnx/text_model_fp16.onnx', { input_ids: [2, 7], attention_mask: [2, 7] }],
    ] as const) {
      const g = decodeModel(readFileSync(file));
      const s = specialize(g, dims);
      const weights = s.graph.nodes
        .filter((n) => n.opType === 'Linear' || n.opType === 'MatMul' || n.opType === 'Gemm')
        .map((n) => s.graph.initializers.get(n.inputs[1]))
        .filter((t) => t !== undefined);
      expect(weights.length, file).toBeGreaterThan(8);
      expect(
        weights.every((t) => t.dtype === 'float16'),
        file,
      ).toBe(true);
      // Biases, norms and embeddings still go through their Casts here (folded to float32; at load,
      // widen-half-constants replaces those Casts before any specialization).
      expect(s.counts.halfWeights).toBeGreaterThan(0);
      expect(s.counts.halfWeights).toBeLessThan(g.nodes.filter((n) => n.opType === 'Cast').length);
      const feeds = Object.fromEntries(
        g.inputs.map((input) => {
          const d = (dims as Record<string, readonly number[]>)[input.name];
          const n = d.reduce((a, b) => a * b, 1);
          return [
            input.name,
            input.dtype === 'int64'
              ? hostTensor(
                  'int64',
                  d,
                  Array.from({ length: n }, (_, i) => (input.name === 'attention_mask' ? 1 : 1 + (i % 19))),
                )
              : pixels(3),
          ];
        }),
      );
      const before = interpret(g, feeds);
      const after = interpret(s.graph, feeds);
      for (const o of g.outputs) {
        expect(
          relError(after[o.name].data as Float32Array, before[o.name].data as Float32Array),
          o.name,
        ).toBeLessThan(1e-5);
      }
    }
  });

  it('clip vision fp16 on our engine: half-weight kernels, same outputs as the reference, 2 bytes saved per weight element', async () => {
    const allocated = async (file: string) => {
      const backend = new WebGpuBackend({ gpu: nodeGpu() });
      backends.push(backend);
      const { device } = await backend.engineDevice();
      let bytes = 0;
      const create = device.createBuffer.bind(device);
      device.createBuffer = (d: GPUBufferDescriptor) => {
        bytes += d.size;
        return create(d);
      };
      const bytesOfModel = readFileSync(file);
      const session = await backend.load(bytesOfModel);
      const out = await session.run({ pixel_values: pixels(5) });
      const keys = session.describePlan()?.programKeys ?? [];
      await session.release();
      return { out, keys, bytes, graph: decodeModel(bytesOfModel) };
    };
    const half = await allocated('models/clip-tiny/onnx/vision_model_fp16.onnx');
    const full = await allocated('models/clip-tiny/onnx/vision_model.onnx');
    expect(half.keys.some((k) => k.startsWith('matmul|') && k.includes('b16'))).toBe(true);
    expect(full.keys.some((k) => k.includes('b16'))).toBe(false);
    const want = interpret(half.graph, { pixel_values: pixels(5) });
    for (const name of ['image_embeds', 'last_hidden_state']) {
      const got = half.out[name] as HostTensor;
      expect(relError(got.data as Float32Array, want[name].data as Float32Array), name).toBeLessThan(1e-4);
    }
    // Every weight the matmuls read as half saves 2 bytes an element; nothing else changes.
    const s = specialize(half.graph, { pixel_values: [1, 3, 64, 64] });
    const halfElements = s.graph.nodes
      .map((n) => s.graph.initializers.get(n.inputs[1]))
      .filter((t) => t?.dtype === 'float16')
      .reduce((sum, t) => sum + (t?.data.length ?? 0), 0);
    console.log(
      `clip vision GPU allocations: fp32 ${full.bytes} B, fp16 ${half.bytes} B (${halfElements} half weights)`,
    );
    expect(halfElements).toBeGreaterThan(500_000);
    expect(full.bytes - half.bytes).toBeGreaterThanOrEqual(2 * halfElements);
    expect(full.bytes - half.bytes).toBeLessThan(2 * halfElements * 1.05);
  });
});

describe('float16 constants other than product weights', () => {
  /** y = Gather(Cast(table), ids); z = x · Cast(w): a float16 embedding table and a float16 product weight. */
  function graph(table: Uint16Array, w: Uint16Array): Graph {
    const node = (opType: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({
      name: outputs[0],
      opType,
      domain: '',
      attrs,
      inputs,
      outputs,
    });
    const toFloat = { to: { type: 'int' as const, value: 1 } };
    return {
      nodes: [
        node('Cast', ['table'], ['table32'], toFloat),
        node('Gather', ['table32', 'ids'], ['y']),
        node('Cast', ['w'], ['w32'], toFloat),
        node('MatMul', ['x', 'w32'], ['z']),
      ],
      initializers: new Map<string, HostTensor>([
        ['table', hostTensor('float16', [5, 4], table)],
        ['w', hostTensor('float16', [4, 3], w)],
      ]),
      inputs: [
        { name: 'ids', dtype: 'int64', shape: [1, 'n'] },
        { name: 'x', dtype: 'float32', shape: [1, 4] },
      ],
      outputs: [
        { name: 'y', dtype: 'float32' },
        { name: 'z', dtype: 'float32' },
      ],
      valueInfo: new Map(),
      opset: 17,
    };
  }

  it('a Gather table and a product weight stay half on the GPU: no Cast in any plan, values as the halves give', async () => {
    const table = Uint16Array.from(uniformFloats(20, 11, -3, 3), toHalfBits);
    const w = Uint16Array.from(uniformFloats(12, 12, -1, 1), toHalfBits);
    const g = graph(table, w);
    const widened = graph(table, w);
    // Both Casts are left to keep-half-weights: a Gather reads its table half, a product its B.
    expect(widenHalfConstants(widened)).toBe(0);
    expect(widened.nodes.map((n) => n.opType)).toEqual(['Cast', 'Gather', 'Cast', 'MatMul']);
    const backend = new WebGpuBackend({ gpu: nodeGpu() });
    backends.push(backend);
    const session = await backend.loadGraph(g);
    const x = [0.5, -1, 2, 0.25];
    for (const ids of [
      [3, 0],
      [1, 4, 4],
    ]) {
      const out = await session.run({
        ids: hostTensor('int64', [1, ids.length], ids),
        x: hostTensor('float32', [1, 4], x),
      });
      const want = ids.flatMap((r) => Array.from(table.subarray(r * 4, r * 4 + 4), halfToFloat));
      expect(Array.from((out.y as HostTensor).data as Float32Array)).toEqual(want.map(Math.fround));
      const z = (out.z as HostTensor).data as Float32Array;
      for (let j = 0; j < 3; j++) {
        const dot = x.reduce((sum, xi, k) => sum + xi * halfToFloat(w[k * 3 + j]), 0);
        expect(z[j]).toBeCloseTo(dot, 5);
      }
      const plan = session.describePlan();
      expect(plan?.opCounts.Cast).toBeUndefined();
      expect(plan?.programKeys.some((k) => k.startsWith('matmul|') && k.includes('b16'))).toBe(true);
      expect(plan?.programKeys).toContain('gather|f16');
    }
    // 20 table halves and 12 weight halves, 2 bytes each (float32 would hold 128).
    expect(session.lastRunStats()?.weightBytes).toBe(64);
    expect(session.describePlan()?.planCache.built).toBe(2);
    await session.release();
  });

  it('a constant above the folding limit is not evaluated on the host (it would be dropped as too large)', () => {
    const n = MAX_FOLDED_ELEMENTS + 1;
    // Any element read of the large constant throws: folding must decide from its dims alone.
    const unreadable = new Proxy(new Float32Array(n), {
      get: (target, prop) => {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) throw new Error('element read on the host');
        return Reflect.get(target, prop);
      },
    });
    const g: Graph = {
      nodes: [],
      initializers: new Map([
        ['big', { location: 'cpu', dtype: 'float32', dims: [n], data: unreadable }],
        ['small', hostTensor('float32', [2], [1, -2])],
      ]),
      inputs: [],
      outputs: [],
      valueInfo: new Map(),
      opset: 17,
    };
    const neg = (input: string): Node => ({
      name: `neg-${input}`,
      opType: 'Neg',
      domain: '',
      attrs: {},
      inputs: [input],
      outputs: [`-${input}`],
    });
    expect(tryFold(g, neg('big'))).toBe(false);
    expect(g.initializers.has('-big')).toBe(false);
    expect(tryFold(g, neg('small'))).toBe(true);
    expect(Array.from(g.initializers.get('-small')?.data as Float32Array)).toEqual([-1, 2]);
  });
});
