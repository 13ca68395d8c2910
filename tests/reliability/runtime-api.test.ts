// The eight defects of issue 12, and the classes of input behind them, through the public runtime API in
// Node (tests/support/in-process-runtime.ts: the page-side facade and the worker API on the two ends of a
// MessageChannel, so arguments really are structured-cloned; onnxruntime-web wasm; blip-tiny). After each
// group the runtime must still give the reference result computed up front.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/api/runtime';
import type { LoadedModelInfo } from '../../src/api/types';
import { WebvlError } from '../../src/errors';
import { disc } from '../support/images';
import { inProcessRuntime, type ModelServer, startModelServer } from '../support/in-process-runtime';

const LABELS = ['red circle', 'green circle', 'blue circle', 'yellow circle'];

let server: ModelServer;
let rt: Runtime;
let model: LoadedModelInfo;
let reference: string;

/** 'result' or the WebvlError code; anything else (an untyped error) is reported as such. */
async function outcome(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'result';
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
}

async function failure(f: () => Promise<unknown>): Promise<WebvlError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof WebvlError) return e;
    throw new Error(`untyped failure: ${String(e)}`);
  }
  throw new Error('resolved; a failure was expected');
}

const classifyRed = () => rt.classify(disc('red'), LABELS);

async function expectStillServing() {
  expect(JSON.stringify(await classifyRed())).toBe(reference);
}

beforeAll(async () => {
  server = await startModelServer();
  rt = await inProcessRuntime(server);
  model = await rt.load(`${server.origin}/models/blip-tiny/`);
  reference = JSON.stringify(await classifyRed());
}, 120_000); // loading (compile and warm-up of five graphs) on a busy 2-core machine can pass 10 s

afterAll(async () => {
  await rt?.dispose();
  await server?.close();
});

describe('defect 1: dispose() with calls in flight', () => {
  it('pending classify, caption, load and index.add reject with DISPOSED at once; later calls too', async () => {
    const r = await inProcessRuntime(server);
    await r.load(`${server.origin}/models/blip-tiny/`);
    const index = await r.openIndex('disposed-index');
    const pending = [
      r.classify(disc('red'), LABELS),
      r.caption(disc('blue'), { maxTokens: 20, numBeams: 3 }),
      r.load(`${server.origin}/models/clip-tiny/`),
      index.add([{ id: 'x', image: disc('green') }]),
      r.embedText(['a red circle']),
    ].map((p) =>
      p.then(
        () => 'result',
        (e: unknown) => (e instanceof WebvlError ? e.code : String(e)),
      ),
    );
    const disposed = r.dispose();
    const still = Symbol('still pending');
    // A hang detector, not a speed test: every call must have settled long before this.
    const settled = await Promise.race([
      Promise.all(pending),
      new Promise<typeof still>((res) => setTimeout(() => res(still), 10_000)),
    ]);
    expect(settled).toEqual(['DISPOSED', 'DISPOSED', 'DISPOSED', 'DISPOSED', 'DISPOSED']);
    await disposed;
    const later: Record<string, () => Promise<unknown>> = {
      info: () => r.info(),
      load: () => r.load(`${server.origin}/models/clip-tiny/`),
      unload: () => r.unload(),
      classify: () => r.classify(disc('red'), LABELS),
      embedImage: () => r.embedImage(disc('red')),
      embedText: () => r.embedText('a red circle'),
      match: () => r.match(disc('red'), ['a red circle']),
      caption: () => r.caption(disc('red')),
      capfilt: () => r.capfilt([disc('red')], { threshold: 0.5 }),
      openIndex: () => r.openIndex('other'),
      'index.add': () => index.add([{ id: 'y', image: disc('red') }]),
      'index.upsert': () => index.upsert([{ id: 'y', image: disc('red') }]),
      'index.search': () => index.search('a red circle'),
      'index.remove': () => index.remove(['x']),
      'index.size': () => index.size(),
      'index.clear': () => index.clear(),
    };
    for (const [name, call] of Object.entries(later))
      expect(`${name}: ${await outcome(call)}`).toBe(`${name}: DISPOSED`);
    // dispose() again is harmless.
    await r.dispose();
  });
});

