import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { promptsFor } from '../../src/pipelines/classify';
import { argmax, dotRows, logSoftmax, normalizeRows, softmax } from '../../src/pipelines/math';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof WebvlError ? e.code : 'untyped';
  }
  return 'returned';
}

describe('pipeline maths (hand-computed cases)', () => {
  it('softmax of [0, ln 3] is [1/4, 3/4], stable for large inputs', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 12);
    expect(p[1]).toBeCloseTo(0.75, 12);
    const big = softmax([1000, 1000 + Math.log(3)]);
    expect(big[1]).toBeCloseTo(0.75, 12);
  });

  it('logSoftmax equals log of softmax; argmax picks the first maximum', () => {
    const xs = [0.5, -1, 2, 2];
    const ls = logSoftmax(xs);
    softmax(xs).forEach((p, i) => {
      expect(ls[i]).toBeCloseTo(Math.log(p), 12);
    });
    expect(argmax(xs)).toBe(2);
  });

  it('normalizeRows makes unit rows; dotRows of unit rows is the cosine', () => {
    const a = normalizeRows(new Float32Array([3, 4, 0, 2]), 2, 2);
    expect(Array.from(a)).toEqual([0.6000000238418579, 0.800000011920929, 0, 1]);
    const cos = dotRows(a, 2, normalizeRows(new Float32Array([1, 0]), 1, 2), 1, 2);
    expect(cos[0][0]).toBeCloseTo(0.6, 6);
    expect(cos[1][0]).toBeCloseTo(0, 12);
  });

  it('prompts fill the template; empty, blank or duplicate labels are typed errors', () => {
    expect(promptsFor([' red circle', 'blue star'], 'a large {}')).toEqual([
      'a large red circle',
      'a large blue star',
    ]);
    expect(codeOf(() => promptsFor([]))).toBe('EMPTY_LABELS');
    expect(codeOf(() => promptsFor(['red', ' ']))).toBe('EMPTY_LABELS');
    expect(codeOf(() => promptsFor(['red', 'red']))).toBe('INVALID_INPUT');
    expect(codeOf(() => promptsFor(['red'], 'no slot'))).toBe('INVALID_INPUT');
  });
});
