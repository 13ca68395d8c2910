// Reliability of the runtime API (createRuntime → module worker, onnxruntime-web wasm backend): hostile
// images and text, a long mixed load against a reference computed up-front, and worker termination during
// index.add. Pages: e2e/pages/reliability-runtime.ts. Load size: WEBVL_LOAD_CALLS (default 48 in CI, three
// cycles of the 16-call schedule); `npm run soak` runs 2,000 and writes WEBVL_SOAK_OUT (e2e/results/soak.json).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

const CLIP = '/models/clip-tiny/';
const BLIP = '/models/blip-tiny/';
/** Calls per cycle of the load schedule (e2e/pages/reliability-runtime.ts OPS); loads are whole cycles. */
const LOAD_CYCLE = 16;
const LOAD_CALLS = Math.ceil(Number(process.env.WEBVL_LOAD_CALLS ?? 48) / LOAD_CYCLE) * LOAD_CYCLE;
const SOAK_OUT = process.env.WEBVL_SOAK_OUT;
const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'];
const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'cross'];
const COMBOS = COLOURS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));

interface Scene {
  file: string;
  caption: string;
  objects: { colour: string; shape: string }[];
}
const evalScenes = readFileSync('models/data/eval/captions.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Scene);
const png = (s: Scene) => `/models/data/eval/${s.file}`;
const single = evalScenes.filter((s) => s.objects.length === 1);

let browser: BrowserSession;
beforeAll(async () => {
  // gc() in the worker, so the GPU buffer count is read after a collection.
  browser = await launch(['--js-flags=--expose-gc']);
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/reliability-runtime.html');
});
afterAll(async () => browser?.close());

const page = () => browser.page;

/** A single-object eval image whose top-1 over the 36 colour-shape labels is its generated truth. */
async function knownImage(): Promise<{ png: string; truth: string; probs: number[] }> {
  for (const s of single.slice(0, 12)) {
    const scores = await page().evaluate(([p, l]) => window.relRt.classify(p, l), [png(s), COMBOS] as const);
    const top = [...scores].sort((a, b) => b.probability - a.probability)[0].label;
    const truth = `${s.objects[0].colour} ${s.objects[0].shape}`;
    if (top === truth) return { png: png(s), truth, probs: scores.map((x) => x.probability) };
  }
  throw new Error('no eval image among the first 12 single-object scenes is classified correctly');
}

/** Still serving: the known image gets the same probabilities (and so the right top-1) as before. */
async function expectStillServing(known: { png: string; truth: string; probs: number[] }) {
  const scores = await page().evaluate(([p, l]) => window.relRt.classify(p, l), [known.png, COMBOS] as const);
  expect([...scores].sort((a, b) => b.probability - a.probability)[0].label).toBe(known.truth);
  scores.forEach((s, i) => {
    expect(Math.abs(s.probability - known.probs[i])).toBeLessThan(1e-6);
  });
}

describe('hostile inputs through createRuntime (clip-tiny, wasm)', () => {
  let known: { png: string; truth: string; probs: number[] };
  beforeAll(async () => {
    await page().evaluate((m) => window.relRt.create(m), CLIP);
    known = await knownImage();
  });

  it('images: typed BAD_IMAGE or a valid result for each, in bounded time; the worker keeps serving', async () => {
    const outcomes = await page().evaluate(([p, l]) => window.relRt.hostileMedia(p, l, 60_000), [
      known.png,
      COMBOS,
    ] as const);
    for (const o of outcomes) console.log(`image · ${o.name}: ${o.outcome} (${o.ms.toFixed(0)} ms)`);
    const must: Record<string, string[]> = {
      'zero-byte blob': ['BAD_IMAGE'],
      'corrupt PNG (first half of a valid file)': ['BAD_IMAGE'],
      // Chromium's decoder may show a corrupt body as garbage pixels: a result is acceptable, a hang is not.
      'corrupt PNG (valid header, random body)': ['BAD_IMAGE', 'result'],
      'text file as Blob': ['BAD_IMAGE'],
      '1×1 PNG': ['result'],
      '8000×8000 PNG': ['result', 'BAD_IMAGE'],
      'animated GIF (first frame: a red triangle)': ['result'],
      'SVG Blob': ['result', 'BAD_IMAGE'],
      'transparent PNG': ['result'],
      'RGBA object, data too short': ['BAD_IMAGE'],
      'RGBA object, 0×0': ['BAD_IMAGE'],
      'RGBA object, Float32Array data': ['BAD_IMAGE'],
      'RGBA object, Uint16Array data': ['BAD_IMAGE'],
      'RGBA object, width 2.5': ['BAD_IMAGE'],
      'RGBA object, side past 16384': ['BAD_IMAGE'],
      'ImageData of the good image': ['result'],
      'RGBA object on a SharedArrayBuffer': ['result'],
      'URL that 404s': ['BAD_IMAGE'],
    };
    expect(outcomes.map((o) => o.name).sort()).toEqual(Object.keys(must).sort());
    for (const o of outcomes) {
      expect(must[o.name], `${o.name} → ${o.outcome}`).toContain(o.outcome);
      if (o.outcome === 'result') {
        expect(o.summary?.count).toBe(COMBOS.length);
        expect(o.summary?.allFinite).toBe(true);
        expect(Math.abs((o.summary?.probabilitySum ?? 0) - 1)).toBeLessThan(1e-5);
      }
    }
    // The first GIF frame is a red triangle: classified by colour like the PNG it came from.
    const gif = outcomes.find((o) => o.name.startsWith('animated GIF'));
    expect(gif?.summary?.top?.split(' ')[0]).toBe('red');
    // The good image's own pixels, as ImageData or on a shared buffer, are the good image.
    for (const name of ['ImageData of the good image', 'RGBA object on a SharedArrayBuffer']) {
      expect(outcomes.find((o) => o.name === name)?.summary?.top, name).toBe(known.truth);
    }
    await expectStillServing(known);
  });

  it('text: empty, whitespace, 100k characters, mixed scripts, empty and 10,000 labels; worker keeps serving', async () => {
    const outcomes = await page().evaluate(([p, l]) => window.relRt.hostileText(p, l, 120_000), [
      known.png,
      COMBOS,
    ] as const);
    for (const o of outcomes) console.log(`text · ${o.name}: ${o.outcome} (${o.ms.toFixed(0)} ms)`);
    const by = Object.fromEntries(outcomes.map((o) => [o.name, o]));
    const codes = Object.fromEntries(outcomes.map((o) => [o.name, o.outcome]));
    expect(codes).toEqual({
      'embedText: empty string': 'INVALID_INPUT',
      'embedText: whitespace only': 'INVALID_INPUT',
      'embedText: empty list': 'INVALID_INPUT',
      'embedText: 100,000 characters': 'TEXT_TOO_LONG',
      'embedText: mixed scripts and emoji': 'result',
      'classify: empty label list': 'EMPTY_LABELS',
      'classify: an empty label among good ones': 'EMPTY_LABELS',
      'classify: 100,000-character label': 'TEXT_TOO_LONG',
      'classify: mixed-script label': 'result',
      'classify: 10,000 labels': 'result',
      'classify: the 36 colour-shape labels': 'result',
      'embedText: NUL': 'INVALID_INPUT',
      'classify: NUL as a label': 'INVALID_INPUT',
      'embedText: a lone surrogate': 'INVALID_INPUT',
      'classify: a lone surrogate as a label': 'INVALID_INPUT',
      'embedText: bidi controls only': 'INVALID_INPUT',
      'classify: bidi controls only as a label': 'INVALID_INPUT',
      'embedText: zero-width characters only': 'INVALID_INPUT',
      'classify: zero-width characters only as a label': 'INVALID_INPUT',
      'embedText: a special token spelled out': 'INVALID_INPUT',
      'classify: a special token spelled out as a label': 'INVALID_INPUT',
      'classify: two labels that tokenize alike': 'INVALID_INPUT',
      'match: empty text list': 'INVALID_INPUT',
      'match: mixed-script text': 'result',
      'match: 100,000-character text': 'TEXT_TOO_LONG',
    });
    // Mixed scripts embed to a finite unit vector.
    const mixed = by['embedText: mixed scripts and emoji'].summary;
    expect(mixed?.allFinite).toBe(true);
    expect(Math.abs((mixed?.norms?.[0] ?? 0) - 1)).toBeLessThan(1e-5);
    // 10,000 labels: a distribution over all of them, and each colour-shape label has the cosine it gets
    // in a 36-label call (batching thousands of prompts changes nothing for any one of them).
    const many = by['classify: 10,000 labels'].summary;
    const few = by['classify: the 36 colour-shape labels'].summary;
    expect(many?.count).toBe(10_000);
    expect(many?.allFinite).toBe(true);
    expect(Math.abs((many?.probabilitySum ?? 0) - 1)).toBeLessThan(1e-4);
    expect(Object.keys(many?.cosines ?? {}).length).toBe(COMBOS.length);
    for (const label of COMBOS) {
      expect(Math.abs((many?.cosines?.[label] ?? 9) - (few?.cosines?.[label] ?? -9))).toBeLessThan(1e-4);
    }
    await expectStillServing(known);
  });
});

/** The runtime's worker (the most recent one), for counting its GPU buffers. */
function runtimeWorker(): Worker {
  const ws = page()
    .workers()
    .filter((w) => w.url().includes('runtime.worker'));
  const w = ws[ws.length - 1];
  if (!w) throw new Error('no runtime worker');
  return w;
}

/** Patches GPUDevice.createBuffer / GPUBuffer.destroy inside the worker; returns a reader of live buffers. */
async function countWorkerBuffers(w: Worker): Promise<() => Promise<number>> {
  await w.evaluate(() => {
    const g = globalThis as unknown as { __live?: Set<GPUBuffer> };
    if (g.__live || typeof GPUDevice === 'undefined') return;
    const live = new Set<GPUBuffer>();
    g.__live = live;
    const create = GPUDevice.prototype.createBuffer;
    GPUDevice.prototype.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      const b = create.call(this, d);
      live.add(b);
      return b;
    };
    const destroy = GPUBuffer.prototype.destroy;
    GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
      live.delete(this);
      destroy.call(this);
    };
  });
  return () =>
    w.evaluate(() => {
      const g = globalThis as unknown as { __live?: Set<GPUBuffer>; gc?: () => void };
      g.gc?.();
      return g.__live?.size ?? -1;
    });
}