describe('defect 2: arguments that cannot cross to the worker', () => {
  const getterThrows = Object.defineProperty({}, 'bad', {
    enumerable: true,
    get() {
      throw new Error('no');
    },
  });
  const cases: [string, string, () => Promise<unknown>][] = [
    [
      'function in meta',
      'items[0].meta.f',
      () => open().then((i) => i.add([{ id: 'a', image: disc('red'), meta: { f: () => 1 } }])),
    ],
    [
      'symbol deep in meta',
      'items[1].meta.deep[1].s',
      () =>
        open().then((i) =>
          i.add([
            { id: 'a', image: disc('red') },
            { id: 'b', image: disc('red'), meta: { deep: [1, { s: Symbol('x') }] } },
          ]),
        ),
    ],
    [
      'throwing getter in meta',
      'items[0].meta.bad',
      () => open().then((i) => i.add([{ id: 'a', image: disc('red'), meta: getterThrows }])),
    ],
    [
      'WeakMap as meta',
      'items[0].meta',
      () => open().then((i) => i.add([{ id: 'a', image: disc('red'), meta: new WeakMap() as never }])),
    ],
    [
      'function as id',
      'items[0].id',
      () => open().then((i) => i.add([{ id: (() => 'a') as never, image: disc('red') }])),
    ],
    [
      'function among labels',
      'labels[1]',
      () => rt.classify(disc('red'), ['red circle', (() => 1) as never]),
    ],
    [
      'function as template',
      'options.template',
      () => rt.classify(disc('red'), LABELS, { template: (() => 1) as never }),
    ],
    [
      'function as maxTokens',
      'options.maxTokens',
      () => rt.caption(disc('red'), { maxTokens: (() => 3) as never }),
    ],
    ['symbol among texts', 'texts[0]', () => rt.embedText([Symbol('t') as never])],
    ['function among match texts', 'texts[0]', () => rt.match(disc('red'), [(() => 1) as never])],
    [
      'function among capfilt texts',
      'options.texts[0]',
      () => rt.capfilt([disc('red')], { threshold: 0.5, texts: [(() => 1) as never] }),
    ],
    [
      'function as search k',
      'options.k',
      () => open().then((i) => i.search('a red circle', { k: (() => 1) as never })),
    ],
    ['function among ids to remove', 'ids[0]', () => open().then((i) => i.remove([(() => 1) as never]))],
    ['function as index name', 'name', () => rt.openIndex((() => 'x') as never)],
    [
      'onProgress that is not a function',
      'options.onProgress',
      () => rt.load(`${server.origin}/models/blip-tiny/`, { onProgress: 'x' as never }),
    ],
  ];
  const open = () => rt.openIndex('clone-cases');

  it.each(cases)('%s → INVALID_INPUT naming %s', async (_, field, call) => {
    const e = await failure(call);
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe(field);
    expect(e.message).toContain(field);
  });

  it('nothing was added by the refused batches, and the worker still serves', async () => {
    expect(await (await open()).size()).toBe(0);
    await expectStillServing();
  });
});

describe('defect 3: captions of zero tokens, and numeric caption options', () => {
  it('info() states the caption bounds of the loaded model', () => {
    // blip-tiny: 32 decoder positions, so at most 32 steps ([DEC] at position 0 predicts the first token).
    expect(model.maxCaptionTokens).toBe(32);
    expect(Number.isInteger(model.maxBeams)).toBe(true);
    expect(model.maxBeams).toBeGreaterThanOrEqual(3);
  });

  const bad: [string, unknown][] = [
    ['0', 0],
    ['-1', -1],
    ['NaN', Number.NaN],
    ['2.5', 2.5],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '4'],
    ['null', null],
    ['one past the bound', 33],
    ['1e6', 1e6],
  ];
  it.each(bad)('maxTokens %s → INVALID_INPUT, greedy and beam', async (_, maxTokens) => {
    for (const numBeams of [1, 3]) {
      const e = await failure(() => rt.caption(disc('red'), { maxTokens: maxTokens as number, numBeams }));
      expect(e.code).toBe('INVALID_INPUT');
      expect(e.details?.field).toBe('options.maxTokens');
    }
  });

  it('maxTokens 1 gives one token; maxTokens at the bound is accepted', async () => {
    expect((await rt.caption(disc('red'), { maxTokens: 1 })).tokenIds).toHaveLength(1);
    const long = await rt.caption(disc('red'), { maxTokens: 32 });
    expect(long.tokenIds.length).toBeLessThanOrEqual(32);
    await expectStillServing();
  });
});

