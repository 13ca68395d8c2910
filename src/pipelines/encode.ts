// The two towers: images → (embedding, image tokens) and texts → embedding; a CLIP/SigLIP folder with only
// the combined graph answers both through it, with a placeholder on the side not asked for. An image is
// encoded once per request; its tokens (last_hidden_state, GPU-resident where the backend allows) feed ITM
// and the caption decoder of the same request.
import type { Session } from '../engine/backend';
import { type HostTensor, hostTensor, sizeOf, type Tensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import { pixelJobs } from '../vision/pixel-jobs';
import { preprocessBatch, type RgbaImage } from '../vision/preprocess';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

export interface EncodedImages {
  readonly count: number;
  /** Embedding size; 0 for a model without image embeddings (a single-stream model). */
  readonly dim: number;
  /** [count, dim] as the model outputs them (not normalized); empty when the model has none. */
  readonly embeds: Float32Array;
  /**
   * What pair scoring and captioning read (absent when a combined graph encoded the images); dispose() when
   * done: image tokens [count, N, Dv] (BLIP's ITM and decoder, CoCa's decoder) or patch embeddings (the
   * ViLT/VLMo fusion graph's input).
   */
  readonly tokens?: Tensor;
}

/** The image tokens the fusion encoder and the caption decoder read (BLIP models always have them). */
export function imageTokens(images: EncodedImages): Tensor {
  if (!images.tokens)
    throw new WebvlError(
      'INVALID_MODEL',
      'the vision graph gave no image tokens (last_hidden_state or patch_embeds)',
    );
  return images.tokens;
}

const unsupported = (model: LoadedModel, what: string) =>
  new WebvlError('UNSUPPORTED_MODEL', `${model.url} has no ${what}`, { family: model.kind });

export async function encodeImages(
  model: LoadedModel,
  images: readonly RgbaImage[],
  watch: Stopwatch,
): Promise<EncodedImages> {
  if (!model.vision) {
    if (!model.combined) throw unsupported(model, 'vision graph');
    const pixels = await watch.time('preprocess', async () => cpuPixels(model, images));
    const out = await watch.time('vision', () => runCombined(model, placeholderText(model, 1), pixels));
    return hostEmbeddings(images.length, out.image_embeds, 'image_embeds');
  }
  const vision = model.vision;
  const pixelValues = await watch.time('preprocess', () => preprocess(model, images));
  let out: Record<string, Tensor>;
  try {
    out = await watch.time('vision', () => vision.run({ pixel_values: pixelValues }));
  } finally {
    disposeTensor(pixelValues);
  }
  const name = model.embeddings.image;
  const tokensName = model.embeddings.tokens;
  for (const [k, t] of Object.entries(out)) if (k !== name && k !== tokensName) disposeTensor(t);
  const tokens = out[tokensName];
  if (name === undefined) {
    if (!tokens) throw new WebvlError('INVALID_MODEL', `vision model has no ${tokensName} output`);
    return { count: images.length, dim: 0, embeds: new Float32Array(0), tokens };
  }
  const embedsT = out[name];
  if (!embedsT) {
    disposeTensor(tokens);
    throw new WebvlError('INVALID_MODEL', `vision model has no ${name} output`);
  }
  const embeds = (await toHostFloats(embedsT)) as HostTensor;
  disposeTensor(embedsT);
  return {
    count: images.length,
    dim: embeds.dims[1],
    embeds: embeds.data as Float32Array,
    tokens,
  };
}

/** pixel_values [N, 3, H, W]: on the vision graph's GPU when its backend can, else on the CPU. */
export async function preprocess(model: LoadedModel, images: readonly RgbaImage[]): Promise<Tensor> {
  if (model.pixels) {
    const { jobs, spec } = pixelJobs(images, model.plan);
    if (jobs.every((j) => model.pixels?.fits(j))) return model.pixels.run(jobs, spec);
  }
  return cpuPixels(model, images);
}

function cpuPixels(model: LoadedModel, images: readonly RgbaImage[]): HostTensor {
  const batch = preprocessBatch(images, model.plan);
  return hostTensor('float32', batch.dims, batch.data);
}

/** embed_tokens' embeddings of token ids ([rows, length] int64): a generative model's text input. */
export async function embedTokens(session: Session, ids: Tensor): Promise<Tensor> {
  const out = await session.run({ input_ids: ids });
  const embeds = out.inputs_embeds;
  if (!embeds) throw new WebvlError('INVALID_MODEL', 'embed_tokens has no inputs_embeds output');
  return embeds;
}

export function disposeTensor(t: Tensor | undefined): void {
  if (t?.location === 'gpu') t.dispose();
}

/** Token ids and mask of a batch of texts, padded as the model expects (SigLIP: to its fixed length). */
export interface TextBatch {
  readonly ids: HostTensor;
  readonly mask: HostTensor;
}

export function tokenizeTexts(model: LoadedModel, texts: readonly string[]): TextBatch {
  const enc = model.tokenizer.encodeBatch(texts, { padTo: model.textLength });
  return {
    ids: hostTensor('int64', enc.dims, enc.inputIds),
    mask: hostTensor('int64', enc.dims, enc.attentionMask),
  };
}

/** A text input for the combined graph when only the image side is wanted (its outputs are ignored). */
function placeholderText(model: LoadedModel, count: number): TextBatch {
  const len = model.textLength ?? 1;
  const ids = new BigInt64Array(count * len).fill(BigInt(model.tokenizer.padId));
  return {
    ids: hostTensor('int64', [count, len], ids),
    mask: hostTensor('int64', [count, len], new BigInt64Array(count * len).fill(1n)),
  };
}

/** The feeds a text graph declares, from ids and mask (token_type_ids, if asked for, are all 0). */
export function textFeeds(session: Session, text: TextBatch, extra: Record<string, Tensor> = {}) {
  const feeds: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = text.ids;
    else if (name === 'attention_mask') feeds[name] = text.mask;
    else if (name === 'token_type_ids')
      feeds[name] = hostTensor('int64', text.ids.dims, new BigInt64Array(text.ids.data.length));
    else if (extra[name]) feeds[name] = extra[name];
    else
      throw new WebvlError('INVALID_MODEL', `a text graph asks for an input webvl does not know: '${name}'`);
  }
  return feeds;
}