/**
 * JS heap in use (bytes, after a forced GC) of the page and of the runtime worker, through CDP: the page's
 * own session, and the worker reached with Target.sendMessageToTarget on that session.
 */
async function heapMeter(): Promise<() => Promise<{ page: number; worker: number }>> {
  const cdp = await browser.context.newCDPSession(page());
  // Runtime workers in attach order. A worker an earlier test disposed may still be listed (its detach event can
  // come late), so a session that is gone is dropped and the next newest is tried.
  const sessions: string[] = [];
  let nextId = 1;
  const pending = new Map<number, (v: { usedSize?: number }) => void>();
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker' && e.targetInfo.url.includes('runtime.worker'))
      sessions.push(e.sessionId);
  });
  cdp.on('Target.detachedFromTarget', (e) => {
    const at = sessions.indexOf(e.sessionId ?? '');
    if (at >= 0) sessions.splice(at, 1);
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message) as { id?: number; result?: { usedSize?: number } };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const toWorker = async (method: string): Promise<{ usedSize?: number }> => {
    while (sessions.length > 0) {
      const sessionId = sessions[sessions.length - 1];
      const id = nextId++;
      const answer = new Promise<{ usedSize?: number }>((resolve) => pending.set(id, resolve));
      try {
        await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
      } catch {
        pending.delete(id);
        sessions.pop(); // that worker is gone
        continue;
      }
      return answer;
    }
    throw new Error('not attached to the runtime worker');
  };
  return async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const p = await cdp.send('Runtime.getHeapUsage');
    await toWorker('HeapProfiler.collectGarbage');
    const w = await toWorker('Runtime.getHeapUsage');
    return { page: p.usedSize, worker: w.usedSize ?? -1 };
  };
}

