// npm run conformance [-- --backend webgpu|ort-webgpu|wasm] [--filter REGEX]
// Runs the ONNX backend node tests (Debian libonnx-testdata) through a backend in headless Chromium and writes
// conformance/results.json ({ test: "pass" | "fail" | "unsupported" }) and conformance/summary.md.
import { readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launch, openPage } from '../e2e/browser';
import { startDevServer } from '../e2e/server';
import type { BackendName } from '../src/engine/backend';
import type { CaseResult } from './page';

const TEST_ROOT = '/usr/share/libonnx-testdata/data/node';
const BATCH = 20;

/**
 * Failing node tests reported apart, never as a pass (if one passed, our behaviour would have changed):
 * - `follows-onnxruntime`: the expected output contradicts onnxruntime (and PyTorch where it has the op), and we
 *   follow them; the op-forms graphs check that against onnxruntime-node.
 * - `contradicts-its-model`: the test data do not fit the model's own declarations, and onnxruntime refuses such
 *   a feed as we do.
 */
type SetApart = 'follows-onnxruntime' | 'contradicts-its-model';
const CASTLIKE_LIKE_DIMS =
  "its 'like' data has dims [1] where the model declares [3, 4] (onnx 1.12's bfloat16 CastLike tests); onnxruntime refuses such a feed ('Invalid rank for input')";
const SET_APART: Readonly<Record<string, { status: SetApart; why: string }>> = {
  test_maxunpool_export_with_output_shape: {
    status: 'follows-onnxruntime',
    why: "MaxUnpool writes MaxPool's flat indices into the output_shape tensor as onnxruntime (microsoft/onnxruntime#2193) and PyTorch do; the test reads them in the inferred shape (onnx/onnx#2398)",
  },
  test_cast_FLOAT_to_BFLOAT16: {
    status: 'follows-onnxruntime',
    why: 'Cast rounds float32 to the nearest bfloat16, ties to even, as onnxruntime does (tests/corpus/ops/cast_bfloat16.onnx against onnxruntime-node); these test data (onnx 1.12) truncate',
  },
  test_castlike_BFLOAT16_to_FLOAT: { status: 'contradicts-its-model', why: CASTLIKE_LIKE_DIMS },
  test_castlike_BFLOAT16_to_FLOAT_expanded: { status: 'contradicts-its-model', why: CASTLIKE_LIKE_DIMS },
  test_castlike_FLOAT_to_BFLOAT16: { status: 'contradicts-its-model', why: CASTLIKE_LIKE_DIMS },
  test_castlike_FLOAT_to_BFLOAT16_expanded: { status: 'contradicts-its-model', why: CASTLIKE_LIKE_DIMS },
};
const APART_HEADINGS: Readonly<Record<SetApart, string>> = {
  'follows-onnxruntime': 'where we follow onnxruntime over the test',
  'contradicts-its-model': 'whose data contradict their model',
};

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    filter: { type: 'string', default: '' },
    out: { type: 'string', default: 'conformance' },
  },
});
const backend = values.backend as BackendName;
const filter = new RegExp(values.filter ?? '');
const tests = readdirSync(TEST_ROOT)
  .filter((t) => filter.test(t))
  .sort();

const server = await startDevServer();
let browser = await launch();
await openPage(browser.page, server.url, 'conformance/index.html');
const results: Record<string, CaseResult> = {};
const started = performance.now();

for (let i = 0; i < tests.length; i += BATCH) {
  const batch = tests.slice(i, i + BATCH);
  try {
    Object.assign(
      results,
      await browser.page.evaluate(([names, b]) => window.webvlConformance.run([...names], b), [
        batch,
        backend,
      ] as const),
    );
  } catch (e) {
    // A crash takes the batch down: run its tests one by one on a fresh page to pin the culprit.
    for (const t of batch) {
      try {
        await browser.close();
        browser = await launch();
        await openPage(browser.page, server.url, 'conformance/index.html');
        Object.assign(
          results,
          await browser.page.evaluate(([names, b]) => window.webvlConformance.run([...names], b), [
            [t],
            backend,
          ] as const),
        );
      } catch (inner) {
        results[t] = {
          status: 'fail',
          ops: [],
          dtype: '?',
          reason: `page crashed: ${String(inner ?? e).slice(0, 200)}`,
        };
      }
    }
  }
  process.stdout.write(`\r${Math.min(i + BATCH, tests.length)}/${tests.length}`);
}
// The ops the backend claims, asked of the page (the engine's modules need the bundler to load).
const claimedOps = await browser.page.evaluate(() => window.webvlConformance.claimedOps());
await browser.close();
await server.close();

