// The two towers: images → (image_embeds, image tokens) and texts → text_embeds. An image is encoded once
// per request; its tokens (last_hidden_state, GPU-resident where the backend allows) feed ITM and the
// caption decoder of the same request.
import { type HostTensor, hostTensor, type Tensor, toHost } from '../engine/tensor';
import { WebvlError } from '../errors';
import { pixelJobs } from '../vision/pixel-jobs';
import { preprocessBatch, type RgbaImage } from '../vision/preprocess';
import type { LoadedModel } from './loaded-model';
import type { Stopwatch } from './timings';

export interface EncodedImages {
  readonly count: number;
  readonly dim: number;
  /** [count, dim] as the model outputs them (not normalized). */
  readonly embeds: Float32Array;
  /** Image tokens [count, N+1, Dv]; dispose() when the request is done. */
  readonly tokens: Tensor;
}

export async function encodeImages(
  model: LoadedModel,
  images: readonly RgbaImage[],
  watch: Stopwatch,
): Promise<EncodedImages> {
  const pixelValues = await watch.time('preprocess', () => preprocess(model, images));
  let out: Record<string, Tensor>;
  try {
    out = await watch.time('vision', () => model.vision.run({ pixel_values: pixelValues }));
  } finally {
    disposeTensor(pixelValues);
  }
  const embedsT = out.image_embeds;
  const tokens = out.last_hidden_state;
  if (!embedsT) throw new WebvlError('INVALID_MODEL', 'vision model has no image_embeds output');
  const embeds = (await toHost(embedsT)) as HostTensor;
  if (embedsT.location === 'gpu') embedsT.dispose();
  return {
    count: images.length,
    dim: embeds.dims[1],
    embeds: embeds.data as Float32Array,
    tokens,
  };
}

/** pixel_values [N, 3, H, W]: on the vision graph's GPU when its backend can, else on the CPU. */
async function preprocess(model: LoadedModel, images: readonly RgbaImage[]): Promise<Tensor> {
  if (model.pixels) {
    const { jobs, spec } = pixelJobs(images, model.plan);
    if (jobs.every((j) => model.pixels?.fits(j))) return model.pixels.run(jobs, spec);
  }
  const batch = preprocessBatch(images, model.plan);
  return hostTensor('float32', batch.dims, batch.data);
}

export function disposeTensor(t: Tensor | undefined): void {
  if (t?.location === 'gpu') t.dispose();
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
  const enc = await watch.time('tokenize', () => model.tokenizer.encodeBatch(texts));
  const out = await watch.time('text', () =>
    model.text.run({
      input_ids: hostTensor('int64', enc.dims, enc.inputIds),
      attention_mask: hostTensor('int64', enc.dims, enc.attentionMask),
    }),
  );
  for (const [name, t] of Object.entries(out)) if (name !== 'text_embeds') disposeTensor(t);
  if (!out.text_embeds) throw new WebvlError('INVALID_MODEL', 'text model has no text_embeds output');
  const host = (await toHost(out.text_embeds)) as HostTensor;
  disposeTensor(out.text_embeds);
  return { count: texts.length, dim: host.dims[1], embeds: host.data as Float32Array };
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
