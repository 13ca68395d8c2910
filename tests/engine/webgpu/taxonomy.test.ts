// ViLT (single stream), VLMo (modality experts) and CoCa (contrastive captioner) through the public runtime API in
// Node, on our engine (backend 'webgpu': Dawn on SwiftShader) and on onnxruntime-web (backend 'wasm'), with the
// random-weight folders of scripts/make_taxo_random.py (tests/corpus/<family>-random/). The same calls on both
// runtimes must give the same scores, answers, caption tokens and hits, and they are held to PyTorch's outputs in
// the folder's reference.json too. A task the architecture cannot do is UNSUPPORTED_TASK on both (llava-random's
// too); info() names the mode each request ran in. The last part loads each folder with a selector that may fall back to onnxruntime-web
// and reads our engine's plans: every graph placed on our engine, attention fused, including CoCa's attentional
// pooling, VLMo's expert switch and the modality-type embeddings.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../../src/api/runtime';
import type { ArchitectureInfo, MatchScore, RetrievalHit, RunMode } from '../../../src/api/types';
import type { Backend, BackendName } from '../../../src/engine/backend';
import { BackendSelector } from '../../../src/engine/select';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { WebGpuSession } from '../../../src/engine/webgpu/session';
import { WebvlError } from '../../../src/errors';
import { openModelFolder } from '../../../src/models/model-folder';
import { captionGreedy } from '../../../src/pipelines/caption';
import { disposeTensor, encodeImages, encodeTexts, imageTokens } from '../../../src/pipelines/encode';
import { fusionLogits } from '../../../src/pipelines/fusion';
import { type LoadedModel, loadModel } from '../../../src/pipelines/loaded-model';
import { Stopwatch } from '../../../src/pipelines/timings';
import { fakeServer } from '../../support/fake-folder-server';
import { disc } from '../../support/images';
import { inProcessRuntime, type ModelServer, startModelServer } from '../../support/in-process-runtime';
import { maxDiff, rgbaOf, unit } from '../../support/reference-values';
import { nodeGpu } from './gpu';

type Family = 'vilt' | 'vlmo' | 'coca';
type Message = { role: 'user' | 'assistant'; content: string };
interface Reference {
  images: { width: number; height: number; rgb: number[] }[];
  texts: string[];
  image_embeds?: number[][];
  text_embeds?: number[][];
  itc?: number[];
  itm?: number[];
  questions?: { messages: Message[]; answer: string; probability: number }[];
  captions?: string[];
}

const folder = (f: Family) => `tests/corpus/${f}-random/`;
const reference = (f: Family) => JSON.parse(readFileSync(`${folder(f)}reference.json`, 'utf8')) as Reference;
/** The WebvlError code a call rejects with ('result' when it resolves). */
async function outcome(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'result';
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
}
/** Our engine's and onnxruntime-web's scores agree to float rounding (1e-4); PyTorch's within 1e-3. */
const SAME = 1e-4;
const TORCH = 1e-3;

let server: ModelServer;
let ours: Runtime;
let ort: Runtime;
const savedNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
beforeAll(async () => {
  // The runtime finds WebGPU where a worker does: navigator.gpu (here Dawn on SwiftShader).
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: nodeGpu() }, configurable: true });
  server = await startModelServer();
  ours = await inProcessRuntime(server, { backend: 'webgpu' });
  ort = await inProcessRuntime(server, { backend: 'wasm' });
}, 120_000);
afterAll(async () => {
  await ours?.dispose();
  await ort?.dispose();
  await server?.close();
  if (savedNavigator) Object.defineProperty(globalThis, 'navigator', savedNavigator);
  else Reflect.deleteProperty(globalThis, 'navigator');
});

