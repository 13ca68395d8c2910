// VQA and caption metrics through the public API (rt.chat for a generative VLM, rt.ask for a VQA classifier), the same definitions as
// models/train/evaluate_vqa.py so runtime and PyTorch figures compare number for number: greedy answers, exact
// match per question type, 'vqa_overall' over the short-answer types, counting and relations groups, captions
// ('describe') by exact match, BLEU-4 and CIDEr-D, and the held-out scenes of the comp split by kind.
import type { ChatMessage } from '../src/api/types';
import type { Runtime } from '../src/index';
import { bleu4, ciderD } from './metrics';

/** One question of a scenes.jsonl record (models/train/gen2.py). */
export interface QaItem {
  readonly type: string;
  readonly question: string;
  readonly answer: string;
  /** Earlier [question, answer] turns of a follow-up, asked with the gold answers. */
  readonly history?: readonly (readonly [string, string])[];
}

export interface VqaScene {
  readonly file: string;
  readonly objects: readonly unknown[];
  /** 'iid', or the held-out kind of a comp-split scene ('pair', 'count'). */
  readonly held_out?: string;
  readonly qa: readonly QaItem[];
}

export const SHORT_TYPES = [
  'colour',
  'shape',
  'size',
  'count_all',
  'count_attr',
  'exist',
  'relation',
  'which',
  'follow_up',
];
const GROUPS: Record<string, readonly string[]> = {
  counting: ['count_all', 'count_attr'],
  relations: ['relation', 'which'],
};

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const accuracy = (xs: readonly boolean[]) =>
  xs.length ? round(xs.filter(Boolean).length / xs.length) : null;

interface Scored {
  readonly type: string;
  readonly gold: string;
  readonly pred: string;
  readonly kind: string;
  readonly objects: number;
}

/** evaluate_vqa.py's score(): accuracy per type, overall, per group, and the majority baseline. */
export function scoreVqa(items: readonly Scored[]) {
  const per = new Map<string, boolean[]>();
  for (const it of items) per.set(it.type, [...(per.get(it.type) ?? []), it.pred === it.gold]);
  const perType = Object.fromEntries(
    [...SHORT_TYPES, 'describe']
      .filter((t) => per.has(t))
      .map((t) => [t, { n: per.get(t)?.length, accuracy: accuracy(per.get(t) ?? []) }]),
  );
  const short = SHORT_TYPES.flatMap((t) => per.get(t) ?? []);
  const groups = Object.fromEntries(
    Object.entries(GROUPS).map(([g, ts]) => [g, accuracy(ts.flatMap((t) => per.get(t) ?? []))]),
  );
  const majority: Record<string, number> = {};
  for (const t of SHORT_TYPES) {
    const golds = items.filter((i) => i.type === t).map((i) => i.gold);
    if (!golds.length) continue;
    const counts = new Map<string, number>();
    for (const g of golds) counts.set(g, (counts.get(g) ?? 0) + 1);
    majority[t] = round(Math.max(...counts.values()) / golds.length);
  }
  return {
    per_type: perType,
    vqa_overall: accuracy(short),
    n_questions: short.length,
    ...groups,
    majority_baseline: majority,
  };
}

/** Answers one question about scene `image` (greedy). */
export type Answerer = (image: number, qa: QaItem) => Promise<string>;

/** A generative VLM answers through rt.chat, a follow-up's earlier turns as chat messages. */
export function chatAnswerer(rt: Runtime, images: readonly Blob[]): Answerer {
  return async (i, qa) => {
    const messages: ChatMessage[] = [
      ...(qa.history ?? []).flatMap(([q, a]): ChatMessage[] => [
        { role: 'user', content: q },
        { role: 'assistant', content: a },
      ]),
      { role: 'user', content: qa.question },
    ];
    return (await rt.chat(images[i], messages)).text;
  };
}

/** Every question of every scene (those of `types` when given), answered by `answer`, then the metrics. */
export async function evaluateVqa(
  scenes: readonly VqaScene[],
  answer: Answerer,
  options: { types?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
) {
  const asked = (qa: QaItem) => !options.types || options.types.includes(qa.type);
  const total = scenes.reduce((s, r) => s + r.qa.filter(asked).length, 0);
  const scored: (Scored & { question: string })[] = [];
  for (const [i, scene] of scenes.entries()) {
    for (const qa of scene.qa.filter(asked)) {
      scored.push({
        type: qa.type,
        gold: qa.answer,
        pred: await answer(i, qa),
        kind: scene.held_out ?? 'iid',
        objects: scene.objects.length,
        question: qa.question,
      });
      options.onProgress?.(scored.length, total);
    }
  }
  const result: Record<string, unknown> = { n_images: scenes.length, ...scoreVqa(scored) };
  for (const kind of ['pair', 'count']) {
    const sel = scored.filter((s) => s.kind === kind);
    if (sel.length) result[`held_out_${kind}_scenes`] = scoreVqa(sel);
  }
  const captions = scored.filter((s) => s.type === 'describe');
  if (captions.length)
    result.captioning = {
      n: captions.length,
      exact_match: accuracy(captions.map((c) => c.pred === c.gold)),
      bleu4: round(
        bleu4(
          captions.map((c) => c.pred),
          captions.map((c) => c.gold),
        ),
      ),
      cider_d: round(
        ciderD(
          captions.map((c) => c.pred),
          captions.map((c) => c.gold),
        ),
      ),
    };
  const byCount = new Map<number, boolean[]>();
  for (const s of scored)
    if (SHORT_TYPES.includes(s.type))
      byCount.set(s.objects, [...(byCount.get(s.objects) ?? []), s.pred === s.gold]);
  result.vqa_by_object_count = Object.fromEntries(
    [...byCount].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, accuracy(v)]),
  );
  const examples: Record<string, { q: string; gold: string; pred: string }[]> = {};
  for (const s of scored) {
    examples[s.type] ??= [];
    if (examples[s.type].length < 3) examples[s.type].push({ q: s.question, gold: s.gold, pred: s.pred });
  }
  result.examples = examples;
  result.answers = scored.map((s) => s.pred);
  return result;
}
