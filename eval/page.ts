// Evaluation page: measures a model through the public runtime API (what users get), on a split written by
// models/train/gen.py or scripts/make_eval_split.py (PNG files + captions.jsonl).

import type { BackendChoice, LoadedModelInfo } from '../src/api/types';
import { createRuntime, type Runtime } from '../src/index';
import { bleu4, ciderD, recallAtK, topK } from './metrics';
import { dot, embedTexts, itmScores, stableOrder, zeroShotAccuracy } from './scores';
import { evaluateTaxonomy, type TaxonomyScene } from './taxonomy';
import { chatAnswerer, evaluateVqa, type VqaScene } from './vqa';

interface SceneObject {
  colour: string;
  shape: string;
  size: string;
}
export interface SceneRecord {
  file: string;
  caption: string;
  objects: SceneObject[];
  negatives?: Partial<Record<'colour' | 'shape' | 'relation', string>>;
}

const SIZES = ['small', 'large'];
const RERANK_K = 16;
const round = (x: number) => Math.round(x * 1e4) / 1e4;

export interface EvalOptions {
  model: string;
  data: string;
  backend: BackendChoice;
  limit?: number;
  captions?: boolean;
  /** ViLT: queries per direction ranked against the whole gallery (evaluate_taxo.py's --pair-queries). */
  pairQueries?: number;
}

/** A generative VLM (llava family): every question of a scenes.jsonl split (models/train/gen2.py) through chat. */
async function evaluateAsk(rt: Runtime, opts: EvalOptions, t0: number) {
  const scenes = (await (await fetch(`${opts.data}/scenes.jsonl`)).text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as VqaScene)
    .slice(0, opts.limit);
  const images = await Promise.all(scenes.map(async (r) => (await fetch(`${opts.data}/${r.file}`)).blob()));
  const info = await rt.info();
  const vqa = await evaluateVqa(scenes, chatAnswerer(rt, images));
  rt.dispose();
  return {
    model: opts.model,
    data: opts.data,
    backend: info.backend,
    backendReason: info.backendReason,
    seconds: round((performance.now() - t0) / 1000),
    vqa,
  };
}

/** The architecture comparison (evaluate_taxo.py's metrics) on a split written by `gen2.py --negatives`. */
async function evaluateArchitecture(rt: Runtime, loaded: LoadedModelInfo, opts: EvalOptions, t0: number) {
  const scenes = (await (await fetch(`${opts.data}/scenes.jsonl`)).text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TaxonomyScene)
    .slice(0, opts.limit);
  if (!scenes.every((s) => s.negatives))
    throw new Error(`${opts.data} has no hard negatives: write it with gen2.py --negatives`);
  const images = await Promise.all(scenes.map(async (r) => (await fetch(`${opts.data}/${r.file}`)).blob()));
  const info = await rt.info();
  const tasks = loaded.architecture.tasks;
  const result = await evaluateTaxonomy(
    rt,
    scenes,
    images,
    {
      itc: tasks.embed !== null,
      itm: tasks.match === 'single stream' || tasks.match === 'dual encoder + fusion',
      vqa: tasks.ask === 'classifier',
      caption: tasks.caption !== null,
    },
    { pairQueries: opts.pairQueries ?? 20, captions: opts.captions !== false },
  );
  await rt.dispose();
  return {
    model: opts.model,
    family: loaded.kind,
    design: loaded.architecture.design,
    data: opts.data,
    backend: info.backend,
    backendReason: info.backendReason,
    seconds: round((performance.now() - t0) / 1000),
    ...result,
  };
}