/** Loads the family into both runtimes; our engine's graphs must all be placed on our engine. */
async function loadBoth(f: Family): Promise<ArchitectureInfo> {
  const url = `${server.origin}/${folder(f)}`;
  await Promise.all([ours.load(url), ort.load(url)]);
  const [a, b] = await Promise.all([ours.info(), ort.info()]);
  expect(a.backend).toBe('webgpu');
  expect(b.backend).toBe('wasm');
  expect(a.model?.kind).toBe(f);
  expect(a.model?.placements.length).toBeGreaterThan(0);
  for (const p of a.model?.placements ?? []) expect(p.backend).toBe('webgpu');
  expect(a.model?.architecture).toEqual(b.model?.architecture);
  return a.model!.architecture;
}

const lastRun = async (rt: Runtime): Promise<RunMode | undefined> => (await rt.info()).lastRun;

function sameMatches(a: MatchScore[], b: MatchScore[]) {
  expect(a.map((x) => x.text)).toEqual(b.map((x) => x.text));
  for (const key of ['itc', 'itm'] as const) {
    const x = a.map((s) => s[key]);
    const y = b.map((s) => s[key]);
    if (x.every((v) => v === undefined)) expect(y.every((v) => v === undefined)).toBe(true);
    else expect(maxDiff(x.map(Number), y.map(Number))).toBeLessThan(SAME);
  }
}

/** The same ids with the same scores; the same order wherever scores differ by more than rounding. */
function sameHits(a: RetrievalHit[], b: RetrievalHit[]) {
  expect(a.map((h) => h.id).sort()).toEqual(b.map((h) => h.id).sort());
  const score = (h: RetrievalHit) => h.itm ?? h.itc ?? Number.NaN;
  const byId = new Map(b.map((h) => [h.id, h]));
  for (const h of a) {
    const o = byId.get(h.id)!;
    expect(h.itc === undefined).toBe(o.itc === undefined);
    expect(h.itm === undefined).toBe(o.itm === undefined);
    expect(Math.abs(score(h) - score(o))).toBeLessThan(SAME);
  }
  for (let i = 1; i < a.length; i++) {
    if (Math.abs(score(a[i - 1]) - score(a[i])) > 10 * SAME) expect(a[i].id).toBe(b[i].id);
  }
}

async function embeddingsMatchTorch(ref: Reference) {
  for (const rt of [ours, ort]) {
    for (const [i, im] of ref.images.entries()) {
      const e = await rt.embedImage(rgbaOf(im) as never);
      expect(maxDiff(e, unit(ref.image_embeds![i]))).toBeLessThan(TORCH);
    }
    const t = await rt.embedText(ref.texts);
    t.forEach((e, i) => {
      expect(maxDiff(e, unit(ref.text_embeds![i]))).toBeLessThan(TORCH);
    });
    expect(await lastRun(rt)).toEqual({ task: 'embed', mode: 'dual encoder', pairs: 0 });
  }
  const [a, b] = [
    await ours.embedImage(rgbaOf(ref.images[0]) as never),
    await ort.embedImage(rgbaOf(ref.images[0]) as never),
  ];
  expect(maxDiff(a, b)).toBeLessThan(SAME);
}

async function answersMatch(ref: Reference) {
  for (const q of ref.questions!) {
    const streamed: string[] = [];
    const a = await ours.chat(rgbaOf(ref.images[1]) as never, q.messages, {
      topAnswers: 3,
      onToken: (t) => void streamed.push(t.text),
    });
    const b = await ort.chat(rgbaOf(ref.images[1]) as never, q.messages, { topAnswers: 3 });
    expect(a.text).toBe(q.answer);
    expect(b.text).toBe(q.answer);
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(streamed.at(-1)).toBe(a.text);
    expect(streamed.length).toBe(a.tokenIds.length);
    expect(a.answers?.map((x) => x.answer)).toEqual(b.answers?.map((x) => x.answer));
    expect(a.answers).toHaveLength(3);
    expect(
      maxDiff(
        a.answers!.map((x) => x.probability),
        b.answers!.map((x) => x.probability),
      ),
    ).toBeLessThan(SAME);
    expect(Math.abs(a.answers![0].probability - q.probability)).toBeLessThan(TORCH);
    expect(await lastRun(ours)).toEqual({ task: 'ask', mode: 'classifier', pairs: 1 });
  }
  // ask() is chat() with one user message; the answer list defaults to five.
  const one = ref.questions!.find((q) => q.messages.length === 1)!;
  const asked = await ours.ask(rgbaOf(ref.images[1]) as never, one.messages[0].content);
  expect(asked.text).toBe(one.answer);
  expect(asked.answers).toHaveLength(5);
}

