// Florence-2's tasks on our engine, through the loader and the caption pipeline: a random-weight encoder-decoder
// in transformers.js' layout (scripts/make_florence2_random.py: a DaViT-style image tower with Florence-2's
// projector, a BART encoder, Optimum's merged seq2seq decoder, a byte-level tokenizer with the location tokens).
// Checked against PyTorch (pixel values, image features, encoder states, greedy ids under Florence-2's generation
// rules, for text and region tasks) and against transformers.js' own Florence2Processor (prompts, decoded answers,
// post_process_generation's regions) and Florence2ForConditionalGeneration on the same folder.
import { readFileSync } from 'node:fs';
import {
  AutoProcessor,
  env,
  Florence2ForConditionalGeneration,
  RawImage,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { hostTensor, joinSequence, toHost, toHostFloats } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import type { CaptionResult } from '../../../src/pipelines/caption';
import {
  disposeTensor,
  embedTokens,
  gatherRows,
  gatherRowsOf,
  preprocess,
} from '../../../src/pipelines/encode';
import { captionFlorence, taskPlan } from '../../../src/pipelines/florence2';
import type { LoadedModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { loadCorpusFolder } from '../../support/corpus-folder';
import { liveBuffersOverRounds } from '../../support/live-buffers';
import { nodeGpu } from './gpu';

const NAME = 'florence2-random';
const DISK = `tests/corpus/${NAME}/`;
const FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
];
interface Floats {
  dims: number[];
  data: number[];
}
interface TaskRef {
  prompt: string;
  input?: string;
  input_ids: number[];
  greedy: number[];
  stop: 'eos' | 'forced_eos';
  no_repeat_fired: { step: number; banned: number; chosen: number }[];
  /** Pure-text tasks: the answer decoded with special tokens skipped. */
  text?: string;
  encoder_last_hidden_state?: Floats;
}
const ref = JSON.parse(readFileSync(`${DISK}reference.json`, 'utf8')) as {
  config: { max_new_tokens: number };
  image_rgb: Floats;
  pixel_values: Floats;
  image_features: Floats;
  tasks: Record<string, TaskRef>;
};
const [side] = ref.image_rgb.dims;
const image = {
  width: side,
  height: side,
  data: Uint8Array.from({ length: side * side * 4 }, (_, i) =>
    i % 4 === 3 ? 255 : ref.image_rgb.data[Math.floor(i / 4) * 3 + (i % 4)],
  ),
};
const TASKS = Object.keys(ref.tasks);
const MAX_TOKENS = ref.config.max_new_tokens;

const backend = new WebGpuBackend({ gpu: nodeGpu() });
/** The folder through the loader on our engine; `extra` adds or replaces files. */
const loadFolder = (extra: Record<string, string> = {}) => loadCorpusFolder(backend, DISK, FILES, { extra });
let model: LoadedModel;
// Loading compiles and warms up four graphs: slower than the default hook timeout on a busy software adapter.
beforeAll(async () => {
  model = await loadFolder();
}, 60_000);
afterAll(async () => {
  await model?.release();
  (await backend.engineDevice()).device.destroy();
});
const florence = () => {
  if (!model.florence) throw new Error('not loaded as Florence-2');
  return model.florence;
};

describe('a Florence-2 folder loads as it is', () => {
  it('as the florence2 family: four graphs, its tasks and generation rules, a caption-only architecture', () => {
    expect(model.kind).toBe('florence2');
    expect(model.graphs.map((g) => g.file)).toEqual([
      'onnx/vision_encoder.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/encoder_model.onnx',
      'onnx/decoder_model_merged.onnx',
    ]);
    expect(model.vlm).toBeUndefined();
    expect(model.architecture.tasks).toMatchObject({ caption: 'decoder', ask: null, classify: null });
    const { spec } = florence();
    expect(spec).toMatchObject({
      decoderStartTokenId: 2,
      eosTokenId: 2,
      forcedBosTokenId: 0,
      forcedEosTokenId: 2,
      noRepeatNgramSize: 3,
      maxLength: 20,
      maxPositions: 64,
      kv: { layers: 2, heads: 4, headDim: 8 },
    });
    for (const task of TASKS)
      expect(taskPlan(spec, task, ref.tasks[task].input).prompt).toBe(ref.tasks[task].prompt);
    expect(model.captionLimits?.maxTokens).toBe(64);
  });

  it("the prompts' ids are BART's: <s> … </s>", () => {
    for (const task of TASKS)
      expect(model.tokenizer.encode(ref.tasks[task].prompt, true), task).toEqual(ref.tasks[task].input_ids);
  });

  it('a folder without task prompts is INVALID_MODEL', async () => {
    const processor = JSON.parse(readFileSync(`${DISK}preprocessor_config.json`, 'utf8'));
    delete processor.task_prompts_without_inputs;
    await expect(loadFolder({ 'preprocessor_config.json': JSON.stringify(processor) })).rejects.toMatchObject(
      {
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/task_prompts_without_inputs/),
      },
    );
  });
});

