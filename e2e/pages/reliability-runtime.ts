// Reliability page for the runtime API (createRuntime → module worker): hostile media and text, a long mixed
// load with a reference computed up-front, worker termination during index.add, read-back of IndexedDB.
import { createRuntime, type IndexHandle, type Runtime } from '../../src/api/runtime';
import type { BackendChoice, LabelScore, MatchScore } from '../../src/api/types';
import { WebvlError } from '../../src/errors';
import type { ImageInput } from '../../src/vision/image-input';

let rt: Runtime | undefined;

function runtime(): Runtime {
  if (!rt) throw new Error('call relRt.create() first');
  return rt;
}

const blobOf = async (url: string): Promise<Blob> => (await fetch(url)).blob();

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface Outcome {
  name: string;
  /** 'result', a WebvlError code, 'untyped: …' or 'timeout'. */
  outcome: string;
  ms: number;
  /** A short description of the result, for the test to check (probabilities sum to 1, unit norms, …). */
  summary?: Summary;
}

interface Summary {
  count: number;
  /** Sum of probabilities (classify) or undefined. */
  probabilitySum?: number;
  allFinite: boolean;
  top?: string;
  /** L2 norms of embeddings (embedText). */
  norms?: number[];
  /** label → cosine, for the labels the caller asked to see. */
  cosines?: Record<string, number>;
}

function summarize(v: unknown, watch: readonly string[]): Summary {
  if (Array.isArray(v) && v.length > 0 && v[0] instanceof Float32Array) {
    const rows = v as Float32Array[];
    return {
      count: rows.length,
      allFinite: rows.every((r) => r.every(Number.isFinite)),
      norms: rows.map((r) => Math.hypot(...r)),
    };
  }
  if (Array.isArray(v) && v.length > 0 && typeof (v[0] as LabelScore).probability === 'number') {
    const s = v as LabelScore[];
    const want = new Set(watch);
    const cosines: Record<string, number> = {};
    for (const x of s) if (want.has(x.label)) cosines[x.label] = x.cosine ?? Number.NaN;
    return {
      count: s.length,
      probabilitySum: s.reduce((a, x) => a + x.probability, 0),
      allFinite: s.every((x) => Number.isFinite(x.probability) && Number.isFinite(x.cosine)),
      top: [...s].sort((a, b) => b.probability - a.probability)[0].label,
      cosines,
    };
  }
  if (Array.isArray(v)) {
    const s = v as MatchScore[];
    return {
      count: s.length,
      allFinite: s.every((x) => Number.isFinite(x.itc) && (x.itm === undefined || Number.isFinite(x.itm))),
    };
  }
  return { count: 1, allFinite: true };
}

async function attempt(
  name: string,
  f: () => Promise<unknown>,
  timeoutMs: number,
  watch: readonly string[] = [],
): Promise<Outcome> {
  const t0 = performance.now();
  const r = await withTimeout(
    f().then(
      (v) => ({ outcome: 'result', summary: summarize(v, watch) }),
      (e: unknown) => ({
        outcome: e instanceof WebvlError ? e.code : `untyped: ${String(e)}`,
        summary: undefined,
      }),
    ),
    timeoutMs,
  );
  const ms = performance.now() - t0;
  return r === 'timeout' ? { name, outcome: 'timeout', ms } : { name, ...r, ms };
}

const MEDIA = '/e2e/pages/reliability-media/';

