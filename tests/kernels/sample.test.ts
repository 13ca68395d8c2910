import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repetitionPenalty, sampleTopK, topk } from '../../src/engine/webgpu/ops';
import { WebvlError } from '../../src/errors';
import { drawsFrom, heldBitset, penalizeRepeats, pickToken } from '../../src/pipelines/generate/sampling';
import { randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('token sampling kernel', () => {
  it('hand-computed nucleus: weights 1, e⁻¹, e⁻² with top_p 0.7 keep two; the draw picks within them', async () => {
    // Mass 1 < 0.7 · 1.503, then 1.368 ≥ 1.052: two kept. Draw 0.5 → 0.684 < 1: the first; 0.8 → 1.094: the second.
    const rows = [
      [1, 0.7, 0.5, 3, 0],
      [1, 0.7, 0.8, 3, 0],
      [1, 0.7, 0.8, 1, 0], // top_k 1: greedy whatever the draw
      [1, 1, 0.95, 3, 0], // no nucleus cut: 0.95 · 1.503 = 1.428 > 1.368: the third
      // min_p 0.2 drops e⁻² = 0.135 < 0.2 (kept e⁻¹ = 0.368): 0.95 · 1.368 = 1.300 > 1: the second.
      [1, 1, 0.95, 3, 0.2],
      [1, 1, 0.95, 3, 0.5], // min_p 0.5 keeps the best alone
    ];
    const token = gpu.empty('int32', [rows.length]);
    sampleTopK(
      gpu,
      gpu.upload(
        'float32',
        [rows.length, 3],
        rows.flatMap(() => [2, 1, 0]),
      ),
      gpu.upload(
        'int32',
        [rows.length, 3],
        rows.flatMap(() => [7, 3, 9]),
      ),
      gpu.upload('float32', [rows.length, 5], rows.flat()),
      token,
    );
    expect(Array.from(await gpu.read(token))).toEqual([7, 3, 7, 9, 3, 7]);
    const logits = [0, 1, 0, 0, 0, 0, 0, 2, 0, 0].map((v, i) => (i === 9 ? 0.5 : v));
    // The host twin on the full row: candidates 7 (2), 1 (1), 9 (0.5).
    expect(pickToken(logits, { temperature: 1, topK: 3, topP: 1, seed: 0 }, 0.1)).toBe(7);
    // Weights 1, e⁻¹, e^-1.5 = 0.223: min_p 0.3 keeps two, so a draw of 0.99 picks the second, 1.
    expect(pickToken(logits, { temperature: 1, topK: 3, topP: 1 }, 0.99)).toBe(9);
    expect(pickToken(logits, { temperature: 1, topK: 3, topP: 1, minP: 0.3 }, 0.99)).toBe(1);
    gpu.release();
  });

  it('TopK then SampleTopK on the GPU pick what the host picks from the same rows and draws', async () => {
    const vocab = 300;
    const k = 16;
    const settings = [
      { temperature: 1, topK: 16, topP: 0.9, minP: 0 },
      { temperature: 0.5, topK: 5, topP: 1, minP: 0 },
      { temperature: 2, topK: 16, topP: 0.5, minP: 0 },
      { temperature: 1, topK: 1, topP: 1, minP: 0 },
      { temperature: 1.5, topK: 16, topP: 1, minP: 0.15 },
    ];
    const rowsPer = 8;
    const n = settings.length * rowsPer;
    const logits = randomArray(n * vocab, rng(5), -4, 4);
    const draw = drawsFrom(99);
    const sampling = settings.flatMap((s) =>
      Array.from({ length: rowsPer }, () => [s.temperature, s.topP, draw(), s.topK, s.minP]).flat(),
    );
    const values = gpu.empty('float32', [n, k]);
    const indices = gpu.empty('int32', [n, k]);
    topk(gpu, gpu.upload('float32', [n, vocab], logits), values, indices, { k });
    const token = gpu.empty('int32', [n]);
    sampleTopK(gpu, values, indices, gpu.upload('float32', [n, 5], sampling), token);
    const want = Array.from({ length: n }, (_, r) => {
      const [temperature, topP, u, topK, minP] = sampling.slice(r * 5, r * 5 + 5);
      return pickToken(logits.subarray(r * vocab, (r + 1) * vocab), { temperature, topP, topK, minP }, u);
    });
    expect(Array.from(await gpu.read(token))).toEqual(want);
    // Not all greedy: the draws do move off the best token.
    const greedy = Array.from({ length: n }, (_, r) =>
      pickToken(logits.subarray(r * vocab, (r + 1) * vocab), { temperature: 1, topK: 1, topP: 1 }, 0),
    );
    expect(want.filter((t, i) => t !== greedy[i]).length).toBeGreaterThan(4);
    gpu.release();
  });

  it('rejects mismatched shapes', () => {
    const v = gpu.upload('float32', [2, 3], new Float32Array(6));
    const i = gpu.upload('int32', [2, 3], new Int32Array(6));
    expect(() =>
      sampleTopK(gpu, v, i, gpu.upload('float32', [2, 4], new Float32Array(8)), gpu.empty('int32', [2])),
    ).toThrow(WebvlError);
    expect(() =>
      sampleTopK(gpu, v, v, gpu.upload('float32', [2, 5], new Float32Array(10)), gpu.empty('int32', [2])),
    ).toThrow(/integers/);
    gpu.release();
  });
});

describe('repetition penalty kernel', () => {
  it('hand-computed: held tokens divided where positive, multiplied where negative, the rest copied', async () => {
    // Row 0 holds tokens 1, 2, 3 and 33 (bits 1-3 of word 0, bit 1 of word 1) at penalty 2; row 1 holds token 0
    // and 34 at penalty 0.5 (below 1: held tokens favoured).
    const logits = [
      [0.5, 4, -3, 0, 1, ...Array(28).fill(0.25), 6, -6],
      [-2, 1, 1, 1, 1, ...Array(28).fill(0), 1, -1],
    ];
    const want = [
      [0.5, 2, -6, 0, 1, ...Array(28).fill(0.25), 3, -6],
      [-1, 1, 1, 1, 1, ...Array(28).fill(0), 1, -0.5],
    ];
    const seen = [0b1110, 0b10, 0b1, 0b100];
    const out = gpu.empty('float32', [2, 35]);
    repetitionPenalty(
      gpu,
      gpu.upload('float32', [2, 35], logits.flat()),
      gpu.upload('int32', [2, 2], seen),
      gpu.upload('float32', [2], [2, 0.5]),
      out,
    );
    expect(Array.from(await gpu.read(out))).toEqual(want.flat());
    // The host twin and the bitset it is fed from.
    expect(Array.from(heldBitset(new Set([1, 2, 3, 33]), 2))).toEqual(seen.slice(0, 2));
    expect(Array.from(heldBitset(new Set([31, 0]), 1, 3))).toEqual([-2147483647, -2147483647, -2147483647]);
    const row = Float32Array.from(logits[0]);
    penalizeRepeats(row, new Set([1, 2, 3, 33]), 2);
    expect(Array.from(row)).toEqual(want[0]);
    gpu.release();
  });

  it('a held token loses its place: TopK after the penalty picks the next best', async () => {
    const vocab = 4000; // 125 words, several workgroups
    const logits = randomArray(vocab, rng(3), -4, 4);
    const best = logits.indexOf(Math.max(...logits));
    const held = new Set([best, 7, 3999]);
    const penalized = gpu.empty('float32', [1, vocab]);
    repetitionPenalty(
      gpu,
      gpu.upload('float32', [1, vocab], logits),
      gpu.upload('int32', [1, 125], heldBitset(held, 125)),
      gpu.upload('float32', [1], [1.5]),
      penalized,
    );
    const host = Float32Array.from(logits);
    penalizeRepeats(host, held, 1.5);
    const got = await gpu.read(penalized);
    expect(Array.from(got)).toEqual(Array.from(host));
    const next = pickToken(host, { temperature: 1, topK: 1, topP: 1 }, 0);
    expect(next).not.toBe(best);
    gpu.release();
  });

  it('tokens past a short bitset are not held; a bitset of non-int32 words is refused', async () => {
    const logits = Array.from({ length: 40 }, (_, i) => i - 20);
    const out = gpu.empty('float32', [1, 40]);
    // One word: tokens 0..31; bit 3 set, and nothing can hold 35.
    repetitionPenalty(
      gpu,
      gpu.upload('float32', [1, 40], logits),
      gpu.upload('int32', [1, 1], [0b1000]),
      gpu.upload('float32', [1], [2]),
      out,
    );
    expect(Array.from(await gpu.read(out))).toEqual(logits.map((x, i) => (i === 3 ? x * 2 : x)));
    expect(() =>
      repetitionPenalty(
        gpu,
        gpu.upload('float32', [1, 40], logits),
        gpu.upload('float32', [1, 2], [0, 0]),
        gpu.upload('float32', [1], [1.2]),
        gpu.empty('float32', [1, 40]),
      ),
    ).toThrow(WebvlError);
    gpu.release();
  });
});
