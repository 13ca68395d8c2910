// npx tsx eval/taxonomy-table.ts BENCH.json: the README's architecture comparison table, from each model's
// metrics (models/<name>/metrics-runtime.json when `npm run eval` measured it on the whole 1,000-image split,
// else PyTorch's metrics-torch.json) and the architecture rows of one `npm run bench` result file.
import { existsSync, readFileSync } from 'node:fs';

const MODELS = [
  ['CLIP', 'clip-v2', 'dual encoder'],
  ['BLIP (ALBEF-style fused encoders)', 'blip-v2', 'fused encoders'],
  ['ViLT', 'vilt-tiny', 'single stream'],
  ['VLMo', 'vlmo-tiny', 'modality experts'],
  ['CoCa', 'coca-tiny', 'contrastive captioner'],
  ['ViLT, fine-tuned for VQA', 'vilt-tiny-vqa', 'single stream'],
  ['VLMo, fine-tuned for VQA', 'vlmo-tiny-vqa', 'modality experts'],
] as const;

interface Recall {
  i2t: { 'R@1': number };
  t2i: { 'R@1': number };
  queries?: number;
}
/** A VQA-only checkpoint has no image–text scoring, so no zero-shot, retrieval or swap figures. */
interface Metrics {
  params?: number;
  split?: { n: number };
  zero_shot?: { object: number; scored_by: string };
  retrieval?: { n: number; itc?: Recall; itc_top16_itm_rerank?: Recall; itm_all_pairs?: Recall };
  hard_negatives?: Record<'binding' | 'relation', { itc?: number; itm?: number }>;
  vqa?: { test: { vqa_overall: number }; comp?: { vqa_overall: number } };
  captioning?: { exact_match: number; cider_d: number };
}
interface BenchRow {
  id: string;
  engine: string;
  medianMs: number;
  error?: string;
}

const benchPath = process.argv[2];
if (!benchPath) throw new Error('usage: tsx eval/taxonomy-table.ts bench/results/<run>.json');
const bench = JSON.parse(readFileSync(benchPath, 'utf8')) as { results: BenchRow[] };
const f3 = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(3));
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function latency(name: string, what: 'search' | 'one image–text pair') {
  const rows = bench.results.filter((r) => r.id.startsWith(`${name}: ${what}`) && !r.error);
  const ours = rows.find((r) => r.engine === 'webgpu');
  const ort = rows.find((r) => r.engine === 'ort-webgpu');
  if (!ours) return '—';
  // A single-stream search is measured on a smaller gallery; it costs one pass per image, so it scales linearly.
  const gallery = Number(/search (\d+) images/.exec(ours.id)?.[1] ?? 1000);
  const scale = what === 'search' ? 1000 / gallery : 1;
  const note = scale !== 1 ? ` (${gallery} measured, ×${scale})` : '';
  const ratio = ort ? ` (${(ort.medianMs / ours.medianMs).toFixed(1)}× ORT webgpu)` : '';
  return `${ms(ours.medianMs * scale)}${note}${ratio}`;
}

const lines = [
  '| model | design | parameters | zero-shot (object) | i2t / t2i R@1, 1,000 images | binding swaps | relation swaps | VQA (test / comp) | caption exact / CIDEr-D | search 1,000 images, ms | one pair, ms |',
  '| --- | --- | ---: | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const [label, name, design] of MODELS) {
  const dir = `models/${name}`;
  if (!existsSync(`${dir}/metrics-torch.json`)) continue;
  const runtime = existsSync(`${dir}/metrics-runtime.json`)
    ? (JSON.parse(readFileSync(`${dir}/metrics-runtime.json`, 'utf8')) as Metrics)
    : undefined;
  const m =
    runtime?.split?.n === 1000
      ? runtime
      : (JSON.parse(readFileSync(`${dir}/metrics-torch.json`, 'utf8')) as Metrics);
  const torch = JSON.parse(readFileSync(`${dir}/metrics-torch.json`, 'utf8')) as Metrics;
  const r = m.retrieval;
  const recall = !r
    ? '—'
    : r.itm_all_pairs
      ? `${f3(r.itm_all_pairs.i2t['R@1'])} / ${f3(r.itm_all_pairs.t2i['R@1'])} (ITM, ${r.itm_all_pairs.queries} queries)`
      : `${f3(r.itc?.i2t['R@1'])} / ${f3(r.itc?.t2i['R@1'])}${
          r.itc_top16_itm_rerank
            ? `; re-ranked ${f3(r.itc_top16_itm_rerank.i2t['R@1'])} / ${f3(r.itc_top16_itm_rerank.t2i['R@1'])}`
            : ''
        }`;
  const swaps = (kind: 'binding' | 'relation') => {
    const h = m.hard_negatives?.[kind];
    if (!h) return '—';
    return [h.itc !== undefined && `ITC ${f3(h.itc)}`, h.itm !== undefined && `ITM ${f3(h.itm)}`]
      .filter(Boolean)
      .join(', ');
  };
  const zeroShot = m.zero_shot ? `${f3(m.zero_shot.object)} (${m.zero_shot.scored_by.toUpperCase()})` : '—';
  const vqa = torch.vqa ? `${f3(m.vqa?.test.vqa_overall)} / ${f3(torch.vqa.comp?.vqa_overall)}` : '—';
  const cap = m.captioning ? `${f3(m.captioning.exact_match)} / ${m.captioning.cider_d.toFixed(2)}` : '—';
  lines.push(
    `| ${label} | ${design} | ${(torch.params ?? 0).toLocaleString('en')} | ${zeroShot} | ${recall} | ${swaps('binding')} | ${swaps('relation')} | ${vqa} | ${cap} | ${latency(name, 'search')} | ${latency(name, 'one image–text pair')} |`,
  );
}
console.log(lines.join('\n'));
