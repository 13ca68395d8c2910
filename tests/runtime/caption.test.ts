// Greedy and beam decoding against a scripted language model whose probabilities are written out below,
// so the expected captions and log-probabilities can be worked out by hand. The fake decoder keeps the
// tokens it has seen in its KV cache tensors, so a wrongly reordered cache (beam search) shows up as a
// wrong distribution; every tensor it returns is GPU-like and counted until disposed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/engine/backend';
import { type DeviceTensor, type HostTensor, hostTensor, type Tensor } from '../../src/engine/tensor';
import { WebvlError } from '../../src/errors';
import { captionBeam, captionGreedy } from '../../src/pipelines/caption';
import type { LoadedModel } from '../../src/pipelines/loaded-model';
import { Stopwatch } from '../../src/pipelines/timings';
import { TextTokenizer } from '../../src/text/tokenizer';

const V = 28;
const BOS = 6;
const EOS = 3;
const [A, B, C, D, E] = [10, 11, 12, 13, 14];

/** When set, the decoder's first choice is end-of-sequence (an image the model has nothing to say about). */
let eosFirst = false;

/** Next-token probabilities given the tokens generated so far (after [DEC]). */
function script(prefix: number[]): Map<number, number> {
  const key = prefix.join(',');
  if (key === '' && eosFirst)
    return new Map([
      [EOS, 0.7],
      [A, 0.2],
      [B, 0.1],
    ]);
  if (key === '')
    return new Map([
      [A, 0.5],
      [B, 0.4],
      [EOS, 0.1],
    ]);
  if (key === `${A}`)
    return new Map([
      [C, 0.36],
      [D, 0.34],
      [EOS, 0.3],
    ]);
  if (key === `${B}`)
    return new Map([
      [E, 0.9],
      [EOS, 0.1],
    ]);
  return new Map([[EOS, 1]]);
}
const logit = (p: number | undefined) => (p ? Math.log(p) : -40);

let live = 0;
function deviceTensor(host: HostTensor): DeviceTensor {
  live++;
  let disposed = false;
  return {
    location: 'gpu',
    dtype: host.dtype,
    dims: host.dims,
    download: async () => host,
    dispose() {
      if (!disposed) live--;
      disposed = true;
    },
  };
}

async function host(t: Tensor): Promise<HostTensor> {
  return t.location === 'cpu' ? t : t.download();
}

/** A decoder whose only layer's "key" cache holds the token ids seen so far ([B, 1, L, 1]). */
function fakeDecoder(withPast: boolean): Session {
  return {
    inputNames: withPast
      ? ['input_ids', 'encoder_hidden_states', 'past_key_values.0.key', 'past_key_values.0.value']
      : ['input_ids', 'encoder_hidden_states'],
    outputNames: ['logits', 'present.0.key', 'present.0.value'],
    async run(feeds) {
      const ids = await host(feeds.input_ids);
      const [b, s] = ids.dims;
      const past = withPast ? await host(feeds['past_key_values.0.key']) : undefined;
      const pastLen = past ? past.dims[2] : 0;
      const total = pastLen + s;
      const seen = new Float32Array(b * total);
      const logits = new Float32Array(b * s * V);
      for (let r = 0; r < b; r++) {
        const row: number[] = [];
        for (let i = 0; i < pastLen; i++) row.push((past!.data as Float32Array)[r * pastLen + i]);
        for (let i = 0; i < s; i++) row.push(Number((ids.data as BigInt64Array)[r * s + i]));
        seen.set(row, r * total);
        for (let i = 0; i < s; i++) {
          const probs = script(row.slice(1, pastLen + i + 1));
          for (let v = 0; v < V; v++) logits[(r * s + i) * V + v] = logit(probs.get(v));
        }
      }
      const cache = hostTensor('float32', [b, 1, total, 1], seen);
      return {
        logits: deviceTensor(hostTensor('float32', [b, s, V], logits)),
        'present.0.key': deviceTensor(cache),
        'present.0.value': deviceTensor(cache),
      };
    },
    lastRunStats: () => undefined,
    release: async () => undefined,
  };
}

const dir = new URL('../../models/blip-tiny/', import.meta.url);
const tokenizer = TextTokenizer.fromJson(
  JSON.parse(readFileSync(new URL('tokenizer.json', dir), 'utf8')),
  JSON.parse(readFileSync(new URL('tokenizer_config.json', dir), 'utf8')),
);
const model = {
  url: 'fake',
  tokenizer,
  decoder: fakeDecoder(false),
  decoderWithPast: fakeDecoder(true),
  generation: { bosTokenId: BOS, eosTokenId: EOS, padTokenId: 0, maxLength: 10 },
} as unknown as LoadedModel;
const states = hostTensor('float32', [1, 2, 4], new Float32Array(8));
// Log-probabilities of the scripted tokens after the softmax over all 28 logits (the -40s count a little);
// compared to 6 decimals because the logits are float32.
const lp = (p: number, others: number[]) =>
  Math.log(p / (others.reduce((a, x) => a + x, 0) + (V - others.length) * Math.exp(-40)));