async function imageDataOf(png: string): Promise<ImageData> {
  const bitmap = await createImageBitmap(await blobOf(png));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** Every hostile image through classify; each case bounded by `timeoutMs`. */
async function hostileMedia(goodPng: string, labels: string[], timeoutMs: number): Promise<Outcome[]> {
  const good = new Uint8Array(await (await blobOf(goodPng)).arrayBuffer());
  const cases: [string, () => Promise<ImageInput>][] = [
    ['zero-byte blob', async () => new Blob([], { type: 'image/png' })],
    ['corrupt PNG (first half of a valid file)', async () => new Blob([good.slice(0, good.length >> 1)])],
    [
      'corrupt PNG (valid header, random body)',
      async () => {
        const b = good.slice();
        for (let i = 64; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
        return new Blob([b], { type: 'image/png' });
      },
    ],
    ['text file as Blob', async () => new Blob(['a red circle\n'.repeat(50)], { type: 'text/plain' })],
    ['1×1 PNG', () => blobOf(`${MEDIA}one-pixel.png`)],
    ['8000×8000 PNG', () => blobOf(`${MEDIA}huge-8000.png`)],
    ['animated GIF (first frame: a red triangle)', () => blobOf(`${MEDIA}animated.gif`)],
    ['SVG Blob', () => blobOf(`${MEDIA}scene.svg`)],
    ['transparent PNG', () => blobOf(`${MEDIA}transparent.png`)],
    ['RGBA object, data too short', async () => ({ width: 4, height: 4, data: new Uint8Array(7) })],
    ['RGBA object, 0×0', async () => ({ width: 0, height: 0, data: new Uint8Array(0) })],
    // Only bytes are RGBA: typed arrays of other kinds (even of the right length) are refused.
    [
      'RGBA object, Float32Array data',
      async () => ({ width: 8, height: 8, data: new Float32Array(256).fill(0.5) }) as unknown as ImageInput,
    ],
    [
      'RGBA object, Uint16Array data',
      async () => ({ width: 8, height: 8, data: new Uint16Array(256).fill(200) }) as unknown as ImageInput,
    ],
    ['RGBA object, width 2.5', async () => ({ width: 2.5, height: 8, data: new Uint8Array(80) })],
    [
      'RGBA object, side past 16384',
      async () => ({ width: 16385, height: 1, data: new Uint8Array(16385 * 4) }),
    ],
    ['ImageData of the good image', async () => imageDataOf(goodPng)],
    [
      'RGBA object on a SharedArrayBuffer',
      async () => {
        const img = await imageDataOf(goodPng);
        const data = new Uint8Array(new SharedArrayBuffer(img.data.length));
        data.set(img.data);
        return { width: img.width, height: img.height, data };
      },
    ],
    ['URL that 404s', async () => `${MEDIA}no-such-file.png`],
  ];
  const out: Outcome[] = [];
  for (const [name, make] of cases) {
    out.push(await attempt(name, async () => runtime().classify(await make(), labels), timeoutMs));
  }
  return out;
}

/** Hostile text through embedText, classify and match; `watch` labels report their cosines. */
async function hostileText(png: string, combos: string[], timeoutMs: number): Promise<Outcome[]> {
  const image = await blobOf(png);
  const long = 'a red circle '.repeat(8000).slice(0, 100_000);
  const mixed = 'a red 円 star ★ красный квадрат 🚀 مرحبا नमस्ते \u200b\u0301 circle';
  // Labels must differ in the tokens the model sees (digits are all [UNK] in this 28-token vocabulary), so
  // the other labels are distinct four-word phrases over the vocabulary's words.
  const words =
    'a above and below blue circle cross diamond green large left of orange purple red right small square star triangle yellow'.split(
      ' ',
    );
  const phrase = (n: number) =>
    Array.from({ length: 4 }, (_, d) => words[Math.floor(n / words.length ** d) % words.length]).join(' ');
  const many = [...combos, ...Array.from({ length: 10_000 - combos.length }, (_, i) => phrase(i))];
  const r = runtime();
  // Text with nothing for the model to read once the tokenizer drops control and format characters.
  const nothing = [
    ['NUL', '\u0000'],
    ['a lone surrogate', '\ud800'],
    ['bidi controls only', '\u202e\u202d\u200f'],
    ['zero-width characters only', '\u200b\u200c\u200d'],
    ['a special token spelled out', '[PAD]'],
  ] as const;
  const cases: [string, () => Promise<unknown>, string[]?][] = [
    ['embedText: empty string', () => r.embedText('')],
    ['embedText: whitespace only', () => r.embedText(' \n\t  \u00a0')],
    ['embedText: empty list', () => r.embedText([])],
    ['embedText: 100,000 characters', () => r.embedText(long)],
    ['embedText: mixed scripts and emoji', () => r.embedText(mixed)],
    ['classify: empty label list', () => r.classify(image, [])],
    ['classify: an empty label among good ones', () => r.classify(image, ['', 'red circle'])],
    ['classify: 100,000-character label', () => r.classify(image, [long, 'red circle'])],
    ['classify: mixed-script label', () => r.classify(image, [mixed, combos[0]])],
    ['classify: 10,000 labels', () => r.classify(image, many), combos],
    ['classify: the 36 colour-shape labels', () => r.classify(image, combos), combos],
    ...nothing.flatMap(([what, text]): [string, () => Promise<unknown>][] => [
      [`embedText: ${what}`, () => r.embedText(text)],
      [`classify: ${what} as a label`, () => r.classify(image, [text, combos[0]])],
    ]),
    ['classify: two labels that tokenize alike', () => r.classify(image, ['Red Circle', 'red  circle'])],
    ['match: empty text list', () => r.match(image, [])],
    ['match: mixed-script text', () => r.match(image, [mixed])],
    ['match: 100,000-character text', () => r.match(image, [long])],
  ];
  const out: Outcome[] = [];
  for (const [name, f, watch] of cases) out.push(await attempt(name, f, timeoutMs, watch));
  return out;
}

// --- load -------------------------------------------------------------------------------------------
// A fixed schedule: call i runs OPS[i % 16] on input ⌊i / 16⌋ % 4. One cycle of 16 ops uses every call of
// the API, captions greedy, with beams and aborted, and every index operation on a scratch index that the
// cycle leaves empty again, so with calls resolving in submission order each (op, input) has one right
// answer, computed once up front.

const OPS = [
  'classify',
  'match',
  'embedText',
  'embedImage',
  'caption',
  'captionBeams',
  'captionAborted',
  'capfilt',
  'search',
  'scratchOpen',
  'scratchAdd',
  'scratchUpsert',
  'scratchSearchRerank',
  'scratchSize',
  'scratchRemove',
  'scratchClear',
] as const;
type Op = (typeof OPS)[number];
export const LOAD_CYCLE = OPS.length;

interface LoadSetup {
  images: Blob[];
  labels: string[];
  texts: string[];
  queries: string[];
  index: IndexHandle;
  /** Opened once; the cycle's scratchOpen opens it again by name. */
  scratch: IndexHandle;
  /** JSON of the result of each (op, input) pair, computed once, sequentially, before the load. */
  reference: Map<string, string>;
}

let load: LoadSetup | undefined;

function callFor(i: number): { op: Op; input: number; key: string } {
  const op = OPS[i % OPS.length];
  const input = Math.floor(i / OPS.length) % 4;
  return { op, input, key: `${op}:${input}` };
}

/** JSON of a result (embeddings as plain arrays), compared with the reference as text. */
const asJson = (v: unknown) => JSON.stringify(v, (_, x) => (x instanceof Float32Array ? Array.from(x) : x));

/** Runs one scheduled call; 'ABORTED' (or another code) for the aborted caption, JSON of the result otherwise. */
async function runOp(s: LoadSetup, op: Op, input: number): Promise<string> {
  const r = runtime();
  const image = s.images[input];
  switch (op) {
    case 'classify':
      return asJson(await r.classify(image, s.labels));
    case 'match':
      return asJson(await r.match(image, s.texts));
    case 'embedText':
      return asJson(await r.embedText(s.queries[input]));
    case 'embedImage':
      return asJson(await r.embedImage(image));
    case 'caption': {
      const c = await r.caption(image, { maxTokens: 4 });
      return asJson([c.text, c.tokenIds]);
    }
    case 'captionBeams': {
      const c = await r.caption(image, { maxTokens: 4, numBeams: 3 });
      return asJson([c.text, c.tokenIds]);
    }
    case 'captionAborted': {
      const ctl = new AbortController();
      return r
        .caption(image, {
          maxTokens: 16,
          numBeams: 1 + (input % 2),
          signal: ctl.signal,
          onToken: () => ctl.abort(),
        })
        .then(
          () => 'resolved',
          (e: unknown) => (e instanceof WebvlError ? e.code : `untyped: ${String(e)}`),
        );
    }
    case 'capfilt':
      return asJson(await r.capfilt([image], { threshold: 0.5, texts: [s.texts[input % s.texts.length]] }));
    case 'search':
      return asJson(await s.index.search(s.queries[input], { k: 3 }));
    case 'scratchOpen': {
      // One call per op: a second call made after this one resolves would be posted after later ops.
      const h = await r.openIndex(s.scratch.name);
      return asJson([h.name, h.backend]);
    }
    case 'scratchAdd':
      return asJson(await s.scratch.add([{ id: `s${input}`, image }]));
    case 'scratchUpsert':
      return asJson(
        await s.scratch.upsert([
          { id: `s${input}`, image: s.images[(input + 1) % 4], meta: { input } },
          { id: `t${input}`, image },
        ]),
      );
    case 'scratchSearchRerank':
      return asJson(await s.scratch.search(s.queries[input], { k: 2, rerank: true }));
    case 'scratchSize':
      return asJson(await s.scratch.size());
    case 'scratchRemove':
      return asJson(await s.scratch.remove([`s${input}`, 'never-added']));
    case 'scratchClear':
      return asJson(await s.scratch.clear());
  }
}

async function prepareLoad(pngs: string[], labels: string[], texts: string[], queries: string[]) {
  const images = await Promise.all(pngs.slice(0, 4).map(blobOf));
  const stamp = Date.now();
  const index = await runtime().openIndex(`load-${stamp}`);
  await index.add(await Promise.all(pngs.map(async (p, i) => ({ id: `img${i}`, image: await blobOf(p) }))));
  const scratch = await runtime().openIndex(`scratch-${stamp}`);
  const s: LoadSetup = { images, labels, texts, queries, index, scratch, reference: new Map() };
  for (let i = 0; i < OPS.length * 4; i++) {
    const { op, input, key } = callFor(i);
    s.reference.set(key, await runOp(s, op, input));
  }
  load = s;
  return { references: s.reference.size, indexBackend: index.backend, cycle: OPS.length, ops: [...OPS] };
}

interface LoadReport {
  calls: number;
  mismatches: string[];
  /** Completions that came before a call submitted earlier (the queue is FIFO: should be 0). */
  outOfOrder: number;
  /** Captions aborted at their first token: how they ended. */
  aborted: { expected: number; codes: Record<string, number> };
  /** Longest time (ms) a call waited from submission to result. */
  maxLatencyMs: number;
  /** Per op: calls and total ms from submission to result. */
  perOp: Record<string, { calls: number; ms: number }>;
  ms: number;
}

/**
 * Calls [start, start+count) of the fixed schedule, `concurrency` in flight, each compared to the reference
 * (the aborted captions are counted by how they ended instead).
 */
async function runLoad(start: number, count: number, concurrency: number): Promise<LoadReport> {
  const s = load;
  if (!s) throw new Error('prepareLoad first');
  const mismatches: string[] = [];
  const codes: Record<string, number> = {};
  const perOp: Record<string, { calls: number; ms: number }> = {};
  let expectedAborts = 0;
  let next = start;
  let lastCompleted = -1;
  let outOfOrder = 0;
  let maxLatencyMs = 0;
  const t0 = performance.now();
  const one = async (i: number) => {
    const { op, input, key } = callFor(i);
    const submitted = performance.now();
    const got = await runOp(s, op, input).catch((e: unknown) =>
      e instanceof WebvlError ? `error ${e.code}: ${e.message}` : `untyped: ${String(e)}`,
    );
    if (op === 'captionAborted') {
      expectedAborts++;
      codes[got] = (codes[got] ?? 0) + 1;
    } else if (got !== s.reference.get(key)) {
      mismatches.push(`call ${i} ${key}: ${got.slice(0, 200)}`);
    }
    if (i < lastCompleted) outOfOrder++;
    lastCompleted = Math.max(lastCompleted, i);
    const ms = performance.now() - submitted;
    maxLatencyMs = Math.max(maxLatencyMs, ms);
    const stat = perOp[op] ?? { calls: 0, ms: 0 };
    perOp[op] = { calls: stat.calls + 1, ms: stat.ms + ms };
  };
  const lane = async () => {
    while (next < start + count) await one(next++);
  };
  // The runtime posts calls in the order they are made, so lanes may start in the same tick.
  await Promise.all(Array.from({ length: concurrency }, lane));
  return {
    calls: count,
    mismatches,
    outOfOrder,
    aborted: { expected: expectedAborts, codes },
    maxLatencyMs,
    perOp,
    ms: performance.now() - t0,
  };
}

// --- index durability -------------------------------------------------------------------------------

interface IdbRow {
  index: string;
  id: string;
  vector: Float32Array;
}

/** Rows of an index straight from IndexedDB (not through the runtime): id → sum and length of its vector. */
async function idbRows(name: string): Promise<Record<string, { len: number; sum: number; finite: boolean }>> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open('webvl-index');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    if (!db.objectStoreNames.contains('entries')) return {};
    const rows = await new Promise<IdbRow[]>((resolve, reject) => {
      const req = db.transaction('entries', 'readonly').objectStore('entries').getAll();
      req.onsuccess = () => resolve(req.result as IdbRow[]);
      req.onerror = () => reject(req.error);
    });
    const out: Record<string, { len: number; sum: number; finite: boolean }> = {};
    for (const r of rows) {
      if (r.index !== name) continue;
      out[r.id] = {
        len: r.vector.length,
        sum: r.vector.reduce((a, x) => a + x, 0),
        finite: r.vector.every(Number.isFinite),
      };
    }
    return out;
  } finally {
    db.close();
  }
}

