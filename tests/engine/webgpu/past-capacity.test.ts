// Decoders whose positions come from the past's length (no position_ids) read a fixed-capacity KV cache
// (passes/past-capacity.ts): pasts fed at capacity C with PAST_LENGTH slots filled give onnxruntime-node's
// outputs on the same pasts cut to that length, and one plan serves every length below C (full pasts take the
// exact plan). A graph the pass cannot
// rewrite (sinusoids computed from the length) runs the exact plan on pasts cut on the GPU, with the same
// result. Covered: BLIP's text decoder as our exporter writes it (positions from a cumsum) and as transformers
// exports it (a Slice of position_ids, a causal mask times attention_mask), CoCa's, a merged decoder (If on
// use_cache_branch), a Range into a position table (BART's form) and a Slice of one (Whisper's), and an
// encoder-decoder's merged decoder (Optimum's seq2seq layout, Florence-2's) whose cross-attention pasts are fed
// at the encoder's length beside the self-attention ones at capacity.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import { PAST_LENGTH } from '../../../src/engine/backend';
import { type HostTensor, hostTensor, type Tensor, toHost } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { WebGpuDeviceTensor } from '../../../src/engine/webgpu/gpu/device-tensor';
import { STORAGE_USAGE } from '../../../src/engine/webgpu/plan/plan';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import { WebvlError } from '../../../src/errors';
import { DecoderState } from '../../../src/pipelines/generate/decoder-state';
import { GREEDY } from '../../../src/pipelines/generate/sampling';
import { uniformFloats } from '../../support/random';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

interface Case {
  file: string;
  layers: number;
  heads: number;
  headDim: number;
  /** encoder_hidden_states' width, when the decoder cross-attends. */
  encoder?: number;
  /** inputs_embeds' width, when the decoder takes embeddings instead of ids. */
  embeds?: number;
  batch?: number;
}

/** Encoder positions in every case (its states, and a seq2seq decoder's cross-attention pasts). */
const ENCODER_POSITIONS = 3;

const CASES: Record<string, Case> = {
  'blip-tiny (our exporter)': {
    file: 'models/blip-tiny/onnx/decoder_with_past_model.onnx',
    layers: 3,
    heads: 4,
    headDim: 32,
    encoder: 128,
  },
  'blip-tiny, float16 weights': {
    file: 'models/blip-tiny/onnx/decoder_with_past_model_fp16.onnx',
    layers: 3,
    heads: 4,
    headDim: 32,
    encoder: 128,
  },
  'coca-tiny': {
    file: 'models/coca-tiny/onnx/decoder_with_past_model.onnx',
    layers: 5,
    heads: 4,
    headDim: 32,
    encoder: 128,
  },
  'BLIP as transformers exports it': {
    file: 'tests/corpus/hf/blip-export/onnx/decoder_with_past_model.onnx',
    layers: 1,
    heads: 2,
    headDim: 8,
    encoder: 16,
  },
  'merged decoder, batch 2': {
    file: 'tests/corpus/merged/decoder_model_merged.onnx',
    layers: 2,
    heads: 4,
    headDim: 8,
    encoder: 24,
    batch: 2,
  },
  'Range into a position table': {
    file: 'tests/corpus/past/range_positions.onnx',
    layers: 1,
    heads: 2,
    headDim: 8,
  },
  'a Slice of a position table': {
    file: 'tests/corpus/past/slice_positions.onnx',
    layers: 1,
    heads: 2,
    headDim: 8,
  },
  'seq2seq merged decoder (Florence-2), batch 2': {
    file: 'tests/corpus/florence2-random/onnx/decoder_model_merged.onnx',
    layers: 2,
    heads: 4,
    headDim: 8,
    encoder: 32,
    embeds: 32,
    batch: 2,
  },
};

/** A seq2seq decoder's self-attention pasts are past_key_values.N.decoder.*, its presents present.N.decoder.*. */
const selfPrefix = (names: readonly string[]) =>
  names.includes('past_key_values.0.decoder.key') ? 'decoder.' : '';

const CAPACITY = 16;

