import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bleu4, ciderD, recallAtK, topK } from '../../eval/metrics';
import { scoreVqa } from '../../eval/vqa';

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

describe('VQA scoring (evaluate_vqa.py definitions)', () => {
  it('per type, overall over the short types, groups and the majority baseline on a hand-computed case', () => {
    const item = (type: string, gold: string, pred: string) => ({
      type,
      gold,
      pred,
      kind: 'iid',
      objects: 2,
    });
    const s = scoreVqa([
      item('colour', 'red', 'red'),
      item('colour', 'red', 'blue'),
      item('colour', 'green', 'green'),
      item('count_all', '2', '2'),
      item('count_attr', '1', '3'),
      item('relation', 'yes', 'yes'),
      item('describe', 'a red circle', 'a red circle'),
    ]);
    expect(s.per_type).toEqual({
      colour: { n: 3, accuracy: 0.6667 },
      count_all: { n: 1, accuracy: 1 },
      count_attr: { n: 1, accuracy: 0 },
      relation: { n: 1, accuracy: 1 },
      describe: { n: 1, accuracy: 1 },
    });
    // 4 of the 6 short-answer questions; captions ('describe') are not among them.
    expect(s.vqa_overall).toBe(0.6667);
    expect(s.n_questions).toBe(6);
    expect(s).toMatchObject({ counting: 0.5, relations: 1 });
    expect(s.majority_baseline).toEqual({ colour: 0.6667, count_all: 1, count_attr: 1, relation: 1 });
  });
});
