// npm run bench:node [-- --quick] [--repeats N] [--only TEXT] [--out DIR] [--anchor torch.json] [--skip-kernels]
// The benchmark in Node, no browser: our engine and onnxruntime-web's WebGPU provider on the same Dawn adapter,
// onnxruntime-web's wasm (the reference every output is checked against) and onnxruntime's native CPU provider,
// on the same graphs and inputs as `npm run bench`, plus base-size models, decoding and kernel rows. Writes
// JSON (the browser bench's schema plus the adapter) and markdown. `--anchor` merges PyTorch CUDA timings
// (bench/node/torch_anchor.py) as the 'torch-cuda' engine.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measurePeak, trackGpuBuffers } from '../../e2e/pages/gpu-buffers';
import { getOrt } from '../../src/engine/ort/ort-env';
import { WebGpuBackend } from '../../src/engine/webgpu/backend';
import { requestIndexDevice } from '../../src/index/gpu-topk';
import { openModelFolder } from '../../src/models/model-folder';
import { fillSkeleton } from '../base-models';
import { cliCount } from '../cli-count';
import {
  type BenchHost,
  benchCaption,
  benchDecode,
  benchGenerate,
  benchGraph,
  benchIndex,
  failedRow,
  graphResult,
  ReferenceOutputs,
} from '../core';
import { KernelBench, kernelSuite } from '../kernels';
import {
  baseRows,
  benchRows,
  captionRows,
  decodeRows,
  exportRows,
  generateRows,
  indexRows,
  taxonomyRows,
} from '../rows';
import type { EngineName, GraphRowSpec, RowResult } from '../spec';
import { agreesWithReference } from '../stats';
import { adapterInfo, installNodeWebGpu } from './dawn';
import { loadOrtNode, ortNativeSession } from './ort-native';
import { mergeAnchor, type NodeReport, reportPaths, writeReport } from './output';
import { decodePng } from './png';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    anchor: { type: 'string' },
    'skip-kernels': { type: 'boolean', default: false },
    root: { type: 'string', default: process.cwd() },
    'print-suite': { type: 'string' },
    'report-only': { type: 'string' },
    /** Tokens each decode row decodes (default 32; 4 with --quick). */
    'decode-tokens': { type: 'string' },
    /** Comma-separated subset of engines (default: all that load here). */
    engines: { type: 'string' },
    /** Profiled runs per graph row of our engine, after the timed ones (default 3; 1 with --quick; 0: none). */
    profile: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const repeats = cliCount('repeats', values.repeats ?? (quick ? '2' : '10'));
const root = resolve(values.root ?? process.cwd());
const only = values.only;
// --only 'a|b' keeps the rows whose id contains a or b.
const chosen = <T extends { id: string }>(rows: T[]): T[] =>
  only ? rows.filter((r) => only.split('|').some((part) => r.id.includes(part))) : rows;
const threads = Math.min(4, cpus().length);
const profileRuns = cliCount('profile', values.profile ?? (quick ? '1' : '3'), 100, 0);

// Quick mode (CI, SwiftShader) keeps one row of each kind; the browser's quick bench covers the project's models.
const projectRows = quick
  ? [
      ...benchRows(true).filter((r) => r.id.startsWith('fixture')),
      ...exportRows().filter((r) => r.id.endsWith('q4')),
    ]
  : [...benchRows(false), ...exportRows()];
// The seeds' five designs (untrained skeletons at their training sizes): full runs only, too slow for quick ones.
const graphRows = chosen([
  ...projectRows,
  ...(quick ? baseRows('tiny', [1]) : [...baseRows('base', [1, 8]), ...taxonomyRows()]),
]);
const decodeTokens = cliCount('decode-tokens', values['decode-tokens'] ?? (quick ? '4' : '32'), 4096);
const decodes = chosen(decodeRows(quick ? 'tiny' : 'base', decodeTokens));
const generates = chosen(generateRows(quick ? 'tiny' : 'base', decodeTokens));
const indexSizes = quick
  ? undefined
  : [
      { rows: 100_000, dim: 256 },
      { rows: 1_000_000, dim: 256 },
    ];