/** Feeds for a one-token step after `filled` positions, the pasts given `slots` positions (random beyond). */
function stepFeeds(c: Case, names: readonly string[], filled: number, slots: number, seed: number) {
  const batch = c.batch ?? 1;
  const feeds: Record<string, HostTensor> = c.embeds
    ? { inputs_embeds: hostTensor('float32', [batch, 1, c.embeds], uniformFloats(batch * c.embeds, 7)) }
    : {
        input_ids: hostTensor(
          'int64',
          [batch, 1],
          Array.from({ length: batch }, (_, i) => 3 + i),
        ),
      };
  if (c.encoder)
    feeds.encoder_hidden_states = hostTensor(
      'float32',
      [batch, ENCODER_POSITIONS, c.encoder],
      uniformFloats(batch * ENCODER_POSITIONS * c.encoder, 5),
    );
  if (names.includes('encoder_attention_mask'))
    feeds.encoder_attention_mask = hostTensor(
      'int64',
      [batch, ENCODER_POSITIONS],
      Array(batch * ENCODER_POSITIONS).fill(1),
    );
  const own = selfPrefix(names);
  if (names.includes('use_cache_branch')) feeds.use_cache_branch = hostTensor('bool', [1], [1]);
  if (names.includes('attention_mask')) {
    // Filled slots, the padding the attention must not see, then the new position.
    const row = Array.from({ length: slots + 1 }, (_, j) => (j < filled || j === slots ? 1 : 0));
    feeds.attention_mask = hostTensor('int64', [batch, slots + 1], Array(batch).fill(row).flat());
  }
  for (let l = 0; l < c.layers; l++)
    for (const kv of ['key', 'value']) {
      // The same values in the first `filled` slots whatever `slots` is: slot j of row r is element (r, j).
      const full = uniformFloats(
        batch * c.heads * CAPACITY * c.headDim,
        seed + 2 * l + (kv === 'key' ? 0 : 1),
      );
      const rows = batch * c.heads;
      const data = new Float32Array(rows * slots * c.headDim);
      for (let r = 0; r < rows; r++)
        data.set(
          full.subarray(r * CAPACITY * c.headDim, (r * CAPACITY + Math.min(slots, CAPACITY)) * c.headDim),
          r * slots * c.headDim,
        );
      feeds[`past_key_values.${l}.${own}${kv}`] = hostTensor(
        'float32',
        [batch, c.heads, slots, c.headDim],
        data,
      );
      // Cross-attention pasts span the encoder's positions, whatever the self-attention pasts' capacity.
      if (own)
        feeds[`past_key_values.${l}.encoder.${kv}`] = hostTensor(
          'float32',
          [batch, c.heads, ENCODER_POSITIONS, c.headDim],
          uniformFloats(
            batch * c.heads * ENCODER_POSITIONS * c.headDim,
            seed + 100 + 2 * l + (kv === 'key' ? 0 : 1),
          ),
        );
    }
  return feeds;
}

const toOrt = (t: HostTensor) => new ort.Tensor(t.dtype, t.data as Float32Array, [...t.dims]) as ort.Tensor;

async function reference(bytes: Uint8Array, feeds: Record<string, HostTensor>) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
  await session.release();
  return out;
}

/** Positions [from, from + count) of a present [B, H, T, D], every row. */
function positions(t: { dims: readonly number[]; data: unknown }, from: number, count: number): Float32Array {
  const [b, h, total, d] = t.dims;
  const data = t.data as Float32Array;
  const out = new Float32Array(b * h * count * d);
  for (let r = 0; r < b * h; r++)
    out.set(data.subarray((r * total + from) * d, (r * total + from + count) * d), r * count * d);
  return out;
}

