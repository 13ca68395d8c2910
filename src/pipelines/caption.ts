// Caption decoding, as transformers' BlipForConditionalGeneration.generate: the sequence starts with the
// decoder's bos ([DEC]) and, with a text prompt, the prompt's tokens; the end token is text_config's
// sep_token_id. With the exported decoder pair, decoder_model runs the prefix and returns the KV cache
// (present.*) and decoder_with_past takes one token and the cache per step; a folder with decoder_model
// alone (no cache outputs) runs it over the whole sequence each step. Both greedy and beam search decode
// through DecoderState: on our engine the cache is held on the GPU at a fixed capacity (one plan for every
// step), elsewhere each step's presents are the next one's past, as the backend returned them. Beam search
// runs its beams as the rows of one batch and reorders them between steps, on the GPU when the cache is there.
import type { Session } from '../engine/backend';
import { type HostTensor, hostTensor, type Tensor, toHostFloats } from '../engine/tensor';
import { WebvlError } from '../errors';
import { unsupportedTask } from './architecture';
import { disposeTensor, rowRepeater } from './encode';
import type { CaptionRegions } from './florence2-answer';
import { DecoderState } from './generate/decoder-state';
import { GREEDY } from './generate/sampling';
import type { LoadedModel } from './loaded-model';
import { argmax, logSoftmax } from './math';
import { nextTask } from './next-task';
import type { Stopwatch } from './timings';

/** One decoding step of a caption, as {@link CaptionCallOptions.onToken} hears it. */
export interface CaptionToken {
  /** Token chosen at this step (for beam search: the last token of the best hypothesis). */
  readonly tokenId: number;
  /** Caption so far. */
  readonly text: string;
  /** 0-based step. */
  readonly step: number;
}

/**
 * Called per step and awaited, so tokens reach the caller in order before the result does. Returning true
 * cancels (the page-side client returns its AbortSignal's state, which makes cancelling from inside the
 * callback deterministic even though the worker's messages travel on another channel).
 */
export type TokenListener = (t: CaptionToken) => undefined | boolean | Promise<undefined | boolean>;

export interface CaptionOptions {
  maxTokens?: number;
  /** Greedy only: the end token is not chosen before this many tokens (Hugging Face's min_new_tokens). */
  minTokens?: number;
  numBeams?: number;
  onToken?: TokenListener;
  signal?: AbortSignal;
  /** Text the caption starts with (BLIP's conditional captioning, e.g. 'a picture of'). */
  prompt?: string;
}

async function emit(options: CaptionOptions, t: CaptionToken): Promise<void> {
  const stop = await options.onToken?.(t);
  if (stop === true) throw new WebvlError('ABORTED', 'caption was cancelled');
  checkAbort(options.signal);
}

/** A finished caption. */
export interface CaptionResult {
  /** The caption, starting with the prompt when one was given (as transformers decodes it). */
  readonly text: string;
  /** The generated tokens (after the prompt). */
  readonly tokenIds: number[];
  /** Sum of token log-probabilities of the returned caption. */
  readonly logProb: number;
  /** Whether the KV cache stayed on the GPU between steps (DeviceTensor) rather than in host memory. */
  readonly cacheOnDevice: boolean;
  /** Florence-2's region tasks (`options.task` `'<OD>'`, `'<OCR_WITH_REGION>'`, …): the regions its text names. */
  readonly regions?: CaptionRegions;
}

/** Feeds of a decoder without a cache: the whole sequences, every token attended. */
function wholeSequenceFeeds(session: Session, ids: HostTensor, states: Tensor) {
  const f: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') f[name] = ids;
    else if (name === 'encoder_hidden_states') f[name] = states;
    else if (name === 'attention_mask')
      f[name] = hostTensor('int64', ids.dims, new BigInt64Array(ids.data.length).fill(1n));
    else if (name === 'encoder_attention_mask') f[name] = encoderMask(states);
    else throw new WebvlError('INVALID_MODEL', `decoder has an input we do not know how to feed: '${name}'`);
  }
  return f;
}

