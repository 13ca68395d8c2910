// Issue 12's defects in Chromium, through createRuntime and a real module worker: dispose() with calls in
// flight (and the worker's GPU devices destroyed), arguments that cannot be cloned, caption options on
// onnxruntime-web wasm and on our engine, beam bounds and aborts, duplicate ids with IndexedDB, hostile
// manifest sizes, and onnxruntime-web's WebGPU device lost mid-request. Page: e2e/pages/reliability-api.ts.
// The same classes run in Node in tests/reliability/ (more cases per class; no GPU there).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

const CLIP = '/models/clip-tiny/';
const BLIP = '/models/blip-tiny/';
const LABELS = ['red circle', 'blue square', 'green star', 'yellow cross'];

interface Scene {
  file: string;
  objects: { colour: string; shape: string }[];
}
const scenes = readFileSync('models/data/eval/captions.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Scene)
  .filter((s) => s.objects.length === 1);
const png = (i: number) => `/models/data/eval/${scenes[i].file}`;

let browser: BrowserSession;
const page = () => browser.page;
beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/reliability-api.html');
});
afterAll(async () => browser?.close());

function runtimeWorker(): Worker {
  const ws = page()
    .workers()
    .filter((w) => w.url().includes('runtime.worker'));
  const w = ws[ws.length - 1];
  if (!w) throw new Error('no runtime worker');
  return w;
}

/**
 * Records every GPUDevice the worker creates from now on, and reports {created, destroyed} on a
 * BroadcastChannel the page listens to whenever one is destroyed (test-only, through Playwright).
 */
async function watchWorkerDevices(w: Worker) {
  await w.evaluate(() => {
    const g = globalThis as unknown as { __devices?: GPUDevice[]; __destroyed?: number };
    if (g.__devices) return;
    const devices: GPUDevice[] = [];
    g.__devices = devices;
    g.__destroyed = 0;
    const channel = new BroadcastChannel('rel-api-devices');
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
      const device = await request.call(this, d);
      devices.push(device);
      return device;
    };
    const destroy = GPUDevice.prototype.destroy;
    const seen = new Set<GPUDevice>();
    GPUDevice.prototype.destroy = function (this: GPUDevice) {
      if (devices.includes(this) && !seen.has(this)) {
        seen.add(this);
        g.__destroyed = (g.__destroyed ?? 0) + 1;
      }
      destroy.call(this);
      channel.postMessage({ created: devices.length, destroyed: g.__destroyed });
    };
  });
  return {
    created: () => w.evaluate(() => (globalThis as unknown as { __devices: GPUDevice[] }).__devices.length),
    destroyAll: () =>
      w.evaluate(() => {
        for (const d of (globalThis as unknown as { __devices: GPUDevice[] }).__devices) d.destroy();
      }),
  };
}

describe('defect 1: dispose() with calls in flight (clip-tiny on our engine, index on the GPU)', () => {
  it('pending calls reject with DISPOSED at once, later calls too, and every GPU device the worker made is destroyed', async () => {
    await page().evaluate(() => window.relApi.create('', 'webgpu'));
    await watchWorkerDevices(runtimeWorker()); // before the model (and so the engine's device) is loaded
    await page().evaluate((m) => window.relApi.load(m), CLIP);
    // A first classify compiles the engine's pipelines, so the one in flight at dispose() is an ordinary one.
    await page().evaluate(([p, l]) => window.relApi.classify(p, l), [png(0), LABELS] as const);
    const r = await page().evaluate(([p, o]) => window.relApi.disposeInFlight(p, o), [png(0), BLIP] as const);
    console.log(`dispose in flight: ${JSON.stringify(r)}`);
    expect(r.pending).toEqual({
      classify: 'DISPOSED',
      caption: 'DISPOSED',
      load: 'DISPOSED',
      'index.add': 'DISPOSED',
      embedText: 'DISPOSED',
    });
    expect(r.after).toEqual({
      info: 'DISPOSED',
      classify: 'DISPOSED',
      caption: 'DISPOSED',
      'index.search': 'DISPOSED',
      'index.upsert': 'DISPOSED',
    });
    // Our engine's device and the index's: both destroyed before the worker was terminated.
    expect(r.devices.created).toBe(2);
    expect(r.devices.destroyed).toBe(2);
  });
});

describe('defect 2: arguments that cannot cross to the worker (clip-tiny, wasm)', () => {
  it('INVALID_INPUT naming the field (BAD_IMAGE for a closed bitmap); nothing added; the worker keeps serving', async () => {
    await page().evaluate((m) => window.relApi.create(m), BLIP);
    const before = await page().evaluate(([p, l]) => window.relApi.classify(p, l), [png(1), LABELS] as const);
    const r = await page().evaluate((p) => window.relApi.cloneCases(p), png(1));
    expect(Object.fromEntries(Object.entries(r.out).map(([k, o]) => [k, [o.code, o.field]]))).toEqual({
      'function in meta': ['INVALID_INPUT', 'items[0].meta.f'],
      'DOM node in meta': ['INVALID_INPUT', 'items[0].meta.el'],
      'function among labels': ['INVALID_INPUT', 'labels[1]'],
      'function as numBeams': ['INVALID_INPUT', 'options.numBeams'],
      'closed ImageBitmap': ['BAD_IMAGE', undefined],
    });
    expect(r.size).toBe(0);
    expect(
      await page().evaluate(([p, l]) => window.relApi.classify(p, l), [png(1), LABELS] as const),
    ).toEqual(before);
  });
});

