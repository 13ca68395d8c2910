// Helpers for tests that hold the runtime to a reference file PyTorch wrote (export_taxo.py's reference.json and
// reference-api.json): images stored as RGB bytes, embeddings stored unnormalized.
import { expect } from 'vitest';

/** A reference image (RGB bytes) as RGBA, a fresh buffer each call (inputs are transferred to the worker). */
export function rgbaOf(im: { width: number; height: number; rgb: readonly number[] }) {
  return {
    width: im.width,
    height: im.height,
    data: Uint8ClampedArray.from({ length: im.width * im.height * 4 }, (_, i) =>
      i % 4 === 3 ? 255 : im.rgb[Math.floor(i / 4) * 3 + (i % 4)],
    ),
  };
}

/** Largest absolute difference of two equally long vectors. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The vector scaled to unit length (the runtime returns normalized embeddings). */
export function unit(v: readonly number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