/** Every image token attended: [batch, tokens] of ones. */
function encoderMask(states: Tensor): HostTensor {
  const [batch, n] = states.dims;
  return hostTensor('int64', [batch, n], new BigInt64Array(batch * n).fill(1n));
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new WebvlError('ABORTED', 'caption was cancelled');
}

/** Between decoder steps: let pending messages (an abort) in, then honour the signal. */
async function stepBoundary(signal: AbortSignal | undefined): Promise<void> {
  await nextTask();
  checkAbort(signal);
}

/** Logits of the last position of every row: [B, S, V] → B rows of V. */
async function lastLogits(t: Tensor): Promise<Float32Array[]> {
  const h = await toHostFloats(t);
  disposeTensor(t);
  const [b, s, v] = h.dims;
  const data = h.data as Float32Array;
  return Array.from({ length: b }, (_, i) => data.subarray((i * s + s - 1) * v, (i * s + s) * v));
}

/** generation_config's max_length, within what the decoder's positions allow. */
function defaultMaxTokens(model: LoadedModel): number {
  const gen = model.generation?.maxLength ?? 0;
  return Math.min(gen, model.captionLimits?.maxTokens ?? gen);
}

function decoders(model: LoadedModel) {
  if (!model.decoder || !model.generation) {
    throw unsupportedTask(model.url, model.kind, 'caption');
  }
  // The KV cache needs both graphs and a decoder_model that returns it.
  const cached =
    model.decoderWithPast !== undefined && model.decoder.outputNames.some((n) => n.startsWith('present'));
  return { first: model.decoder, step: cached ? model.decoderWithPast : undefined, gen: model.generation };
}

/** The decoder's first tokens: bos, then the prompt's (transformers: [CLS] prompt [SEP] → bos prompt). */
function startIds(model: LoadedModel, bos: number, prompt: string | undefined): number[] {
  if (prompt === undefined) return [bos];
  return [bos, ...model.tokenizer.encode(prompt, false)];
}

/**
 * New tokens that fit the decoder's positions after the start: the last one chosen is never fed back, so a
 * start of s tokens leaves positions − s + 1.
 */
function room(model: LoadedModel, start: readonly number[], asked: number): number {
  const positions = model.captionLimits?.maxTokens ?? Number.POSITIVE_INFINITY;
  const fits = positions - start.length + 1;
  if (fits < 1) {
    throw new WebvlError(
      'TEXT_TOO_LONG',
      `the prompt leaves no room in the decoder's ${positions} positions`,
      {
        tokens: start.length,
        maxLength: positions,
      },
    );
  }
  return Math.min(asked, fits);
}

/** Caption text: prompt and generated tokens, special tokens dropped. */
function captionText(model: LoadedModel, start: readonly number[], ids: readonly number[]): string {
  return model.tokenizer.decode([...start.slice(1), ...ids]);
}

/**
 * What a caption decodes from: the decoder's first tokens, its end token and length, a decoder over the image,
 * and the logits processors of the model's generation config (Florence-2's forced first token and n-gram rule).
 */
export interface CaptionSource {
  /** Tokens fed before the first one chosen (BLIP: bos and the prompt; Florence-2: decoder_start_token_id). */
  readonly start: readonly number[];
  readonly eosTokenId: number;
  /** Most tokens chosen (the end token included). */
  readonly maxTokens: number;
  readonly decoder: CaptionDecoder;
  /** The caption of `ids` (the tokens chosen), as it is returned and streamed. */
  text(ids: readonly number[]): string;
  /**
   * Rules on step `step`'s log-probabilities of a sequence that has chosen `ids` so far, applied in place
   * (transformers' logits processors, which run after the log-softmax in beam search).
   */
  constrain?(logProbs: Float64Array, ids: readonly number[], step: number): void;
}