/** A new runtime (new worker) with `modelUrl` loaded; '' loads nothing (call load() later). */
async function create(modelUrl: string, backend: BackendChoice = 'wasm') {
  await rt?.dispose(); // the old worker is gone (and its GPU devices destroyed) before a new one starts
  rt = await createRuntime({ backend });
  if (modelUrl) await rt.load(modelUrl);
  return rt.info();
}

// Test-only: the module workers this page starts, so a durability test can terminate one at once, as a closed
// tab or a crash would (dispose() would first let the worker finish what it is doing).
const pageWorkers: Worker[] = [];
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(url, options);
    pageWorkers.push(this);
  }
};

/** Terminates the runtime's worker now; the runtime is then disposed (its pending calls reject). */
function killRuntimeWorker(r: Runtime): void {
  pageWorkers[pageWorkers.length - 1]?.terminate();
  void r.dispose();
  if (rt === r) rt = undefined;
}

/**
 * Adds `warmIds` (timed: T ms), then starts index.add of `ids` in the same worker and terminates it at
 * `fraction`·T; resolves how the second add ended.
 */
async function addThenTerminate(
  name: string,
  warmIds: string[],
  ids: string[],
  pngs: string[],
  fraction: number,
) {
  const r = runtime();
  const warm = await addBatch(name, warmIds, pngs);
  const delayMs = warm.ms * fraction;
  const index = await r.openIndex(name);
  const items = await Promise.all(
    ids.map(async (id, i) => ({ id, image: await blobOf(pngs[i % pngs.length]) })),
  );
  const t0 = performance.now();
  const added = index.add(items).then(
    (n) => `added (size ${n})`,
    (e: unknown) => (e instanceof WebvlError ? e.code : `untyped: ${String(e)}`),
  );
  const ended = await withTimeout(added, delayMs);
  killRuntimeWorker(r);
  return { ended: ended === 'timeout' ? 'terminated' : ended, atMs: performance.now() - t0, warmMs: warm.ms };
}

