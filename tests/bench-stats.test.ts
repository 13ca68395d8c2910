import { describe, expect, it } from 'vitest';
import { markdownReport } from '../bench/report';
import type { RowResult } from '../bench/spec';
import { agreesWithReference, relativeDiff, summarize, summarizeProfiles } from '../bench/stats';

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
    // Equal infinities agree and leave the scale to the finite values; an infinity against a number does not.
    expect(relativeDiff([Number.POSITIVE_INFINITY, 2.5], [Number.POSITIVE_INFINITY, 2])).toBeCloseTo(0.25, 6);
    expect(relativeDiff([Number.NEGATIVE_INFINITY], [Number.POSITIVE_INFINITY])).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(relativeDiff([Number.POSITIVE_INFINITY, 1], [3e38, 1])).toBe(Number.POSITIVE_INFINITY);
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

describe('profiles', () => {
  const d = (op: string, program: string, ms: number) => ({ op, node: `${op}-node`, program, ms });
  // Three runs of the same four dispatches; per dispatch medians: 2, 5, 1, 3.
  const runs = [
    [
      d('MatMul', 'matmul|tile64', 2),
      d('MatMul', 'matmul|tile64', 9),
      d('Add', 'binary|add', 1),
      d('MatMul', 'matmul|gemv', 3),
    ],
    [
      d('MatMul', 'matmul|tile64', 1),
      d('MatMul', 'matmul|tile64', 5),
      d('Add', 'binary|add', 1),
      d('MatMul', 'matmul|gemv', 4),
    ],
    [
      d('MatMul', 'matmul|tile64', 4),
      d('MatMul', 'matmul|tile64', 4),
      d('Add', 'binary|add', 2),
      d('MatMul', 'matmul|gemv', 3),
    ],
  ];

  it('sums per-dispatch medians per op and kernel, most GPU time first', () => {
    expect(summarizeProfiles(runs)).toEqual([
      { op: 'MatMul', program: 'matmul|tile64', dispatches: 2, ms: 7 },
      { op: 'MatMul', program: 'matmul|gemv', dispatches: 1, ms: 3 },
      { op: 'Add', program: 'binary|add', dispatches: 1, ms: 1 },
    ]);
  });

  it('the report shows each profiled row with shares, kernel keys escaped for the table', () => {
    const row: RowResult = {
      id: 'model b1',
      engine: 'webgpu',
      warmupMs: 1,
      medianMs: 10,
      p90Ms: 11,
      repeats: 3,
      dispatches: 4,
      profile: summarizeProfiles(runs),
    };
    const md = markdownReport([row], '## test');
    expect(md).toContain('model b1: 11.00 ms GPU in 4 dispatches');
    expect(md).toContain('| MatMul | matmul\\|tile64 | 2 | 7.000 | 63.6% |');
    expect(md).toContain('| Add | binary\\|add | 1 | 1.000 | 9.1% |');
  });
});