describe('defects 3 and 4: caption options, on onnxruntime-web wasm and on our engine (blip-tiny)', () => {
  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`${backend}: maxTokens 0/-1/NaN and numBeams 0/-3/NaN/2.5/1e6 → INVALID_INPUT naming the option; valid captions after`, async () => {
      await page().evaluate(([m, b]) => window.relApi.create(m, b), [BLIP, backend] as const);
      const r = await page().evaluate((p) => window.relApi.captionOptions(p), png(2));
      for (const [name, o] of Object.entries(r.codes)) {
        expect(`${name}: ${o.code} ${o.field}`).toBe(`${name}: INVALID_INPUT options.${name.split(' ')[0]}`);
      }
      expect(r.valid.length).toBeGreaterThan(0);
      expect(r.valid.length).toBeLessThanOrEqual(4);
      expect(r.beams.length).toBeLessThanOrEqual(4);
    });
  }

  it('wasm: the largest beam search blip-tiny allows, aborted at its first token → ABORTED, no token after', async () => {
    await page().evaluate((m) => window.relApi.create(m), BLIP);
    const r = await page().evaluate((p) => window.relApi.abortBigBeam(p), png(3));
    console.log(`abort of ${r.numBeams} beams: ${r.code}, steps seen ${JSON.stringify(r.steps)}`);
    expect(r.numBeams).toBe(254);
    expect(r.code).toBe('ABORTED');
    expect(r.steps).toEqual([0]);
  });
});

describe('defect 8: duplicate ids (clip-tiny, wasm, IndexedDB)', () => {
  it('add() of an existing id → DUPLICATE_ID: search results and IndexedDB rows unchanged; upsert() replaces', async () => {
    await page().evaluate((m) => window.relApi.create(m), CLIP);
    const r = await page().evaluate((p) => window.relApi.duplicateIds(p), [png(0), png(1), png(2)]);
    expect(r.dup.code).toBe('DUPLICATE_ID');
    expect(r.same).toBe(true);
    expect(r.rows).toEqual(['a', 'b']);
    expect(r.upserted).toBe(2);
  });
});

describe('defect 5: manifest sizes (clip-tiny files with one size changed, served by the dev server)', () => {
  const root = '.tmp/e2e-hostile-manifests';
  const cases: [string, number, string][] = [
    ['size-1e12', 1e12, 'INVALID_MODEL'],
    ['size-2e9', 2 ** 31, 'INVALID_MODEL'],
    ['size-1_5e9', 1.5e9, 'INTEGRITY_MISMATCH'],
  ];
  beforeAll(() => {
    const manifest = JSON.parse(readFileSync('models/clip-tiny/manifest.json', 'utf8'));
    for (const [name, size] of cases) {
      const dir = join(root, name);
      mkdirSync(join(dir, 'onnx'), { recursive: true });
      for (const f of readdirSync('models/clip-tiny')) {
        if (f.endsWith('.json')) copyFileSync(join('models/clip-tiny', f), join(dir, f));
      }
      for (const f of ['vision_model.onnx', 'text_model.onnx'])
        copyFileSync(join('models/clip-tiny/onnx', f), join(dir, 'onnx', f));
      const m = structuredClone(manifest);
      m.files['onnx/vision_model.onnx'].size = size;
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('past the 2 GiB bound → INVALID_MODEL; a plausible lie → INTEGRITY_MISMATCH; the loaded model still serves', async () => {
    await page().evaluate((m) => window.relApi.create(m), CLIP);
    const before = await page().evaluate(([p, l]) => window.relApi.classify(p, l), [png(4), LABELS] as const);
    for (const [name, , code] of cases) {
      const got = await page().evaluate((u) => window.relApi.loadCode(u), `/${root}/${name}/`);
      expect(`${name}: ${got.code}`, got.message).toBe(`${name}: ${code}`);
    }
    expect(
      await page().evaluate(([p, l]) => window.relApi.classify(p, l), [png(4), LABELS] as const),
    ).toEqual(before);
  });
});

describe("device loss on onnxruntime-web's WebGPU provider (clip-tiny, backend 'ort-webgpu')", () => {
  it('destroy() during classify: the request is retried on ORT wasm (ORT cannot make a new device), same scores; info() says why', async () => {
    await page().evaluate(() => window.relApi.create('', 'ort-webgpu'));
    const devices = await watchWorkerDevices(runtimeWorker());
    await page().evaluate((m) => window.relApi.load(m), CLIP);
    const image = png(5);
    const before = await page().evaluate(([p, l]) => window.relApi.classify(p, l), [image, LABELS] as const);
    const created = await devices.created();
    expect(created).toBeGreaterThan(0);
    await page().evaluate(([p, l]) => window.relApi.startClassify(p, l), [image, LABELS] as const);
    await devices.destroyAll();
    const during = await page().evaluate(() => window.relApi.finishClassify());
    const after = await page().evaluate(([p, l]) => window.relApi.classify(p, l), [image, LABELS] as const);
    const info = await page().evaluate(() => window.relApi.info());
    console.log(
      `ort-webgpu device loss: in flight ${during.code}; placements after: ${JSON.stringify(info.model?.placements)}`,
    );
    expect(['result', 'DEVICE_LOST'], `${during.code}: ${during.message}`).toContain(during.code);
    const same = (scores: { label: string; probability: number }[]) => {
      expect(scores.map((s) => s.label)).toEqual(before.map((s) => s.label));
      scores.forEach((s, i) => {
        expect(Math.abs(s.probability - before[i].probability)).toBeLessThan(1e-4);
      });
    };
    if (during.code === 'result') same(during.scores);
    same(after);
    expect(info.backend).toBe('wasm');
    expect(info.backendReason).toContain('device was lost');
    for (const p of info.model?.placements ?? []) expect(p.backend).toBe('wasm');
    await page().evaluate(() => window.relApi.dispose());
  });
});