describe('callbacks handed to the worker are released', () => {
  it('onToken and onProgress closures are garbage-collected after their calls (no Comlink port stays open)', async () => {
    await page().evaluate((m) => window.relRt.create(m), BLIP);
    const calls = 5;
    await page().evaluate(([p, m, n]) => window.relRt.callbackCalls(p, m, n), [
      png(single[0]),
      BLIP,
      calls,
    ] as const);
    let collected = 0;
    // Finalizers run in a task after the GC that found the object dead: collect (the page has gc() from
    // --expose-gc), yield, look, a few times.
    for (let round = 0; round < 10 && collected < calls + 1; round++) {
      await page().evaluate(() => (globalThis as unknown as { gc: () => void }).gc());
      await page().waitForTimeout(100);
      collected = await page().evaluate(() => window.relRt.callbacksCollected());
    }
    console.log(`callbacks collected: ${collected} of ${calls + 1}`);
    expect(collected).toBe(calls + 1);
    await page().evaluate(() => window.relRt.dispose());
  });
});

describe('load: mixed calls with 4 in flight (blip-tiny, wasm)', () => {
  it(`${LOAD_CALLS} calls (every API call: captions greedy, with beams and aborted; every index operation) equal the up-front reference; FIFO; aborts honoured; buffers and heap flat`, {
    timeout: Math.max(240_000, LOAD_CALLS * 400),
  }, async () => {
    const tStart = Date.now();
    await page().evaluate((m) => window.relRt.create(m), BLIP);
    const liveBuffers = await countWorkerBuffers(runtimeWorker());
    const heap = await heapMeter();
    const pngs = single.slice(0, 8).map(png);
    const prep = await page().evaluate(([p, l, t, q]) => window.relRt.prepareLoad(p, l, t, q), [
      pngs,
      COMBOS.slice(0, 12),
      single.slice(0, 3).map((s) => s.caption),
      single.slice(0, 4).map((s) => s.caption),
    ] as const);
    expect(prep.cycle).toBe(LOAD_CYCLE);
    expect(prep.references).toBe(4 * LOAD_CYCLE);
    console.log(`load: runtime + index + reference ready in ${((Date.now() - tStart) / 1000).toFixed(1)} s`);
    // Samples are taken at cycle boundaries, where the scratch index is empty again.
    const warm = Math.min(2 * LOAD_CYCLE, LOAD_CALLS);
    const chunk = 12 * LOAD_CYCLE;
    const first = await page().evaluate((n) => window.relRt.runLoad(0, n, 4), warm);
    const mem0 = await heap();
    const buf0 = await liveBuffers();
    const samples = [{ after: warm, worker: mem0.worker, page: mem0.page, buffers: buf0 }];
    const reports = [first];
    for (let at = warm; at < LOAD_CALLS; at += chunk) {
      const n = Math.min(chunk, LOAD_CALLS - at);
      reports.push(await page().evaluate(([s, c]) => window.relRt.runLoad(s, c, 4), [at, n] as const));
      const m = await heap();
      samples.push({ after: at + n, worker: m.worker, page: m.page, buffers: await liveBuffers() });
    }
    const calls = reports.reduce((a, r) => a + r.calls, 0);
    const ms = reports.reduce((a, r) => a + r.ms, 0);
    const mismatches = reports.flatMap((r) => r.mismatches);
    const outOfOrder = reports.reduce((a, r) => a + r.outOfOrder, 0);
    const aborts = reports.reduce((a, r) => a + r.aborted.expected, 0);
    const abortCodes: Record<string, number> = {};
    const perOp: Record<string, { calls: number; ms: number }> = {};
    for (const r of reports) {
      for (const [k, v] of Object.entries(r.aborted.codes)) abortCodes[k] = (abortCodes[k] ?? 0) + v;
      for (const [op, v] of Object.entries(r.perOp)) {
        const o = perOp[op] ?? { calls: 0, ms: 0 };
        perOp[op] = { calls: o.calls + v.calls, ms: o.ms + v.ms };
      }
    }
    const maxLatencyMs = Math.max(...reports.map((r) => r.maxLatencyMs));
    const last = samples[samples.length - 1];
    console.log(
      `load: ${calls} calls in ${(ms / 1000).toFixed(1)} s (${(ms / calls).toFixed(1)} ms/call), ` +
        `max latency ${maxLatencyMs.toFixed(0)} ms, index on ${prep.indexBackend}; ` +
        `aborts ${JSON.stringify(abortCodes)}; memory/buffers after N calls: ${JSON.stringify(samples)}`,
    );
    if (SOAK_OUT) {
      const mb = (b: number) => Math.round((b / 2 ** 20) * 100) / 100;
      const summary = {
        date: new Date().toISOString().slice(0, 10),
        model: 'blip-tiny',
        backend: 'wasm',
        indexOn: prep.indexBackend,
        concurrency: 4,
        calls,
        cycle: prep.ops,
        mismatches: mismatches.length,
        outOfOrder,
        aborts: { expected: aborts, codes: abortCodes },
        seconds: Math.round(ms / 100) / 10,
        msPerCall: Math.round((ms / calls) * 10) / 10,
        maxLatencyMs: Math.round(maxLatencyMs),
        meanLatencyMsPerOp: Object.fromEntries(
          Object.entries(perOp).map(([op, v]) => [op, Math.round((v.ms / v.calls) * 10) / 10]),
        ),
        samples: samples.map((x) => ({
          after: x.after,
          gpuBuffers: x.buffers,
          workerHeapMB: mb(x.worker),
          pageHeapMB: mb(x.page),
        })),
      };
      mkdirSync(dirname(SOAK_OUT), { recursive: true });
      writeFileSync(SOAK_OUT, `${JSON.stringify(summary, null, 2)}\n`);
      console.log(`soak results written to ${SOAK_OUT}`);
    }
    expect(calls).toBe(LOAD_CALLS);
    expect(mismatches).toEqual([]);
    expect(outOfOrder).toBe(0);
    expect(aborts).toBe(LOAD_CALLS / LOAD_CYCLE);
    expect(abortCodes).toEqual({ ABORTED: aborts });
    // Flat after warm-up: no GPU buffer accumulates, worker heap within 20% + 4 MB of the warm figure.
    expect(buf0).toBeGreaterThanOrEqual(0);
    expect(last.buffers).toBe(buf0);
    expect(mem0.worker).toBeGreaterThan(0);
    expect(last.worker).toBeLessThan(mem0.worker * 1.2 + 4 * 2 ** 20);
    expect(last.page).toBeLessThan(mem0.page * 1.2 + 4 * 2 ** 20);
    await page().evaluate(() => window.relRt.dispose());
  });
});

