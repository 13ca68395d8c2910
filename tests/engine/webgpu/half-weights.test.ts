// fp16 model files (models/*/onnx/*_fp16.onnx: float16 weights widened by Cast nodes): the engine keeps the
// matmul weights in half precision on the GPU and computes what the original graph computes.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { specialize } from '../../../src/engine/webgpu/passes/optimize';
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
      // Biases, norms and embeddings still go through their Casts (folded to float32).
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
