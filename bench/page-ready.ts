// npm run bench:page-ready [-- --repeats N] [--backends wasm,webgpu] [--compare DIR] [--quick]
// The "page ready" row: from navigation to both of the demo's models usable (CLIP and BLIP loaded and, where
// the runtime warms them up, run once), on the demo as `npm run demo` serves it (vite build + vite preview).
//   cold:       a fresh browser profile (nothing in the HTTP cache, Cache Storage or a service worker);
//   from cache: a reload in that same profile.
// Each sample also times the first classify and the first caption after ready, so that a runtime which defers
// work past "ready" is seen paying for it there. Per model, the demo's status line carries the runtime's own
// split of its load (downloading, verifying, compiling, warming-up), reported as medians.
// --compare DIR also builds and serves the demo of another checkout (e.g. `git archive <commit>` unpacked with a
// node_modules link) and measures both in alternation, visit for visit, so that both see the same machine load.
// Writes bench/results/<date>-page-ready.{json,md} (.tmp/bench with --quick).
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launch } from '../e2e/browser';
import { startBuiltDemo } from '../e2e/server';
import { cliCount } from './cli-count';
import { summarize } from './stats';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string' },
    backends: { type: 'string', default: 'wasm,webgpu,ort-webgpu,auto' },
    compare: { type: 'string' },
    quick: { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
  },
});
const repeats = cliCount('repeats', values.repeats ?? (values.quick ? '1' : '3'));
const backends = values.backends.split(',').filter(Boolean);
const here = process.cwd();

type Visit = 'cold' | 'from cache';
interface Sample {
  readyMs: number;
  firstClassifyMs: number;
  firstCaptionMs: number;
  /** Per model: the runtime's load stages (ms), when the demo reports them. */
  stages: Record<string, Record<string, number>>;
}

/** Clicks `run` and waits until `#out` has a non-empty `data-key` (the demo empties it when a task starts). */
async function timeTask(page: Page, tab: string, run: string, out: string, key: string): Promise<number> {
  if (await page.$(`#tab-${tab}`)) await page.click(`#tab-${tab}`);
  await page.evaluate(
    ([id, k]) => delete (document.getElementById(id) as HTMLElement).dataset[k],
    [out, key],
  );
  const t0 = await page.evaluate(() => performance.now());
  await page.click(run);
  await page.waitForFunction(([id, k]) => !!document.getElementById(id)?.dataset[k], [out, key], {
    timeout: 300_000,
  });
  return (await page.evaluate(() => performance.now())) - t0;
}

async function sample(page: Page): Promise<Sample> {
  await page.waitForSelector('#status[data-ready="true"]', { timeout: 600_000 });
  const readyMs = await page.evaluate(() => {
    const at = document.getElementById('status')?.dataset.readyAt;
    // Older demos did not stamp the moment; the time seen here is then at most a frame late.
    return at ? Number(at) : performance.now();
  });
  const stages = await page.evaluate(() => {
    const out: Record<string, Record<string, number>> = {};
    for (const el of document.querySelectorAll<HTMLElement>('[data-model][data-stage-ms]')) {
      out[el.dataset.model ?? '?'] = JSON.parse(el.dataset.stageMs ?? '{}');
    }
    return out;
  });
  const firstClassifyMs = await timeTask(page, 'classify', '#classify-run', 'classify-out', 'top');
  const firstCaptionMs = await timeTask(page, 'caption', '#caption-run', 'caption-out', 'done');
  return { readyMs, firstClassifyMs, firstCaptionMs, stages };
}

/** Builds and serves the demo of the checkout at `dir` (its own vite.config.ts and sources). */
async function serveDemo(dir: string) {
  process.chdir(dir);
  try {
    return await startBuiltDemo();
  } finally {
    process.chdir(here);
  }
}