describe('decoders whose positions come from the past: a fixed-capacity KV cache', () => {
  it.each(Object.keys(CASES))('%s: one plan for every length, onnxruntime-node’s outputs', async (label) => {
    const c = CASES[label];
    const bytes = new Uint8Array(readFileSync(c.file));
    const session = (await backend.load(bytes, { label, pastLength: true })) as WebGpuSession;
    expect(session.inputNames).toContain(PAST_LENGTH);
    const names = session.inputNames;
    let built: number | undefined;
    // Full pasts (the last) take the exact plan, as pasts fed at their own length do.
    for (const filled of [5, 0, CAPACITY - 1, CAPACITY]) {
      const exact = stepFeeds(c, names, filled, filled, 40);
      const theirs = await reference(bytes, exact);
      const ours = await session.run({
        ...stepFeeds(c, names, filled, CAPACITY, 40),
        [PAST_LENGTH]: hostTensor('int64', [], [filled]),
      });
      expect(
        relativeDiff((ours.logits as HostTensor).data as Float32Array, theirs.logits.data as Float32Array),
      ).toBeLessThan(1e-4);
      // At capacity the presents hold only the step's own keys and values (the cache is read in place); full
      // pasts give the whole present, the step's after the capacity's slots.
      const atCapacity = filled < CAPACITY;
      const own = selfPrefix(names);
      for (const name of [`present.0.${own}key`, `present.${c.layers - 1}.${own}value`]) {
        const present = ours[name] as HostTensor;
        expect(present.dims[2]).toBe(atCapacity ? 1 : CAPACITY + 1);
        expect(
          relativeDiff(positions(present, atCapacity ? 0 : CAPACITY, 1), positions(theirs[name], filled, 1)),
        ).toBeLessThan(1e-4);
      }
      if (atCapacity) {
        // No concatenation of cache and new keys: the attentions read the cache in place, the new keys after it.
        expect(session.describePlan()?.programKeys.some((k) => /^attention.*\|tail$/.test(k))).toBe(true);
      }
      const plan = session.describePlan();
      expect(plan?.signature.endsWith('|capacity')).toBe(filled < CAPACITY);
      built ??= plan?.planCache.built;
      expect(plan?.planCache.built).toBe(filled < CAPACITY ? built : (built ?? 0) + 1);
    }
    await session.release();
  });

  it('a graph it cannot rewrite (sinusoids of the length) runs on pasts cut on the GPU, the same outputs', async () => {
    const c: Case = { file: 'tests/corpus/past/sinusoid_positions.onnx', layers: 1, heads: 2, headDim: 8 };
    const bytes = new Uint8Array(readFileSync(c.file));
    const session = (await backend.load(bytes, {
      pastLength: true,
      keepOnDevice: ['present.0.key'],
    })) as WebGpuSession;
    const filled = 6;
    const theirs = await reference(bytes, stepFeeds(c, session.inputNames, filled, filled, 9));
    // The pasts on the GPU at capacity, as a KV cache holds them.
    const { device } = await backend.engineDevice();
    const feeds: Record<string, Tensor> = {
      ...stepFeeds(c, session.inputNames, filled, CAPACITY, 9),
      [PAST_LENGTH]: hostTensor('int64', [], [filled]),
    };
    for (const kv of ['key', 'value']) {
      const host = feeds[`past_key_values.0.${kv}`] as HostTensor;
      const data = host.data as Float32Array<ArrayBuffer>;
      const buffer = device.createBuffer({ size: data.byteLength, usage: STORAGE_USAGE });
      device.queue.writeBuffer(buffer, 0, data);
      feeds[`past_key_values.0.${kv}`] = new WebGpuDeviceTensor(
        device,
        buffer,
        'float32',
        host.dims,
        data.byteLength,
      );
    }
    const ours = await session.run(feeds);
    expect(
      relativeDiff((ours.logits as HostTensor).data as Float32Array, theirs.logits.data as Float32Array),
    ).toBeLessThan(1e-4);
    expect(session.describePlan()?.signature).toContain(`past_key_values.0.key:1x2x${filled}x8`);
    const present = await toHost(ours['present.0.key']);
    expect(present.dims).toEqual([1, 2, filled + 1, 8]);
    expect(
      relativeDiff(present.data as Float32Array, theirs['present.0.key'].data as Float32Array),
    ).toBeLessThan(1e-4);
    await session.release();
  });

  it('PAST_LENGTH is checked: missing, not an integer count, above the capacity; the session keeps serving', async () => {
    const c = CASES['Range into a position table'];
    const session = await backend.load(new Uint8Array(readFileSync(c.file)), { pastLength: true });
    const feeds = stepFeeds(c, session.inputNames, 4, 8, 1);
    const bad: [string, HostTensor | undefined][] = [
      ['missing', undefined],
      ['float', hostTensor('float32', [], [4])],
      ['two values', hostTensor('int64', [2], [4, 4])],
      ['negative', hostTensor('int64', [], [-1])],
      ['above capacity', hostTensor('int64', [], [9])],
    ];
    for (const [, value] of bad) {
      const run = session.run(value ? { ...feeds, [PAST_LENGTH]: value } : feeds);
      await expect(run).rejects.toBeInstanceOf(WebvlError);
      await expect(run).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    const ok = await session.run({ ...feeds, [PAST_LENGTH]: hostTensor('int64', [], [4]) });
    expect((ok.logits as HostTensor).dims).toEqual([1, 1, 16]);
    await session.release();
  });

  it('without the option, no PAST_LENGTH input', async () => {
    const plain = await backend.load(new Uint8Array(readFileSync(CASES['blip-tiny (our exporter)'].file)));
    expect(plain.inputNames).not.toContain(PAST_LENGTH);
    await plain.release();
  });

  it('a decoder with position_ids reads its cache in place too: onnxruntime-node’s outputs', async () => {
    // llava-random's merged decoder: its attention_mask hides the free slots; PAST_LENGTH only says they exist.
    const bytes = new Uint8Array(readFileSync('tests/corpus/llava-random/onnx/decoder_model_merged.onnx'));
    const session = (await backend.load(bytes, { pastLength: true })) as WebGpuSession;
    expect(session.inputNames).toContain(PAST_LENGTH);
    const [heads, headDim, hidden] = [2, 8, 32];
    const feedsFor = (filled: number, slots: number): Record<string, HostTensor> => {
      const feeds: Record<string, HostTensor> = {
        inputs_embeds: hostTensor('float32', [1, 1, hidden], uniformFloats(hidden, 3)),
        attention_mask: hostTensor(
          'int64',
          [1, slots + 1],
          Array.from({ length: slots + 1 }, (_, j) => (j < filled || j === slots ? 1 : 0)),
        ),
        position_ids: hostTensor('int64', [1, 1], [filled]),
        use_cache_branch: hostTensor('bool', [1], [1]),
      };
      for (let l = 0; l < 2; l++)
        for (const kv of ['key', 'value']) {
          const full = uniformFloats(heads * CAPACITY * headDim, 70 + 2 * l + (kv === 'key' ? 0 : 1));
          const data = new Float32Array(heads * slots * headDim);
          for (let h = 0; h < heads; h++)
            data.set(
              full.subarray(h * CAPACITY * headDim, (h * CAPACITY + slots) * headDim),
              h * slots * headDim,
            );
          feeds[`past_key_values.${l}.${kv}`] = hostTensor('float32', [1, heads, slots, headDim], data);
        }
      return feeds;
    };
    for (const filled of [0, 7, CAPACITY - 1]) {
      const theirs = await reference(bytes, feedsFor(filled, filled));
      const ours = await session.run({
        ...feedsFor(filled, CAPACITY),
        [PAST_LENGTH]: hostTensor('int64', [], [filled]),
      });
      expect(
        relativeDiff((ours.logits as HostTensor).data as Float32Array, theirs.logits.data as Float32Array),
      ).toBeLessThan(1e-4);
      const present = ours['present.1.value'] as HostTensor;
      expect(present.dims[2]).toBe(1);
      expect(
        relativeDiff(positions(present, 0, 1), positions(theirs['present.1.value'], filled, 1)),
      ).toBeLessThan(1e-4);
      expect(session.describePlan()?.programKeys.some((k) => /^attention.*\|tail$/.test(k))).toBe(true);
    }
    await session.release();
  });
});

describe('context inputs: work on the encoder’s states alone is done once per sequence', () => {
  it('blip-tiny: cross-attention keys/values computed when the states change, reused otherwise', async () => {
    const c = CASES['blip-tiny (our exporter)'];
    const bytes = new Uint8Array(readFileSync(c.file));
    const session = (await backend.load(bytes, {
      pastLength: true,
      contextInputs: ['encoder_hidden_states'],
    })) as WebGpuSession;
    const names = session.inputNames;
    const states = (seed: number) =>
      hostTensor('float32', [1, 3, c.encoder as number], uniformFloats(3 * (c.encoder as number), seed));
    const first = states(5);
    const second = states(6);
    const dispatches: number[] = [];
    // Same states object for three steps (different pasts), then another object with other values.
    for (const [filled, enc] of [
      [3, first],
      [4, first],
      [9, first],
      [9, second],
    ] as const) {
      const exact = { ...stepFeeds(c, names, filled, filled, 40), encoder_hidden_states: enc };
      const theirs = await reference(bytes, exact);
      const ours = await session.run({
        ...stepFeeds(c, names, filled, CAPACITY, 40),
        encoder_hidden_states: enc,
        [PAST_LENGTH]: hostTensor('int64', [], [filled]),
      });
      expect(
        relativeDiff((ours.logits as HostTensor).data as Float32Array, theirs.logits.data as Float32Array),
      ).toBeLessThan(1e-4);
      dispatches.push(session.lastRunStats()?.dispatches ?? 0);
    }
    // The states' own work (every layer's cross-attention K/V, which merge-projections makes one Linear) runs
    // on the first step and on new states only.
    expect(dispatches[1]).toBe(dispatches[2]);
    expect(dispatches[0]).toBeGreaterThan(dispatches[1]);
    expect(dispatches[3]).toBe(dispatches[0]);
    await session.release();
  });
});

/** blip-tiny's decoder pair on our engine, as captions load it, with random image states (5 tokens). */
async function blipTinyDecoders() {
  const dir = 'models/blip-tiny/onnx';
  const firstBytes = new Uint8Array(readFileSync(`${dir}/decoder_model.onnx`));
  const stepBytes = new Uint8Array(readFileSync(`${dir}/decoder_with_past_model.onnx`));
  const c = CASES['blip-tiny (our exporter)'];
  const presents = Array.from({ length: c.layers }, (_, l) => [
    `present.${l}.key`,
    `present.${l}.value`,
  ]).flat();
  const first = await backend.load(firstBytes, { keepOnDevice: presents });
  const step = (await backend.load(stepBytes, {
    keepOnDevice: presents,
    pastLength: true,
    contextInputs: ['encoder_hidden_states'],
  })) as WebGpuSession;
  const encoder = c.encoder as number;
  const states = hostTensor('float32', [1, 5, encoder], uniformFloats(5 * encoder, 21, -2, 2));
  const bos = (
    JSON.parse(readFileSync('models/blip-tiny/config.json', 'utf8')) as {
      text_config: { bos_token_id: number };
    }
  ).text_config.bos_token_id;
  /** A DecoderState over them whose cache grows in blocks of `block`. */
  const decoderState = (maxPositions: number, block: number) =>
    new DecoderState(
      {
        session: step,
        first,
        kv: { layers: c.layers, heads: c.heads, headDim: c.headDim },
        kvCache: async () => (spec) => backend.kvCache(spec),
      },
      GREEDY,
      maxPositions,
      block,
      { encoder_hidden_states: states },
    );
  const release = async () => {
    await first.release();
    await step.release();
  };
  return { firstBytes, stepBytes, presents, step, states, bos, decoderState, release };
}

const argmaxOf = (row: ArrayLike<number>) => Array.prototype.indexOf.call(row, Math.max(...Array.from(row)));

describe('greedy decoding through DecoderState with a fixed-capacity cache (blip-tiny)', () => {
  it('gives onnxruntime-node’s greedy tokens; the cached steps run one plan', async () => {
    const { firstBytes, stepBytes, presents, step, states, bos, decoderState, release } =
      await blipTinyDecoders();
    const TOKENS = 12;
    // Block 8: the cache grows once on the way, so the tokens also cross a re-plan for the larger capacity.
    const state = decoderState(TOKENS + 1, 8);
    const ours: number[] = [];
    const builtAt: number[] = [];
    let fed = [bos];
    for (let t = 0; t < TOKENS; t++) {
      const [row] = await state.logitsAfter(hostTensor('int64', [1, fed.length], fed));
      ours.push(argmaxOf(row));
      fed = [ours[t]];
      builtAt.push(step.describePlan()?.planCache.built ?? 0);
    }
    expect(state.cacheOnDevice).toBe(true);
    state.release();
    // Plans: capacity 8 (steps 1-7), 16 (steps 8-11: the cache grows before a step would overflow it).
    expect(new Set(builtAt.slice(1)).size).toBe(2);
    expect(step.describePlan()?.signature.endsWith('|capacity')).toBe(true);

    // onnxruntime-node, presents fed back as pasts.
    const o1 = await ort.InferenceSession.create(firstBytes);
    const o2 = await ort.InferenceSession.create(stepBytes);
    const theirs: number[] = [];
    let past: Record<string, ort.Tensor> = {};
    fed = [bos];
    for (let t = 0; t < TOKENS; t++) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: toOrt(hostTensor('int64', [1, fed.length], fed)),
        encoder_hidden_states: toOrt(states),
        ...(t > 0 ? past : {}),
      };
      const out = await (t === 0 ? o1 : o2).run(feeds);
      const logits = out.logits.data as Float32Array;
      const v = out.logits.dims[2];
      theirs.push(argmaxOf(logits.subarray(logits.length - v)));
      fed = [theirs[t]];
      past = Object.fromEntries(presents.map((n) => [n.replace('present', 'past_key_values'), out[n]]));
    }
    expect(ours).toEqual(theirs);
    expect(new Set(ours).size).toBeGreaterThan(2); // a sequence, not one token repeated
    await release();
  });

  it('beam rows reordered on the GPU cache: each row’s logits are onnxruntime-node’s for its whole sequence', async () => {
    const { firstBytes, step, states, bos, decoderState, release } = await blipTinyDecoders();
    // After each step, which old row each new row continues: 1 → 3 rows, shuffles with repeats, 3 → 2 rows.
    const ORDERS = [
      [0, 0, 0],
      [2, 0, 1],
      [1, 1, 0],
      [0, 2, 2],
      [2, 1, 0],
      [1, 0],
      [1, 1],
      [0, 1],
      [1, 0],
    ];
    const state = decoderState(ORDERS.length + 2, 8);
    const whole = await ort.InferenceSession.create(firstBytes);
    let sequences = [[bos]];
    let fed = [[bos]];
    for (const [t, order] of ORDERS.entries()) {
      const rows = await state.logitsAfter(hostTensor('int64', [fed.length, fed[0].length], fed.flat()));
      // The reference runs every row's whole sequence afresh: a row that read another row's keys differs.
      const n = sequences.length;
      const out = await whole.run({
        input_ids: toOrt(hostTensor('int64', [n, sequences[0].length], sequences.flat())),
        encoder_hidden_states: toOrt(
          hostTensor(
            'float32',
            [n, ...states.dims.slice(1)],
            Array(n)
              .fill(Array.from(states.data as Float32Array))
              .flat(),
          ),
        ),
      });
      const [, s, v] = out.logits.dims;
      const data = out.logits.data as Float32Array;
      expect(rows).toHaveLength(n);
      for (const [r, row] of rows.entries())
        expect(
          relativeDiff(row, data.subarray((r * s + s - 1) * v, (r * s + s) * v)),
          `step ${t} row ${r}`,
        ).toBeLessThan(1e-4);
      // Row r takes its (r + 1)-th best token, so the rows' sequences differ.
      const next = rows.map((row, r) => {
        const ranked = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
        return ranked[r];
      });
      await state.reorder(order);
      sequences = order.map((from) => [...sequences[from], next[from]]);
      fed = order.map((from) => [next[from]]);
      expect(state.batch).toBe(order.length);
    }
    expect(state.cacheOnDevice).toBe(true);
    expect(step.describePlan()?.signature.endsWith('|capacity')).toBe(true);
    await expect(state.reorder([2])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(state.logitsAfter(hostTensor('int64', [3, 1], [1, 2, 3]))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    state.release();
    await whole.release();

    // The reorders' buffers come from the pool and go back to it: more beam searches create none and keep none.
    const { pool } = await backend.engineDevice();
    const search = async () => {
      const beams = decoderState(ORDERS.length + 2, 8);
      let tokens = [[bos]];
      for (const order of ORDERS) {
        await beams.logitsAfter(hostTensor('int64', [tokens.length, 1], tokens.flat()));
        await beams.reorder(order);
        tokens = order.map((_, r) => [r + 5]);
      }
      beams.release();
    };
    await search();
    const [created, inUse] = [pool.createdCount, pool.inUseCount];
    for (let i = 0; i < 5; i++) await search();
    expect([pool.createdCount, pool.inUseCount]).toEqual([created, inUse]);
    await release();
  });
});
