// Caption decoding, as transformers' BlipForConditionalGeneration.generate: the sequence starts with the
// decoder's bos ([DEC]) and, with a text prompt, the prompt's tokens; the end token is text_config's
// sep_token_id. With the exported decoder pair, decoder_model runs the prefix and returns the KV cache
// (present.*) and decoder_with_past takes one token and the cache per step; a folder with decoder_model
// alone (no cache outputs) runs it over the whole sequence each step. Greedy decodes through DecoderState: on
// our engine the cache is held on the GPU at a fixed capacity (one plan for every step), elsewhere each step's
// presents are the next one's past, as the backend returned them. Beam search reorders the cache rows between
// steps, which we do on the host (tiny models, a few beams).
import { PAST_LENGTH, type Session } from '../engine/backend';
import { type HostTensor, hostTensor, type Tensor, toHost } from '../engine/tensor';
import { WebvlError } from '../errors';
import { unsupportedTask } from './architecture';
import { disposeTensor, gatherRows } from './encode';
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
}

type Cache = Record<string, Tensor>;

function pastName(presentName: string): string {
  return presentName.replace(/^present(_key_values)?\./, 'past_key_values.');
}

function feeds(session: Session, ids: HostTensor, states: Tensor, past: Cache | undefined, pastLen: number) {
  const f: Record<string, Tensor> = {};
  const [batch, seq] = ids.dims;
  for (const name of session.inputNames) {
    if (name === 'input_ids') f[name] = ids;
    else if (name === 'encoder_hidden_states') f[name] = states;
    else if (name === 'attention_mask')
      f[name] = hostTensor(
        'int64',
        [batch, pastLen + seq],
        new BigInt64Array(batch * (pastLen + seq)).fill(1n),
      );
    else if (name === 'encoder_attention_mask') f[name] = encoderMask(states);
    else if (name === PAST_LENGTH) f[name] = hostTensor('int64', [], [pastLen]);
    else if (name.startsWith('past_key_values.')) {
      const t = past?.[name];
      if (!t)
        throw new WebvlError('INVALID_MODEL', `decoder input '${name}' has no matching present.* output`);
      f[name] = t;
    } else
      throw new WebvlError('INVALID_MODEL', `decoder has an input we do not know how to feed: '${name}'`);
  }
  return f;
}

/** Every image token attended: [batch, tokens] of ones. */
function encoderMask(states: Tensor): HostTensor {
  const [batch, n] = states.dims;
  return hostTensor('int64', [batch, n], new BigInt64Array(batch * n).fill(1n));
}

function splitOutputs(out: Record<string, Tensor>): { logits: Tensor; cache: Cache } {
  const cache: Cache = {};
  for (const [name, t] of Object.entries(out)) if (name.startsWith('present')) cache[pastName(name)] = t;
  if (!out.logits) throw new WebvlError('INVALID_MODEL', 'decoder has no logits output');
  return { logits: out.logits, cache };
}

