// CapFilt (BLIP): the captioner writes a synthetic caption for each image and the ITM filter keeps a caption
// (synthetic, or the image's given web text) only when its match probability reaches the threshold.
import { WebvlError } from '../errors';
import type { RgbaImage } from '../vision/preprocess';
import { captionGreedy } from './caption';
import { disposeTensor, encodeImages, imageTokens } from './encode';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

/** One image's CapFilt verdicts. */
export interface CapFiltItem {
  /** The captioner's caption. */
  readonly caption: string;
  /** ITM probability that the caption matches the image. */
  readonly captionScore: number;
  /** Whether `captionScore` reaches the threshold. */
  readonly captionKept: boolean;
  /** The web text that came with the image, if any. */
  readonly text?: string;
  /** ITM probability that the web text matches the image. */
  readonly textScore?: number;
  /** Whether `textScore` reaches the threshold. */
  readonly textKept?: boolean;
}

export async function capfilt(
  model: LoadedModel,
  images: readonly RgbaImage[],
  texts: readonly (string | undefined)[] | undefined,
  threshold: number,
  signal: AbortSignal | undefined,
  watch: Stopwatch,
): Promise<CapFiltItem[]> {
  if (!(threshold >= 0 && threshold <= 1))
    throw new WebvlError('INVALID_INPUT', 'options.threshold must be in [0, 1]', {
      field: 'options.threshold',
    });
  if (texts && texts.length !== images.length)
    throw new WebvlError('INVALID_INPUT', 'one text per image, or none');
  const out: CapFiltItem[] = [];
  for (const [i, image] of images.entries()) {
    if (signal?.aborted) throw new WebvlError('ABORTED', 'capfilt was cancelled');
    // Encode once; the same tokens feed the captioner and the filter.
    const enc = await encodeImages(model, [image], watch);
    try {
      const cap = await captionGreedy(model, imageTokens(enc), { signal }, watch);
      const given = texts?.[i];
      // A captioner that stops at once gives an empty caption, and web text may have nothing the tokenizer
      // keeps ('\u0000', bidi controls): nothing to score, so the filter drops it.
      const scorable = (t: string | undefined): t is string =>
        t !== undefined && model.tokenizer.hasContent(t);
      const candidates = [cap.text, given].filter(scorable);
      const probs = candidates.length
        ? await itmProbabilities(
            model,
            imageTokens(enc),
            candidates.map(() => 0),
            candidates,
            watch,
          )
        : [];
      const scoreOf = (t: string | undefined) => {
        const at = scorable(t) ? candidates.indexOf(t) : -1;
        return at < 0 ? 0 : probs[at];
      };
      const captionScore = scoreOf(cap.text);
      out.push({
        caption: cap.text,
        captionScore,
        captionKept: scorable(cap.text) && captionScore >= threshold,
        ...(given === undefined
          ? {}
          : {
              text: given,
              textScore: scoreOf(given),
              textKept: scorable(given) && scoreOf(given) >= threshold,
            }),
      });
    } finally {
      disposeTensor(enc.tokens);
    }
  }
  return out;
}
