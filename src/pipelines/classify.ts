// Zero-shot classification: image and prompt embeddings compared by cosine, turned into logits with the
// model's scale (and SigLIP's bias), then softmax over the labels (CLIP, BLIP ITC) or a sigmoid per label
// (SigLIP). With a combined graph the logits are its logits_per_image, as transformers.js reads them. A
// single-stream model (ViLT) has no embeddings: each prompt is paired with the image in one fusion pass, and
// the log-odds of a match take the place of the scaled cosine.
import { type HostTensor, hostTensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import { MAX_TEMPLATES, MAX_TEXTS_PER_CALL } from '../limits';
import type { TextTokenizer } from '../text/tokenizer';
import { preprocessBatch, type RgbaImage } from '../vision/preprocess';
import { requireTask } from './architecture';
import type { EncodedImages } from './encode';
import { disposeTensor, encodeImages, encodeTexts, imageTokens, runCombined, tokenizeTexts } from './encode';
import { fusionLogits, matchProbabilities } from './fusion';
import type { LoadedModel } from './loaded-model';
import { dotRows, normalizeRows, softmax } from './math';
import type { Stopwatch } from './timings';

/** One label's score from {@link Runtime.classify}. */
export interface LabelScore {
  readonly label: string;
  /**
   * Softmax probability over the given labels (of scaled cosines; of ITM log-odds for a single-stream model);
   * for SigLIP, the sigmoid of the label's own logit.
   */
  readonly probability: number;
  /** Cosine similarity of image and prompt; absent for a single-stream model (ViLT), which has no embeddings. */
  readonly cosine?: number;
  /** ITM probability that the prompt describes the image (single-stream models, mean over the templates). */
  readonly itm?: number;
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

function templatesOf(
  template: string | readonly string[] | undefined,
  labels: number,
): (string | undefined)[] {
  const templates = typeof template === 'string' || template === undefined ? [template] : [...template];
  if (templates.length === 0) throw new WebvlError('INVALID_INPUT', 'no templates given');
  if (templates.length > MAX_TEMPLATES)
    throw new WebvlError('INVALID_INPUT', `${templates.length} templates; at most ${MAX_TEMPLATES}`);
  if (labels * templates.length > MAX_TEXTS_PER_CALL) {
    throw new WebvlError(
      'INVALID_INPUT',
      `${labels} labels × ${templates.length} templates is more than ${MAX_TEXTS_PER_CALL} prompts`,
    );
  }
  return templates;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function scoresOf(model: LoadedModel, logits: readonly number[]): number[] {
  return model.scoring.kind === 'sigmoid' ? logits.map(sigmoid) : softmax(logits);
}

/** Mean of each label's unit prompt embeddings over the templates, re-normalised: [labels, dim]. */
function ensembleTexts(unit: Float32Array, templates: number, labels: number, d: number): Float32Array {
  const mean = new Float32Array(labels * d);
  for (let t = 0; t < templates; t++) {
    for (let i = 0; i < labels * d; i++) mean[i] += unit[t * labels * d + i];
  }
  return normalizeRows(mean, labels, d);
}

function ranked(labels: readonly string[], probs: readonly number[], cos: readonly number[]): LabelScore[] {
  return labels
    .map((label, i) => ({ label: label.trim(), probability: probs[i], cosine: cos[i] }))
    .sort((a, b) => b.probability - a.probability);
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

/** Every label in every template (template-major); the labels must differ as token ids. */
function labelPrompts(
  model: LoadedModel,
  labels: readonly string[],
  template: string | readonly string[] | undefined,
): { templates: readonly (string | undefined)[]; prompts: string[] } {
  const templates = templatesOf(template, labels.length);
  const prompts = templates.flatMap((t) => promptsFor(labels, t));
  assertDistinctToModel(model.tokenizer, labels);
  return { templates, prompts };
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
  const { templates, prompts } = labelPrompts(model, labels, template);
  const texts = await encodeTexts(model, prompts, watch);
  if (texts.dim !== images.dim)
    throw new WebvlError('INVALID_MODEL', 'image and text embeddings differ in size');
  const d = texts.dim;
  const txt = ensembleTexts(normalizeRows(texts.embeds, texts.count, d), templates.length, labels.length, d);
  const img = normalizeRows(images.embeds.subarray(row * d, (row + 1) * d), 1, d);
  const cos = dotRows(img, 1, txt, labels.length, d)[0];
  const { scale, bias } = model.scoring;
  return ranked(
    labels,
    scoresOf(
      model,
      cos.map((c) => c * scale + bias),
    ),
    cos,
  );
}

/**
 * logit ≈ s·cos + b fitted over the prompts of one combined run (least squares; CLIP has b = 0): the scale
 * and bias inside the combined graph, for prompt ensembles, whose mean embeddings the graph never sees.
 */
function fitAffine(
  cos: readonly number[],
  logits: readonly number[],
  withBias: boolean,
): [number, number] | undefined {
  const n = cos.length;
  if (!withBias) {
    const cc = cos.reduce((a, c) => a + c * c, 0);
    return cc > 1e-12 ? [cos.reduce((a, c, i) => a + c * logits[i], 0) / cc, 0] : undefined;
  }
  const mc = cos.reduce((a, c) => a + c, 0) / n;
  const ml = logits.reduce((a, l) => a + l, 0) / n;
  const vc = cos.reduce((a, c) => a + (c - mc) ** 2, 0);
  if (vc < 1e-12) return undefined;
  const s = cos.reduce((a, c, i) => a + (c - mc) * (logits[i] - ml), 0) / vc;
  return [s, ml - s * mc];
}

/** One image against the labels through the combined graph (input_ids + pixel_values → logits_per_image). */
async function classifyCombined(
  model: LoadedModel,
  image: RgbaImage,
  labels: readonly string[],
  template: string | readonly string[] | undefined,
  watch: Stopwatch,
): Promise<LabelScore[]> {
  const templates = templatesOf(template, labels.length);
  const prompts = templates.flatMap((t) => promptsFor(labels, t));
  assertDistinctToModel(model.tokenizer, labels);
  const text = await watch.time('tokenize', () => tokenizeTexts(model, prompts));
  const pixels = await watch.time('preprocess', async () => {
    const b = preprocessBatch([image], model.plan);
    return hostTensor('float32', b.dims, b.data);
  });
  const out = await watch.time('model', () => runCombined(model, text, pixels));
  const host = async (name: string): Promise<HostTensor> => {
    const t = out[name];
    if (!t) throw new WebvlError('INVALID_MODEL', `the combined graph has no ${name} output`);
    const h = (await toHostFloats(t)) as HostTensor;
    disposeTensor(t);
    return h;
  };
  const [logitsT, textT, imageT] = [
    await host('logits_per_image'),
    await host('text_embeds'),
    await host('image_embeds'),
  ];
  for (const t of Object.values(out)) disposeTensor(t);
  const logits = Array.from(logitsT.data as Float32Array);
  const d = textT.dims[1];
  const unit = normalizeRows(textT.data as Float32Array, prompts.length, d);
  const img = normalizeRows(imageT.data as Float32Array, 1, d);
  const txt = ensembleTexts(unit, templates.length, labels.length, d);
  const cos = dotRows(img, 1, txt, labels.length, d)[0];
  if (templates.length === 1) return ranked(labels, scoresOf(model, logits), cos);
  const promptCos = dotRows(img, 1, unit, prompts.length, d)[0];
  const fit = fitAffine(promptCos, logits, model.scoring.kind === 'sigmoid');
  // Every prompt equally similar: the ensemble's logit is the templates' mean.
  const labelLogits = fit
    ? cos.map((c) => fit[0] * c + fit[1])
    : labels.map(
        (_, i) => templates.reduce((a, _t, t) => a + logits[t * labels.length + i], 0) / templates.length,
      );
  return ranked(labels, scoresOf(model, labelLogits), cos);
}

/**
 * Single stream: every prompt through the fusion graph with the image's patch embeddings. A label's logit is
 * its prompts' mean ITM log-odds (the template ensemble), its probability the softmax of those over the labels.
 */
async function classifyFusion(
  model: LoadedModel,
  images: EncodedImages,
  labels: readonly string[],
  template: string | readonly string[] | undefined,
  watch: Stopwatch,
): Promise<LabelScore[]> {
  const { templates, prompts } = labelPrompts(model, labels, template);
  const rows = prompts.map(() => 0);
  const out = await fusionLogits(model, imageTokens(images), rows, prompts, ['itm_logits'], watch);
  const { probs, logOdds } = matchProbabilities(out.itm_logits!);
  const mean = (xs: readonly number[], i: number) =>
    templates.reduce((a, _t, t) => a + xs[t * labels.length + i], 0) / templates.length;
  const probability = softmax(labels.map((_, i) => mean(logOdds, i)));
  watch.ran('classify', 'single stream', prompts.length);
  return labels
    .map((label, i) => ({ label: label.trim(), probability: probability[i], itm: mean(probs, i) }))
    .sort((a, b) => b.probability - a.probability);
}

/** One image against the labels, through the towers or the combined graph, sorted best first. */
export async function classifyImage(
  model: LoadedModel,
  image: RgbaImage,
  labels: readonly string[],
  template: string | readonly string[] | undefined,
  watch: Stopwatch,
): Promise<LabelScore[]> {
  const mode = requireTask(model, 'classify');
  if (mode !== 'single stream') watch.ran('classify', mode);
  if (!model.vision && model.combined) return classifyCombined(model, image, labels, template, watch);
  const enc = await encodeImages(model, [image], watch);
  try {
    if (mode === 'single stream') return await classifyFusion(model, enc, labels, template, watch);
    return await classifyEncoded(model, enc, 0, labels, template, watch);
  } finally {
    disposeTensor(enc.tokens);
  }
}
