// Seeded randomness for tests, benchmarks and generated corpora: the same seed gives the same numbers
// everywhere (Node and the browser), so a failure reproduces.

/** mulberry32: uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n floats uniform in [lo, hi). */
export function uniformFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rand = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}