/**
 * Starts index.add of `ids` and terminates the worker as soon as a message arrives on BroadcastChannel
 * `channel` (the test makes the worker send one from inside its IndexedDB transaction); resolves how it ended.
 */
async function addTerminateOnSignal(name: string, ids: string[], pngs: string[], channel: string) {
  const r = runtime();
  const index = await r.openIndex(name);
  const items = await Promise.all(
    ids.map(async (id, i) => ({ id, image: await blobOf(pngs[i % pngs.length]) })),
  );
  const bc = new BroadcastChannel(channel);
  const signalled = new Promise<'signalled'>((resolve) => {
    bc.onmessage = () => {
      killRuntimeWorker(r); // at once, while the worker is still inside the transaction
      resolve('signalled');
    };
  });
  const added = index.add(items).then(
    (n) => `added (size ${n})`,
    (e: unknown) => (e instanceof WebvlError ? e.code : `untyped: ${String(e)}`),
  );
  const ended = await withTimeout(Promise.race([signalled, added]), 120_000);
  bc.close();
  if (ended !== 'signalled') killRuntimeWorker(r);
  return ended === 'signalled' ? 'terminated inside the transaction' : ended;
}

async function addBatch(name: string, ids: string[], pngs: string[]) {
  const index = await runtime().openIndex(name);
  const items = await Promise.all(
    ids.map(async (id, i) => ({ id, image: await blobOf(pngs[i % pngs.length]) })),
  );
  const t0 = performance.now();
  const size = await index.add(items);
  return { size, ms: performance.now() - t0 };
}

