// Scores through the public API that the evaluations share: text embeddings by unique text, ITM probabilities of
// (image, text) pairs with one match() call per image.
import type { Runtime } from '../src/index';
import { topK } from './metrics';

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** p(match) of (image, text) pairs: one match() call per image, its texts together. */
export async function itmScores(
  rt: Runtime,
  images: readonly Blob[],
  pairs: readonly (readonly [number, string])[],
) {
  const byImage = new Map<number, Set<string>>();
  for (const [i, t] of pairs) {
    const set = byImage.get(i) ?? new Set<string>();
    byImage.set(i, set.add(t));
  }
  const out = new Map<string, number>();
  for (const [i, texts] of byImage) {
    const list = [...texts];
    for (const [j, m] of (await rt.match(images[i], list)).entries()) {
      if (m.itm === undefined) throw new Error('match() gave no ITM probability');
      out.set(`${i}\u0000${list[j]}`, m.itm);
    }
  }
  return (i: number, t: string) => out.get(`${i}\u0000${t}`) as number;
}

export async function embedTexts(rt: Runtime, texts: readonly string[]): Promise<Map<string, Float32Array>> {
  const unique = [...new Set(texts)];
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < unique.length; i += 64) {
    const chunk = unique.slice(i, i + 64);
    for (const [j, e] of (await rt.embedText(chunk)).entries()) out.set(chunk[j], e);
  }
  return out;
}

/** A zero-shot prompt "a {size} {colour} {shape}" and the attributes it names. */
export interface ObjectPrompt {
  readonly s: string;
  readonly c: string;
  readonly h: string;
  readonly text: string;
}

/**
 * Zero-shot accuracy on single-object scenes: the arg-max prompt (ties: the earlier one) per image, scored by
 * colour, shape, size and the whole object. `images` are the scene indices scored.
 */
export function zeroShotAccuracy(
  prompts: readonly ObjectPrompt[],
  images: readonly number[],
  objectOf: (i: number) => { colour: string; shape: string; size: string },
  score: (i: number, text: string) => number,
) {
  const hits = { colour: 0, shape: 0, size: 0, object: 0 };
  for (const i of images) {
    const p =
      prompts[
        topK(
          prompts.map((q) => score(i, q.text)),
          1,
        )[0]
      ];
    const o = objectOf(i);
    hits.colour += +(p.c === o.colour);
    hits.shape += +(p.h === o.shape);
    hits.size += +(p.s === o.size);
    hits.object += +(p.s === o.size && p.c === o.colour && p.h === o.shape);
  }
  const rate = (v: number) => Math.round((v / images.length) * 1e4) / 1e4;
  return {
    n_images: images.length,
    ...Object.fromEntries(Object.entries(hits).map(([k, v]) => [k, rate(v)])),
  };
}

/** Items ordered by score, highest first; ties keep the given order (torch's stable sort). */
export function stableOrder(xs: readonly number[], score: (x: number) => number): number[] {
  return xs
    .map((x, r) => [x, score(x), r] as const)
    .sort((a, b) => b[1] - a[1] || a[2] - b[2])
    .map(([x]) => x);
}