function disposeCache(c: Cache | undefined): void {
  for (const t of Object.values(c ?? {})) disposeTensor(t);
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
  const h = await toHost(t);
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

export async function captionGreedy(
  model: LoadedModel,
  states: Tensor,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  const { gen } = decoders(model);
  const start = startIds(model, gen.bosTokenId, options.prompt);
  const maxTokens = room(model, start, options.maxTokens ?? defaultMaxTokens(model));
  // The decoder's own limit bounds the cache, not this caption's length: every caption (and the warm-up's
  // two tokens) then grows the cache through the same capacities, so their plans are shared.
  const decoder = greedyDecoder(model, states, model.captionLimits?.maxTokens ?? start.length + maxTokens);
  const ids: number[] = [];
  let logProb = 0;
  try {
    // Each step feeds what the decoder has not seen: the start, then the token chosen last.
    let fed = start;
    for (let t = 0; t < maxTokens; t++) {
      await stepBoundary(options.signal);
      const tokens = fed;
      const row = await watch.time('decode', () => decoder.next(tokens));
      if (t < (options.minTokens ?? 0)) row[gen.eosTokenId] = Number.NEGATIVE_INFINITY;
      const tok = argmax(row);
      logProb += logSoftmax(row)[tok];
      if (tok === gen.eosTokenId) break;
      ids.push(tok);
      fed = [tok];
      await emit(options, { tokenId: tok, text: captionText(model, start, ids), step: t });
    }
    return {
      text: captionText(model, start, ids),
      tokenIds: ids,
      logProb,
      cacheOnDevice: decoder.onDevice(),
    };
  } finally {
    decoder.release();
  }
}

/**
 * Slots a caption's KV cache grows by. Captions are short (max_length 20 by default), and every step attends
 * over, and copies, all the slots of its capacity: on SwiftShader blocks of 64 made blip-tiny's steps markedly
 * slower than blocks of 16, which still plan once per block rather than once per token.
 */
const CAPTION_CACHE_BLOCK = 16;

/** Greedy decoding's decoder: `next` feeds tokens after those fed before and gives the last position's logits. */
interface GreedyDecoder {
  next(tokens: readonly number[]): Promise<Float32Array>;
  /** Whether the KV cache stayed on the GPU between steps. */
  onDevice(): boolean;
  release(): void;
}

function greedyDecoder(model: LoadedModel, states: Tensor, positions: number): GreedyDecoder {
  const { first, step } = decoders(model);
  const ids = (tokens: readonly number[]) => hostTensor('int64', [1, tokens.length], tokens);
  if (!step) {
    // No cache: the whole sequence every step.
    const sequence: number[] = [];
    return {
      async next(tokens) {
        sequence.push(...tokens);
        const out = await first.run(feeds(first, ids(sequence), states, undefined, 0));
        const { logits, cache } = splitOutputs(out);
        disposeCache(cache);
        return (await lastLogits(logits))[0];
      },
      onDevice: () => false,
      release() {},
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
    positions,
    CAPTION_CACHE_BLOCK,
    context,
  );
  return {
    next: (tokens) => state.logitsAfter(ids(tokens)),
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
export async function captionBeam(
  model: LoadedModel,
  states: Tensor,
  options: CaptionOptions,
  watch: Stopwatch,
): Promise<CaptionResult> {
  const { first, step, gen } = decoders(model);
  const numBeams = options.numBeams ?? 3;
  const start = startIds(model, gen.bosTokenId, options.prompt);
  const maxTokens = room(model, start, options.maxTokens ?? defaultMaxTokens(model));
  const hostStates = await toHost(states);
  const finished: Beam[] = [];
  let beams: Beam[] = [{ ids: [], logProb: 0 }];
  let cache: Record<string, HostTensor> = {};
  const score = (b: Beam) => b.logProb / Math.max(1, b.ids.length + 1);
  for (let t = 0; t < maxTokens && beams.length; t++) {
    await stepBoundary(options.signal);
    const withPast = step !== undefined && t > 0;
    const session = withPast ? step : first;
    // All beams have the same length: with a cache each feeds its newest token, else its whole sequence.
    const rowsFed = beams.map((b) => (withPast ? [b.ids[b.ids.length - 1]] : [...start, ...b.ids]));
    const input = hostTensor('int64', [beams.length, rowsFed[0].length], rowsFed.flat());
    const pastLen = start.length + beams[0].ids.length - rowsFed[0].length;
    const enc = gatherRows(
      hostStates,
      beams.map(() => 0),
    );
    const out = await watch.time('decode', () =>
      session.run(feeds(session, input, enc, withPast ? cache : undefined, pastLen)),
    );
    const { logits, cache: next } = splitOutputs(out);
    if (options.signal?.aborted) {
      disposeTensor(logits);
      disposeCache(next);
      checkAbort(options.signal);
    }
    const rows = await lastLogits(logits);
    const candidates: { parent: number; tok: number; logProb: number }[] = [];
    for (const [parent, row] of rows.entries()) {
      if (options.signal?.aborted) {
        disposeCache(next);
        checkAbort(options.signal);
      }
      const lp = logSoftmax(row);
      // Only the best 2·numBeams tokens of each beam can make the global top 2·numBeams.
      for (const tok of topIndices(lp, 2 * numBeams))
        candidates.push({ parent, tok, logProb: beams[parent].logProb + lp[tok] });
    }
    candidates.sort((a, b) => b.logProb - a.logProb);
    const kept: { parent: number; beam: Beam }[] = [];
    for (const c of candidates) {
      if (kept.length >= numBeams) break;
      const ids = [...beams[c.parent].ids];
      if (c.tok === gen.eosTokenId) {
        if (finished.length < numBeams) finished.push({ ids, logProb: c.logProb });
        continue;
      }
      ids.push(c.tok);
      kept.push({ parent: c.parent, beam: { ids, logProb: c.logProb } });
    }
    const hostCache: Record<string, HostTensor> = {};
    for (const [name, tensor] of Object.entries(next)) {
      if (!step) {
        disposeTensor(tensor);
        continue;
      }
      const h = await toHost(tensor);
      disposeTensor(tensor);
      hostCache[name] = gatherRows(
        h,
        kept.map((k) => k.parent),
      );
    }
    cache = hostCache;
    beams = kept.map((k) => k.beam);
    if (beams.length) {
      const best = beams[0];
      await emit(options, {
        tokenId: best.ids[best.ids.length - 1],
        text: captionText(model, start, best.ids),
        step: t,
      });
    }
    if (finished.length >= numBeams) break;
  }
  const pool = finished.length ? finished : beams;
  const best = pool.reduce((a, b) => (score(b) > score(a) ? b : a));
  return {
    text: captionText(model, start, best.ids),
    tokenIds: best.ids,
    logProb: best.logProb,
    cacheOnDevice: false,
  };
}
