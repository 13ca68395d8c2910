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

async function load(dtype: 'fp32' | 'fp16'): Promise<LoadedModel> {
  const files: Record<string, Uint8Array> = {};
  for (const f of JSONS) files[`${BASE}m/${f}`] = new Uint8Array(readFileSync(DISK + f));
  for (const g of TOWERS)
    files[`${BASE}m/onnx/${g}${dtype === 'fp16' ? '_fp16' : ''}.onnx`] =
      dtype === 'fp16' ? half[g] : new Uint8Array(readFileSync(`${DISK}onnx/${g}.onnx`));
  const folder = await openModelFolder('/m', {
    baseUrl: BASE,
    cache: null,
    fetch: fakeServer(files).fetchFn,
  });
  return loadModel(folder, selector, { dtype });
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
let fullModel: LoadedModel;
beforeAll(async () => {
  halfModel = await load('fp16');
  fullModel = await load('fp32');
});
afterAll(async () => {
  await halfModel?.release();
  await fullModel?.release();
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

  it('classify gives the float32 graphs’ probabilities to float16 precision', async () => {
    const labels = ['red circle', 'blue square', 'green triangle'];
    const probs = async (m: LoadedModel) =>
      Object.fromEntries(
        (await classifyImage(m, disc('red', 32), labels, 'a photo of a {}', new Stopwatch())).map((s) => [
          s.label,
          s.probability,
        ]),
      );
    const got = await probs(halfModel);
    const want = await probs(fullModel);
    for (const l of labels) expect(Math.abs(got[l] - want[l]), l).toBeLessThan(5e-3);
    expect(Object.values(got).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});
