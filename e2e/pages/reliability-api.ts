// Reliability page for issue 12's defects in a real browser worker: dispose() with calls in flight, arguments
// that cannot be cloned, caption options on each backend, beam bounds and aborts, duplicate ids, hostile
// manifests, and onnxruntime-web's WebGPU device lost mid-request. Driven by e2e/reliability-api.e2e.ts.
import { createRuntime, type Runtime } from '../../src/api/runtime';
import type { BackendChoice, LabelScore } from '../../src/api/types';
import { WebvlError } from '../../src/errors';

let rt: Runtime | undefined;

function runtime(): Runtime {
  if (!rt) throw new Error('call relApi.create() first');
  return rt;
}

const blobOf = async (url: string): Promise<Blob> => (await fetch(url)).blob();

interface Outcome {
  /** 'result', a WebvlError code, 'untyped: …' or 'pending' (did not settle within the bound). */
  code: string;
  field?: unknown;
  message?: string;
}

async function outcome(f: () => Promise<unknown>, boundMs = 60_000): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ code: 'pending' }), boundMs);
  });
  const settled = f().then(
    (): Outcome => ({ code: 'result' }),
    (e: unknown): Outcome =>
      e instanceof WebvlError
        ? { code: e.code, field: e.details?.field, message: e.message }
        : { code: `untyped: ${String(e)}` },
  );
  return Promise.race([settled, pending]).finally(() => clearTimeout(timer));
}

/** A new runtime; '' loads nothing. The previous one is disposed first (its worker gone). */
async function create(modelUrl: string, backend: BackendChoice = 'wasm') {
  await rt?.dispose();
  rt = await createRuntime({ backend });
  if (modelUrl) await rt.load(modelUrl);
  return rt.info();
}

// --- dispose ------------------------------------------------------------------------------------------

/** Devices the worker reported destroying (the test patches GPUDevice.prototype.destroy in the worker). */
let devicesReport = { created: 0, destroyed: 0 };
new BroadcastChannel('rel-api-devices').onmessage = (e: MessageEvent<typeof devicesReport>) => {
  devicesReport = e.data;
};

/**
 * Starts five calls, disposes while they are in flight, and reports how each ended (bounded by 10 s: a call
 * still pending then is reported 'pending'), then how every method ends after dispose().
 */
async function disposeInFlight(png: string, otherModel: string) {
  const r = runtime();
  const image = await blobOf(png);
  const index = await r.openIndex(`dispose-${Date.now()}`);
  const inFlight = {
    classify: r.classify(image, ['red circle', 'blue square']),
    caption: r.caption(image, { numBeams: 3, maxTokens: 20 }),
    load: r.load(otherModel),
    'index.add': index.add([{ id: 'x', image }]),
    embedText: r.embedText(['a red circle']),
  };
  // Test-only: the worker's device report (BroadcastChannel) is posted just before dispose() terminates it,
  // and a message in flight dies with its sender; terminating 1 s late lets it arrive.
  const terminate = Worker.prototype.terminate;
  Worker.prototype.terminate = function (this: Worker) {
    setTimeout(() => terminate.call(this), 1_000);
  };
  const disposed = r.dispose().finally(() => {
    Worker.prototype.terminate = terminate;
  });
  const pending = Object.fromEntries(
    await Promise.all(
      Object.entries(inFlight).map(async ([k, p]) => [k, (await outcome(() => p, 10_000)).code]),
    ),
  );
  await disposed;
  rt = undefined;
  const later: Record<string, () => Promise<unknown>> = {
    info: () => r.info(),
    classify: () => r.classify(image, ['red circle']),
    caption: () => r.caption(image),
    'index.search': () => index.search('a red circle'),
    'index.upsert': () => index.upsert([{ id: 'y', image }]),
  };
  const after: Record<string, string> = {};
  for (const [k, f] of Object.entries(later)) after[k] = (await outcome(f, 10_000)).code;
  // The worker's device reports travel on another channel than dispose()'s answer: wait for the last one.
  const complete = () => devicesReport.created > 0 && devicesReport.destroyed === devicesReport.created;
  for (let i = 0; i < 50 && !complete(); i++) {
    await new Promise((res) => setTimeout(res, 100));
  }
  return { pending, after, devices: devicesReport };
}

// --- arguments that cannot cross ----------------------------------------------------------------------

async function cloneCases(png: string) {
  const r = runtime();
  const index = await r.openIndex(`clone-${Date.now()}`);
  const image = () => blobOf(png);
  const closed = await createImageBitmap(await blobOf(png));
  closed.close();
  const cases: Record<string, () => Promise<unknown>> = {
    'function in meta': async () => index.add([{ id: 'a', image: await image(), meta: { f: () => 1 } }]),
    'DOM node in meta': async () =>
      index.add([{ id: 'a', image: await image(), meta: { el: document.body } }]),
    'function among labels': async () => r.classify(await image(), ['red', (() => 1) as never]),
    'function as numBeams': async () => r.caption(await image(), { numBeams: (() => 2) as never }),
    'closed ImageBitmap': () => r.classify(closed, ['red circle', 'blue square']),
  };
  const out: Record<string, Outcome> = {};
  for (const [k, f] of Object.entries(cases)) out[k] = await outcome(f);
  return { out, size: await index.size() };
}