/** BLIP's and CoCa's captions: the image tokens read by decoder_model (and decoder_with_past_model). */
function blipSource(model: LoadedModel, states: Tensor, options: CaptionOptions): CaptionSource {
  const { gen } = decoders(model);
  const start = startIds(model, gen.bosTokenId, options.prompt);
  const maxTokens = room(model, start, options.maxTokens ?? defaultMaxTokens(model));
  return {
    start,
    eosTokenId: gen.eosTokenId,
    maxTokens,
    decoder: captionDecoder(model, states, start, maxTokens),
    text: (ids) => captionText(model, start, ids),
  };
}

export function captionGreedy(
  model: LoadedModel,
  states: Tensor,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  return decodeGreedy(blipSource(model, states, options), options, watch);
}

export async function decodeGreedy(
  source: CaptionSource,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  const { decoder, eosTokenId: eos } = source;
  const ids: number[] = [];
  let logProb = 0;
  try {
    // Each step feeds what the decoder has not seen: the start, then the token chosen last.
    let fed = source.start;
    for (let t = 0; t < source.maxTokens; t++) {
      await stepBoundary(options.signal);
      const tokens = fed;
      const [row] = await watch.time('decode', () => decoder.next([tokens]));
      if (t < (options.minTokens ?? 0)) row[eos] = Number.NEGATIVE_INFINITY;
      const lp = logSoftmax(row);
      source.constrain?.(lp, ids, t);
      const tok = argmax(lp);
      logProb += lp[tok];
      if (tok === eos) break;
      ids.push(tok);
      fed = [tok];
      await emit(options, { tokenId: tok, text: source.text(ids), step: t });
    }
    return { text: source.text(ids), tokenIds: ids, logProb, cacheOnDevice: decoder.onDevice() };
  } finally {
    decoder.release();
  }
}

/**
 * Slots a caption's KV cache grows by. Captions are short (max_length 20 by default), and every step attends
 * over, and copies, all the slots of its capacity: on SwiftShader blocks of 64 made blip-tiny's steps markedly
 * slower than blocks of 16, which still plan once per block rather than once per token.
 */
export const CAPTION_CACHE_BLOCK = 16;

/**
 * A caption's decoder over a batch of sequences (one for greedy, a beam per row for beam search). `next` feeds
 * each row's tokens after those fed to it before and gives each row's logits at its last position; `reorder`
 * makes row i continue row `rows[i]`.
 */
export interface CaptionDecoder {
  next(rows: readonly (readonly number[])[]): Promise<Float32Array[]>;
  reorder(rows: readonly number[]): Promise<void>;
  /** Whether the KV cache stayed on the GPU between steps. */
  onDevice(): boolean;
  release(): void;
}

function captionDecoder(
  model: LoadedModel,
  states: Tensor,
  start: readonly number[],
  maxTokens: number,
): CaptionDecoder {
  const { first, step } = decoders(model);
  const ids = (rows: readonly (readonly number[])[]) =>
    hostTensor('int64', [rows.length, rows[0].length], rows.flat());
  if (!step) {
    // No cache: the whole sequences every step, the image states repeated once per batch size.
    let sequences: number[][] = [[]];
    const statesFor = rowRepeater(states);
    return {
      async next(rows) {
        for (const [r, tokens] of rows.entries()) sequences[r].push(...tokens);
        const out = await first.run(
          wholeSequenceFeeds(first, ids(sequences), await statesFor(sequences.length)),
        );
        for (const [name, t] of Object.entries(out)) if (name !== 'logits') disposeTensor(t);
        if (!out.logits) throw new WebvlError('INVALID_MODEL', 'decoder has no logits output');
        return lastLogits(out.logits);
      },
      async reorder(rows) {
        sequences = rows.map((r) => [...sequences[r]]);
      },
      onDevice: () => false,
      release: () => statesFor.release(),
    };
  }
  const context: Record<string, Tensor> = {
    encoder_hidden_states: states,
    encoder_attention_mask: encoderMask(states),
  };
  const cache = model.captionCache;
  const state = new DecoderState(
    {
      session: step,
      first,
      kv: cache?.kv ?? { layers: 0, heads: 0, headDim: 0 },
      kvCache: async () => cache?.factory(),
    },
    GREEDY,
    // The decoder's own limit bounds the cache, not this caption's length: every caption (and the warm-up's
    // two tokens) then grows the cache through the same capacities, so their plans are shared.
    model.captionLimits?.maxTokens ?? start.length + maxTokens,
    CAPTION_CACHE_BLOCK,
    context,
  );
  return {
    next: (rows) => state.logitsAfter(ids(rows)),
    reorder: (rows) => state.reorder(rows),
    onDevice: () => state.pastOnDevice,
    release: () => state.release(),
  };
}