/** Options of ask/chat on a VQA classifier: integers in range, typed otherwise. */
async function askOptionsChecked(rt: Runtime, answers: number) {
  const img = () => disc('red') as never;
  for (const topAnswers of [0, -1, 1.5, answers + 1, Number.NaN, '3' as never]) {
    expect(await outcome(() => rt.ask(img(), 'what colour?', { topAnswers }))).toBe('INVALID_INPUT');
  }
  for (const maxTokens of [0, 1.5, 1e9]) {
    expect(await outcome(() => rt.ask(img(), 'what colour?', { maxTokens }))).toBe('INVALID_INPUT');
  }
  expect(await outcome(() => rt.ask(img(), 'what colour?', { sampling: { topK: 0 } }))).toBe('INVALID_INPUT');
  // A classifier reads questions: a system message is refused, not read as part of the question.
  const system = [
    { role: 'system' as const, content: 'answer briefly' },
    { role: 'user' as const, content: 'what colour?' },
  ];
  expect(await outcome(() => rt.chat(img(), system))).toBe('INVALID_INPUT');
  expect((await rt.ask(img(), 'what colour?', { topAnswers: answers })).answers).toHaveLength(answers);
}

describe('vilt-random: single stream', () => {
  const ref = reference('vilt');
  let arch: ArchitectureInfo;
  beforeAll(async () => {
    arch = await loadBoth('vilt');
  }, 120_000);

  it('info() names the design: every pair scoring task is a single-stream pass; no embeddings, no captions', () => {
    expect(arch.design).toBe('single stream');
    expect(arch.tasks).toMatchObject({
      match: 'single stream',
      classify: 'single stream',
      search: 'single stream',
      ask: 'classifier',
      embed: null,
      caption: null,
    });
  });

  it('match: ITM from one fusion pass per text, as onnxruntime-web and PyTorch; no ITC', async () => {
    const a = await ours.match(rgbaOf(ref.images[1]) as never, ref.texts);
    const b = await ort.match(rgbaOf(ref.images[1]) as never, ref.texts);
    sameMatches(a, b);
    expect(a.every((s) => s.itc === undefined)).toBe(true);
    expect(
      maxDiff(
        a.map((s) => s.itm ?? Number.NaN),
        ref.itm!,
      ),
    ).toBeLessThan(TORCH);
    expect(await lastRun(ours)).toEqual({ task: 'match', mode: 'single stream', pairs: ref.texts.length });
  });

  it('classify: each label × template a fusion pass, probabilities as onnxruntime-web', async () => {
    const labels = ['circle', 'diamond', 'cross', 'star'];
    const template = ['a large orange {}', 'a small purple {}'];
    const a = await ours.classify(rgbaOf(ref.images[1]) as never, labels, { template });
    const b = await ort.classify(rgbaOf(ref.images[1]) as never, labels, { template });
    expect(a.map((x) => x.label)).toEqual(b.map((x) => x.label));
    expect(
      maxDiff(
        a.map((x) => x.probability),
        b.map((x) => x.probability),
      ),
    ).toBeLessThan(SAME);
    expect(
      maxDiff(
        a.map((x) => x.itm ?? Number.NaN),
        b.map((x) => x.itm ?? Number.NaN),
      ),
    ).toBeLessThan(SAME);
    expect(a.every((x) => x.cosine === undefined)).toBe(true);
    expect(await lastRun(ours)).toEqual({ task: 'classify', mode: 'single stream', pairs: 8 });
  });

  it('ask/chat: the VQA classifier’s answer and top answers, as onnxruntime-web and PyTorch', async () => {
    await answersMatch(ref);
  });

  it('ask options are validated (topAnswers, maxTokens, sampling)', async () => {
    await askOptionsChecked(ours, 94);
  });

  it('search scores every (query, entry) pair from stored patch embeddings; lastRun says how many', async () => {
    const items = () => [
      { id: 'scene0', image: rgbaOf(ref.images[0]) as never },
      { id: 'scene1', image: rgbaOf(ref.images[1]) as never },
      { id: 'disc', image: disc('blue') as never },
    ];
    const [ia, ib] = await Promise.all([ours.openIndex('vilt-ours'), ort.openIndex('vilt-ort')]);
    await ia.upsert(items());
    await ib.upsert(items());
    const a = await ia.search(ref.texts[0], { k: 3 });
    const b = await ib.search(ref.texts[0], { k: 3 });
    expect(a).toHaveLength(3);
    sameHits(a, b);
    expect(a.every((h) => h.itc === undefined && h.itm !== undefined)).toBe(true);
    expect(await lastRun(ours)).toEqual({ task: 'search', mode: 'single stream', pairs: 3 });
    // the ITM of a stored entry is the ITM match() gives the same image
    const direct = await ours.match(rgbaOf(ref.images[1]) as never, [ref.texts[0]]);
    expect(Math.abs((a.find((h) => h.id === 'scene1')?.itm ?? 0) - (direct[0].itm ?? 1))).toBeLessThan(SAME);
    await ia.clear();
    await ib.clear();
  });

  it('embeddings, captions and CapFilt are UNSUPPORTED_TASK, and the runtime serves on', async () => {
    for (const rt of [ours, ort]) {
      expect(await outcome(() => rt.embedImage(disc('red') as never))).toBe('UNSUPPORTED_TASK');
      expect(await outcome(() => rt.embedText(['a red circle']))).toBe('UNSUPPORTED_TASK');
      expect(await outcome(() => rt.caption(disc('red') as never))).toBe('UNSUPPORTED_TASK');
      expect(await outcome(() => rt.capfilt([disc('red') as never], { threshold: 0.5 }))).toBe(
        'UNSUPPORTED_TASK',
      );
      expect(await rt.match(disc('red') as never, ['a red circle'])).toHaveLength(1);
    }
  });
});