const indexes = chosen(indexRows(quick, indexSizes));
const fullSuite = kernelSuite(quick);
const kernels = {
  ...fullSuite,
  matmuls: chosen(fullSuite.matmuls),
  attentions: chosen(fullSuite.attentions),
};
if (values['report-only']) {
  // Rewrite a finished (or cut-short) run's report, with the PyTorch anchor merged when given.
  const path = values['report-only'];
  const report = JSON.parse(readFileSync(path, 'utf8')) as NodeReport;
  if (values.anchor) report.results = mergeAnchor(report.results, values.anchor);
  console.log(writeReport({ json: path, md: path.replace(/\.json$/, '.md') }, report));
  process.exit(0);
}
if (values['print-suite']) {
  // What the PyTorch anchor (bench/node/torch_anchor.py) measures: the same rows, by the same ids.
  const suite = { graphRows, decodeRows: decodes, indexRows: indexes, kernels };
  writeFileSync(values['print-suite'], `${JSON.stringify(suite, null, 1)}\n`);
  process.exit(0);
}

const gpu = installNodeWebGpu();
trackGpuBuffers();

// onnxruntime-web's wasm files: beside this bundle (the device kit) or in node_modules.
const here = dirname(fileURLToPath(import.meta.url));
const ortDir = [join(here, 'ort'), join(root, 'node_modules/onnxruntime-web/dist')].find((d) =>
  existsSync(join(d, 'ort-wasm-simd-threaded.asyncify.wasm')),
);
if (!ortDir)
  throw new Error('onnxruntime-web wasm files not found (node_modules or ./ort beside the bundle)');
const ort = getOrt();
ort.env.wasm.wasmPaths = `${ortDir}/`;
ort.env.wasm.numThreads = threads;

/** URL paths of the repo ('/models/…'; '/corpus/…' is tests/corpus, as the dev server maps it) as files. */
const fileOf = (url: string) => {
  const path = new URL(url, 'http://local/').pathname;
  return join(root, path.startsWith('/corpus/') ? `tests${path}` : path);
};
const fileFetch: typeof fetch = async (input) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const path = fileOf(url);
  if (!existsSync(path)) return new Response(null, { status: 404 });
  const bytes = readFileSync(path);
  return new Response(bytes, { headers: { 'Content-Length': String(bytes.length) } });
};

let ours16: WebGpuBackend | undefined;
const host: BenchHost = {
  fetchBytes: async (url) => new Uint8Array(readFileSync(fileOf(url))),
  modelStore: (url) =>
    openModelFolder(new URL(url, 'http://local/').href, {
      baseUrl: 'http://local/',
      cache: null,
      fetch: fileFetch,
    }),
  rgba: async (url) => decodePng(readFileSync(fileOf(url))),
  measurePeak,
  indexDevice: async () => (await requestIndexDevice()) ?? undefined,
  extraSession: async (engine, bytes, label) => {
    if (engine === 'ort-cpu') return ortNativeSession(bytes, threads);
    if (engine === 'webgpu-f16') {
      ours16 ??= new WebGpuBackend({ gpu, computePrecision: 'f16' });
      return ours16.load(bytes, { label });
    }
    return undefined;
  },
};

const adapter = await adapterInfo(gpu);
const engines: EngineName[] = ['wasm', 'webgpu', 'ort-webgpu'];
if (await loadOrtNode()) engines.push('ort-cpu');
if (values.engines) {
  const wanted = new Set(values.engines.split(','));
  engines.splice(0, engines.length, ...engines.filter((e) => wanted.has(e)));
}
console.log(`adapter: ${JSON.stringify(adapter)}; engines: ${engines.join(', ')}; repeats ${repeats}`);

const adapterName = String(adapter.description || adapter.architecture || adapter.vendor || 'unknown');
const report: NodeReport = {
  date: new Date().toISOString().slice(0, 10),
  adapter,
  adapterName,
  runtime: `Node.js ${process.version}, Dawn (webgpu npm package), onnxruntime-web ${ort.env.versions.web}`,
  repeats,
  partial: true,
  results: [],
};
const paths = reportPaths(
  values.out ?? (quick ? '.tmp/bench' : 'bench/results'),
  report,
  `${quick ? '-quick' : ''}${only ? '-only' : ''}`,
);
const results = report.results;
const log = (r: RowResult) => {
  results.push(r);
  const what = r.variant ? `${r.engine} ${r.variant}` : r.engine;
  console.log(`${r.id} · ${what}: ${r.error ? `error ${r.error}` : `${r.medianMs.toFixed(3)} ms`}`);
  writeReport(paths, report);
};
const reference = new ReferenceOutputs();