async function evaluate(opts: EvalOptions) {
  const t0 = performance.now();
  const probe = await createRuntime({ backend: opts.backend });
  const probed = await probe.load(opts.model);
  if (probed.kind === 'llava') return evaluateAsk(probe, opts, t0);
  if ((await fetch(`${opts.data}/scenes.jsonl`)).ok) return evaluateArchitecture(probe, probed, opts, t0);
  await probe.dispose();
  const records = (await (await fetch(`${opts.data}/captions.jsonl`)).text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SceneRecord)
    .slice(0, opts.limit);
  const images = await Promise.all(records.map(async (r) => (await fetch(`${opts.data}/${r.file}`)).blob()));
  const rt = await createRuntime({ backend: opts.backend });
  const loaded = await rt.load(opts.model);
  const info = await rt.info();
  const isBlip = loaded.kind === 'blip';
  const caps = records.map((r) => r.caption);

  const ie: Float32Array[] = [];
  for (const im of images) ie.push(await rt.embedImage(im));

  // Zero-shot: single-object scenes against every "a {size} {colour} {shape}" prompt.
  const colours = [...new Set(records.flatMap((r) => r.objects.map((o) => o.colour)))].sort();
  const shapes = [...new Set(records.flatMap((r) => r.objects.map((o) => o.shape)))].sort();
  const prompts = SIZES.flatMap((s) =>
    colours.flatMap((c) => shapes.map((h) => ({ s, c, h, text: `a ${s} ${c} ${h}` }))),
  );
  const te = await embedTexts(rt, [
    ...prompts.map((p) => p.text),
    ...caps,
    ...records.flatMap((r) => Object.values(r.negatives ?? {})),
  ]);
  const single = records.map((r, i) => [r, i] as const).filter(([r]) => r.objects.length === 1);
  const zeroShot = zeroShotAccuracy(
    prompts,
    single.map(([, i]) => i),
    (i) => records[i].objects[0],
    (i, text) => dot(ie[i], te.get(text)!),
  );

  // Retrieval: a hit is a retrieved caption / image whose caption text equals the query's.
  const sim = ie.map((e) => caps.map((c) => dot(e, te.get(c)!)));
  const relevant = (q: number, g: number) => caps[q] === caps[g];
  const i2tOrder = sim.map((row) => topK(row, RERANK_K));
  const t2iOrder = caps.map((_, t) =>
    topK(
      sim.map((row) => row[t]),
      RERANK_K,
    ),
  );
  const recalls = (i2t: number[][], t2i: number[][]) => ({
    i2t: { 'R@1': round(recallAtK(i2t, relevant, 1)), 'R@5': round(recallAtK(i2t, relevant, 5)) },
    t2i: { 'R@1': round(recallAtK(t2i, relevant, 1)), 'R@5': round(recallAtK(t2i, relevant, 5)) },
  });
  const retrieval: Record<string, unknown> = { n: caps.length, itc: recalls(i2tOrder, t2iOrder) };

  // Hard negatives: the true caption against the same caption with one colour / shape / relation swapped.
  const hard: Record<string, Record<string, number>> = {};
  const kinds = ['colour', 'shape', 'relation'] as const;
  const hnPairs: [number, string][] = [];
  for (const kind of kinds) {
    const idx = records.map((r, i) => [r.negatives?.[kind], i] as const).filter(([n]) => n !== undefined);
    const wins = idx.filter(([neg, i]) => dot(ie[i], te.get(caps[i])!) > dot(ie[i], te.get(neg!)!)).length;
    hard[kind] = { n: idx.length, itc: round(wins / Math.max(1, idx.length)) };
    for (const [neg, i] of idx) hnPairs.push([i, caps[i]], [i, neg!]);
  }

  let captioning: Record<string, unknown> | undefined;
  if (isBlip) {
    const pairs: [number, string][] = [...hnPairs];
    i2tOrder.forEach((row, i) => {
      for (const g of row) pairs.push([i, caps[g]]);
    });
    t2iOrder.forEach((row, t) => {
      for (const i of row) pairs.push([i, caps[t]]);
    });
    const p = await itmScores(rt, images, pairs);
    const i2tRerank = i2tOrder.map((row, i) => stableOrder(row, (g) => p(i, caps[g])));
    const t2iRerank = t2iOrder.map((row, t) => stableOrder(row, (i) => p(i, caps[t])));
    retrieval[`itc_top${RERANK_K}_itm_rerank`] = recalls(i2tRerank, t2iRerank);
    for (const kind of kinds) {
      const idx = records.map((r, i) => [r.negatives?.[kind], i] as const).filter(([n]) => n !== undefined);
      hard[kind].itm = round(
        idx.filter(([neg, i]) => p(i, caps[i]) > p(i, neg!)).length / Math.max(1, idx.length),
      );
    }
    if (opts.captions !== false) {
      captioning = {};
      for (const [name, numBeams] of [
        ['greedy', 1],
        ['beam3', 3],
      ] as const) {
        const hyps: string[] = [];
        for (const im of images) hyps.push((await rt.caption(im, { numBeams })).text);
        captioning[name] = {
          exact_match: round(hyps.filter((h, i) => h === caps[i]).length / hyps.length),
          bleu4: round(bleu4(hyps, caps)),
          cider_d: round(ciderD(hyps, caps)),
          examples: hyps.slice(0, 8).map((h, i) => ({ ref: caps[i], hyp: h })),
        };
      }
    }
  }
  rt.dispose();
  return {
    model: opts.model,
    data: opts.data,
    n: records.length,
    backend: info.backend,
    backendReason: info.backendReason,
    seconds: round((performance.now() - t0) / 1000),
    zero_shot: zeroShot,
    retrieval,
    hard_negatives: hard,
    captioning,
  };
}

const api = { evaluate };
declare global {
  interface Window {
    webvlEval: typeof api;
    webvlReady: boolean;
  }
}
window.webvlEval = api;
window.webvlReady = true;