describe('vlmo-random: modality experts', () => {
  const ref = reference('vlmo');
  let arch: ArchitectureInfo;
  beforeAll(async () => {
    arch = await loadBoth('vlmo');
  }, 120_000);

  it('info(): experts are a dual encoder, fusion mode scores pairs and answers', () => {
    expect(arch.design).toBe('modality experts');
    expect(arch.tasks).toMatchObject({
      embed: 'dual encoder',
      classify: 'dual encoder',
      search: 'dual encoder',
      match: 'dual encoder + fusion',
      ask: 'classifier',
      caption: null,
    });
  });

  it('the image and text experts’ embeddings as onnxruntime-web and PyTorch', async () => {
    await embeddingsMatchTorch(ref);
  });

  it('match: ITC from the experts and ITM from the fusion mode, as onnxruntime-web and PyTorch', async () => {
    const a = await ours.match(rgbaOf(ref.images[1]) as never, ref.texts);
    const b = await ort.match(rgbaOf(ref.images[1]) as never, ref.texts);
    sameMatches(a, b);
    expect(
      maxDiff(
        a.map((s) => s.itc ?? Number.NaN),
        ref.itc!,
      ),
    ).toBeLessThan(TORCH);
    expect(
      maxDiff(
        a.map((s) => s.itm ?? Number.NaN),
        ref.itm!,
      ),
    ).toBeLessThan(TORCH);
    expect(await lastRun(ours)).toEqual({
      task: 'match',
      mode: 'dual encoder + fusion',
      pairs: ref.texts.length,
    });
  });

  it('classify runs as a dual encoder: cosines, no pair passes', async () => {
    const labels = ['circle', 'diamond', 'cross'];
    const a = await ours.classify(rgbaOf(ref.images[0]) as never, labels);
    const b = await ort.classify(rgbaOf(ref.images[0]) as never, labels);
    expect(a.map((x) => x.label)).toEqual(b.map((x) => x.label));
    expect(
      maxDiff(
        a.map((x) => x.cosine ?? Number.NaN),
        b.map((x) => x.cosine ?? Number.NaN),
      ),
    ).toBeLessThan(SAME);
    expect(await lastRun(ours)).toEqual({ task: 'classify', mode: 'dual encoder', pairs: 0 });
  });

  it('ask/chat through the fusion mode, as onnxruntime-web and PyTorch', async () => {
    await answersMatch(ref);
  });

  it('search: the dual encoder alone, or re-ranked by the fusion mode (one pass per candidate)', async () => {
    const items = () => [
      { id: 'scene0', image: rgbaOf(ref.images[0]) as never },
      { id: 'scene1', image: rgbaOf(ref.images[1]) as never },
      { id: 'disc', image: disc('green') as never },
    ];
    const [ia, ib] = await Promise.all([ours.openIndex('vlmo-ours'), ort.openIndex('vlmo-ort')]);
    await ia.upsert(items());
    await ib.upsert(items());
    const a = await ia.search(ref.texts[1], { k: 2 });
    sameHits(a, await ib.search(ref.texts[1], { k: 2 }));
    expect(a.every((h) => h.itc !== undefined && h.itm === undefined)).toBe(true);
    expect(await lastRun(ours)).toEqual({ task: 'search', mode: 'dual encoder', pairs: 0 });
    const r = await ia.search(ref.texts[1], { k: 2, rerank: true, candidates: 3 });
    sameHits(r, await ib.search(ref.texts[1], { k: 2, rerank: true, candidates: 3 }));
    expect(r.every((h) => h.itm !== undefined)).toBe(true);
    expect(await lastRun(ours)).toEqual({ task: 'search', mode: 'dual encoder + fusion', pairs: 3 });
    await ia.clear();
    await ib.clear();
  });

  it('captions are UNSUPPORTED_TASK', async () => {
    for (const rt of [ours, ort]) {
      expect(await outcome(() => rt.caption(disc('red') as never))).toBe('UNSUPPORTED_TASK');
      expect(await outcome(() => rt.capfilt([disc('red') as never], { threshold: 0.5 }))).toBe(
        'UNSUPPORTED_TASK',
      );
    }
  });
});