const filled = new Map<string, Uint8Array>();
function modelBytes(row: GraphRowSpec | { model: string; skeleton?: boolean }): Uint8Array {
  let bytes = filled.get(row.model);
  if (!bytes) {
    const raw = new Uint8Array(readFileSync(fileOf(row.model)));
    bytes = row.skeleton ? fillSkeleton(raw).bytes : raw;
    filled.set(row.model, bytes);
  }
  return bytes;
}

// Most telling first (kernels, base-size models, decoding): a run cut short by its time limit keeps those.
if (!values['skip-kernels']) {
  const engine = await new WebGpuBackend({ gpu }).engineDevice();
  const bench = new KernelBench(engine.device, engine.features, quick ? 2 : 5, quick ? 5 : 40);
  await bench.run(kernels, log);
}

const f16Engines: EngineName[] =
  adapter.shaderF16 === true && (!values.engines || values.engines.includes('webgpu-f16'))
    ? ['webgpu-f16']
    : [];
async function runGraphRows(rows: GraphRowSpec[]): Promise<void> {
  for (const row of rows) {
    for (const engine of row.skeleton ? [...engines, ...f16Engines] : engines) {
      try {
        const bytes = modelBytes(row);
        // CPU engines on base-size models take seconds a run: fewer repeats there.
        const cpu = engine === 'wasm' || engine === 'ort-cpu';
        const n = row.skeleton && !quick && cpu ? Math.min(3, repeats) : repeats;
        const { result, peakBytes } = await measurePeak(() =>
          benchGraph(host, row, engine, n, bytes, profileRuns),
        );
        log(graphResult(row, engine, result, peakBytes, reference.check(row.id, engine, result.last)));
      } catch (e) {
        log(failedRow(row.id, engine, e));
      }
    }
    filled.delete(row.model);
  }
}

await runGraphRows(graphRows.filter((r) => r.skeleton));
for (const row of decodes) {
  const bytes = modelBytes({ model: row.model, skeleton: true });
  for (const engine of engines) {
    // The CPU engines are the reference here, not the contest: one timed pass after the warm-up.
    const n = quick || engine === 'wasm' || engine === 'ort-cpu' ? 1 : Math.min(repeats, 5);
    log(await benchDecode(host, row, engine, n, bytes, reference));
  }
  filled.delete(row.model);
}
const generateReference = new Map<string, number[]>();
for (const row of generates) {
  const bytes = modelBytes({ model: row.model, skeleton: true });
  for (const engine of engines) {
    const n = quick || engine === 'wasm' || engine === 'ort-cpu' ? 1 : Math.min(repeats, 5);
    log(await benchGenerate(host, row, engine, n, bytes, generateReference));
  }
  filled.delete(row.model);
}
for (const row of indexes) for (const r of await benchIndex(host, row, repeats)) log(r);
await runGraphRows(graphRows.filter((r) => !r.skeleton));
const captionReference = new Map<string, number[]>();
// The device kit leaves the test corpus behind (scripts/device-slim.sh): rows of folders it lacks are skipped.
const captionFolders = captionRows(quick).filter((r) => existsSync(fileOf(`${r.model}config.json`)));
for (const row of quick ? [] : chosen(captionFolders)) {
  for (const engine of ['wasm', 'webgpu', 'ort-webgpu'] as const)
    log(await benchCaption(host, row, engine, quick ? 1 : repeats, captionReference));
}

if (values.anchor) report.results = mergeAnchor(results, values.anchor);
report.partial = false;
console.log(writeReport(paths, report));
console.log(`wrote ${paths.json} and ${paths.md}`);

// A fast wrong answer must not win: every engine's output must agree with the reference (ORT wasm; CPU twins).
const wrong = report.results.filter((r) => !agreesWithReference(r));
for (const r of wrong)
  console.log(`MISMATCH ${r.id} · ${r.engine} ${r.variant ?? ''}: rel diff ${r.maxRelDiffVsReference}`);
const failedReference = report.results.filter((r) => r.engine === 'wasm' && r.error);
process.exit(wrong.length || failedReference.length ? 1 : 0);
