// Small numeric helpers shared by the pipelines (float64 accumulation; inputs are a few hundred values).

/** Row-wise L2 normalisation of a [rows, dim] matrix. */
export function normalizeRows(m: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += m[r * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let j = 0; j < dim; j++) out[r * dim + j] = m[r * dim + j] * inv;
  }
  return out;
}

/** a [n, d] · b [m, d]ᵀ → [n][m]. */
export function dotRows(a: Float32Array, n: number, b: Float32Array, m: number, d: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += a[i * d + j] * b[k * d + j];
      row.push(s);
    }
    out.push(row);
  }
  return out;
}

export function softmax(xs: readonly number[]): number[] {
  const max = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

export function logSoftmax(xs: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < xs.length; i++) max = Math.max(max, xs[i]);
  let z = 0;
  for (let i = 0; i < xs.length; i++) z += Math.exp(xs[i] - max);
  const lz = max + Math.log(z);
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[i] - lz;
  return out;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}