describe('coca-random: contrastive captioner', () => {
  const ref = reference('coca');
  let arch: ArchitectureInfo;
  beforeAll(async () => {
    arch = await loadBoth('coca');
  }, 120_000);

  it('info(): a dual encoder that captions; no pair scoring, no VQA', () => {
    expect(arch.design).toBe('contrastive captioner');
    expect(arch.tasks).toMatchObject({
      match: 'dual encoder',
      caption: 'decoder',
      ask: null,
      embed: 'dual encoder',
    });
  });

  it('the embedding (pooler query 0) and the text decoder’s as onnxruntime-web and PyTorch', async () => {
    await embeddingsMatchTorch(ref);
    const a = await ours.match(rgbaOf(ref.images[1]) as never, ref.texts);
    sameMatches(a, await ort.match(rgbaOf(ref.images[1]) as never, ref.texts));
    expect(a.every((s) => s.itm === undefined)).toBe(true);
    expect(
      maxDiff(
        a.map((s) => s.itc ?? Number.NaN),
        ref.itc!,
      ),
    ).toBeLessThan(TORCH);
    expect(await lastRun(ours)).toEqual({ task: 'match', mode: 'dual encoder', pairs: 0 });
  });

  it('captions from the pooled tokens, token for token as onnxruntime-web and PyTorch (greedy and beams)', async () => {
    for (const [i, im] of ref.images.entries()) {
      const streamed: number[] = [];
      const a = await ours.caption(rgbaOf(im) as never, { onToken: (t) => void streamed.push(t.tokenId) });
      const b = await ort.caption(rgbaOf(im) as never);
      expect(a.tokenIds).toEqual(b.tokenIds);
      expect(a.text).toBe(ref.captions![i]);
      expect(streamed.length).toBeGreaterThan(0);
      expect(await lastRun(ours)).toEqual({ task: 'caption', mode: 'decoder', pairs: 0 });
      const beamA = await ours.caption(rgbaOf(im) as never, { numBeams: 2, maxTokens: 6 });
      const beamB = await ort.caption(rgbaOf(im) as never, { numBeams: 2, maxTokens: 6 });
      expect(beamA.tokenIds).toEqual(beamB.tokenIds);
    }
  });

  it('caption options are validated against the decoder’s bounds', async () => {
    const { maxCaptionTokens, maxBeams } = (await ours.info()).model!;
    expect(maxCaptionTokens).toBeGreaterThan(0);
    for (const o of [
      { maxTokens: 0 },
      { maxTokens: maxCaptionTokens! + 1 },
      { numBeams: (maxBeams ?? 1) + 1 },
    ]) {
      expect(await outcome(() => ours.caption(disc('red') as never, o))).toBe('INVALID_INPUT');
    }
  });

  it('ask, ITM re-ranking and CapFilt are UNSUPPORTED_TASK; plain search is the dual encoder', async () => {
    const idx = await ours.openIndex('coca-ours');
    await idx.upsert([{ id: 'scene0', image: rgbaOf(ref.images[0]) as never }]);
    expect(await idx.search(ref.texts[0], { k: 1 })).toHaveLength(1);
    expect(await lastRun(ours)).toEqual({ task: 'search', mode: 'dual encoder', pairs: 0 });
    for (const rt of [ours, ort]) {
      expect(await outcome(() => rt.ask(disc('red') as never, 'what colour?'))).toBe('UNSUPPORTED_TASK');
      expect(await outcome(() => rt.capfilt([disc('red') as never], { threshold: 0.5 }))).toBe(
        'UNSUPPORTED_TASK',
      );
    }
    expect(await outcome(() => idx.search(ref.texts[0], { k: 1, rerank: true }))).toBe('UNSUPPORTED_TASK');
    await idx.clear();
  });
});