interface Beam {
  readonly ids: number[];
  readonly logProb: number;
}

/** The best `k` indices of `values`, best first (ties: lower index first). */
function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

/**
 * Beam search with length-normalised scores (sum log p / length, Hugging Face's length_penalty = 1).
 * Stops when `numBeams` hypotheses have ended or after maxTokens steps. The signal is checked between
 * decoder steps (after yielding, so an abort message can arrive), after each step's run and between beams;
 * onToken is awaited and may stop the search, as in greedy decoding.
 */
export function captionBeam(
  model: LoadedModel,
  states: Tensor,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  return decodeBeam(blipSource(model, states, options), options, watch);
}

export async function decodeBeam(
  source: CaptionSource,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  const numBeams = options.numBeams ?? 3;
  const { decoder, start, maxTokens } = source;
  const finished: Beam[] = [];
  let beams: Beam[] = [{ ids: [], logProb: 0 }];
  const score = (b: Beam) => b.logProb / Math.max(1, b.ids.length + 1);
  try {
    // Each step feeds every beam what the decoder has not seen: the start, then the beam's newest token.
    let fed: (readonly number[])[] = [start];
    for (let t = 0; t < maxTokens && beams.length; t++) {
      await stepBoundary(options.signal);
      const tokens = fed;
      const rows = await watch.time('decode', () => decoder.next(tokens));
      const candidates: { parent: number; tok: number; logProb: number }[] = [];
      for (const [parent, row] of rows.entries()) {
        checkAbort(options.signal);
        const lp = logSoftmax(row);
        source.constrain?.(lp, beams[parent].ids, t);
        // Only the best 2·numBeams tokens of each beam can make the global top 2·numBeams.
        for (const tok of topIndices(lp, 2 * numBeams))
          candidates.push({ parent, tok, logProb: beams[parent].logProb + lp[tok] });
      }
      candidates.sort((a, b) => b.logProb - a.logProb);
      const kept: { parent: number; beam: Beam }[] = [];
      for (const c of candidates) {
        if (kept.length >= numBeams) break;
        const ids = [...beams[c.parent].ids];
        if (c.tok === source.eosTokenId) {
          if (finished.length < numBeams) finished.push({ ids, logProb: c.logProb });
          continue;
        }
        ids.push(c.tok);
        kept.push({ parent: c.parent, beam: { ids, logProb: c.logProb } });
      }
      beams = kept.map((k) => k.beam);
      if (beams.length) {
        const best = beams[0];
        await emit(options, {
          tokenId: best.ids[best.ids.length - 1],
          text: source.text(best.ids),
          step: t,
        });
      }
      if (!beams.length || finished.length >= numBeams || t + 1 === maxTokens) break;
      await decoder.reorder(kept.map((k) => k.parent));
      fed = beams.map((b) => [b.ids[b.ids.length - 1]]);
    }
    const pool = finished.length ? finished : beams;
    const best = pool.reduce((a, b) => (score(b) > score(a) ? b : a));
    return {
      text: source.text(best.ids),
      tokenIds: best.ids,
      logProb: best.logProb,
      cacheOnDevice: decoder.onDevice(),
    };
  } finally {
    decoder.release();
  }
}
