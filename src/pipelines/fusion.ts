// The fusion graph of ViLT (its one transformer) and VLMo (its fusion mode): text tokens and an image's patch
// embeddings in, one forward pass per image–text pair, itm_logits [B, 2] and vqa_logits [B, answers] out.
// Patch embeddings are computed once per image (vision_model) and reused for every text it is paired with.
import { type HostTensor, hostTensor, type Tensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import { disposeTensor, gatherRows } from './encode';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

export type FusionOutput = 'itm_logits' | 'vqa_logits';

/** Pairs per run of the fusion graph: bounds the activations ([pairs, text + patches, width] per layer). */
export const FUSION_BATCH = 32;

/** Row-major host logits of every pair, per output asked for. */
export type FusionLogits = Partial<
  Record<FusionOutput, { readonly data: Float32Array; readonly width: number }>
>;

/**
 * Logits of the pairs (image rows[i] of `patches`, texts[i]). One text with GPU-resident patches of one image:
 * fed as they are, never leaving the GPU. Otherwise (several texts or images, or the index's stored patches) the
 * patches are read to the host once and gathered into batches of FUSION_BATCH pairs, texts padded to the
 * longest of their batch (the graph's attention mask hides the padding).
 */
export async function fusionLogits(
  model: LoadedModel,
  patches: Tensor,
  rows: readonly number[],
  texts: readonly string[],
  outputs: readonly FusionOutput[],
  watch: Stopwatch,
): Promise<FusionLogits> {
  const fusion = model.fusion;
  if (!fusion) throw new WebvlError('INVALID_MODEL', `${model.url} has no fusion graph`);
  if (rows.length !== texts.length) throw new WebvlError('INTERNAL', 'fusion: one image row per text');
  const parts: Record<string, Float32Array[]> = {};
  const widths: Record<string, number> = {};
  const run = async (ids: HostTensor, mask: HostTensor, states: Tensor) => {
    const out = await watch.time('fusion', () =>
      fusion.run({ input_ids: ids, attention_mask: mask, patch_embeds: states }),
    );
    try {
      for (const name of outputs) {
        const t = out[name];
        if (!t) throw new WebvlError('INVALID_MODEL', `the fusion graph has no ${name} output`);
        const h = (await toHostFloats(t)) as HostTensor;
        widths[name] = h.dims[1];
        const list = parts[name] ?? [];
        list.push(h.data as Float32Array);
        parts[name] = list;
      }
    } finally {
      for (const t of Object.values(out)) disposeTensor(t);
    }
  };
  const sameImage = rows.every((r) => r === rows[0]);
  // One text: the GPU-resident patches are fed as they are. More: read back once (one image's patch embeddings
  // are small) and batch FUSION_BATCH pairs a run, rather than one run per text.
  const onDevice = patches.location === 'gpu' && sameImage && patches.dims[0] === 1 && texts.length === 1;
  const host = onDevice ? undefined : ((await toHostFloats(patches)) as HostTensor);
  const step = onDevice ? 1 : FUSION_BATCH;
  for (let i = 0; i < texts.length; i += step) {
    const chunk = texts.slice(i, i + step);
    const enc = model.tokenizer.encodeBatch(chunk);
    const ids = hostTensor('int64', enc.dims, enc.inputIds);
    const mask = hostTensor('int64', enc.dims, enc.attentionMask);
    await run(ids, mask, host ? gatherRows(host, rows.slice(i, i + step)) : patches);
  }
  const result: FusionLogits = {};
  for (const name of outputs) {
    const chunks = parts[name] ?? [];
    const data = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    result[name] = { data, width: widths[name] ?? 0 };
  }
  return result;
}

/** p(match) from itm_logits rows (softmax, index 1), and the log-odds of a match (logit 1 − logit 0). */
export function matchProbabilities(logits: { data: Float32Array; width: number }): {
  probs: number[];
  logOdds: number[];
} {
  const n = logits.data.length / 2;
  const probs: number[] = [];
  const logOdds: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = logits.data[2 * i + 1] - logits.data[2 * i];
    logOdds.push(d);
    probs.push(1 / (1 + Math.exp(-d)));
  }
  return { probs, logOdds };
}
