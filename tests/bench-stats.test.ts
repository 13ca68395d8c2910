import { describe, expect, it } from 'vitest';
import { relativeDiff, summarize } from '../bench/stats';

describe('bench statistics', () => {
  it('median and nearest-rank p90 match hand-computed values', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, p90: 5, n: 3 });
    const ten = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(summarize(ten)).toEqual({ median: 5.5, p90: 9, n: 10 });
  });

  it('relative difference is scaled by the reference magnitude and flags NaN', () => {
    expect(relativeDiff([1, 2.5], [1, 2])).toBeCloseTo(0.25, 6);
    expect(relativeDiff([Number.NaN], [1])).toBe(Number.POSITIVE_INFINITY);
    expect(relativeDiff([1, 2], [1])).toBe(Number.POSITIVE_INFINITY);
  });
});