// --- captions -----------------------------------------------------------------------------------------

/** Caption options outside their ranges on the current backend, then a valid caption. */
async function captionOptions(png: string) {
  const r = runtime();
  const image = await blobOf(png);
  const bad: [string, Record<string, unknown>][] = [
    ['maxTokens 0', { maxTokens: 0 }],
    ['maxTokens -1', { maxTokens: -1 }],
    ['maxTokens NaN', { maxTokens: Number.NaN }],
    ['numBeams 0', { numBeams: 0 }],
    ['numBeams -3', { numBeams: -3 }],
    ['numBeams NaN', { numBeams: Number.NaN }],
    ['numBeams 2.5', { numBeams: 2.5 }],
    ['numBeams 1e6', { numBeams: 1e6 }],
  ];
  const codes: Record<string, Outcome> = {};
  for (const [name, o] of bad) codes[name] = await outcome(() => r.caption(image, o));
  const valid = await r.caption(image, { maxTokens: 4 });
  const beams = await r.caption(image, { maxTokens: 4, numBeams: 2 });
  return { codes, valid: valid.tokenIds, beams: beams.tokenIds };
}

/** The largest beam search the model allows, aborted at its first token; how many tokens came after. */
async function abortBigBeam(png: string) {
  const r = runtime();
  const info = await r.info();
  const numBeams = info.model?.maxBeams ?? 1;
  const ctl = new AbortController();
  const steps: number[] = [];
  const image = await blobOf(png);
  const ended = await outcome(() =>
    r.caption(image, {
      numBeams,
      maxTokens: info.model?.maxCaptionTokens,
      signal: ctl.signal,
      onToken: (t) => {
        steps.push(t.step);
        ctl.abort();
      },
    }),
  );
  return { numBeams, code: ended.code, steps };
}

// --- index ---------------------------------------------------------------------------------------------

async function idbIds(name: string): Promise<string[]> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open('webvl-index');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    const rows = await new Promise<{ index: string; id: string }[]>((resolve, reject) => {
      const req = db.transaction('entries', 'readonly').objectStore('entries').getAll();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return rows
      .filter((r) => r.index === name)
      .map((r) => r.id)
      .sort();
  } finally {
    db.close();
  }
}

async function duplicateIds(pngs: string[]) {
  const name = `dupes-${Date.now()}`;
  const index = await runtime().openIndex(name);
  const [a, b, c] = await Promise.all(pngs.map(blobOf));
  await index.add([
    { id: 'a', image: a },
    { id: 'b', image: b },
  ]);
  const before = await index.search('a red circle', { k: 2 });
  const dup = await outcome(() =>
    index.add([
      { id: 'c', image: c },
      { id: 'a', image: c },
    ]),
  );
  const after = await index.search('a red circle', { k: 2 });
  const rows = await idbIds(name);
  const upserted = await index.upsert([{ id: 'a', image: c }]);
  return { dup, same: JSON.stringify(before) === JSON.stringify(after), rows, upserted };
}

// --- hostile manifests ------------------------------------------------------------------------------------

async function loadCode(url: string): Promise<Outcome> {
  return outcome(() => runtime().load(url));
}

// --- onnxruntime-web's WebGPU device lost ----------------------------------------------------------------

type Classified = { code: string; message?: string; scores: LabelScore[] };
let pendingClassify: Promise<Classified> | undefined;

async function classify(png: string, labels: string[]): Promise<LabelScore[]> {
  return runtime().classify(await blobOf(png), labels);
}

async function startClassify(png: string, labels: string[]): Promise<void> {
  const image = await blobOf(png);
  pendingClassify = runtime()
    .classify(image, labels)
    .then(
      (scores) => ({ code: 'result', scores }),
      (e: unknown) => ({
        code: e instanceof WebvlError ? e.code : `untyped: ${String(e)}`,
        message: String(e),
        scores: [],
      }),
    );
}

const api = {
  create,
  dispose: async () => {
    await rt?.dispose();
    rt = undefined;
  },
  info: () => runtime().info(),
  load: async (modelUrl: string) => {
    await runtime().load(modelUrl);
  },
  disposeInFlight,
  cloneCases,
  captionOptions,
  abortBigBeam,
  duplicateIds,
  loadCode,
  classify,
  startClassify,
  finishClassify: (): Promise<Classified> => {
    if (!pendingClassify) throw new Error('no classify started');
    return pendingClassify;
  },
};

declare global {
  interface Window {
    relApi: typeof api;
    webvlReady: boolean;
  }
}
window.relApi = api;
window.webvlReady = true;