describe('Florence-2 on our engine equals PyTorch', () => {
  it('pixel values and image features', async () => {
    const pixels = await toHostFloats(await preprocess(model, [image]));
    expect(pixels.dims).toEqual(ref.pixel_values.dims);
    expect(relativeDiff(pixels.data as Float32Array, ref.pixel_values.data)).toBeLessThan(1e-5);
    const out = await florence().visionEncoder.run({
      pixel_values: hostTensor('float32', ref.pixel_values.dims, ref.pixel_values.data),
    });
    const features = await toHostFloats(out.image_features);
    disposeTensor(out.image_features);
    expect(features.dims).toEqual(ref.image_features.dims);
    expect(relativeDiff(features.data as Float32Array, ref.image_features.data)).toBeLessThan(1e-4);
  });

  it("the encoder's states over [image features; prompt embeddings]", async () => {
    const f = florence();
    const task = ref.tasks['<CAPTION>'];
    const features = hostTensor('float32', ref.image_features.dims, ref.image_features.data);
    const ids = task.input_ids;
    const embeds = await toHostFloats(
      (await f.embedTokens.run({ input_ids: hostTensor('int64', [1, ids.length], ids) })).inputs_embeds,
    );
    const input = joinSequence([features, embeds])!;
    const n = input.dims[1];
    const out = await f.encoder.run({
      inputs_embeds: input,
      attention_mask: hostTensor('int64', [1, n], new BigInt64Array(n).fill(1n)),
    });
    const states = await toHostFloats(out.last_hidden_state);
    disposeTensor(out.last_hidden_state);
    const want = task.encoder_last_hidden_state!;
    expect(states.dims).toEqual(want.dims);
    expect(relativeDiff(states.data as Float32Array, want.data)).toBeLessThan(1e-4);
  });

  it.each(TASKS)(
    '%s: greedy ids with the first token forced, no 3-gram repeated and the last forced to </s>',
    async (task) => {
      const want = ref.tasks[task];
      const streamed: number[] = [];
      const got = await captionFlorence(
        model,
        florence(),
        image,
        {
          task,
          taskInput: want.input,
          maxTokens: MAX_TOKENS,
          onToken: (t) => void streamed.push(t.tokenId),
        },
        new Stopwatch(),
      );
      expect(got.tokenIds).toEqual(want.greedy);
      expect(streamed).toEqual(want.greedy);
      if (want.text !== undefined) expect(model.tokenizer.decode(got.tokenIds)).toBe(want.text);
      // Region tasks name regions; text tasks do not.
      expect(got.regions === undefined, task).toBe(want.text !== undefined);
      // The presents stay on the GPU between steps, fed back as the next step's past.
      expect(got.cacheOnDevice).toBe(true);
    },
  );

  it('steps after the first read a fixed-capacity KV cache in place: a decoder plan per cache block', async () => {
    const decoder = florence().decoder.session as WebGpuSession;
    const builtBefore = decoder.describePlan()?.planCache.built ?? 0;
    // A prompt longer than any other test's: its encoder length is new, so every plan this answer runs is built now.
    const got = await captionFlorence(
      model,
      florence(),
      image,
      {
        task: '<CAPTION_TO_PHRASE_GROUNDING>',
        taskInput: 'two small blue squares and a long green line',
        maxTokens: MAX_TOKENS,
      },
      new Stopwatch(),
    );
    expect(got.tokenIds.length).toBeGreaterThan(16);
    const plan = decoder.describePlan();
    // The first step (no past), then one plan per capacity the cache grows to (blocks of 16: 16 and 32 slots),
    // where each past length was a plan of its own.
    expect((plan?.planCache.built ?? 0) - builtBefore).toBe(3);
    expect(plan?.signature.endsWith('|capacity')).toBe(true);
    expect(plan?.programKeys.some((k) => /^attention.*\|tail$/.test(k))).toBe(true);
  });

  it('beam search keeps the rules: its first token forced, no 3-gram repeated', async () => {
    for (const task of TASKS) {
      const got = await captionFlorence(
        model,
        florence(),
        image,
        { task, taskInput: ref.tasks[task].input, maxTokens: MAX_TOKENS, numBeams: 3 },
        new Stopwatch(),
      );
      const sequence = [2, ...got.tokenIds];
      expect(got.tokenIds[0], task).toBe(0);
      const grams = sequence.slice(2).map((_, i) => sequence.slice(i, i + 3).join(','));
      expect(new Set(grams).size, `${task}: ${sequence}`).toBe(grams.length);
      expect(got.tokenIds.length).toBeLessThan(MAX_TOKENS);
      expect(Number.isFinite(got.logProb)).toBe(true);
    }
  });
});

