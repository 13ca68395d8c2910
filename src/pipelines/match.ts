// One image against several texts: ITC cosine (normalised embeddings) and, for BLIP models, ITM probability.
import { WebvlError } from '../errors';
import { type EncodedImages, encodeTexts, imageTokens } from './encode';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import { dotRows, normalizeRows } from './math';
import type { Stopwatch } from './timings';

/** One text's agreement with the image, from {@link Runtime.match}. */
export interface MatchScore {
  readonly text: string;
  /** Image–text cosine of the contrastive embeddings. */
  readonly itc: number;
  /** Probability that the text describes the image (ITM head); absent for CLIP and SigLIP models. */
  readonly itm?: number;
}

export async function matchEncoded(
  model: LoadedModel,
  images: EncodedImages,
  row: number,
  texts: readonly string[],
  watch: Stopwatch,
): Promise<MatchScore[]> {
  if (!Array.isArray(texts) || texts.length === 0) throw new WebvlError('INVALID_INPUT', 'no texts given');
  const t = await encodeTexts(model, texts, watch);
  const img = normalizeRows(images.embeds.subarray(row * images.dim, (row + 1) * images.dim), 1, images.dim);
  const cos = dotRows(img, 1, normalizeRows(t.embeds, t.count, t.dim), t.count, t.dim)[0];
  const itm = model.itm
    ? await itmProbabilities(
        model,
        imageTokens(images),
        texts.map(() => row),
        texts,
        watch,
      )
    : undefined;
  return texts.map((text, i) => ({ text, itc: cos[i], itm: itm?.[i] }));
}