describe('a generative model (llava-random) has no answer list', () => {
  it('ask: no `answers`; options.topAnswers is INVALID_INPUT; info() says the decoder ran', async () => {
    await ort.load(`${server.origin}/tests/corpus/llava-random/`);
    expect((await ort.info()).model?.architecture.tasks).toMatchObject({ ask: 'decoder', match: null });
    const a = await ort.ask(disc('red') as never, 'w3 w10', { maxTokens: 2 });
    expect(a.answers).toBeUndefined();
    expect(await lastRun(ort)).toEqual({ task: 'ask', mode: 'decoder', pairs: 0 });
    expect(await outcome(() => ort.ask(disc('red') as never, 'w3', { topAnswers: 2 }))).toBe('INVALID_INPUT');
    expect(await outcome(() => ort.match(disc('red') as never, ['w3']))).toBe('UNSUPPORTED_TASK');
    expect(await outcome(() => ort.classify(disc('red') as never, ['w3', 'w4']))).toBe('UNSUPPORTED_TASK');
    expect(await outcome(() => ort.embedImage(disc('red') as never))).toBe('UNSUPPORTED_TASK');
    expect(await outcome(() => ort.caption(disc('red') as never))).toBe('UNSUPPORTED_TASK');
    const idx = await ort.openIndex('llava');
    expect(await outcome(() => idx.add([{ id: 'a', image: disc('red') as never }]))).toBe('UNSUPPORTED_TASK');
    expect(await outcome(() => idx.search('w3'))).toBe('UNSUPPORTED_TASK');
  }, 60_000);
});