describe('rows gathered on the device (beams reordered, an image repeated per beam)', () => {
  it('equal the host gather, repeats included; rows out of range are not gathered', async () => {
    const ids = [4, 5, 6, 7, 8, 9];
    const embeds = await embedTokens(florence().embedTokens, hostTensor('int64', [3, 2], ids));
    expect(embeds.location).toBe('gpu');
    const rows = [2, 0, 2, 1];
    const gathered = await gatherRowsOf(embeds, rows);
    expect(gathered.location).toBe('gpu');
    expect(gathered.dims).toEqual([4, 2, 32]);
    const want = gatherRows(await toHost(embeds), rows);
    expect((await toHost(gathered)).data).toEqual(want.data);
    expect(embeds.location === 'gpu' && embeds.gatherRows?.([0, 3])).toBeUndefined();
    for (const t of [embeds, gathered]) disposeTensor(t);
  });
});

describe('Florence-2 requests leave nothing behind', () => {
  it('GPU buffers stay flat over greedy, beam, region and refused requests', {
    timeout: 300_000,
  }, async () => {
    const round = async () => {
      for (const task of TASKS)
        await captionFlorence(
          model,
          florence(),
          image,
          {
            task,
            taskInput: ref.tasks[task].input,
            maxTokens: MAX_TOKENS,
            numBeams: task === '<OD>' ? 3 : 1,
          },
          new Stopwatch(),
        );
      const tooLong = captionFlorence(
        model,
        florence(),
        image,
        { task: '<CAPTION_TO_PHRASE_GROUNDING>', taskInput: 'red '.repeat(40) },
        new Stopwatch(),
      );
      await expect(tooLong).rejects.toMatchObject({ code: 'TEXT_TOO_LONG' });
    };
    // Two rounds build the plans and fill the pools every request needs (the second still adds a few pooled
    // buffers: measured, 4,144 then 4,161, then 4,161 for six more rounds).
    const { warm, after } = await liveBuffersOverRounds((await backend.engineDevice()).device, round);
    expect(after).toBe(warm);
  });
});

