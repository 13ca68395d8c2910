// CLIP-style zero-shot classification: normalised image and prompt embeddings, cosine × exp(logit_scale),
// softmax over the labels.
import { WebvlError } from '../errors';
import { MAX_TEMPLATES, MAX_TEXTS_PER_CALL } from '../limits';
import type { TextTokenizer } from '../text/tokenizer';
import type { EncodedImages } from './encode';
import { encodeTexts } from './encode';
import type { LoadedModel } from './loaded-model';
import { dotRows, normalizeRows, softmax } from './math';
import type { Stopwatch } from './timings';

/** One label's score from {@link Runtime.classify}. */
export interface LabelScore {
  readonly label: string;
  /** Softmax probability over the given labels. */
  readonly probability: number;
  /** Cosine similarity of image and prompt. */
  readonly cosine: number;
}

export const DEFAULT_TEMPLATE = 'a {}';

export function promptsFor(labels: readonly string[], template = DEFAULT_TEMPLATE): string[] {
  if (!Array.isArray(labels) || labels.length === 0) throw new WebvlError('EMPTY_LABELS', 'no labels given');
  const clean = labels.map((l) => (typeof l === 'string' ? l.trim() : ''));
  if (clean.some((l) => l === '')) throw new WebvlError('EMPTY_LABELS', 'a label is empty');
  if (new Set(clean).size !== clean.length) throw new WebvlError('INVALID_INPUT', 'labels must be distinct');
  if (!template.includes('{}'))
    throw new WebvlError('INVALID_INPUT', "template must contain '{}' where the label goes");
  return clean.map((l) => template.replaceAll('{}', l));
}

/**
 * Labels are distinct when the model sees different tokens: 'Red Circle' and 'red  circle' are one label to
 * a lower-casing tokenizer, and would split the probability between two copies of the same prompt.
 */
function assertDistinctToModel(tokenizer: TextTokenizer, labels: readonly string[]): void {
  const byIds = new Map<string, string>();
  for (const label of labels) {
    const ids = tokenizer.contentIds(label);
    if (ids.length === 0) tokenizer.encode(label); // throws the no-tokens error, naming the text
    const key = ids.join(',');
    const other = byIds.get(key);
    if (other !== undefined) {
      throw new WebvlError(
        'INVALID_INPUT',
        `labels ${JSON.stringify(other)} and ${JSON.stringify(label)} are the same text to the model`,
        { reason: 'duplicate-labels' },
      );
    }
    byIds.set(key, label);
  }
}

/**
 * Scores for image row `row` of `images` against the labels, sorted best first. Several templates are a
 * prompt ensemble (as in CLIP): each label's text embedding is the re-normalised mean of its unit prompt
 * embeddings, one per template.
 */
export async function classifyEncoded(
  model: LoadedModel,
  images: EncodedImages,
  row: number,
  labels: readonly string[],
  template: string | readonly string[] | undefined,
  watch: Stopwatch,
): Promise<LabelScore[]> {
  const templates = typeof template === 'string' || template === undefined ? [template] : [...template];
  if (templates.length === 0) throw new WebvlError('INVALID_INPUT', 'no templates given');
  if (templates.length > MAX_TEMPLATES)
    throw new WebvlError('INVALID_INPUT', `${templates.length} templates; at most ${MAX_TEMPLATES}`);
  if (labels.length * templates.length > MAX_TEXTS_PER_CALL) {
    throw new WebvlError(
      'INVALID_INPUT',
      `${labels.length} labels × ${templates.length} templates is more than ${MAX_TEXTS_PER_CALL} prompts`,
    );
  }
  const prompts = templates.flatMap((t) => promptsFor(labels, t));
  assertDistinctToModel(model.tokenizer, labels);
  const texts = await encodeTexts(model, prompts, watch);
  if (texts.dim !== images.dim)
    throw new WebvlError('INVALID_MODEL', 'image and text embeddings differ in size');
  const d = texts.dim;
  const unit = normalizeRows(texts.embeds, texts.count, d);
  const mean = new Float32Array(labels.length * d);
  for (let t = 0; t < templates.length; t++) {
    for (let i = 0; i < labels.length * d; i++) mean[i] += unit[t * labels.length * d + i];
  }
  const txt = normalizeRows(mean, labels.length, d);
  const img = normalizeRows(images.embeds.subarray(row * d, (row + 1) * d), 1, d);
  const cos = dotRows(img, 1, txt, labels.length, d)[0];
  const probs = softmax(cos.map((c) => c * model.scale));
  return labels
    .map((label, i) => ({ label: label.trim(), probability: probs[i], cosine: cos[i] }))
    .sort((a, b) => b.probability - a.probability);
}
