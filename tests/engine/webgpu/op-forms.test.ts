// float32 graphs of op forms the ONNX node tests cover only in float64 or thinly (tests/corpus/ops,
// scripts/make_op_graphs.py): our engine against onnxruntime-node on the same random inputs, every output.
import { readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import type { HostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { opFormFeeds } from '../../support/corpus-feeds';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/ops';
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

describe('op forms vs onnxruntime-node', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.onnx')))('%s', async (file) => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/${file}`));
    const feeds = opFormFeeds(bytes);
    const session = await backend.load(bytes, { label: file });
    // onnxruntime's graph optimizations off: its fusions may change the arithmetic (DequantizeLinear + MatMul
    // becomes a MatMulNBits that quantizes the activations to int8, 0.3–0.5% off), and the reference is each op's
    // own kernel.
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    const ours = await session.run(feeds);
    const theirs = await reference.run(
      Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [
          k,
          new ort.Tensor('float32', t.data as Float32Array, [...t.dims]),
        ]),
      ),
    );
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    // Graphs with a float16 region: onnxruntime rounds its float16 values, ours stay f32 on the GPU (2⁻¹¹).
    const tolerance = file.includes('f16') ? 1e-3 : 1e-5;
    for (const [name, want] of Object.entries(theirs)) {
      const got = ours[name] as HostTensor;
      expect(got.dims, name).toEqual(want.dims);
      // Integer outputs (MaxPool's indices) exactly.
      if (want.type === 'int64')
        expect(Array.from(got.data as BigInt64Array), name).toEqual(Array.from(want.data as BigInt64Array));
      else
        expect(relativeDiff(got.data as Float32Array, want.data as Float32Array), name).toBeLessThan(
          tolerance,
        );
    }
    await session.release();
    await reference.release();
  });
});