// transformers.js' own Florence-2 classes (onnxruntime-node underneath) read this folder as it is.
describe("transformers.js' Florence2Processor and Florence2ForConditionalGeneration on the same folder", () => {
  env.localModelPath = 'tests/corpus/';
  env.allowRemoteModels = false;
  const rgb = () => {
    const data = new Uint8ClampedArray(ref.image_rgb.data);
    return new RawImage(data, side, side, 3);
  };

  /** What transformers.js' processor is given: the task, and its input after it. */
  const text = (task: string) => task + (ref.tasks[task].input ?? '');

  it('its processor makes our prompt ids and pixel values', async () => {
    const processor = await AutoProcessor.from_pretrained(NAME);
    const pixels = await toHostFloats(await preprocess(model, [image]));
    for (const task of TASKS) {
      const inputs = await processor(rgb(), text(task));
      const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
      expect(ids, task).toEqual(
        model.tokenizer.encode(taskPlan(florence().spec, task, ref.tasks[task].input).prompt, true),
      );
      expect(
        relativeDiff(pixels.data as Float32Array, inputs.pixel_values.data as Float32Array),
      ).toBeLessThan(1e-5);
    }
  });

  type Answer = string | { labels: string[]; bboxes?: number[][]; quad_boxes?: number[][] };
  interface Florence2Processor {
    batch_decode(ids: Tensor | number[][], options: { skip_special_tokens: boolean }): string[];
    post_process_generation(text: string, task: string, size: [number, number]): Record<string, Answer>;
  }
  const isPolygonTask = (task: string) =>
    taskPlan(florence().spec, task, ref.tasks[task].input).answer === 'polygons';
  /** Our answer equals what transformers.js' post_process_generation reads from `decoded`. */
  function expectAnswer(got: CaptionResult, post: Answer, task: string): void {
    if (typeof post === 'string') {
      expect(got.text, task).toBe(post);
      expect(got.regions).toBeUndefined();
      return;
    }
    expect(got.regions?.shape, task).toBe(post.quad_boxes ? 'quad' : 'box');
    expect(got.regions?.labels, task).toEqual(post.labels);
    expect(got.regions?.boxes, task).toEqual(post.quad_boxes ?? post.bboxes);
    expect(got.regions?.boxes.length, task).toBeGreaterThan(0);
  }

  it('its model generates our tokens, greedy; its decoding and post_process_generation give our text and regions', async () => {
    const theirs = await Florence2ForConditionalGeneration.from_pretrained(NAME, {
      dtype: 'fp32',
      device: 'cpu',
    });
    const processor = (await AutoProcessor.from_pretrained(NAME)) as unknown as Florence2Processor &
      ((image: RawImage, text: string) => Promise<Record<string, Tensor>>);
    try {
      for (const task of TASKS) {
        const inputs = await processor(rgb(), text(task));
        const generated = (await theirs.generate({
          ...inputs,
          max_new_tokens: MAX_TOKENS,
          num_beams: 1,
          do_sample: false,
        })) as Tensor;
        const ids = Array.from(generated.data as BigInt64Array, Number);
        const decoded = processor.batch_decode(generated, { skip_special_tokens: false })[0];
        const got = await captionFlorence(
          model,
          florence(),
          image,
          { task, taskInput: ref.tasks[task].input, maxTokens: MAX_TOKENS },
          new Stopwatch(),
        );
        // Their sequence starts with decoder_start_token_id and keeps the end token.
        const want = ids.slice(1).at(-1) === 2 ? ids.slice(1, -1) : ids.slice(1);
        expect(got.tokenIds, task).toEqual(want);
        // transformers.js does not read polygons (segmentation): the decoded text is compared, the polygons are
        // read as transformers' Python post-processor reads them (hand cases in florence2-spec.test.ts).
        if (isPolygonTask(task)) {
          expect(got.text, task).toBe(decoded.replaceAll('<s>', '').replaceAll('</s>', ''));
          expect(got.regions?.shape, task).toBe('polygon');
          expect(got.regions?.polygons?.length, task).toBeGreaterThan(0);
        } else expectAnswer(got, processor.post_process_generation(decoded, task, [side, side])[task], task);
      }
    } finally {
      await theirs.dispose();
    }
  });

  it('regions of a wide image scale x by its width and y by its height, as post_process_generation scales them', async () => {
    const processor = (await AutoProcessor.from_pretrained(NAME)) as unknown as Florence2Processor;
    // 48 × 32 (the model sees it resized to 32 × 32): each column of the test image, some twice.
    const width = 48;
    const wide = {
      width,
      height: side,
      data: Uint8Array.from({ length: width * side * 4 }, (_, i) => {
        const [p, c] = [Math.floor(i / 4), i % 4];
        const [y, x] = [Math.floor(p / width), Math.floor(((p % width) * side) / width)];
        return image.data[(y * side + x) * 4 + c];
      }),
    };
    for (const task of TASKS.filter((t) => ref.tasks[t].text === undefined && !isPolygonTask(t))) {
      const got = await captionFlorence(
        model,
        florence(),
        wide,
        { task, taskInput: ref.tasks[task].input, maxTokens: MAX_TOKENS },
        new Stopwatch(),
      );
      const decoded = processor.batch_decode([[2, ...got.tokenIds, 2]], { skip_special_tokens: false })[0];
      expectAnswer(got, processor.post_process_generation(decoded, task, [width, side])[task], task);
    }
  });
});