const versions = [
  { name: 'this', server: await serveDemo(here) },
  ...(values.compare
    ? [{ name: basename(resolve(values.compare)), server: await serveDemo(resolve(values.compare)) }]
    : []),
];
const samples: { version: string; backend: string; visit: Visit; sample: Sample }[] = [];
let browserVersion = 'chromium';
try {
  for (const backend of backends) {
    for (let r = 0; r < repeats; r++) {
      for (const { name, server } of versions) {
        const browser = await launch();
        browserVersion = browser.context.browser()?.version() ?? browserVersion;
        try {
          await browser.page.goto(`${server.url}?backend=${backend}&gallery=200`);
          const cold = await sample(browser.page);
          samples.push({ version: name, backend, visit: 'cold', sample: cold });
          await browser.page.reload();
          const cached = await sample(browser.page);
          samples.push({ version: name, backend, visit: 'from cache', sample: cached });
          console.log(
            `${name} ${backend} #${r + 1}: cold ${cold.readyMs.toFixed(0)} ms, from cache ${cached.readyMs.toFixed(0)} ms`,
          );
        } finally {
          await browser.close();
        }
      }
    }
  }
} finally {
  for (const v of versions) await v.server.close();
}

const rows = versions.flatMap(({ name: version }) =>
  backends.flatMap((backend) =>
    (['cold', 'from cache'] as const).map((visit) => {
      const mine = samples
        .filter((s) => s.version === version && s.backend === backend && s.visit === visit)
        .map((s) => s.sample);
      const med = (f: (s: Sample) => number) => summarize(mine.map(f));
      const models = [...new Set(mine.flatMap((s) => Object.keys(s.stages)))];
      const stageNames = ['downloading', 'verifying', 'compiling', 'warming-up'];
      const stages = Object.fromEntries(
        models.map((m) => [
          m,
          Object.fromEntries(
            stageNames.map((st) => [st, med((s) => s.stages[m]?.[st] ?? Number.NaN).median]),
          ),
        ]),
      );
      return {
        version,
        backend,
        visit,
        n: mine.length,
        ready: med((s) => s.readyMs),
        firstClassify: med((s) => s.firstClassifyMs),
        firstCaption: med((s) => s.firstCaptionMs),
        stages,
      };
    }),
  ),
);

const date = new Date().toISOString().slice(0, 10);
const dir = values.quick ? '.tmp/bench' : 'bench/results';
const slug = `${date}-page-ready${values.label ? `-${values.label}` : ''}`;
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}/${slug}.json`,
  `${JSON.stringify({ date, browser: browserVersion, repeats, compare: values.compare, rows, samples }, null, 1)}\n`,
);
const f = (x: number) => (Number.isFinite(x) ? (x / 1000).toFixed(2) : '—');
const md = [
  `## Page ready ${date}${values.label ? ` (${values.label})` : ''}: ${browserVersion}, ${repeats} visits each`,
  '',
  'Seconds from navigation to both models usable (median, p90); then the first classify and first caption after',
  'ready. Load stages per model are the runtime’s own split (median seconds; download and compile overlap).',
  '',
  `Versions: "this" is the checkout the bench ran from${values.compare ? `, "${versions[1].name}" is ${values.compare}, measured in alternation with it` : ''}.`,
  '',
  '| version | backend | visit | page ready | first classify | first caption | clip: download / verify / compile / warm-up | blip: download / verify / compile / warm-up |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => {
    const st = (m: string) => {
      const s = r.stages[m];
      return s ? `${f(s.downloading)} / ${f(s.verifying)} / ${f(s.compiling)} / ${f(s['warming-up'])}` : '—';
    };
    return `| ${r.version} | ${r.backend} | ${r.visit} | ${f(r.ready.median)} (p90 ${f(r.ready.p90)}) | ${f(r.firstClassify.median)} | ${f(r.firstCaption.median)} | ${st('clip')} | ${st('blip')} |`;
  }),
  '',
].join('\n');
writeFileSync(`${dir}/${slug}.md`, md);
console.log(md);
