import type { DispatchTime } from '../src/engine/backend';
import type { ProfileEntry, RowResult } from './spec';

/** Agreement with the reference engine: relative difference at most 1e-3 (a row may set its own). */
export const MAX_REL_DIFF = 1e-3;
/** f16 arithmetic (kernel variants ending in -f16, our engine's f16 engine) rounds to 11-bit mantissas. */
export const F16_REL_DIFF = 2e-2;

/** Whether a row's output agreed with the reference; rows without a cross-check agree. */
export function agreesWithReference(r: RowResult): boolean {
  if (r.maxRelDiffVsReference === undefined) return true;
  const f16 = r.variant?.endsWith('-f16') || r.engine === 'webgpu-f16';
  return r.maxRelDiffVsReference <= (r.tolerance ?? (f16 ? F16_REL_DIFF : MAX_REL_DIFF));
}

/** Median and p90 of a sample (nearest-rank), in the sample's unit. */
export function summarize(samples: readonly number[]): { median: number; p90: number; n: number } {
  if (samples.length === 0) return { median: Number.NaN, p90: Number.NaN, n: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, p90: rank(0.9), n: s.length };
}

/**
 * Largest |a-b| / (max|b| + 1e-6) over two float arrays: a scale-aware cross-check between engines. Equal
 * infinities agree and do not count in the scale; any other infinity or NaN is an infinite difference.
 */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let scale = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return worst / (scale + 1e-6);
}

/** Per-dispatch medians over several profiled runs, summed per (op, kernel), most GPU time first. */
export function summarizeProfiles(runs: readonly (readonly DispatchTime[])[]): ProfileEntry[] {
  const groups = new Map<string, ProfileEntry>();
  runs[0]?.forEach((d, i) => {
    const ms = summarize(runs.map((r) => r[i]?.ms ?? 0)).median;
    const key = `${d.op}\n${d.program}`;
    const g = groups.get(key) ?? { op: d.op, program: d.program, dispatches: 0, ms: 0 };
    g.dispatches++;
    g.ms += ms;
    groups.set(key, g);
  });
  return [...groups.values()].sort((a, b) => b.ms - a.ms);
}
