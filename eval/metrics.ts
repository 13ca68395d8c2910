// Retrieval and captioning metrics, the same definitions as models/train/evaluate.py so runtime and PyTorch
// figures can be compared number for number.

/** Fraction of queries with a relevant item in the first k of `order` (gallery indices by score). */
export function recallAtK(
  order: readonly (readonly number[])[],
  relevant: (q: number, g: number) => boolean,
  k: number,
): number {
  let hits = 0;
  order.forEach((row, q) => {
    if (row.slice(0, k).some((g) => relevant(q, g))) hits += 1;
  });
  return order.length ? hits / order.length : Number.NaN;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, k);
}

function ngrams(words: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(' ');
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

const split = (s: string) => s.split(/\s+/).filter(Boolean);

/** Corpus BLEU-4 with one reference per hypothesis (uniform weights, brevity penalty). */
export function bleu4(hyps: readonly string[], refs: readonly string[]): number {
  const num = [0, 0, 0, 0];
  const den = [0, 0, 0, 0];
  let hl = 0;
  let rl = 0;
  hyps.forEach((hyp, i) => {
    const h = split(hyp);
    const r = split(refs[i]);
    hl += h.length;
    rl += r.length;
    for (let n = 1; n <= 4; n++) {
      const hn = ngrams(h, n);
      const rn = ngrams(r, n);
      for (const [g, c] of hn) num[n - 1] += Math.min(c, rn.get(g) ?? 0);
      den[n - 1] += Math.max(h.length - n + 1, 0);
    }
  });
  if (Math.min(...num) === 0) return 0;
  const logP = num.reduce((s, x, i) => s + Math.log(x / den[i]), 0) / 4;
  const bp = hl > rl ? 1 : Math.exp(1 - rl / Math.max(hl, 1));
  return bp * Math.exp(logP);
}

/** CIDEr-D (coco-caption's clipped variant with the Gaussian length penalty), one reference per image. */
export function ciderD(hyps: readonly string[], refs: readonly string[], sigma = 6): number {
  const N = refs.length;
  const df = [0, 1, 2, 3].map(() => new Map<string, number>());
  for (const r of refs) {
    for (let n = 0; n < 4; n++)
      for (const g of ngrams(split(r), n + 1).keys()) df[n].set(g, (df[n].get(g) ?? 0) + 1);
  }
  const vec = (words: string[], n: number) => {
    const out = new Map<string, number>();
    for (const [g, tf] of ngrams(words, n + 1)) out.set(g, tf * Math.log(N / Math.max(1, df[n].get(g) ?? 0)));
    return out;
  };
  let total = 0;
  hyps.forEach((hyp, i) => {
    const hw = split(hyp);
    const rw = split(refs[i]);
    let s = 0;
    for (let n = 0; n < 4; n++) {
      const vh = vec(hw, n);
      const vr = vec(rw, n);
      const norm = (v: Map<string, number>) => Math.sqrt([...v.values()].reduce((a, x) => a + x * x, 0));
      const nh = norm(vh);
      const nr = norm(vr);
      let dot = 0;
      for (const [g, x] of vh) {
        const y = vr.get(g);
        if (y !== undefined) dot += Math.min(x, y) * y;
      }
      if (nh > 0 && nr > 0)
        s += (dot / (nh * nr)) * Math.exp(-((hw.length - rw.length) ** 2) / (2 * sigma ** 2));
    }
    total += (s / 4) * 10;
  });
  return N ? total / N : Number.NaN;
}
