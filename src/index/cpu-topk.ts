// The CPU path of index search (no WebGPU, or tiny indexes), and the reference the WGSL kernel is tested
// against: exact dot products of unit vectors, highest first, ties to the lower row.

export interface Hit {
  readonly row: number;
  readonly score: number;
}

/** Scales a vector to unit length; rejects zero or non-finite vectors by returning undefined. */
export function normalized(v: ArrayLike<number>): Float32Array | undefined {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  if (!Number.isFinite(ss) || ss === 0) return undefined;
  const inv = 1 / Math.sqrt(ss);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Top-k rows of `matrix` ([n, d] row-major) by dot product with `query`. */
export function cpuTopK(matrix: Float32Array, n: number, d: number, query: Float32Array, k: number): Hit[] {
  const scores: Hit[] = [];
  for (let r = 0; r < n; r++) {
    // Accumulate in f32 steps like the kernel does, so scores agree closely, not just in order.
    let s = 0;
    for (let j = 0; j < d; j++) s = Math.fround(s + Math.fround(matrix[r * d + j] * query[j]));
    scores.push({ row: r, score: s });
  }
  scores.sort((a, b) => b.score - a.score || a.row - b.row);
  return scores.slice(0, Math.min(k, n));
}
