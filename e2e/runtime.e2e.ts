// The runtime API in a real browser (Debian Chromium, module worker, Comlink), on onnxruntime-web's wasm
// backend to stay fast under SwiftShader. Every value is checked against an independent reference:
// direct onnxruntime-web sessions with hand-written preprocessing/softmax/decoding (e2e/pages/runtime-reference.ts),
// the manifest's sizes, or the scene's generated attributes.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildManifest } from '../src/models/make-manifest';
import { type BrowserSession, launch, openPage } from './browser';

const CLIP = '/models/clip-tiny/';
const BLIP = '/models/blip-tiny/';

interface Scene {
  file: string;
  caption: string;
  objects: { colour: string; shape: string; size: string }[];
  relation: unknown;
}

const readScenes = (split: string): Scene[] =>
  readFileSync(`models/data/${split}/captions.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Scene);

/** [CLS] word ids [SEP] from the vocabulary in tokenizer.json: a tokenization that does not use tokenizers.js. */
function vocabIds(model: string): (text: string) => number[] {
  const tj = JSON.parse(readFileSync(`models/${model}/tokenizer.json`, 'utf8'));
  const v = tj.model.vocab as Record<string, number>;
  return (text) => [
    v['[CLS]'],
    ...text
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => v[w] ?? v['[UNK]']),
    v['[SEP]'],
  ];
}

let browser: BrowserSession;
let base: string;
const abs = (p: string) => new URL(p, base).href;

beforeAll(async () => {
  // The runtime refuses files whose hashes differ from the manifest, so a stale manifest fails here first.
  for (const m of ['clip-tiny', 'blip-tiny']) {
    const committed = JSON.parse(readFileSync(`models/${m}/manifest.json`, 'utf8'));
    expect(committed, `models/${m}/manifest.json is stale: run npx tsx src/models/make-manifest.ts`).toEqual(
      buildManifest(`models/${m}`),
    );
  }
  base = inject('baseUrl');
  browser = await launch();
  await openPage(browser.page, base, 'e2e/pages/runtime.html');
});
afterAll(async () => browser?.close());

describe('runtime smoke', () => {
  it('creates a runtime and loads CLIP', async () => {
    const info = await browser.page.evaluate(() => window.rtTest.create('wasm'));
    console.log(JSON.stringify(info));
    const loaded = await browser.page.evaluate((u) => window.rtTest.load(u), CLIP);
    console.log(JSON.stringify(loaded.info), loaded.progress.length);
    const r = await browser.page.evaluate(() =>
      window.rtTest.classify('/models/data/eval/00000.png', ['red triangle', 'blue circle']),
    );
    console.log(JSON.stringify(r));
  });
});
