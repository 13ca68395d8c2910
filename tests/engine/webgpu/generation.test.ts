// Generation on our engine with a LLaMA-style merged decoder (scripts/make_llama_decoder.py: RMSNorm, rotary,
// GQA, SwiGLU, If on use_cache_branch): the KV cache held on the GPU at a fixed capacity, one plan for every
// step, the next token chosen on the GPU. Tokens and logits against PyTorch's own cached greedy decoding.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeDiff } from '../../../bench/stats';
import type { Session } from '../../../src/engine/backend';
import { type HostTensor, hostTensor, type Tensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import {
  type DecoderHandle,
  DecoderState,
  type KvShape,
} from '../../../src/pipelines/generate/decoder-state';
import { GREEDY, type Sampling } from '../../../src/pipelines/generate/sampling';
import { nodeGpu } from './gpu';

const DIR = 'tests/corpus/llava-random';
const ref = JSON.parse(readFileSync(`${DIR}/reference.json`, 'utf8')) as {
  config: { layers: number; kv_heads: number; head_dim: number; vocab: number };
  prompt_embeds: { dims: number[]; data: number[] };
  greedy_tokens: number[];
  step_logits: number[][];
};
const kv: KvShape = { layers: ref.config.layers, heads: ref.config.kv_heads, headDim: ref.config.head_dim };
const prompt = hostTensor('float32', ref.prompt_embeds.dims, ref.prompt_embeds.data);
const decoderBytes = new Uint8Array(readFileSync(`${DIR}/onnx/decoder_model_merged.onnx`));
const embedBytes = new Uint8Array(readFileSync(`${DIR}/onnx/embed_tokens.onnx`));

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

const onOurEngine = (session: Session): DecoderHandle => ({
  session,
  kv,
  kvCache: async () => (spec) => backend.kvCache(spec),
});
/** No cache on the device: the exact-length path every other backend takes. */
const exactLength = (session: Session): DecoderHandle => ({ session, kv, kvCache: async () => undefined });

/** Generates `n` tokens: the prompt, then each token's embedding (embed_tokens, kept on the GPU). */
async function generate(state: DecoderState, embed: Session, n: number): Promise<number[]> {
  const tokens = [await state.feed(prompt)];
  while (tokens.length < n) {
    const { inputs_embeds } = await embed.run({
      input_ids: hostTensor('int64', [1, 1], [tokens.at(-1) as number]),
    });
    tokens.push(await state.feed(inputs_embeds as Tensor));
    (inputs_embeds as { dispose?: () => void }).dispose?.();
  }
  return tokens;
}

describe('generation with a GPU KV cache', () => {
  it('greedy tokens equal PyTorch’s; every step after the first runs one plan and reads back one token id', async () => {
    const decoder = (await backend.load(decoderBytes, {
      label: 'decoder',
      keepOnDevice: ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'],
      nextToken: { logits: 'logits', topK: 8 },
    })) as WebGpuSession;
    const embed = await backend.load(embedBytes, { keepOnDevice: ['inputs_embeds'] });
    const state = new DecoderState(onOurEngine(decoder), GREEDY, 64);
    const signatures = new Set<string>();
    const tokens = [await state.feed(prompt)];
    while (tokens.length < ref.greedy_tokens.length) {
      const { inputs_embeds } = await embed.run({
        input_ids: hostTensor('int64', [1, 1], [tokens.at(-1) as number]),
      });
      tokens.push(await state.feed(inputs_embeds as Tensor));
      signatures.add(decoder.describePlan()?.signature ?? '');
      // The token id, as the GPU holds it (one 32-bit word); logits and the cache stay on the device.
      expect(decoder.lastRunStats()?.bytesRead).toBe(4);
    }
    expect(tokens).toEqual(ref.greedy_tokens);
    expect(state.cacheOnDevice).toBe(true);
    expect(signatures.size).toBe(1);
    const plan = decoder.describePlan();
    expect(plan?.opCounts['webvl:SampleTopK']).toBe(1);
    expect(plan?.opCounts['webvl:Rotary']).toBe(4);
    expect(plan?.opCounts['webvl:Attention']).toBe(2);
    state.release();
    await decoder.release();
    await embed.release();
  });

  it('a cache that grows in small blocks, and the exact-length path, give the same tokens', async () => {
    const embed = await backend.load(embedBytes, { keepOnDevice: ['inputs_embeds'] });
    const presents = ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'];
    const grown = await backend.load(decoderBytes, {
      keepOnDevice: presents,
      nextToken: { logits: 'logits', topK: 1 },
    });
    const small = new DecoderState(onOurEngine(grown), GREEDY, 64, 8);
    expect(await generate(small, embed, ref.greedy_tokens.length)).toEqual(ref.greedy_tokens);
    small.release();
    // Exact path: logits read back and the token picked on the host; presents fed back as pasts.
    const plain = await backend.load(decoderBytes, { keepOnDevice: presents });
    const exact = new DecoderState(exactLength(plain), GREEDY, 64);
    expect(await generate(exact, embed, ref.greedy_tokens.length)).toEqual(ref.greedy_tokens);
    expect(exact.cacheOnDevice).toBe(false);
    exact.release();
    await grown.release();
    await plain.release();
    await embed.release();
  });

  it('the exact-length path rewinds host presents (a later chat turn reuses part of them)', async () => {
    const embed = await backend.load(embedBytes);
    const plain = await backend.load(decoderBytes); // presents come back to the host
    const exact = new DecoderState(exactLength(plain), GREEDY, 64);
    const all = ref.greedy_tokens;
    expect(await generate(exact, embed, 6)).toEqual(all.slice(0, 6));
    expect(exact.length).toBe(6 + 5);
    // Back to the prompt and two tokens, then on again from the third: PyTorch's tokens after it.
    exact.rewind(6 + 2);
    expect(exact.length).toBe(8);
    const tokens = [all[2]];
    while (tokens.length < all.length - 2) {
      const { inputs_embeds } = await embed.run({
        input_ids: hostTensor('int64', [1, 1], [tokens.at(-1) as number]),
      });
      tokens.push(await exact.feed(inputs_embeds as Tensor));
    }
    expect(tokens).toEqual(all.slice(2));
    expect(() => exact.rewind(exact.length + 1)).toThrow(/cannot rewind/);
    exact.release();
    // Presents a backend keeps on its device, without a cache to truncate, cannot be cut on the host.
    const presents = ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'];
    const kept = await backend.load(decoderBytes, { keepOnDevice: presents });
    const onDevice = new DecoderState(exactLength(kept), GREEDY, 64);
    await generate(onDevice, embed, 2);
    expect(() => onDevice.rewind(6)).toThrow(/cannot rewind its cache/);
    onDevice.release();
    await plain.release();
    await kept.release();
    await embed.release();
  });

  it('first-step logits equal PyTorch’s', async () => {
    const session = await backend.load(decoderBytes);
    const feeds: Record<string, Tensor> = {
      inputs_embeds: prompt,
      attention_mask: hostTensor('int64', [1, 6], new BigInt64Array(6).fill(1n)),
      position_ids: hostTensor('int64', [1, 6], [0, 1, 2, 3, 4, 5]),
      use_cache_branch: hostTensor('bool', [1], [0]),
    };
    for (let i = 0; i < kv.layers; i++)
      for (const part of ['key', 'value'])
        feeds[`past_key_values.${i}.${part}`] = hostTensor('float32', [1, kv.heads, 0, kv.headDim], []);
    const logits = (await session.run(feeds)).logits as HostTensor;
    const v = ref.config.vocab;
    const last = (logits.data as Float32Array).subarray(5 * v, 6 * v);
    expect(relativeDiff(last, Float32Array.from(ref.step_logits[0]))).toBeLessThan(1e-5);
    await session.release();
  });

  it('sampling on the GPU draws the tokens the host draws from the same logits and seed', async () => {
    const sampling: Sampling = { temperature: 0.9, topK: 6, topP: 0.85, seed: 1234 };
    const embed = await backend.load(embedBytes, { keepOnDevice: ['inputs_embeds'] });
    const presents = ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'];
    const onGpu = await backend.load(decoderBytes, {
      keepOnDevice: presents,
      nextToken: { logits: 'logits', topK: 8 },
    });
    const gpuState = new DecoderState(onOurEngine(onGpu), sampling, 64);
    const gpuTokens = await generate(gpuState, embed, 10);
    const onHost = await backend.load(decoderBytes, { keepOnDevice: presents });
    const hostState = new DecoderState(exactLength(onHost), sampling, 64);
    expect(await generate(hostState, embed, 10)).toEqual(gpuTokens);
    // Sampling moved away from the greedy path.
    expect(gpuTokens).not.toEqual(ref.greedy_tokens.slice(0, 10));
    gpuState.release();
    hostState.release();
    for (const s of [onGpu, onHost, embed]) await s.release();
  });

  it('a repetition penalty on the GPU head picks what the host picks', async () => {
    const embed = await backend.load(embedBytes, { keepOnDevice: ['inputs_embeds'] });
    const presents = ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'];
    const onGpu = await backend.load(decoderBytes, {
      keepOnDevice: presents,
      nextToken: { logits: 'logits', topK: 8, repetitionPenalty: true },
    });
    const onHost = await backend.load(decoderBytes, { keepOnDevice: presents });
    const run = async (handle: DecoderHandle) => {
      const state = new DecoderState(handle, GREEDY, 64);
      // The prompt's tokens as the penalty sees them (its embeddings come from elsewhere): the first greedy ones.
      state.setRepetitionPenalty(1.8, ref.greedy_tokens.slice(0, 2));
      const tokens = await generate(state, embed, 10);
      state.release();
      return tokens;
    };
    const host = await run(exactLength(onHost));
    expect(await run({ ...onOurEngine(onGpu), vocab: ref.config.vocab })).toEqual(host);
    // The penalty moved the answer off the greedy path.
    expect(host).not.toEqual(ref.greedy_tokens.slice(0, 10));
    expect((onGpu as WebGpuSession).describePlan()?.opCounts['webvl:RepetitionPenalty']).toBe(1);
    for (const s of [onGpu, onHost, embed]) await s.release();
  });

  it('refuses a sequence past its positions', async () => {
    const session = await backend.load(decoderBytes, { nextToken: { logits: 'logits', topK: 1 } });
    const state = new DecoderState(onOurEngine(session), GREEDY, 4);
    await expect(state.feed(prompt)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await session.release();
  });
});