describe('caption decoding with a scripted decoder', () => {
  it('greedy takes the locally best token each step and disposes every GPU tensor', async () => {
    live = 0;
    const streamed: string[] = [];
    const r = await captionGreedy(
      model,
      states,
      { onToken: (t) => void streamed.push(t.text) },
      new Stopwatch(),
    );
    expect(r.tokenIds).toEqual([A, C]);
    const want = lp(0.5, [0.5, 0.4, 0.1]) + lp(0.36, [0.36, 0.34, 0.3]) + lp(1, [1]);
    expect(r.logProb).toBeCloseTo(want, 6);
    expect(streamed).toEqual([tokenizer.decode([A]), tokenizer.decode([A, C])]);
    expect(r.cacheOnDevice).toBe(true);
    expect(live).toBe(0);
  });

  it('beam search (2 beams) finds the better sequence greedy misses, through a reordered cache', async () => {
    live = 0;
    const r = await captionBeam(model, states, { numBeams: 2 }, new Stopwatch());
    expect(r.tokenIds).toEqual([B, E]);
    expect(r.logProb).toBeCloseTo(lp(0.4, [0.5, 0.4, 0.1]) + lp(0.9, [0.9, 0.1]) + lp(1, [1]), 6);
    expect(live).toBe(0);
  });

  it('returning true from onToken cancels with ABORTED and still releases the cache', async () => {
    live = 0;
    let code = '';
    try {
      await captionGreedy(model, states, { onToken: () => true }, new Stopwatch());
    } catch (e) {
      code = e instanceof WebvlError ? e.code : 'untyped';
    }
    expect(code).toBe('ABORTED');
    expect(live).toBe(0);
  });

  it('end-of-sequence first: an empty caption is a result, greedy and beam, with every tensor released', async () => {
    eosFirst = true;
    try {
      live = 0;
      const streamed: string[] = [];
      const g = await captionGreedy(
        model,
        states,
        { onToken: (t) => void streamed.push(t.text) },
        new Stopwatch(),
      );
      expect(g).toMatchObject({ text: '', tokenIds: [] });
      expect(g.logProb).toBeCloseTo(lp(0.7, [0.7, 0.2, 0.1]), 6);
      expect(streamed).toEqual([]);
      // 1 beam finishes at once with EOS and 1 is all that is asked for.
      const b = await captionBeam(model, states, { numBeams: 1 }, new Stopwatch());
      expect(b).toMatchObject({ text: '', tokenIds: [] });
      expect(live).toBe(0);
    } finally {
      eosFirst = false;
    }
  });

  it('beam search: returning true from onToken cancels with ABORTED at that step, cache released', async () => {
    live = 0;
    const steps: number[] = [];
    let code = '';
    try {
      await captionBeam(
        model,
        states,
        {
          numBeams: 2,
          onToken: (t) => {
            steps.push(t.step);
            return true;
          },
        },
        new Stopwatch(),
      );
    } catch (e) {
      code = e instanceof WebvlError ? e.code : 'untyped';
    }
    expect(code).toBe('ABORTED');
    expect(steps).toEqual([0]);
    expect(live).toBe(0);
  });

  it('beam search: an aborted signal stops it before the next decoder step', async () => {
    const ctl = new AbortController();
    const steps: number[] = [];
    let code = '';
    try {
      await captionBeam(
        model,
        states,
        {
          numBeams: 2,
          signal: ctl.signal,
          onToken: (t) => {
            steps.push(t.step);
            ctl.abort(); // not returned: only the signal says stop
            return undefined;
          },
        },
        new Stopwatch(),
      );
    } catch (e) {
      code = e instanceof WebvlError ? e.code : 'untyped';
    }
    expect(code).toBe('ABORTED');
    expect(steps).toEqual([0]);
  });

  it('maxTokens stops decoding early', async () => {
    const r = await captionGreedy(model, states, { maxTokens: 1 }, new Stopwatch());
    expect(r.tokenIds).toEqual([A]);
  });
});

describe('caption decoding without a KV cache (decoder_model alone, as the blip-hf export) and with a prompt', () => {
  // The same scripted decoder, but the folder has no decoder_with_past: every step runs the whole sequence.
  const noPast = { ...model, decoderWithPast: undefined } as unknown as LoadedModel;

  it('greedy and beam search give the cached results, and every returned tensor is disposed', async () => {
    live = 0;
    const greedy = await captionGreedy(noPast, states, {}, new Stopwatch());
    expect(greedy.tokenIds).toEqual([A, C]);
    expect(greedy.logProb).toBeCloseTo(
      lp(0.5, [0.5, 0.4, 0.1]) + lp(0.36, [0.36, 0.34, 0.3]) + lp(1, [1]),
      6,
    );
    expect(greedy.cacheOnDevice).toBe(false);
    const beam = await captionBeam(noPast, states, { numBeams: 2 }, new Stopwatch());
    expect(beam.tokenIds).toEqual([B, E]);
    expect(live).toBe(0);
  });

  it("a prompt's tokens follow [DEC] (transformers: [CLS] → bos, [SEP] dropped); the text starts with it", async () => {
    // 'below' is token 10 = A: after it the script says C (0.36) over D (0.34), then the end.
    expect(tokenizer.encode('below', false)).toEqual([A]);
    for (const m of [model, noPast]) {
      live = 0;
      const streamed: string[] = [];
      const r = await captionGreedy(
        m,
        states,
        { prompt: 'below', onToken: (t) => void streamed.push(t.text) },
        new Stopwatch(),
      );
      expect(r.tokenIds).toEqual([C]);
      expect(r.text).toBe(tokenizer.decode([A, C]));
      expect(streamed).toEqual([tokenizer.decode([A, C])]);
      expect(r.logProb).toBeCloseTo(lp(0.36, [0.36, 0.34, 0.3]) + lp(1, [1]), 6);
      const beam = await captionBeam(m, states, { numBeams: 2, prompt: 'below' }, new Stopwatch());
      expect(beam.tokenIds).toEqual([C]);
      expect(beam.text).toBe(tokenizer.decode([A, C]));
      expect(live).toBe(0);
    }
  });
});
