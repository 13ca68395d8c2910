// npm run eval -- --model models/<name> --data DIR [--json OUT] [--backend auto|webgpu|ort-webgpu|wasm] [--limit N]
//   [--pair-queries Q]
// Measures a model through the TypeScript runtime in headless Chromium; prints it beside the PyTorch figures
// (models/<name>/metrics-torch.json, or metrics-torch-<n>.json for a split of n images) when those exist.
// On a split with hard negatives (models/data/v2-taxo) any image–text model gets the architecture comparison's
// metrics (models/train/evaluate_taxo.py).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cliCount } from '../bench/cli-count';
import { launch, openPage } from '../e2e/browser';
import { startDevServer } from '../e2e/server';
import type { BackendChoice } from '../src/api/types';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string', default: 'models/data/eval' },
    json: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    limit: { type: 'string' },
    'no-captions': { type: 'boolean', default: false },
    /** For a generative VLM: which part of metrics-torch.json the split corresponds to (test, comp). */
    split: { type: 'string' },
    /** ViLT on the architecture comparison: queries per direction scored against every gallery item. */
    'pair-queries': { type: 'string', default: '20' },
  },
});
if (!values.model) throw new Error('--model models/<name> is required');
const repoPath = (p: string) => {
  const rel = relative(process.cwd(), resolve(p));
  if (rel.startsWith('..')) throw new Error(`${p} must be inside the repository (the dev server serves it)`);
  return `/${rel}`;
};
const limit = values.limit === undefined ? undefined : cliCount('limit', values.limit);
const pairQueries =
  values['pair-queries'] === undefined ? undefined : cliCount('pair-queries', values['pair-queries']);
const modelUrl = repoPath(values.model).replace(/^\/models\//, '/models/');

const server = await startDevServer();
const browser = await launch();
await openPage(browser.page, server.url, 'eval/index.html');
const result = await browser.page.evaluate((o) => window.webvlEval.evaluate(o), {
  model: modelUrl,
  data: repoPath(values.data ?? 'models/data/eval'),
  backend: values.backend as BackendChoice,
  limit,
  captions: !values['no-captions'],
  pairQueries,
});
await browser.close();
await server.close();

const json = `${JSON.stringify(result, null, 1)}\n`;
if (values.json) writeFileSync(values.json, json);
console.log(json);
const taxonomy = (result as { split?: { n: number } }).split;
if (taxonomy)
  compareTaxonomy(result as Record<string, unknown>, `${values.model}/metrics-torch-${taxonomy.n}.json`);
const vqa = taxonomy ? undefined : (result as { vqa?: Record<string, unknown> }).vqa;
// PyTorch's figures on as many images as this split has: metrics-torch.json, or metrics-torch-<n>.json when the
// card's figures are on a larger split (the committed v2 eval sets hold the first 200 images of each).
const sized = `${values.model}/metrics-torch-${vqa?.n_images}.json`;
const torchPath = vqa && existsSync(sized) ? sized : `${values.model}/metrics-torch.json`;
if (vqa && existsSync(torchPath)) {
  // Side by side with PyTorch on the same split: the headline figures, then every question type.
  const torch = JSON.parse(readFileSync(torchPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const split = values.split ?? (values.data?.includes('comp') ? 'comp' : 'test');
  const t = torch[split] ?? {};
  if (t.n_images !== vqa.n_images)
    console.log(`note: PyTorch's ${split} figures are on ${t.n_images} images, these on ${vqa.n_images}`);
  const rows: [string, unknown, unknown][] = ['vqa_overall', 'counting', 'relations'].map((k) => [
    k,
    vqa[k],
    t[k],
  ]);
  const typesOf = (r: Record<string, unknown>) => (r.per_type ?? {}) as Record<string, { accuracy: number }>;
  for (const [type, v] of Object.entries(typesOf(vqa)))
    rows.push([type, v.accuracy, typesOf(t)[type]?.accuracy]);
  const caps = (r: Record<string, unknown>) => (r.captioning ?? {}) as Record<string, number>;
  for (const k of ['exact_match', 'bleu4', 'cider_d']) rows.push([`caption ${k}`, caps(vqa)[k], caps(t)[k]]);
  console.log(`\n| metric (${split}) | runtime | PyTorch |\n| --- | --- | --- |`);
  for (const [k, a, b] of rows) console.log(`| ${k} | ${a ?? '—'} | ${b ?? '—'} |`);
} else if (existsSync(torchPath)) {
  console.log(`PyTorch figures for comparison: ${torchPath}`);
  console.log(readFileSync(torchPath, 'utf8').slice(0, 4000));
}

/** Every figure the runtime and PyTorch both report for the architecture comparison, side by side. */
function compareTaxonomy(runtime: Record<string, unknown>, torchPath: string) {
  if (!existsSync(torchPath)) {
    console.log(
      `no PyTorch figures on this split (${torchPath}): evaluate_taxo.py --n <n> --out writes them`,
    );
    return;
  }
  const leaves = (x: unknown, path: string, out: Map<string, number>) => {
    if (typeof x === 'number') out.set(path, x);
    else if (x && typeof x === 'object' && !Array.isArray(x))
      for (const [k, v] of Object.entries(x)) leaves(v, path ? `${path}.${k}` : k, out);
    return out;
  };
  const pick = (r: Record<string, unknown>) =>
    leaves(
      {
        zero_shot: r.zero_shot,
        retrieval: r.retrieval,
        hard_negatives: r.hard_negatives,
        vqa: r.vqa,
        captioning: r.captioning,
      },
      '',
      new Map(),
    );
  const ours = pick(runtime);
  const theirs = pick(JSON.parse(readFileSync(torchPath, 'utf8')) as Record<string, unknown>);
  let differ = 0;
  console.log(`\n| metric | runtime | PyTorch (${torchPath}) |\n| --- | --- | --- |`);
  for (const [k, a] of ours) {
    if (k.includes('majority_baseline')) continue;
    const b = theirs.get(k);
    if (b !== undefined && b !== a) differ++;
    console.log(`| ${k} | ${a} | ${b ?? '—'} |`);
  }
  console.log(`\n${differ} of ${ours.size} figures differ from PyTorch's`);
}