describe('defect 4: numBeams bounded and validated; abort lands within a step', () => {
  const bad: [string, unknown][] = [
    ['0', 0],
    ['-3', -3],
    ['NaN', Number.NaN],
    ['2.5', 2.5],
    ['1e6', 1e6],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '3'],
  ];
  it.each(bad)('numBeams %s → INVALID_INPUT', async (_, numBeams) => {
    const e = await failure(() => rt.caption(disc('red'), { numBeams: numBeams as number }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('options.numBeams');
  });

  it('numBeams one past the memory-derived bound → INVALID_INPUT; at the bound → a caption', async () => {
    const over = await failure(() =>
      rt.caption(disc('red'), { numBeams: (model.maxBeams ?? 0) + 1, maxTokens: 2 }),
    );
    expect(over.code).toBe('INVALID_INPUT');
    const at = await rt.caption(disc('red'), { numBeams: model.maxBeams, maxTokens: 2 });
    expect(at.tokenIds.length).toBeLessThanOrEqual(2);
  });

  it.each([1, 4])(
    'numBeams %i: aborted at the first token → ABORTED, no token after the abort',
    async (numBeams) => {
      const ctl = new AbortController();
      const steps: number[] = [];
      const code = await outcome(() =>
        rt.caption(disc('blue'), {
          numBeams,
          maxTokens: 31,
          signal: ctl.signal,
          onToken: (t) => {
            steps.push(t.step);
            ctl.abort();
          },
        }),
      );
      expect(code).toBe('ABORTED');
      expect(steps).toEqual([0]);
      await expectStillServing();
    },
  );

  it('an abort from outside (not from onToken) while the biggest beam search runs lands within one step', async () => {
    const ctl = new AbortController();
    let stepsAfterAbort = -1;
    const run = rt.caption(disc('yellow'), {
      numBeams: model.maxBeams,
      maxTokens: 31,
      signal: ctl.signal,
      onToken: () => {
        if (ctl.signal.aborted) stepsAfterAbort++;
      },
    });
    // Abort as soon as the first step is under way (the worker is busy decoding), from a timer.
    await new Promise((r) => setTimeout(r, 50));
    ctl.abort();
    stepsAfterAbort = 0;
    expect(await outcome(() => run)).toBe('ABORTED');
    expect(stepsAfterAbort).toBeLessThanOrEqual(1);
    await expectStillServing();
  });
});

describe('defect 5: manifest sizes are not trusted', () => {
  const manifest = async () =>
    JSON.parse(await (await fetch(`${server.origin}/models/clip-tiny/manifest.json`)).text()) as {
      version: 1;
      files: Record<string, { size: number; sha256: string }>;
    };
  const cases: [string, unknown, string][] = [
    ['1e12', 1e12, 'INVALID_MODEL'],
    ['2^31 (over the 2 GiB bound)', 2 ** 31, 'INVALID_MODEL'],
    ['-1', -1, 'INVALID_MODEL'],
    ['2.5', 2.5, 'INVALID_MODEL'],
    ['a string', '2488176', 'INVALID_MODEL'],
    ['1.5e9 (plausible, but the file is 2.4 MB)', 1.5e9, 'INTEGRITY_MISMATCH'],
    ['one byte short of the real size', 'short', 'INTEGRITY_MISMATCH'],
  ];
  it.each(cases)('vision_model size %s → %s; the loaded model stays usable', async (name, size, code) => {
    const m = await manifest();
    const file = 'onnx/vision_model.onnx';
    m.files[file].size = size === 'short' ? m.files[file].size - 1 : (size as number);
    const folder = `/hostile/size-${name.replace(/\W+/g, '-')}/`;
    server.override(`${folder}manifest.json`, JSON.stringify(m));
    expect(await outcome(() => rt.load(`${server.origin}${folder}`))).toBe(code);
  });

  it('still serves the model loaded before', async () => {
    await expectStillServing();
  });
});

describe('defect 6: text that tokenizes to nothing', () => {
  const empty = [
    '\u0000',
    '\ud800',
    '\u202e\u202d\u200f',
    '\u200b\u200c\u200d\u2060',
    '[PAD]',
    '[CLS] [SEP]',
  ];
  it.each(empty)('%j is INVALID_INPUT as a label, a text, a match text and a query', async (text) => {
    const index = await rt.openIndex('nothing-queries');
    if ((await index.size()) === 0) await index.add([{ id: 'r', image: disc('red') }]);
    expect(await outcome(() => rt.classify(disc('red'), [text, 'red circle']))).toBe('INVALID_INPUT');
    expect(await outcome(() => rt.embedText([text]))).toBe('INVALID_INPUT');
    expect(await outcome(() => rt.match(disc('red'), [text]))).toBe('INVALID_INPUT');
    expect(await outcome(() => index.search(text))).toBe('INVALID_INPUT');
  });

  it('two labels that tokenize alike are not distinct', async () => {
    for (const pair of [
      ['\u0000', '\ud800'],
      ['Red Circle', 'red circle'],
      ['red  circle', 'red circle'],
      ['red\u200b circle', 'red circle'],
      ['\u202ered circle', 'red circle'],
    ]) {
      const e = await failure(() => rt.classify(disc('red'), pair));
      expect(e.code).toBe('INVALID_INPUT');
    }
  });

  it('text the vocabulary lacks ([UNK]) is still text', async () => {
    const scores = await rt.classify(disc('red'), ['円', 'red circle']);
    expect(scores).toHaveLength(2);
    await expectStillServing();
  });
});

describe('defect 7: pixel buffers must be RGBA bytes of exactly width·height·4', () => {
  const n = 64 * 64 * 4;
  const cases: [string, () => unknown][] = [
    ['Float32Array', () => ({ width: 64, height: 64, data: new Float32Array(n) })],
    ['Uint16Array', () => ({ width: 64, height: 64, data: new Uint16Array(n) })],
    ['Int8Array', () => ({ width: 64, height: 64, data: new Int8Array(n) })],
    ['Uint32Array (one per pixel)', () => ({ width: 64, height: 64, data: new Uint32Array(64 * 64) })],
    ['Float64Array', () => ({ width: 64, height: 64, data: new Float64Array(n) })],
    ['DataView', () => ({ width: 64, height: 64, data: new DataView(new ArrayBuffer(n)) })],
    ['a plain array', () => ({ width: 64, height: 64, data: Array.from({ length: n }, () => 0) })],
    ['one byte short', () => ({ width: 64, height: 64, data: new Uint8Array(n - 1) })],
    ['non-integer width', () => ({ width: 2.5, height: 64, data: new Uint8Array(640) })],
    ['NaN height', () => ({ width: 64, height: Number.NaN, data: new Uint8Array(n) })],
    ['negative size', () => ({ width: -64, height: -64, data: new Uint8Array(n) })],
    ['a side past 16384', () => ({ width: 32768, height: 1, data: new Uint8Array(32768 * 4) })],
    ['width as a string', () => ({ width: '64', height: 64, data: new Uint8Array(n) })],
  ];
  it.each(cases)('%s → BAD_IMAGE', async (_, make) => {
    expect(await outcome(() => rt.classify(make() as never, LABELS))).toBe('BAD_IMAGE');
  });

  it('Uint8Array and Uint8ClampedArray give the same result; a shared or partial buffer is copied, not taken', async () => {
    const clamped = disc('red');
    expect(
      JSON.stringify(await rt.classify({ ...clamped, data: new Uint8Array(clamped.data) }, LABELS)),
    ).toBe(reference);
    const shared = new Uint8Array(new SharedArrayBuffer(n));
    shared.set(disc('red').data);
    expect(JSON.stringify(await rt.classify({ width: 64, height: 64, data: shared }, LABELS))).toBe(
      reference,
    );
    const big = new Uint8Array(2 * n);
    big.set(disc('red').data, n);
    expect(JSON.stringify(await rt.classify({ width: 64, height: 64, data: big.subarray(n) }, LABELS))).toBe(
      reference,
    );
    expect(big.byteLength).toBe(2 * n); // the caller's larger buffer is not detached
  });
});

describe('defect 8: ids that already exist', () => {
  it('add() refuses an existing id (DUPLICATE_ID, nothing changes); upsert() replaces', async () => {
    const index = await rt.openIndex('dupes');
    expect(
      await index.add([
        { id: 'a', image: disc('red') },
        { id: 'b', image: disc('blue') },
      ]),
    ).toBe(2);
    const before = await index.search('a red circle', { k: 2 });
    const dup = await failure(() =>
      index.add([
        { id: 'c', image: disc('green') },
        { id: 'a', image: disc('yellow') },
      ]),
    );
    expect(dup.code).toBe('DUPLICATE_ID');
    expect(dup.details?.ids).toEqual(['a']);
    const inBatch = await failure(() =>
      index.add([
        { id: 'd', image: disc('green') },
        { id: 'd', image: disc('red') },
      ]),
    );
    expect(inBatch.code).toBe('DUPLICATE_ID');
    expect(await index.size()).toBe(2);
    expect(await index.search('a red circle', { k: 2 })).toEqual(before);
    // upsert: 'a' becomes a blue disc, 'e' is new.
    expect(
      await index.upsert([
        { id: 'a', image: disc('blue') },
        { id: 'e', image: disc('green') },
      ]),
    ).toBe(3);
    const hits = await index.search('a blue circle', { k: 3 });
    const a = hits.find((h) => h.id === 'a');
    const b = hits.find((h) => h.id === 'b');
    expect(a && b && Math.abs((a.itc ?? Number.NaN) - (b.itc ?? Number.NaN))).toBeLessThan(1e-6); // same image now, same score
    const dupInUpsert = await failure(() =>
      index.upsert([
        { id: 'f', image: disc('red') },
        { id: 'f', image: disc('red') },
      ]),
    );
    expect(dupInUpsert.code).toBe('DUPLICATE_ID');
  });

  it('index calls resolve in submission order (remove right after add sees the added entry)', async () => {
    const index = await rt.openIndex('fifo');
    const add = index.add([{ id: 'x', image: disc('red') }]);
    const removed = index.remove(['x']);
    const size = index.size();
    expect(await add).toBe(1);
    expect(await removed).toBe(1);
    expect(await size).toBe(0);
    await expectStillServing();
  });
});