async function indexState(name: string, query: string) {
  const index = await runtime().openIndex(name);
  const size = await index.size();
  const hits = size > 0 ? await index.search(query, { k: 3 }) : [];
  return { size, hits: hits.map((h) => h.id) };
}

type SearchOutcome = { outcome: string; message?: string; hits: { id: string; itc: number }[] };
let pendingSearch: Promise<SearchOutcome> | undefined;

/** Starts an index search and returns at once (the test destroys the GPU device while it runs). */
function startSearch(name: string, query: string, k: number): void {
  pendingSearch = runtime()
    .openIndex(name)
    .then((index) => index.search(query, { k }))
    .then(
      (hits) => ({ outcome: 'result', hits: hits.map((h) => ({ id: h.id, itc: h.itc ?? Number.NaN })) }),
      (e: unknown) => ({
        outcome: e instanceof WebvlError ? e.code : `untyped: ${String(e)}`,
        message: String(e),
        hits: [],
      }),
    );
}

async function search(name: string, query: string, k: number): Promise<SearchOutcome> {
  startSearch(name, query, k);
  return finishSearch();
}

function finishSearch(): Promise<SearchOutcome> {
  if (!pendingSearch) throw new Error('no search started');
  return pendingSearch;
}

/** Loads a model from `modelUrl` in a fresh runtime allowing `allowedOrigins`: 'loaded' or the error code. */
async function loadFrom(modelUrl: string, allowedOrigins: string[]): Promise<string> {
  await rt?.dispose();
  rt = await createRuntime({ backend: 'wasm', allowedOrigins });
  try {
    await rt.load(modelUrl);
    return 'loaded';
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
}

type ClassifyOutcome = { outcome: string; message?: string; scores: LabelScore[] };
let pendingClassify: Promise<ClassifyOutcome> | undefined;

/** Starts a classify and returns at once (the test destroys the GPU device while it runs). */
async function startClassify(png: string, labels: string[]): Promise<void> {
  const image = await blobOf(png);
  pendingClassify = runtime()
    .classify(image, labels)
    .then(
      (scores) => ({ outcome: 'result', scores }),
      (e: unknown) => ({
        outcome: e instanceof WebvlError ? e.code : `untyped: ${String(e)}`,
        message: String(e),
        scores: [],
      }),
    );
}

function finishClassify(): Promise<ClassifyOutcome> {
  if (!pendingClassify) throw new Error('no classify started');
  return pendingClassify;
}

// Counts callbacks the page's GC has reclaimed: a callback still reachable from an open Comlink port never is.
let callbacksCollected = 0;
const callbackRegistry = new FinalizationRegistry<number>(() => {
  callbacksCollected++;
});

/** `n` captions and one load, each with its own callback, registered to be counted once collected. */
async function callbackCalls(png: string, modelUrl: string, n: number): Promise<void> {
  const image = await blobOf(png);
  for (let i = 0; i < n; i++) {
    const onToken = () => undefined;
    callbackRegistry.register(onToken, i);
    await runtime().caption(image, { maxTokens: 2, onToken });
  }
  const onProgress = () => undefined;
  callbackRegistry.register(onProgress, n);
  await runtime().load(modelUrl, { onProgress });
}

const api = {
  create,
  callbackCalls,
  callbacksCollected: () => callbacksCollected,
  load: async (modelUrl: string) => {
    await runtime().load(modelUrl);
  },
  startClassify,
  finishClassify,
  loadFrom,
  startSearch,
  finishSearch,
  search,
  async dispose() {
    await rt?.dispose();
    rt = undefined;
  },
  classify: async (png: string, labels: string[]) => runtime().classify(await blobOf(png), labels),
  hostileMedia,
  hostileText,
  prepareLoad,
  runLoad,
  idbRows,
  addThenTerminate,
  addTerminateOnSignal,
  addBatch,
  indexState,
};

declare global {
  interface Window {
    relRt: typeof api;
    webvlReady: boolean;
  }
}
window.relRt = api;
window.webvlReady = true;
