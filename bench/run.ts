// npm run bench [-- --quick] [--repeats N] [--only TEXT] [--browser PATH] [--flags "--extra --chromium --flags"]
// --only runs just the rows whose id contains TEXT (results get a -only suffix).
// --gallery N / --single-stream-gallery N: index sizes of the architecture rows (default 1000 / 1000);
// --no-architectures skips them (their 1000-image indexes take most of a full run's time).
// One page, one run: every engine on every row, same inputs; JSON + markdown under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launch, openPage } from '../e2e/browser';
import { startDevServer } from '../e2e/server';
import { cliCount } from './cli-count';
import { markdownReport } from './report';
import { architectureRows, askRows, benchRows, captionRows, exportRows, indexRows } from './rows';
import type { RowResult } from './spec';
import { agreesWithReference } from './stats';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    browser: { type: 'string' },
    flags: { type: 'string', default: '' },
    only: { type: 'string' },
    gallery: { type: 'string', default: '1000' },
    'single-stream-gallery': { type: 'string', default: '1000' },
    'no-architectures': { type: 'boolean', default: false },
  },
});
const only = values.only;
const chosen = <T extends { id: string }>(rows: T[]): T[] =>
  only ? rows.filter((r) => r.id.includes(only)) : rows;
if (values.browser) process.env.WEBVL_CHROMIUM = values.browser;
const quick = values.quick ?? false;
const repeats = cliCount('repeats', values.repeats ?? (quick ? '2' : '10'));
// ORT wasm first: it is the reference the others are cross-checked against.
const engines = ['wasm', 'webgpu', 'ort-webgpu', 'auto', 'transformers.js'] as const;

const server = await startDevServer();
// V8 first runs WebAssembly on its baseline compiler (Liftoff) and tiers hot functions up over time, so the first
// rows of a page timed ORT wasm (and transformers.js) on baseline code: the Qwen2-VL row alone 240.8 ms instead
// of 51.2 ms (bench/results/2026-12-07-swiftshader-{liftoff-on-qwen2vl,vlms-qwen2vl-rerun}.md).
// Optimized code from the first call times every row in the steady state a long-lived page reaches.
const browserFlags = [
  '--js-flags=--no-liftoff',
  ...(values.flags ? values.flags.split(/\s+/).filter(Boolean) : []),
];
const browser = await launch(browserFlags);
await openPage(browser.page, server.url, 'bench/index.html');
const adapter = await browser.page.evaluate(() => window.webvlBench.adapterInfo());
const results: RowResult[] = [];
for (const row of chosen([...benchRows(quick), ...(quick ? [] : exportRows())])) {
  for (const engine of engines) {
    if (engine === 'transformers.js' && !row.transformers) continue;
    const r = await browser.page.evaluate(([rw, e, n]) => window.webvlBench.benchRow(rw, e, n), [
      row,
      engine,
      repeats,
    ] as const);
    results.push(r);
    console.log(`${row.id} · ${engine}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(2)} ms`}`);
  }
}
for (const row of chosen(captionRows(quick))) {
  for (const engine of ['wasm', 'webgpu', 'ort-webgpu', 'auto'] as const) {
    const r = await browser.page.evaluate(([rw, e, n]) => window.webvlBench.benchCaption(rw, e, n), [
      row,
      engine,
      quick ? 1 : repeats,
    ] as const);
    results.push(r);
    console.log(
      `${row.id} · ${engine}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(1)} ms, ttft ${r.ttftMs?.toFixed(1)}`}`,
    );
  }
}
for (const row of chosen(askRows(quick))) {
  for (const engine of ['wasm', 'webgpu', 'ort-webgpu', 'auto'] as const) {
    const r = await browser.page.evaluate(([rw, e, n]) => window.webvlBench.benchAsk(rw, e, n), [
      row,
      engine,
      quick ? 1 : repeats,
    ] as const);
    results.push(r);
    const steps = r.perTokenMs ?? [];
    console.log(
      `${row.id} · ${engine}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(1)} ms, ttft ${r.ttftMs?.toFixed(1)}, token 2 ${steps[1]?.toFixed(1)}, last ${steps.at(-1)?.toFixed(1)} ms`}`,
    );
  }
}
// The architecture comparison: trained models only, so not in --quick (CI has no time for 1000-image indexes).
const architectures =
  quick || values['no-architectures']
    ? []
    : architectureRows(
        cliCount('gallery', values.gallery ?? '1000'),
        cliCount('single-stream-gallery', values['single-stream-gallery'] ?? '1000'),
      ).filter((r) => !only || r.name.includes(only) || 'architecture'.includes(only));
for (const row of architectures) {
  // A fresh browser per model: its GPU process outlives pages, and a model measured after the others ran
  // slower there (CoCa, last: search 59 ms and pair 284 ms on our engine, 13.7 and 109 ms in a browser of its
  // own; ORT webgpu 116 and 624 against 73 and 610).
  const own = await launch(browserFlags);
  try {
    for (const engine of ['wasm', 'webgpu', 'ort-webgpu'] as const) {
      // A fresh page per engine, so that no row shares its page with an earlier runtime's heap, workers or
      // 1,000-entry index (architectures.ts keeps what must outlive a page in sessionStorage).
      await openPage(own.page, server.url, 'bench/index.html');
      // A search that runs a forward pass per image is timed once (after its warm-up run).
      const searchRepeats = row.searchMode.startsWith('single stream') ? 1 : repeats;
      const rs = await own.page.evaluate(
        ([rw, e, n, ns]) => window.webvlBench.benchArchitecture(rw, e, n, ns),
        [row, engine, repeats, searchRepeats] as const,
      );
      for (const r of rs)
        console.log(`${r.id} · ${engine}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(1)} ms`}`);
      results.push(...rs);
    }
  } finally {
    await own.close();
  }
}
for (const row of chosen(indexRows(quick))) {
  const rs = await browser.page.evaluate(([rw, n]) => window.webvlBench.benchIndex(rw, n), [
    row,
    repeats,
  ] as const);
  for (const r of rs)
    console.log(`${row.id} · ${r.engine}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(2)} ms`}`);
  results.push(...rs);
}
const browserVersion = browser.context.browser()?.version() ?? 'chromium';
await browser.close();
await server.close();

const adapterName = String(adapter.description || adapter.architecture || adapter.vendor || 'unknown');
const date = new Date().toISOString().slice(0, 10);
const slug = `${date}-${adapterName.replace(/[^a-zA-Z0-9]+/g, '-').toLowerCase()}${quick ? '-quick' : ''}${only ? '-only' : ''}`;
const dir = quick ? '.tmp/bench' : 'bench/results';
mkdirSync(dir, { recursive: true });
const report = { date, adapter, browser: browserVersion, repeats, results };
writeFileSync(`${dir}/${slug}.json`, `${JSON.stringify(report, null, 1)}\n`);
const md = markdownReport(
  results,
  `## Benchmark ${date}: ${adapterName} (${JSON.stringify(adapter)}), ${browserVersion}`,
);
writeFileSync(`${dir}/${slug}.md`, md);
console.log(md);

// A fast wrong answer must not win: every engine's output must agree with the reference (ORT wasm; JS top-k).
const wrong = results.filter((r) => !agreesWithReference(r));
for (const r of wrong) console.log(`MISMATCH ${r.id} · ${r.engine}: rel diff ${r.maxRelDiffVsReference}`);
const failedReference = results.filter((r) => r.engine === 'wasm' && r.error);
process.exit(wrong.length || failedReference.length ? 1 : 0);