const seconds = (performance.now() - started) / 1000;
const setApart = Object.entries(results).filter(([t, r]) => r.status === 'fail' && SET_APART[t]);
for (const [t] of setApart) delete results[t];
const statuses: Record<string, string> = Object.fromEntries(
  Object.entries(results).map(([k, v]) => [k, v.status]),
);
for (const [t] of setApart) statuses[t] = SET_APART[t].status;
const apart = (status: SetApart) => setApart.filter(([t]) => SET_APART[t].status === status);
const apartCounts = (Object.keys(APART_HEADINGS) as SetApart[])
  .filter((status) => apart(status).length)
  .map((status) => `, ${apart(status).length} ${APART_HEADINGS[status]}`)
  .join('');
const apartSections = (Object.keys(APART_HEADINGS) as SetApart[]).flatMap((status) =>
  apart(status).length
    ? [
        `## Tests ${APART_HEADINGS[status]}`,
        ...apart(status).map(([t, r]) => `- \`${t}\`: ${SET_APART[t].why} (ours: ${r.reason})`),
        '',
      ]
    : [],
);
const count = (s: string) => Object.values(statuses).filter((x) => x === s).length;
const failures = Object.entries(results).filter(([, r]) => r.status === 'fail');
const float32Failures = failures.filter(([, r]) => r.dtype === 'float32');

const byOp = new Map<string, { pass: number; fail: number }>();
for (const r of Object.values(results)) {
  if (r.status === 'unsupported') continue;
  for (const op of r.ops) {
    const e = byOp.get(op) ?? { pass: 0, fail: 0 };
    e[r.status] += 1;
    byOp.set(op, e);
  }
}
// Tests refused although every op in them is one we claim: what a claimed op still cannot do (input types,
// attributes, forms), by reason.
const claimed = new Set(claimedOps);
const refusedClaimed = Object.entries(results).filter(
  ([, r]) => r.status === 'unsupported' && r.ops.length > 0 && r.ops.every((op) => claimed.has(op)),
);
const summary = [
  `# ONNX node-test conformance: backend \`${backend}\``,
  '',
  `${tests.length} tests from \`${TEST_ROOT}\`: **${count('pass')} pass, ${count('fail')} fail, ${count('unsupported')} unsupported${apartCounts}** (${seconds.toFixed(0)} s).`,
  '',
  '| op | pass | fail |',
  '| --- | --- | --- |',
  ...[...byOp.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, c]) => `| ${op} | ${c.pass} | ${c.fail} |`),
  '',
  failures.length ? '## Failures' : '',
  ...failures.map(([t, r]) => `- \`${t}\` (${r.dtype}): ${r.reason}`),
  '',
  ...apartSections,
  refusedClaimed.length ? `## Refused although every op is claimed (${refusedClaimed.length})` : '',
  '',
  ...refusedClaimed.map(([t, r]) => `- \`${t}\` (${r.dtype}): ${(r.reason ?? '').slice(0, 160)}`),
  '',
].join('\n');

const suffix = backend === 'webgpu' ? '' : `-${backend}`;
writeFileSync(`${values.out}/results${suffix}.json`, `${JSON.stringify(statuses, null, 1)}\n`);
writeFileSync(`${values.out}/summary${suffix}.md`, summary);
console.log(
  `\n${count('pass')} passed, ${count('fail')} failed, ${count('unsupported')} unsupported (${backend})`,
);
if (float32Failures.length) {
  console.log(
    `float32 failures of claimed ops:\n${float32Failures.map(([t, r]) => `  ${t}: ${r.reason}`).join('\n')}`,
  );
}
process.exit(failures.length ? 1 : 0);
