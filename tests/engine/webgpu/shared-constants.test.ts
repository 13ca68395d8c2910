// Constants passes derive from the model's weights (merged Q/K/V projections) are made once and shared by every
// plan of a session: a decoder plans once per past length, and each plan must not copy the weights again.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { specialize } from '../../../src/engine/webgpu/passes/optimize';
import { nodeGpu } from './gpu';

const FILE = 'models/blip-tiny/onnx/decoder_with_past_model.onnx';
const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

/** blip-tiny's decoder_with_past inputs at past length `past` (3 layers, 4 heads of 32; image tokens of 128). */
function dims(past: number, imageTokens = 65): Record<string, number[]> {
  const d: Record<string, number[]> = { input_ids: [1, 1], encoder_hidden_states: [1, imageTokens, 128] };
  for (let l = 0; l < 3; l++)
    for (const kv of ['key', 'value']) d[`past_key_values.${l}.${kv}`] = [1, 4, past, 32];
  return d;
}

const merged = (initializers: ReadonlyMap<string, HostTensor>) =>
  [...initializers].filter(([name]) => name.startsWith('__webvl_merged_')).map(([, t]) => t);

describe('constants derived from the weights', () => {
  it('are the same tensors in every specialization', () => {
    const graph = decodeModel(readFileSync(FILE));
    const a = merged(specialize(graph, dims(4)).graph.initializers);
    const b = merged(specialize(graph, dims(9)).graph.initializers);
    // The cross-attention K/V projections of all 3 layers read the image tokens: one product, with its bias.
    expect(a.length).toBe(2);
    b.forEach((t, i) => {
      expect(t).toBe(a[i]);
    });
  });

  it('are uploaded once per session, not held by each plan', async () => {
    const graph = decodeModel(readFileSync(FILE));
    const mergedBytes = merged(specialize(graph, dims(4)).graph.initializers).reduce(
      (sum, t) => sum + t.data.byteLength,
      0,
    );
    const session = await backend.load(new Uint8Array(readFileSync(FILE)));
    const planBytes: number[] = [];
    for (const past of [4, 5, 6]) {
      // Few image tokens keep each plan's own buffers well below the merged weights' size.
      const feeds = Object.fromEntries(
        Object.entries(dims(past, 5)).map(([name, d]) => [
          name,
          name === 'input_ids'
            ? hostTensor('int64', d, [7])
            : hostTensor('float32', d, new Float32Array(d.reduce((x, y) => x * y, 1)).fill(0.01)),
        ]),
      );
      await session.run(feeds);
      planBytes.push(session.describePlan()?.planCache.bytes ?? 0);
    }
    // Each new plan adds its inputs and intermediates, under half the size of the merged weights it shares.
    expect(planBytes[1] - planBytes[0]).toBeGreaterThan(0);
    expect(planBytes[1] - planBytes[0]).toBeLessThan(mergedBytes / 2);
    expect(planBytes[2] - planBytes[1]).toBeLessThan(mergedBytes / 2);
    console.log(`merged weights ${mergedBytes} B; plan cache after 1, 2, 3 plans: ${planBytes.join(', ')} B`);
    await session.release();
  });
});
