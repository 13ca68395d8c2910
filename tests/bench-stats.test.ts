import { describe, expect, it } from 'vitest';
import type { RowResult } from '../bench/spec';
import { agreesWithReference, relativeDiff, summarize } from '../bench/stats';

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

describe('agreesWithReference', () => {
  const row = (extra: Partial<RowResult>): RowResult => ({
    id: 'r',
    engine: 'webgpu',
    warmupMs: 1,
    medianMs: 1,
    p90Ms: 1,
    repeats: 1,
    ...extra,
  });
  it('holds rows to 1e-3, f16 arithmetic to 2e-2, and a row tolerance when given', () => {
    expect(agreesWithReference(row({}))).toBe(true);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 9e-4 }))).toBe(true);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 2e-3 }))).toBe(false);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 1e-2, variant: 'tile64-f16' }))).toBe(true);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 1e-2, engine: 'webgpu-f16' }))).toBe(true);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 1e-2, tolerance: 3e-2 }))).toBe(true);
    expect(agreesWithReference(row({ maxRelDiffVsReference: 4e-2, tolerance: 3e-2 }))).toBe(false);
    expect(agreesWithReference(row({ maxRelDiffVsReference: Number.NaN }))).toBe(false);
  });
});
