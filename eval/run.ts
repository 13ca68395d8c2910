// npm run eval -- --model models/<name> --data DIR [--json OUT] [--backend auto|webgpu|ort-webgpu|wasm] [--limit N]
// Measures a model through the TypeScript runtime in headless Chromium; prints it beside the PyTorch figures
// (models/<name>/metrics-torch.json) when those exist.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
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
  },
});
if (!values.model) throw new Error('--model models/<name> is required');
const repoPath = (p: string) => {
  const rel = relative(process.cwd(), resolve(p));
  if (rel.startsWith('..')) throw new Error(`${p} must be inside the repository (the dev server serves it)`);
  return `/${rel}`;
};
const modelUrl = repoPath(values.model).replace(/^\/models\//, '/models/');

const server = await startDevServer();
const browser = await launch();
await openPage(browser.page, server.url, 'eval/index.html');
const result = await browser.page.evaluate((o) => window.webvlEval.evaluate(o), {
  model: modelUrl,
  data: repoPath(values.data ?? 'models/data/eval'),
  backend: values.backend as BackendChoice,
  limit: values.limit ? Number(values.limit) : undefined,
  captions: !values['no-captions'],
});
await browser.close();
await server.close();

const json = `${JSON.stringify(result, null, 1)}\n`;
if (values.json) writeFileSync(values.json, json);
console.log(json);
const torchPath = `${values.model}/metrics-torch.json`;
if (existsSync(torchPath)) {
  console.log(`PyTorch figures for comparison: ${torchPath}`);
  console.log(readFileSync(torchPath, 'utf8').slice(0, 4000));
}