describe('index durability: worker terminated during index.add (clip-tiny, wasm)', () => {
  it('after a reload each batch is all there or not at all; earlier batches intact; the index serves', async () => {
    const name = `durable-${Date.now()}`;
    const pngs = single.slice(0, 8).map(png);
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    await page().evaluate((m) => window.relRt.create(m), CLIP);
    await page().evaluate(([n, i, p]) => window.relRt.addBatch(n, i, p), [name, ids('a', 8), pngs] as const);
    const rowsA = await page().evaluate((n) => window.relRt.idbRows(n), name);
    expect(Object.keys(rowsA)).toHaveLength(8);
    const BATCH = 24;
    const rowsBefore = { ...rowsA };
    const outcomes: string[] = [];
    const fractions = [0.3, 0.55, 0.8];
    for (const [t, f] of fractions.entries()) {
      const prefix = `t${t}`;
      const t0 = Date.now();
      // A timed add of BATCH items (T ms), then the same size again, terminated at f·T.
      const r = await page().evaluate(([n, w, i, p, fr]) => window.relRt.addThenTerminate(n, w, i, p, fr), [
        name,
        ids(`w${t}`, BATCH),
        ids(prefix, BATCH),
        pngs,
        f,
      ] as const);
      // Reload: a new runtime (new worker) reads the index back from IndexedDB.
      await page().evaluate((m) => window.relRt.create(m), CLIP);
      const rows = await page().evaluate((n) => window.relRt.idbRows(n), name);
      const landed = Object.keys(rows).filter((id) => id.startsWith(`${prefix}-`)).length;
      outcomes.push(
        `${(f * 100).toFixed(0)}% of ${r.warmMs.toFixed(0)} ms: ${r.ended}, ${landed} rows landed (trial ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
      expect([0, BATCH], `trial ${t}: ${landed} of ${BATCH} rows`).toContain(landed);
      // The timed batch before it landed whole.
      expect(Object.keys(rows).filter((id) => id.startsWith(`w${t}-`))).toHaveLength(BATCH);
      if (r.ended.startsWith('added')) expect(landed).toBe(BATCH);
      // Earlier batches byte-for-byte (vector sums) as they were.
      for (const [id, v] of Object.entries(rowsBefore)) expect(rows[id], id).toEqual(v);
      for (const v of Object.values(rows)) {
        expect(v.finite).toBe(true);
        expect(v.len).toBe(rowsA['a-0'].len);
      }
      const state = await page().evaluate(([n, q]) => window.relRt.indexState(n, q), [
        name,
        single[0].caption,
      ] as const);
      expect(state.size).toBe(Object.keys(rows).length);
      expect(state.hits).toHaveLength(3);
      // Keep the index comparable across trials: what landed is now part of "before".
      Object.assign(rowsBefore, rows);
    }
    // Deterministic mid-write: the worker's IDBObjectStore.put is wrapped (test-only, through Playwright) so
    // that after queuing half the batch it signals the page and spins; the page terminates it right then.
    const w = runtimeWorker();
    await w.evaluate((half) => {
      const put = IDBObjectStore.prototype.put;
      let n = 0;
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
        const req = put.call(this, value, key);
        if (++n === half) {
          new BroadcastChannel('rel-mid-write').postMessage('mid-write');
          const t = Date.now();
          while (Date.now() - t < 5_000) {
            // hold the transaction open until the page terminates this worker
          }
        }
        return req;
      };
    }, BATCH / 2);
    const mid = await page().evaluate(([n, i, p, c]) => window.relRt.addTerminateOnSignal(n, i, p, c), [
      name,
      ids('mid', BATCH),
      pngs,
      'rel-mid-write',
    ] as const);
    expect(mid).toBe('terminated inside the transaction');
    const terminatedAt = Date.now();
    await page().evaluate((m) => window.relRt.create(m), CLIP);
    const rowsMid = await page().evaluate((n) => window.relRt.idbRows(n), name);
    const landedMid = Object.keys(rowsMid).filter((id) => id.startsWith('mid-')).length;
    outcomes.push(`terminated after ${BATCH / 2} of ${BATCH} puts were queued: ${landedMid} rows landed`);
    expect(landedMid).toBe(0);
    expect(rowsMid).toEqual(rowsBefore);
    const stateMid = await page().evaluate(([n, q]) => window.relRt.indexState(n, q), [
      name,
      single[0].caption,
    ] as const);
    expect(stateMid.size).toBe(Object.keys(rowsBefore).length);
    expect(stateMid.hits).toHaveLength(3);
    // Had terminate() not stopped the spinning worker, it would have committed by now (5 s spin).
    await new Promise((r) => setTimeout(r, Math.max(0, 6_000 - (Date.now() - terminatedAt))));
    expect(await page().evaluate((n) => window.relRt.idbRows(n), name)).toEqual(rowsBefore);
    console.log(`durability trials: ${outcomes.join('; ')}`);
    await page().evaluate(() => window.relRt.dispose());
  });
});

/** Records every GPUDevice the worker creates from now on; returns how many, and a way to destroy them all. */
async function captureWorkerDevices(w: Worker) {
  await w.evaluate(() => {
    const g = globalThis as unknown as { __devices?: GPUDevice[] };
    if (g.__devices) return;
    const devices: GPUDevice[] = [];
    g.__devices = devices;
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
      const device = await request.call(this, d);
      devices.push(device);
      return device;
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

describe('device loss: GPUDevice.destroy() in the worker (clip-tiny, wasm, index on the GPU)', () => {
  it('mid-request: DEVICE_LOST (or a correct result); then a new device, the index reloaded intact, results equal', async () => {
    await page().evaluate((m) => window.relRt.create(m), CLIP);
    const devices = await captureWorkerDevices(runtimeWorker());
    const name = `devloss-${Date.now()}`;
    const pngs = single.slice(0, 12).map(png);
    const ids = pngs.map((_, i) => `d-${i}`);
    await page().evaluate(([n, i, p]) => window.relRt.addBatch(n, i, p), [name, ids, pngs] as const);
    const query = single[3].caption;
    const before = await page().evaluate(([n, q]) => window.relRt.search(n, q, 5), [name, query] as const);
    expect(before.outcome).toBe('result');
    expect(before.hits).toHaveLength(5);
    const rows0 = await page().evaluate((n) => window.relRt.idbRows(n), name);
    const created0 = await devices.created();
    expect(created0).toBeGreaterThan(0); // the index device

    const sameHits = (got: { id: string; itc: number }[]) => {
      expect(got.map((h) => h.id)).toEqual(before.hits.map((h) => h.id));
      got.forEach((h, i) => {
        expect(Math.abs(h.itc - before.hits[i].itc)).toBeLessThan(1e-5);
      });
    };

    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Destroy the device while a search is in flight.
      await page().evaluate(([n, q]) => window.relRt.startSearch(n, q, 5), [name, query] as const);
      await devices.destroyAll();
      const during = await page().evaluate(() => window.relRt.finishSearch());
      outcomes.push(during.outcome);
      expect(['DEVICE_LOST', 'result'], `${during.outcome}: ${during.message}`).toContain(during.outcome);
      if (during.outcome === 'result') sameHits(during.hits);
      // The next call succeeds on a new device with the index reloaded from IndexedDB.
      const after = await page().evaluate(([n, q]) => window.relRt.search(n, q, 5), [name, query] as const);
      expect(after.outcome).toBe('result');
      sameHits(after.hits);
    }
    // Lost while idle: the next request simply works.
    await devices.destroyAll();
    const idle = await page().evaluate(([n, q]) => window.relRt.search(n, q, 5), [name, query] as const);
    expect(idle.outcome).toBe('result');
    sameHits(idle.hits);
    const created = await devices.created();
    console.log(
      `device loss: in-flight outcomes ${outcomes.join(', ')}; devices created ${created0} → ${created}`,
    );
    // One new device per loss (3 in flight + 1 idle).
    expect(created).toBe(created0 + 4);
    expect(await page().evaluate((n) => window.relRt.idbRows(n), name)).toEqual(rows0);
    await page().evaluate(() => window.relRt.dispose());
  });
});

describe('model origin policy', () => {
  it('a model on another origin is refused unless the caller allows that origin, then it loads and classifies', async () => {
    // The same dev server under another host name is another origin (localhost vs 127.0.0.1).
    const other = new URL(inject('baseUrl'));
    other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    const url = new URL(CLIP, other).href;
    const refused = await page().evaluate(([u]) => window.relRt.loadFrom(u, []), [url] as const);
    expect(refused).toBe('INVALID_INPUT');
    const allowed = await page().evaluate(([u, o]) => window.relRt.loadFrom(u, [o]), [
      url,
      other.origin,
    ] as const);
    expect(allowed).toBe('loaded');
    const known = single[0];
    const scores = await page().evaluate(([p, l]) => window.relRt.classify(p, l), [
      png(known),
      COMBOS,
    ] as const);
    expect(scores).toHaveLength(COMBOS.length);
    await page().evaluate(() => window.relRt.dispose());
  });
});

describe('device loss on our engine (clip-tiny on backend webgpu, SwiftShader)', () => {
  it('destroy() during classify: DEVICE_LOST (or a correct result); the next call reloads the model on a new device and gives the same scores', async () => {
    // Record the worker's devices before the model (and so the engine's device) is loaded.
    await page().evaluate(([m, b]) => window.relRt.create(m, b), ['', 'webgpu'] as const);
    const devices2 = await captureWorkerDevices(runtimeWorker());
    await page().evaluate((m) => window.relRt.load(m), CLIP);
    const labels = COMBOS.slice(0, 6);
    const image = png(single[0]);
    const before = await page().evaluate(([p, l]) => window.relRt.classify(p, l), [image, labels] as const);
    const created0 = await devices2.created();
    const same = (scores: { probability: number }[]) => {
      expect(scores).toHaveLength(labels.length);
      scores.forEach((s, i) => {
        expect(Math.abs(s.probability - before[i].probability)).toBeLessThan(1e-5);
      });
    };
    await page().evaluate(([p, l]) => window.relRt.startClassify(p, l), [image, labels] as const);
    await devices2.destroyAll();
    const during = await page().evaluate(() => window.relRt.finishClassify());
    expect(['DEVICE_LOST', 'result'], `${during.outcome}: ${during.message}`).toContain(during.outcome);
    if (during.outcome === 'result') same(during.scores);
    const after = await page().evaluate(([p, l]) => window.relRt.classify(p, l), [image, labels] as const);
    same(after);
    const created = await devices2.created();
    console.log(`engine device loss: in flight ${during.outcome}; devices created ${created0} → ${created}`);
    expect(created).toBeGreaterThan(created0);
    await page().evaluate(() => window.relRt.dispose());
  });
});