/** Runs CLIP/SigLIP's combined graph: logits_per_image [images, texts] and both embeddings. */
export async function runCombined(
  model: LoadedModel,
  text: TextBatch,
  pixelValues: HostTensor,
): Promise<Record<string, Tensor>> {
  const combined = model.combined;
  if (!combined) throw unsupported(model, 'combined graph');
  return combined.run(textFeeds(combined, text, { pixel_values: pixelValues }));
}

async function hostEmbeddings(count: number, t: Tensor | undefined, name: string) {
  if (!t) throw new WebvlError('INVALID_MODEL', `the model has no ${name} output`);
  const host = (await toHostFloats(t)) as HostTensor;
  disposeTensor(t);
  return { count, dim: host.dims[1], embeds: host.data as Float32Array };
}

export interface EncodedTexts {
  readonly count: number;
  readonly dim: number;
  readonly embeds: Float32Array;
}

export async function encodeTexts(
  model: LoadedModel,
  texts: readonly string[],
  watch: Stopwatch,
): Promise<EncodedTexts> {
  const text = await watch.time('tokenize', () => tokenizeTexts(model, texts));
  if (!model.text) {
    if (!model.combined) throw unsupported(model, 'text encoder (a captioning-only BLIP)');
    const [h, w] = model.imageSize;
    const blank = hostTensor('float32', [1, 3, h, w], new Float32Array(3 * h * w));
    const out = await watch.time('text', () => runCombined(model, text, blank));
    return hostEmbeddings(texts.length, out.text_embeds, 'text_embeds');
  }
  const session = model.text;
  const name = model.embeddings.text;
  if (name === undefined) throw unsupported(model, 'text embedding');
  const out = await watch.time('text', () => session.run(textFeeds(session, text)));
  for (const [k, t] of Object.entries(out)) if (k !== name) disposeTensor(t);
  return hostEmbeddings(texts.length, out[name], name);
}

/** Rows `rows` of a host [B, ...] tensor, gathered (with repeats) into a new host tensor. */
export function gatherRows(t: HostTensor, rows: readonly number[]): HostTensor {
  const per = t.data.length / t.dims[0];
  const Ctor = t.data.constructor as new (n: number) => typeof t.data;
  const out = new Ctor(rows.length * per);
  rows.forEach((r, i) => {
    (out as Float32Array).set((t.data as Float32Array).subarray(r * per, (r + 1) * per), i * per);
  });
  return hostTensor(t.dtype, [rows.length, ...t.dims.slice(1)], out);
}

/** Rows `rows` of a [B, ...] tensor: on its device where the backend can gather them there, else on the host. */
export async function gatherRowsOf(t: Tensor, rows: readonly number[]): Promise<Tensor> {
  const onDevice = t.location === 'gpu' ? t.gatherRows?.(rows) : undefined;
  return onDevice ?? gatherRows(await toHostFloats(t), rows);
}

/**
 * `t`'s data as a tensor of `dims` (as many elements), taking its place: a view on the host and on a backend that
 * can re-dim its device tensors, else read back.
 */
export async function withDims(t: Tensor, dims: readonly number[]): Promise<Tensor> {
  if (sizeOf(dims) !== sizeOf(t.dims))
    throw new WebvlError('INTERNAL', `cannot view [${t.dims}] as [${dims}]`);
  if (t.location === 'cpu') return { ...t, dims: [...dims] };
  const moved = t.reshaped?.(dims);
  if (moved) return moved;
  const host = await t.download();
  t.dispose();
  return { ...host, dims: [...dims] };
}

/** A [1, ...] tensor as [rows, ...], its one row repeated (one image for every beam); the tensor itself for 1. */
export async function repeatRow(t: Tensor, rows: number): Promise<Tensor> {
  if (t.dims[0] === rows) return t;
  if (t.dims[0] !== 1) throw new WebvlError('INTERNAL', `cannot repeat a batch of ${t.dims[0]} rows`);
  return gatherRowsOf(t, new Array<number>(rows).fill(0));
}

/** repeatRow made once per batch size, and the copies it made released together. */
export interface RowRepeater {
  (rows: number): Promise<Tensor>;
  /** Disposes the repeated copies (device ones hold pooled buffers); the tensor it repeats is its owner's. */
  release(): void;
}

/**
 * repeatRow made once per batch size: every step at that size gets the same tensor object, which our engine
 * takes as unchanged context (work on it alone is not redone).
 */
export function rowRepeater(t: Tensor): RowRepeater {
  const made = new Map<number, Promise<Tensor>>();
  const repeat = (rows: number) => {
    let r = made.get(rows);
    if (!r) {
      r = repeatRow(t, rows);
      made.set(rows, r);
    }
    return r;
  };
  return Object.assign(repeat, {
    release() {
      for (const r of made.values())
        r.then(
          (copy) => copy !== t && disposeTensor(copy),
          () => undefined,
        );
      made.clear();
    },
  });
}
