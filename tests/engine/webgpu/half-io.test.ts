// Dual encoders whose graphs declare float16 inputs and outputs (Optimum's float16 exports, no keep_io_types):
// clip-export's towers with their pixel_values and embeddings as float16 (tests/support/half-io.ts), through the
// loader and the encode / classify pipelines on our engine, against onnxruntime-node on the same graphs fed the
// same pixels and ids as float16.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { floatsToHalfs, halfsToFloats } from '../../../src/engine/half';
import { BackendSelector } from '../../../src/engine/select';
import { type HostTensor, toHost } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { openModelFolder } from '../../../src/models/model-folder';
import { classifyImage } from '../../../src/pipelines/classify';
import {
  encodeImages,
  encodeTexts,
  preprocess,
  textFeeds,
  tokenizeTexts,
} from '../../../src/pipelines/encode';
import { type LoadedModel, loadModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { fakeServer } from '../../support/fake-folder-server';
import { withHalfIo } from '../../support/half-io';
import { disc } from '../../support/images';
import { nodeGpu } from './gpu';

const DISK = 'tests/corpus/hf/clip-export/';
const BASE = 'http://app.test/';
const JSONS = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];
const TOWERS = ['vision_model', 'text_model'];
const half = Object.fromEntries(
  TOWERS.map((g) => [g, withHalfIo(new Uint8Array(readFileSync(`${DISK}onnx/${g}.onnx`)))]),
);

const backend = new WebGpuBackend({ gpu: nodeGpu() });
const selector = new BackendSelector({ name: 'webgpu', reason: 'test' }, false, async () => backend);

/** The folder with its towers' float16-IO variants as its fp16 files. */
async function loadHalf(): Promise<LoadedModel> {
  const files: Record<string, Uint8Array> = {};
  for (const f of JSONS) files[`${BASE}m/${f}`] = new Uint8Array(readFileSync(DISK + f));
  for (const g of TOWERS) files[`${BASE}m/onnx/${g}_fp16.onnx`] = half[g];
  const folder = await openModelFolder('/m', {
    baseUrl: BASE,
    cache: null,
    fetch: fakeServer(files).fetchFn,
  });
  return loadModel(folder, selector, { dtype: 'fp16' });
}

/** onnxruntime-node on the float16 graph: float32 feeds narrowed to float16, float16 outputs widened. */
async function reference(
  graph: string,
  feeds: Record<string, HostTensor>,
): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(half[graph]);
  try {
    const fed = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [
        k,
        t.dtype === 'float32'
          ? new ort.Tensor('float16', floatsToHalfs(t.data as Float32Array), [...t.dims])
          : new ort.Tensor(t.dtype, t.data as BigInt64Array, [...t.dims]),
      ]),
    );
    const out = await session.run(fed);
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [
        k,
        t.type === 'float16' ? halfsToFloats(t.data as Uint16Array) : (t.data as Float32Array),
      ]),
    );
  } finally {
    await session.release();
  }
}

let halfModel: LoadedModel;
beforeAll(async () => {
  halfModel = await loadHalf();
});
afterAll(async () => {
  await halfModel?.release();
  (await backend.engineDevice()).device.destroy();
});

describe('float16 inputs and outputs (clip-export towers)', () => {
  const image = disc('red', 32);
  const texts = ['a photo of a red circle', 'a small blue square'];

  it('image and text embeddings come back as float32 values equal to onnxruntime-node’s on the same graphs', async () => {
    expect(halfModel.pixels).toBeUndefined(); // a float16 pixel input takes the CPU preprocessing
    const pixels = (await toHost(await preprocess(halfModel, [image]))) as HostTensor;
    const want = await reference('vision_model', { pixel_values: pixels });
    const enc = await encodeImages(halfModel, [image], new Stopwatch());
    expect(enc.embeds).toBeInstanceOf(Float32Array);
    const imageDiff = relativeDiff(Array.from(enc.embeds), want.image_embeds);
    expect(imageDiff).toBeLessThan(2e-3);

    const batch = tokenizeTexts(halfModel, texts);
    const feeds = textFeeds(halfModel.text!, batch) as Record<string, HostTensor>;
    const wantText = await reference('text_model', feeds);
    const got = await encodeTexts(halfModel, texts, new Stopwatch());
    expect(got.embeds).toBeInstanceOf(Float32Array);
    const textDiff = relativeDiff(Array.from(got.embeds), wantText.text_embeds);
    expect(textDiff).toBeLessThan(2e-3);
    console.log(
      `float16 IO vs onnxruntime-node: image ${imageDiff.toExponential(2)}, text ${textDiff.toExponential(2)}`,
    );
  });

  it('classify gives the softmax of exp(logit_scale) · cosine over onnxruntime-node’s embeddings on the same graphs', async () => {
    const labels = ['red circle', 'blue square', 'green triangle'];
    const image = disc('red', 32);
    const got = Object.fromEntries(
      (await classifyImage(halfModel, image, labels, 'a photo of a {}', new Stopwatch())).map((s) => [
        s.label,
        s.probability,
      ]),
    );
    // The reference, by hand from onnxruntime-node's float16-graph embeddings and config.json's logit_scale.
    const pixels = (await toHost(await preprocess(halfModel, [image]))) as HostTensor;
    const img = (await reference('vision_model', { pixel_values: pixels })).image_embeds;
    const prompts = labels.map((l) => `a photo of a ${l}`);
    const txt = (
      await reference(
        'text_model',
        textFeeds(halfModel.text!, tokenizeTexts(halfModel, prompts)) as Record<string, HostTensor>,
      )
    ).text_embeds;
    const d = img.length;
    const norm = (v: Float32Array) => Math.hypot(...v);
    const scale = Math.exp(JSON.parse(readFileSync(`${DISK}config.json`, 'utf8')).logit_scale);
    const logits = labels.map((_, k) => {
      const t = txt.subarray(k * d, (k + 1) * d);
      return (scale * img.reduce((a, x, i) => a + x * t[i], 0)) / (norm(img) * norm(t));
    });
    const top = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - top));
    const sum = exps.reduce((a, b) => a + b, 0);
    for (const [k, l] of labels.entries()) expect(Math.abs(got[l] - exps[k] / sum), l).toBeLessThan(1e-5);
  });
});
