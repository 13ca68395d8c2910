import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bleu4, ciderD, recallAtK, topK } from '../../eval/metrics';

// Values computed by models/train/evaluate.py's own functions (scripts/eval_metric_reference.py).
const reference = JSON.parse(readFileSync('tests/eval/metrics-reference.json', 'utf8')) as {
  hyps: string[];
  refs: string[];
  bleu4: number;
  cider_d: number;
}[];

describe('eval metrics match the PyTorch evaluation script', () => {
  for (const [i, c] of reference.entries()) {
    it(`case ${i}: BLEU-4 ${c.bleu4.toFixed(4)}, CIDEr-D ${c.cider_d.toFixed(4)}`, () => {
      expect(bleu4(c.hyps, c.refs)).toBeCloseTo(c.bleu4, 10);
      expect(ciderD(c.hyps, c.refs)).toBeCloseTo(c.cider_d, 10);
    });
  }

  it('top-k and recall@k on a hand-computed case', () => {
    expect(topK([0.1, 0.9, 0.5, 0.9], 3)).toEqual([1, 3, 2]);
    const order = [
      [2, 0, 1],
      [0, 1, 2],
    ];
    const relevant = (q: number, g: number) => q === g;
    expect(recallAtK(order, relevant, 1)).toBe(0);
    expect(recallAtK(order, relevant, 2)).toBe(1);
  });
});
