// The passes on the real exported models (models/clip-tiny, models/blip-tiny): every attention, layer norm,
// GELU and projection fuses, and the fused graph computes what the original graph computes (both run by
// the float64 test interpreter on the same random inputs).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import type { Graph } from '../../../src/engine/webgpu/ir/ir';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { specialize } from '../../../src/engine/webgpu/passes/optimize';
import { uniformFloats } from '../../support/random';
import { interpret } from './reference-interpreter';

const rand = (n: number, seed: number) => uniformFloats(n, seed);

/** Random feeds for a model's inputs: token ids in [1, 20), masks of ones with padding on row 1, floats. */
function feedsFor(g: Graph, dims: Record<string, number[]>): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  g.inputs.forEach((input, k) => {
    const d = dims[input.name];
    const n = d.reduce((a, b) => a * b, 1);
    if (input.name === 'attention_mask') {
      feeds[input.name] = hostTensor(
        'int64',
        d,
        Array.from({ length: n }, (_, i) => (i >= n - 2 ? 0 : 1)),
      );
    } else if (input.dtype === 'int64') {
      feeds[input.name] = hostTensor(
        'int64',
        d,
        Array.from({ length: n }, (_, i) => 1 + ((i * 7 + 3) % 19)),
      );
    } else {
      feeds[input.name] = hostTensor('float32', d, rand(n, 11 + k));
    }
  });
  return feeds;
}

const past = (layers: number, len: number) =>
  Object.fromEntries(
    Array.from({ length: layers }, (_, l) => [
      [`past_key_values.${l}.key`, [2, 4, len, 32]],
      [`past_key_values.${l}.value`, [2, 4, len, 32]],
    ]).flat(),
  ) as Record<string, number[]>;

const CASES: [string, Record<string, number[]>, number][] = [
  ['clip-tiny/onnx/vision_model.onnx', { pixel_values: [1, 3, 64, 64] }, 4],
  ['clip-tiny/onnx/text_model.onnx', { input_ids: [2, 9], attention_mask: [2, 9] }, 3],
  ['blip-tiny/onnx/vision_model.onnx', { pixel_values: [1, 3, 64, 64] }, 4],
  ['blip-tiny/onnx/text_model.onnx', { input_ids: [2, 9], attention_mask: [2, 9] }, 3],
  [
    'blip-tiny/onnx/itm_model.onnx',
    { input_ids: [2, 9], attention_mask: [2, 9], encoder_hidden_states: [2, 65, 128] },
    7,
  ],
  ['blip-tiny/onnx/decoder_model.onnx', { input_ids: [2, 5], encoder_hidden_states: [2, 65, 128] }, 6],
  [
    'blip-tiny/onnx/decoder_with_past_model.onnx',
    { input_ids: [2, 1], encoder_hidden_states: [2, 65, 128], ...past(3, 5) },
    6,
  ],
];

describe('passes on the exported models', () => {
  for (const [file, dims, attentions] of CASES) {
    it(`${file}: ${attentions} attention blocks fused, no Softmax left, same outputs`, () => {
      const g = decodeModel(readFileSync(`models/${file}`));
      const s = specialize(g, dims);
      const ops = s.graph.nodes.map((n) => n.opType);
      expect(ops.filter((o) => o === 'Attention').length).toBe(attentions);
      expect(ops).not.toContain('Softmax');
      expect(ops).not.toContain('LayerNormalization');
      expect(s.graph.nodes.length).toBeLessThan(g.nodes.length / 4);
      const feeds = feedsFor(g, dims);
      const before = interpret(g, feeds);
      const after = interpret(s.graph, feeds);
      for (const o of g.outputs) {
        const a = after[o.name].data as Float32Array;
        const b = before[o.name].data as Float32Array;
        expect(after[o.name].dims).toEqual(before[o.name].dims);
        let scale = 0;
        let diff = 0;
        for (let i = 0; i < b.length; i++) {
          scale = Math.max(scale, Math.abs(b[i]));
          diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        expect(diff / scale, o.name).toBeLessThan(1e-5);
      }
    });
  }
});
