// The architecture comparison through the public API: models/train/evaluate_taxo.py's definitions, so each figure
// compares with PyTorch's number for number. Every architecture is measured the way it can run: a dual encoder
// (CLIP, BLIP, VLMo, CoCa) by embeddings and a dot product, a fusion head (BLIP, VLMo) by match()'s ITM
// probability re-ranking the dual encoder's top 16, a single stream (ViLT) by match() on every pair, VQA heads
// (ViLT, VLMo) by ask(), caption decoders (BLIP, CoCa) by caption().
import type { Runtime } from '../src/index';
import { bleu4, ciderD, recallAtK, topK } from './metrics';
import { dot, embedTexts, itmScores, stableOrder, zeroShotAccuracy } from './scores';
import { evaluateVqa, type QaItem, SHORT_TYPES, type VqaScene } from './vqa';

/** A line of a split written by `gen2.py --negatives`. */
export interface TaxonomyScene extends VqaScene {
  readonly caption: string;
  readonly objects: readonly { colour: string; shape: string; size: string }[];
  readonly negatives: Partial<Record<(typeof KINDS)[number], string>>;
}

// world.py's order, so arg-max ties fall on the prompt PyTorch picks.
const SIZES = ['small', 'large'];
const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'];
const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'cross'];
const KINDS = ['binding', 'relation'] as const;
const RERANK_K = 16;
/** evaluate_taxo.py's N_QA: VQA and captions on the first 500 images. */
const N_QA = 500;

const round = (x: number) => Math.round(x * 1e4) / 1e4;

export interface TaxonomyOptions {
  /** ViLT: queries per direction ranked against the whole gallery, a forward pass per pair. */
  readonly pairQueries: number;
  readonly captions: boolean;
  readonly onProgress?: (stage: string) => void;
}

/** What the model's architecture offers, from info().model.architecture. */
interface Abilities {
  readonly itc: boolean;
  readonly itm: boolean;
  readonly vqa: boolean;
  readonly caption: boolean;
}

