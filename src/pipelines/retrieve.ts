// Text → image retrieval over an embedding index, the ALBEF/BLIP protocol: ITC cosine picks the top-k
// candidates cheaply, then the ITM head re-scores those k (image tokens recomputed from the stored images)
// and the final order is by ITM probability.

import { WebvlError } from '../errors';
import type { EmbeddingIndex, IndexHit } from '../index/embedding-index';
import type { RgbaImage } from '../vision/preprocess';
import { disposeTensor, encodeImages, encodeTexts, imageTokens } from './encode';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

/** One search hit from {@link IndexHandle.search}. */
export interface RetrievalHit {
  /** The entry's id, as given to {@link IndexHandle.add}. */
  readonly id: string;
  /** ITC cosine between the query and the image. */
  readonly itc: number;
  /** ITM match probability (present when re-ranked). */
  readonly itm?: number;
  /** The entry's meta, as given to {@link IndexHandle.add}. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Stored payload: the image at the model's input size, RGBA, so ITM can re-encode it. */
export function payloadImage(
  payload: Uint8Array | undefined,
  size: readonly [number, number],
): RgbaImage | undefined {
  const [h, w] = size;
  return payload && payload.length === h * w * 4 ? { width: w, height: h, data: payload } : undefined;
}

export async function retrieve(
  model: LoadedModel,
  index: EmbeddingIndex,
  query: string,
  options: { k: number; rerank?: boolean; candidates?: number },
  imageSize: readonly [number, number],
  watch: Stopwatch,
): Promise<RetrievalHit[]> {
  const t = await encodeTexts(model, [query], watch);
  const rerank = options.rerank === true;
  const pool = rerank ? Math.max(options.k, options.candidates ?? options.k * 2) : options.k;
  const hits: IndexHit[] = await watch.time('search', () => index.search(t.embeds, pool));
  if (!rerank || hits.length === 0) return hits.map((h) => ({ id: h.id, itc: h.score, meta: h.meta }));
  if (!model.itm) throw new WebvlError('UNSUPPORTED_MODEL', 'rerank needs a model with an ITM head (BLIP)');
  const images = hits.map((h) => {
    const img = payloadImage(index.entry(h.id)?.payload, imageSize);
    if (!img)
      throw new WebvlError('INVALID_INPUT', `index entry '${h.id}' has no stored image to re-rank with`);
    return img;
  });
  const enc = await encodeImages(model, images, watch);
  try {
    const probs = await itmProbabilities(
      model,
      imageTokens(enc),
      hits.map((_, i) => i),
      hits.map(() => query),
      watch,
    );
    return hits
      .map((h, i) => ({ id: h.id, itc: h.score, itm: probs[i], meta: h.meta }))
      .sort((a, b) => b.itm - a.itm || b.itc - a.itc)
      .slice(0, options.k);
  } finally {
    disposeTensor(enc.tokens);
  }
}
