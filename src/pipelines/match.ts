// One image against several texts: ITC cosine (normalised embeddings) where the model has embeddings, and ITM
// probability where it has a fusion encoder (BLIP's ITM head, ViLT's single stream, VLMo's fusion mode).
import { WebvlError } from '../errors';
import { requireTask } from './architecture';
import { type EncodedImages, encodeTexts, imageTokens } from './encode';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import { dotRows, normalizeRows } from './math';
import type { Stopwatch } from './timings';

/** One text's agreement with the image, from {@link Runtime.match}. */
export interface MatchScore {
  readonly text: string;
  /** Image–text cosine of the contrastive embeddings; absent for a single-stream model (ViLT), which has none. */
  readonly itc?: number;
  /** Probability that the text describes the image (ITM head, fusion pass); absent for CLIP, SigLIP and CoCa. */
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
  const mode = requireTask(model, 'match');
  let cos: number[] | undefined;
  if (model.embeddings.text !== undefined) {
    const t = await encodeTexts(model, texts, watch);
    const img = normalizeRows(
      images.embeds.subarray(row * images.dim, (row + 1) * images.dim),
      1,
      images.dim,
    );
    cos = dotRows(img, 1, normalizeRows(t.embeds, t.count, t.dim), t.count, t.dim)[0];
  }
  const pairs = model.itm !== undefined || model.fusion !== undefined;
  const itm = pairs
    ? await itmProbabilities(
        model,
        imageTokens(images),
        texts.map(() => row),
        texts,
        watch,
      )
    : undefined;
  watch.ran('match', mode, itm ? texts.length : 0);
  return texts.map((text, i) => ({ text, itc: cos?.[i], itm: itm?.[i] }));
}
