// Text → image retrieval over an embedding index. Dual encoders (CLIP, SigLIP, BLIP and VLMo's experts, CoCa):
// ITC cosine picks the top-k cheaply, and with `rerank` a fusion encoder (BLIP's ITM head, VLMo's fusion mode)
// re-scores those k, image tokens recomputed from the stored images — the ALBEF/BLIP protocol. A single-stream
// model (ViLT) has no embeddings: its entries keep the images' patch embeddings, and every search runs the
// fusion graph on every (query, entry) pair — the cost the seeds' taxonomy is about, measured, not hidden.

import { type HostTensor, hostTensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import type { EmbeddingIndex, IndexHit } from '../index/embedding-index';
import type { RgbaImage } from '../vision/preprocess';
import { requireTask } from './architecture';
import { disposeTensor, encodeImages, encodeTexts, imageTokens } from './encode';
import { FUSION_BATCH, fusionLogits, matchProbabilities } from './fusion';
import { itmProbabilities } from './itm';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

/** One search hit from {@link IndexHandle.search}. */
export interface RetrievalHit {
  /** The entry's id, as given to {@link IndexHandle.add}. */
  readonly id: string;
  /** ITC cosine between the query and the image; absent for a single-stream model (ViLT), which has none. */
  readonly itc?: number;
  /** ITM match probability (re-ranked hits; every hit of a single-stream model). */
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

/** The one-element vector a single-stream entry carries: it has no embedding, the index needs a row. */
const NO_EMBEDDING = new Float32Array([1]);

/** What an index entry keeps for each image: its embedding (or the placeholder) and payload. */
export interface IndexRecord {
  readonly vector: Float32Array;
  readonly payload: Uint8Array;
}

/**
 * Index records of images already resized to the model's input: the unit embedding and the image itself, or
 * for a single-stream model the placeholder vector and the patch embeddings' float32 bytes.
 */
export async function indexRecords(
  model: LoadedModel,
  images: readonly RgbaImage[],
  watch: Stopwatch,
): Promise<IndexRecord[]> {
  const enc = await encodeImages(model, images, watch);
  try {
    if (model.architecture.tasks.search !== 'single stream') {
      return images.map((img, r) => ({
        vector: enc.embeds.slice(r * enc.dim, (r + 1) * enc.dim),
        payload: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      }));
    }
    const host = (await toHostFloats(imageTokens(enc))) as HostTensor;
    const per = host.data.length / images.length;
    const data = host.data as Float32Array;
    return images.map((_, r) => ({
      vector: NO_EMBEDDING,
      payload: new Uint8Array(data.slice(r * per, (r + 1) * per).buffer),
    }));
  } finally {
    disposeTensor(enc.tokens);
  }
}

export async function retrieve(
  model: LoadedModel,
  index: EmbeddingIndex,
  query: string,
  options: { k: number; rerank?: boolean; candidates?: number },
  imageSize: readonly [number, number],
  watch: Stopwatch,
): Promise<RetrievalHit[]> {
  const mode = requireTask(model, 'search');
  if (mode === 'single stream') return scoreEveryEntry(model, index, query, options.k, watch);
  const t = await encodeTexts(model, [query], watch);
  const rerank = options.rerank === true;
  const pool = rerank ? Math.max(options.k, options.candidates ?? options.k * 2) : options.k;
  const hits: IndexHit[] = await watch.time('search', () => index.search(t.embeds, pool));
  if (!rerank || hits.length === 0) {
    watch.ran('search', 'dual encoder');
    return hits.map((h) => ({ id: h.id, itc: h.score, meta: h.meta }));
  }
  if (!model.itm && !model.fusion) {
    throw new WebvlError(
      'UNSUPPORTED_TASK',
      `rerank needs a fusion encoder (BLIP's ITM head, VLMo's fusion mode); ${model.url} is a ${model.kind} model`,
      { family: model.kind, task: 'search' },
    );
  }
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
    watch.ran('search', 'dual encoder + fusion', hits.length);
    return hits
      .map((h, i) => ({ id: h.id, itc: h.score, itm: probs[i], meta: h.meta }))
      .sort((a, b) => b.itm - a.itm || b.itc - a.itc)
      .slice(0, options.k);
  } finally {
    disposeTensor(enc.tokens);
  }
}

/**
 * Single stream: the query with every entry's patch embeddings through the fusion graph, FUSION_BATCH pairs a
 * run, then the top k by ITM probability (ties: the earlier entry). Patch embeddings of another model's size
 * mean the index was built with a different model.
 */
async function scoreEveryEntry(
  model: LoadedModel,
  index: EmbeddingIndex,
  query: string,
  k: number,
  watch: Stopwatch,
): Promise<RetrievalHit[]> {
  model.tokenizer.encode(query); // TEXT_TOO_LONG / INVALID_INPUT before any run
  const entries = index.all().slice();
  if (entries.length === 0) return [];
  const [n, d] = model.patchShape ?? [0, 0];
  const per = n * d;
  const probs: number[] = [];
  for (let i = 0; i < entries.length; i += FUSION_BATCH) {
    const chunk = entries.slice(i, i + FUSION_BATCH);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach((e, j) => {
      const bytes = e.payload;
      if (!bytes || bytes.byteLength !== per * 4) {
        throw new WebvlError(
          'INVALID_INPUT',
          `index entry '${e.id}' holds no patch embeddings of this model (was the index built with another model?)`,
        );
      }
      data.set(new Float32Array(bytes.slice().buffer), j * per);
    });
    const patches = hostTensor('float32', [chunk.length, n, d], data);
    const rows = chunk.map((_, j) => j);
    const out = await fusionLogits(
      model,
      patches,
      rows,
      rows.map(() => query),
      ['itm_logits'],
      watch,
    );
    probs.push(...matchProbabilities(out.itm_logits!).probs);
  }
  watch.ran('search', 'single stream', entries.length);
  return entries
    .map((e, i) => ({ e, p: probs[i], i }))
    .sort((a, b) => b.p - a.p || a.i - b.i)
    .slice(0, k)
    .map(({ e, p }) => ({ id: e.id, itm: p, meta: e.meta }));
}