export async function evaluateTaxonomy(
  rt: Runtime,
  scenes: readonly TaxonomyScene[],
  images: readonly Blob[],
  can: Abilities,
  options: TaxonomyOptions,
) {
  const n = scenes.length;
  const caps = scenes.map((s) => s.caption);
  const recalls = (order: number[][], queries: number) => {
    const relevant = (q: number, g: number) => caps[q] === caps[g];
    const rows = order.slice(0, queries);
    return { 'R@1': round(recallAtK(rows, relevant, 1)), 'R@5': round(recallAtK(rows, relevant, 5)) };
  };
  const prompts = SIZES.flatMap((s) =>
    COLOURS.flatMap((c) => SHAPES.map((h) => ({ s, c, h, text: `a ${s} ${c} ${h}` }))),
  );
  const single = scenes.flatMap((sc, i) => (sc.objects.length === 1 ? [i] : []));

  // A VQA-only checkpoint scores no image–text pairs: it has no zero-shot, retrieval or swap figures.
  const scoring = async () => {
    options.onProgress?.('image and text embeddings');
    const ie: Float32Array[] = [];
    let te = new Map<string, Float32Array>();
    if (can.itc) {
      for (const im of images) ie.push(await rt.embedImage(im));
      te = await embedTexts(rt, [
        ...prompts.map((p) => p.text),
        ...caps,
        ...scenes.flatMap((s) => Object.values(s.negatives)),
      ]);
    }
    const itc = (i: number, t: string) => dot(ie[i], te.get(t) as Float32Array);

    options.onProgress?.('zero-shot');
    const zeroShotScore = can.itc
      ? itc
      : await itmScores(
          rt,
          images,
          single.flatMap((i) => prompts.map((p) => [i, p.text] as const)),
        );
    const zeroShot = {
      ...zeroShotAccuracy(prompts, single, (i) => scenes[i].objects[0], zeroShotScore),
      scored_by: can.itc ? 'itc' : 'itm',
    };

    options.onProgress?.('retrieval');
    const retrieval: Record<string, unknown> = { n };
    const all = Array.from({ length: n }, (_, i) => i);
    if (can.itc) {
      const i2t = all.map((i) =>
        topK(
          caps.map((c) => itc(i, c)),
          RERANK_K,
        ),
      );
      const t2i = all.map((t) =>
        topK(
          all.map((i) => itc(i, caps[t])),
          RERANK_K,
        ),
      );
      retrieval.itc = { i2t: recalls(i2t, n), t2i: recalls(t2i, n) };
      if (can.itm) {
        const p = await itmScores(rt, images, [
          ...i2t.flatMap((row, i) => row.map((g) => [i, caps[g]] as const)),
          ...t2i.flatMap((row, t) => row.map((i) => [i, caps[t]] as const)),
        ]);
        retrieval[`itc_top${RERANK_K}_itm_rerank`] = {
          i2t: recalls(
            i2t.map((row, i) => stableOrder(row, (g) => p(i, caps[g]))),
            n,
          ),
          t2i: recalls(
            t2i.map((row, t) => stableOrder(row, (i) => p(i, caps[t]))),
            n,
          ),
        };
      }
    } else {
      // A single stream has no embeddings: each query meets the whole gallery, a forward pass per pair.
      const q = Math.min(options.pairQueries, n);
      const queries = all.slice(0, q);
      const p = await itmScores(rt, images, [
        ...queries.flatMap((i) => caps.map((c) => [i, c] as const)),
        ...queries.flatMap((t) => all.map((i) => [i, caps[t]] as const)),
      ]);
      retrieval.itm_all_pairs = {
        queries: q,
        i2t: recalls(
          queries.map((i) => stableOrder(all, (g) => p(i, caps[g])).slice(0, 5)),
          q,
        ),
        t2i: recalls(
          queries.map((t) => stableOrder(all, (i) => p(i, caps[t])).slice(0, 5)),
          q,
        ),
      };
    }

    options.onProgress?.('hard negatives');
    const withKind = (kind: (typeof KINDS)[number]) =>
      scenes.flatMap((s, i) =>
        s.negatives[kind] === undefined ? [] : [[i, s.negatives[kind] as string] as const],
      );
    const itm = can.itm
      ? await itmScores(
          rt,
          images,
          KINDS.flatMap((kind) =>
            withKind(kind).flatMap(([i, neg]) => [[i, caps[i]] as const, [i, neg] as const]),
          ),
        )
      : undefined;
    const hardNegatives: Record<string, Record<string, number>> = {};
    for (const kind of KINDS) {
      const idx = withKind(kind);
      const winRate = (score: (i: number, t: string) => number) =>
        round(idx.filter(([i, neg]) => score(i, caps[i]) > score(i, neg)).length / Math.max(1, idx.length));
      hardNegatives[kind] = { n: idx.length };
      if (can.itc) hardNegatives[kind].itc = winRate(itc);
      if (itm) hardNegatives[kind].itm = winRate(itm);
    }
    return { zero_shot: zeroShot, retrieval, hard_negatives: hardNegatives };
  };
  const scored = can.itc || can.itm ? await scoring() : undefined;

  const nq = Math.min(N_QA, n);
  let vqa: Record<string, unknown> | undefined;
  if (can.vqa) {
    options.onProgress?.('vqa');
    // A classifier reads a follow-up's earlier turns flattened in front ('q1 a1 q2'), as vl2.question_text does.
    const flat = (qa: QaItem) => [...(qa.history ?? []).map(([q, a]) => `${q} ${a}`), qa.question].join(' ');
    vqa = {
      test: await evaluateVqa(
        scenes.slice(0, nq),
        async (i, qa) => (await rt.ask(images[i], flat(qa))).text,
        {
          types: SHORT_TYPES,
        },
      ),
    };
  }

  let captioning: Record<string, unknown> | undefined;
  if (can.caption && options.captions) {
    options.onProgress?.('captions');
    const hyps: string[] = [];
    for (const im of images.slice(0, nq)) hyps.push((await rt.caption(im)).text);
    const refs = caps.slice(0, nq);
    captioning = {
      n: nq,
      exact_match: round(hyps.filter((h, i) => h === refs[i]).length / nq),
      bleu4: round(bleu4(hyps, refs)),
      cider_d: round(ciderD(hyps, refs)),
      examples: hyps.slice(0, 8).map((h, i) => ({ ref: refs[i], hyp: h })),
    };
  }
  return {
    split: { n },
    ...scored,
    ...(vqa && { vqa }),
    ...(captioning && { captioning }),
  };
}
