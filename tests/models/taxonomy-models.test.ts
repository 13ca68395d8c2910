// The committed models of the architecture comparison (clip-v2, blip-v2, vilt-tiny, vlmo-tiny, coca-tiny, and the
// VQA-only checkpoints vilt-tiny-vqa and vlmo-tiny-vqa; models/train/export_taxo.py) through the public runtime API on our engine (Node: Dawn on SwiftShader), against
// the PyTorch outputs the export wrote beside them (reference-api.json: two evaluation images, the true caption,
// its binding and relation swaps, questions): embeddings, ITC and ITM scores, VQA answers and greedy captions.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/api/runtime';
import { nodeGpu } from '../engine/webgpu/gpu';
import { inProcessRuntime, type ModelServer, startModelServer } from '../support/in-process-runtime';
import { maxDiff, rgbaOf, unit } from '../support/reference-values';

interface Reference {
  arch: string;
  images: { width: number; height: number; rgb: number[] }[];
  texts: string[];
  image_embeds?: number[][];
  text_embeds?: number[][];
  itc?: number[];
  itm?: number[];
  questions?: {
    messages: { role: 'user' | 'assistant'; content: string }[];
    answer: string;
    probability: number;
  }[];
  captions?: string[];
}

const MODELS = [
  'clip-v2',
  'blip-v2',
  'vilt-tiny',
  'vlmo-tiny',
  'coca-tiny',
  'vilt-tiny-vqa',
  'vlmo-tiny-vqa',
].filter((m) => existsSync(`models/${m}/reference-api.json`));
/** Float32 through a different kernel order than PyTorch's: scores agree to 1e-3. */
const TORCH = 1e-3;

const rgba = (im: Reference['images'][number]) => rgbaOf(im) as never;

let server: ModelServer;
let ours: Runtime;
const savedNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
beforeAll(async () => {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: nodeGpu() }, configurable: true });
  server = await startModelServer();
  ours = await inProcessRuntime(server, { backend: 'webgpu' });
}, 120_000);
afterAll(async () => {
  await ours?.dispose();
  await server?.close();
  if (savedNavigator) Object.defineProperty(globalThis, 'navigator', savedNavigator);
  else Reflect.deleteProperty(globalThis, 'navigator');
});

describe.each(MODELS)('%s on our engine = PyTorch', (name) => {
  const ref = JSON.parse(readFileSync(`models/${name}/reference-api.json`, 'utf8')) as Reference;

  it('loads every graph onto our engine', async () => {
    await ours.load(`${server.origin}/models/${name}/`);
    const info = await ours.info();
    expect(info.model?.kind).toBe(ref.arch);
    for (const p of info.model?.placements ?? []) expect(p.backend).toBe('webgpu');
  }, 120_000);

  if (ref.image_embeds)
    it('image and text embeddings, and ITC scores', async () => {
      for (const [i, im] of ref.images.entries())
        expect(maxDiff(await ours.embedImage(rgba(im)), unit(ref.image_embeds![i]))).toBeLessThan(TORCH);
      const texts = await ours.embedText(ref.texts);
      texts.forEach((e, i) => {
        expect(maxDiff(e, unit(ref.text_embeds![i]))).toBeLessThan(TORCH);
      });
      const scores = await ours.match(rgba(ref.images[1]), ref.texts);
      expect(
        maxDiff(
          scores.map((s) => s.itc!),
          ref.itc!,
        ),
      ).toBeLessThan(TORCH);
    }, 120_000);

  if (ref.itm)
    it('ITM probabilities of the true caption and its swaps', async () => {
      const scores = await ours.match(rgba(ref.images[1]), ref.texts);
      expect(
        maxDiff(
          scores.map((s) => s.itm!),
          ref.itm!,
        ),
      ).toBeLessThan(TORCH);
    }, 120_000);

  if (ref.questions)
    it('VQA answers and their probabilities', async () => {
      for (const q of ref.questions!) {
        const r = await ours.chat(rgba(ref.images[1]), q.messages, { topAnswers: 1 });
        expect(r.text, q.messages.at(-1)!.content).toBe(q.answer);
        expect(Math.abs(r.answers![0].probability - q.probability)).toBeLessThan(TORCH);
      }
    }, 120_000);

  if (!ref.itm && !ref.image_embeds)
    it('a VQA-only checkpoint refuses image–text scoring with UNSUPPORTED_TASK', async () => {
      const tasks = (await ours.info()).model?.architecture.tasks;
      expect(tasks?.ask).toBe('classifier');
      for (const call of [
        () => ours.match(rgba(ref.images[1]), ref.texts),
        () => ours.classify(rgba(ref.images[1]), ref.texts),
      ]) {
        const e = await call().then(
          () => undefined,
          (x: { code?: string }) => x,
        );
        expect(e?.code).toBe('UNSUPPORTED_TASK');
      }
      expect(tasks?.match).toBeNull();
    }, 120_000);

  if (ref.captions)
    it('greedy captions', async () => {
      for (const [i, im] of ref.images.entries())
        expect((await ours.caption(rgba(im), { maxTokens: 30 })).text).toBe(ref.captions![i]);
    }, 120_000);
});