describe('our engine’s plans: no fallback, the architectures’ patterns fused', () => {
  // A selector in 'auto' mode: a graph our engine refused would go to onnxruntime-web (wasm here), and its
  // placement would say so.
  const engine = new WebGpuBackend({ gpu: nodeGpu() });
  /** Our engine's sessions by graph label, as the selector got them (it hands the pipelines a wrapper). */
  const sessions = new Map<string, WebGpuSession>();
  const load: WebGpuBackend['load'] = async (bytes, options) => {
    const s = await engine.load(bytes, options);
    if (options?.label) sessions.set(options.label, s);
    return s;
  };
  // The engine itself (one device) but for load, which records the session it returns.
  const recording: Backend = new Proxy(engine, {
    get(target, key) {
      if (key === 'load') return load;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const loaded: LoadedModel[] = [];
  let selector: BackendSelector;
  afterAll(async () => {
    for (const m of loaded) await m.release();
    (await engine.engineDevice()).device.destroy();
  });

  async function loadFolder(f: Family, config?: (c: Record<string, unknown>) => void) {
    const base = 'http://app.test/';
    const files: Record<string, Uint8Array> = {};
    const names = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];
    if (f === 'coca') names.push('generation_config.json');
    const graphs = {
      vilt: ['vision_model', 'fusion_model'],
      vlmo: ['vision_model', 'text_model', 'fusion_model'],
      coca: ['vision_model', 'text_model', 'decoder_model', 'decoder_with_past_model'],
    }[f];
    for (const n of [...names, ...graphs.map((g) => `onnx/${g}.onnx`)])
      files[`${base}m/${n}`] = new Uint8Array(readFileSync(folder(f) + n));
    if (config) {
      const c = JSON.parse(readFileSync(`${folder(f)}config.json`, 'utf8'));
      config(c);
      files[`${base}m/config.json`] = new TextEncoder().encode(JSON.stringify(c));
    }
    const modelFolder = await openModelFolder('/m', {
      baseUrl: base,
      cache: null,
      fetch: fakeServer(files).fetchFn,
    });
    const { OrtBackend } = await import('../../../src/engine/ort/ort-backend');
    const factory = async (name: BackendName): Promise<Backend> =>
      name === 'webgpu' ? recording : new OrtBackend('wasm');
    sessions.clear();
    selector = new BackendSelector({ name: 'webgpu', reason: 'test' }, true, factory);
    const model = await loadModel(modelFolder, selector, {});
    loaded.push(model);
    return model;
  }
  /** After the runs (a kernel missing at run time moves the graph too): every graph still on our engine. */
  const placedOnOurs = (n: number) => {
    expect(selector.placements).toHaveLength(n);
    for (const p of selector.placements) expect(p).toMatchObject({ backend: 'webgpu', reason: 'test' });
  };
  const plan = (label: string) => {
    const p = sessions.get(label)?.describePlan();
    expect(p, label).toBeDefined();
    return p!.opCounts;
  };

  it('vilt: patch + position + modality-type embeddings, then the one transformer over [text; patches]', async () => {
    const m = await loadFolder('vilt');
    const watch = new Stopwatch();
    const enc = await encodeImages(m, [rgbaOf(reference('vilt').images[0])], watch);
    await fusionLogits(m, imageTokens(enc), [0], ['a red circle'], ['itm_logits', 'vqa_logits'], watch);
    disposeTensor(enc.tokens);
    placedOnOurs(2);
    const f = plan('fusion');
    expect(f['webvl:Attention']).toBe(2); // two layers, each one fused attention
    expect(f.Softmax).toBeUndefined();
    expect(f.MatMul).toBeUndefined(); // every projection a fused Linear
    // The modality-type row is a constant: words + positions + type 0 is two Gathers and two Adds, no lookup
    // of the type table left; the residual adds are inside the fused LayerNorms.
    expect(f.Gather).toBe(2);
    expect(f.Add).toBe(2);
    expect(f['webvl:Gelu']).toBe(1); // the VQA head's (after its LayerNorm); the FFNs' are in their Linears
    const v = plan('vision');
    expect(v.Gather).toBeUndefined(); // type 1 and positions: constant adds after the patchify
    expect(v.Conv).toBe(1);
  });

  it('vlmo: expert switching (text rows to the L-FFN, image rows to the V-FFN, then the VL-FFN) on our engine', async () => {
    const m = await loadFolder('vlmo');
    const watch = new Stopwatch();
    const enc = await encodeImages(m, [rgbaOf(reference('vlmo').images[0])], watch);
    await encodeTexts(m, ['a red circle'], watch);
    await fusionLogits(m, imageTokens(enc), [0], ['a red circle'], ['itm_logits', 'vqa_logits'], watch);
    disposeTensor(enc.tokens);
    placedOnOurs(3);
    for (const s of ['vision', 'text', 'fusion']) {
      const ops = plan(s);
      expect(ops['webvl:Attention']).toBe(2);
      expect(ops.Softmax).toBeUndefined();
    }
    const f = plan('fusion');
    // The expert switch: the bottom layer slices text rows to the L-FFN and image rows to the V-FFN and
    // concatenates them; the top layer sends every row through the VL-FFN. Each expert is a fused LayerNorm and
    // two fused Linears (GELU in the first); no MatMul or standalone GELU left but the VQA head's.
    expect(f.Slice).toBe(2);
    expect(f.MatMul).toBeUndefined();
    expect(f['webvl:Gelu']).toBe(1);
    expect(f['webvl:Linear']).toBe(14); // 2 attention (merged QKV + out) ×2, 3 experts × 2, pooler, ITM, VQA ×2
  });

  it('a VQA model whose config.json does not name every answer is INVALID_MODEL at load', async () => {
    const failure = (edit: (c: Record<string, unknown>) => void) =>
      loadFolder('vilt', edit).then(
        () => 'loaded',
        (e: unknown) => (e instanceof WebvlError ? e.code : String(e)),
      );
    expect(await failure((c) => delete c.id2label)).toBe('INVALID_MODEL');
    expect(
      await failure((c) => {
        delete (c.id2label as Record<string, string>)['7'];
      }),
    ).toBe('INVALID_MODEL');
    expect(
      await failure((c) => {
        (c.id2label as Record<string, string>)['3'] = ' ';
      }),
    ).toBe('INVALID_MODEL');
  });

  it('coca: attentional pooling (learned queries over the image tokens) is one fused attention', async () => {
    const m = await loadFolder('coca');
    const watch = new Stopwatch();
    const enc = await encodeImages(m, [rgbaOf(reference('coca').images[0])], watch);
    await encodeTexts(m, ['a red circle'], watch);
    await captionGreedy(m, imageTokens(enc), { maxTokens: 2, minTokens: 2 }, watch);
    disposeTensor(enc.tokens);
    placedOnOurs(4);
    const v = plan('vision');
    expect(v['webvl:Attention']).toBe(2); // one ViT layer + the pooler's cross-attention
    expect(v.Softmax).toBeUndefined();
    expect(v.Slice).toBe(1); // queries 1..N to the decoder (query 0 is the embedding)
    expect(plan('text')['webvl:Attention']).toBe(1);
    expect(plan('decoder')['webvl:Attention']).toBe(3); // unimodal self, multimodal self and cross
  });
});
