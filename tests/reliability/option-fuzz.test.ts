// Property-based fuzz (fast-check) over the arguments and option objects of every public API call, through
// the public facade in Node (tests/support/in-process-runtime.ts: a real MessageChannel, so arguments are
// structured-cloned as they would be to a worker; blip-tiny on onnxruntime-web wasm).
// Invariant: every call ends within a bound in a result or a WebvlError with a known code other than
// INTERNAL, and the next valid call returns the reference result computed before the fuzz.
// Seeded (WEBVL_FUZZ_SEED overrides), so a failure reproduces; fast-check prints the shrunk counterexample.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexHandle, Runtime } from '../../src/api/runtime';
import { WebvlError, type WebvlErrorCode } from '../../src/errors';
import { disc } from '../support/images';
import { inProcessRuntime, type ModelServer, startModelServer } from '../support/in-process-runtime';

const SEED = Number(process.env.WEBVL_FUZZ_SEED ?? 1212);
/** A hang detector, far above the slowest valid call here (a 4-beam caption, ~0.3 s): not a speed test. */
const BOUND_MS = 30_000;
const LABELS = ['red circle', 'green circle', 'blue circle', 'yellow circle'];

const CODES = [
  'MODEL_NOT_FOUND',
  'INTEGRITY_MISMATCH',
  'UNSUPPORTED_MODEL',
  'UNSUPPORTED_OP',
  'INVALID_MODEL',
  'INVALID_INPUT',
  'BAD_IMAGE',
  'EMPTY_LABELS',
  'TEXT_TOO_LONG',
  'NO_WEBGPU',
  'DEVICE_LOST',
  'ABORTED',
  'NOT_LOADED',
  'DISPOSED',
  'DUPLICATE_ID',
] as const satisfies readonly Exclude<WebvlErrorCode, 'INTERNAL'>[];
const KNOWN = new Set<string>(CODES);

let server: ModelServer;
let rt: Runtime;
let modelUrl: string;
let reference: string;
let index: IndexHandle;
const tally = new Map<string, number>();

beforeAll(async () => {
  server = await startModelServer();
  modelUrl = `${server.origin}/models/blip-tiny/`;
  rt = await inProcessRuntime(server);
  await rt.load(modelUrl);
  reference = JSON.stringify(await rt.classify(disc('red'), LABELS));
  index = await rt.openIndex('fuzz');
  await index.add([{ id: 'seed', image: disc('blue') }]);
}, 120_000); // loading (compile and warm-up of five graphs) on a busy 2-core machine can pass 10 s

afterAll(async () => {
  await rt?.dispose();
  await server?.close();
  console.log(`fuzz outcomes: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
});

/** Runs a call; fails the property unless it settles in time with a result or a known, non-INTERNAL code. */
async function settles(name: string, call: () => Promise<unknown>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('pending'), BOUND_MS);
  });
  const ended = (async () => {
    try {
      await call();
      return 'result';
    } catch (e) {
      if (!(e instanceof WebvlError)) return `untyped: ${String(e)}`;
      return KNOWN.has(e.code) ? e.code : `${e.code}: ${e.message}`;
    }
  })();
  const outcome = await Promise.race([ended, hang]).finally(() => clearTimeout(timer));
  tally.set(`${name} → ${outcome}`, (tally.get(`${name} → ${outcome}`) ?? 0) + 1);
  expect(outcome === 'result' || KNOWN.has(outcome), `${name} ended in ${outcome}`).toBe(true);
  return outcome;
}

/** The worker still serves: the reference call gives the reference result. */
async function stillServing(): Promise<void> {
  expect(JSON.stringify(await rt.classify(disc('red'), LABELS))).toBe(reference);
}

// --- arbitraries ------------------------------------------------------------------------------------

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, 2.5, 1e6, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.double(),
  fc.integer(),
);

/** Values of every kind structured clone meets: primitives, objects, arrays, and things it refuses. */
const anything = fc.oneof(
  fc.constantFrom(undefined, null, true, false, '', ' ', '\u0000', '\ud800', '[PAD]', 'a red circle'),
  hostileNumber,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.bigInt(),
  fc.func(fc.integer()),
  fc.constant(Symbol('fuzz')),
  fc.constant(new WeakMap()),
  fc.date(),
  fc.uint8Array({ maxLength: 16 }),
  fc.float32Array({ maxLength: 16 }),
  fc.array(fc.jsonValue(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 4 }),
  fc.anything({ maxDepth: 2 }),
);

/** Mostly a valid value (so runs reach the work behind the checks), sometimes anything at all. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anything });

/** A value for a numeric option: small valid counts (so valid runs stay quick), hostile numbers, anything. */
const countOption = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 1, arbitrary: anything },
);

/** A text: valid words, text with nothing to read or too long, any string, or not a string at all. */
const text = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'red circle',
      'a small blue square',
      'Red Circle',
      'green',
      'a star above a cross',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '円',
      '\u202e\u202d',
      '\u200b',
      '\u0000',
      '[SEP]',
      '',
      ' ',
      'circle '.repeat(40),
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: anything },
);

const image = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('red', 'green', 'blue', 'yellow').map((colour) => ({ colour })) },
  {
    weight: 2,
    arbitrary: fc.record({
      width: fc.oneof(fc.integer({ min: 1, max: 8 }), hostileNumber),
      height: fc.oneof(fc.integer({ min: 1, max: 8 }), hostileNumber),
      data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.float32Array({ maxLength: 300 }), anything),
    }),
  },
  { weight: 1, arbitrary: anything },
);
/** Discs are made fresh per call (pixel buffers are transferred, so they cannot be reused). */
const realize = (im: unknown) => {
  const colour = (im as { colour?: unknown } | null)?.colour;
  return typeof colour === 'string' && Object.keys(im as object).length === 1 ? disc(colour as 'red') : im;
};

/** An options argument: usually an object of the call's own keys with fuzzed values, sometimes anything. */
function options<T extends Record<string, fc.Arbitrary<unknown>>>(keys: T) {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record(keys, { requiredKeys: [] }) },
    { weight: 1, arbitrary: anything },
  );
}

const run = (property: fc.IAsyncProperty<never>, numRuns: number) =>
  fc.assert(property, { seed: SEED, numRuns });

// --- properties ---------------------------------------------------------------------------------------

describe('fuzz: every public call ends in a result or a typed error, and the worker keeps serving', () => {
  it('createRuntime options (backend, allowedOrigins, indexOnGpu, onProgress)', async () => {
    const opts = options({
      backend: mostly(fc.constantFrom('auto', 'wasm', 'webgpu', 'ort-webgpu')),
      allowedOrigins: fc.oneof(
        fc.constant([server?.origin ?? '']),
        fc.array(text, { maxLength: 3 }),
        anything,
      ),
      indexOnGpu: mostly(fc.boolean()),
      onProgress: fc.oneof(
        fc.constant(() => undefined),
        anything,
      ),
    });
    await run(
      fc.asyncProperty(opts, async (o) => {
        let created: Runtime | undefined;
        await settles('createRuntime', async () => {
          created = await inProcessRuntime(server, o as never);
          await created.info();
        });
        await created?.dispose();
      }) as never,
      60,
    );
    await stillServing();
  });

  it('load(modelUrl, { onProgress, refresh, dtype })', async () => {
    const url = fc.oneof(
      { weight: 3, arbitrary: fc.constant('model') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          '/models/none/',
          'https://evil.test/m/',
          'not a url',
          'javascript:alert(1)',
        ),
      },
      { weight: 1, arbitrary: anything },
    );
    const opts = options({
      onProgress: fc.oneof(
        fc.constant(() => undefined),
        fc.constant(() => {
          throw new Error('listener failed');
        }),
        anything,
      ),
      refresh: mostly(fc.boolean()),
      dtype: mostly(fc.constantFrom('fp32', 'fp16')),
    });
    await run(
      fc.asyncProperty(url, opts, async (u, o) => {
        await settles('load', () => rt.load(u === 'model' ? modelUrl : (u as string), o as never));
        // A load that succeeded may have loaded the fp16 variant: the reference is the fp32 model's.
        if ((await rt.info()).model?.dtype !== 'fp32') await rt.load(modelUrl);
        await stillServing();
      }) as never,
      12,
    );
  });

  it('classify(image, labels, { template })', async () => {
    const labels = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.uniqueArray(fc.constantFrom(...LABELS, 'a star', 'square'), { maxLength: 5 }),
      },
      { weight: 2, arbitrary: fc.array(text, { maxLength: 5 }) },
      { weight: 1, arbitrary: anything },
    );
    const opts = options({
      template: fc.oneof(
        fc.constantFrom('a {}', 'a large {}', 'no slot', '{}', '{}{}'),
        fc.array(fc.constantFrom('a {}', 'the {} shape', 'x'), { maxLength: 3 }),
        anything,
      ),
    });
    await run(
      fc.asyncProperty(image, labels, opts, async (im, l, o) => {
        await settles('classify', () => rt.classify(realize(im) as never, l as never, o as never));
        await stillServing();
      }) as never,
      150,
    );
  });

  it('embedText(texts), match(image, texts), embedImage(image)', async () => {
    const texts = fc.oneof(text, fc.array(text, { maxLength: 4 }));
    await run(
      fc.asyncProperty(image, texts, async (im, t) => {
        await settles('embedText', () => rt.embedText(t as never));
        await settles('match', () => rt.match(realize(im) as never, t as never));
        await settles('embedImage', () => rt.embedImage(realize(im) as never));
        await stillServing();
      }) as never,
      100,
    );
  });

  it('caption(image, { maxTokens, numBeams, onToken, signal })', async () => {
    const opts = options({
      maxTokens: countOption,
      numBeams: countOption,
      onToken: mostly(fc.constantFrom('none', 'noop', 'throws', 'aborts')),
      signal: mostly(fc.constantFrom('none', 'fresh', 'aborted')),
    });
    await run(
      fc.asyncProperty(image, opts, async (im, raw) => {
        const o = { ...(typeof raw === 'object' && raw !== null ? raw : {}) } as Record<string, unknown>;
        const ctl = new AbortController();
        if (o.signal === 'none') delete o.signal;
        else if (o.signal === 'fresh') o.signal = ctl.signal;
        else if (o.signal === 'aborted') o.signal = AbortSignal.abort();
        if (o.onToken === 'none') delete o.onToken;
        else if (o.onToken === 'noop') o.onToken = () => undefined;
        else if (o.onToken === 'aborts') o.onToken = () => ctl.abort();
        else if (o.onToken === 'throws')
          o.onToken = () => {
            throw new Error('onToken failed');
          };
        const arg = typeof raw === 'object' && raw !== null ? o : raw;
        await settles('caption', () => rt.caption(realize(im) as never, arg as never));
        await stillServing();
      }) as never,
      120,
    );
  });

  it('capfilt(images, { threshold, texts, signal })', async () => {
    const images = fc.oneof(
      { weight: 4, arbitrary: fc.array(image, { maxLength: 2 }) },
      { weight: 1, arbitrary: anything },
    );
    const opts = options({
      threshold: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
      texts: mostly(fc.array(fc.oneof(text, fc.constant(undefined)), { maxLength: 2 })),
    });
    await run(
      fc.asyncProperty(images, opts, async (ims, o) => {
        const list = Array.isArray(ims) ? ims.map(realize) : ims;
        await settles('capfilt', () => rt.capfilt(list as never, o as never));
        await stillServing();
      }) as never,
      40,
    );
  });

  it('openIndex(name) and index.add/upsert/search/remove', async () => {
    const id = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c') },
      { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(1025)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      { weight: 1, arbitrary: anything },
    );
    const item = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record(
          {
            id,
            image,
            meta: fc.oneof(
              fc.constant(undefined),
              fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue(), { maxKeys: 3 }),
              anything,
            ),
          },
          { requiredKeys: ['id', 'image'] },
        ),
      },
      { weight: 1, arbitrary: anything },
    );
    const items = fc.oneof(
      { weight: 4, arbitrary: fc.array(item, { maxLength: 3 }) },
      { weight: 1, arbitrary: anything },
    );
    const search = options({
      k: countOption,
      rerank: mostly(fc.boolean()),
      candidates: countOption,
    });
    const name = fc.oneof(
      { weight: 3, arbitrary: fc.constant('fuzz') },
      { weight: 1, arbitrary: fc.oneof(fc.constant('x'.repeat(257)), anything) },
    );
    await run(
      fc.asyncProperty(
        name,
        items,
        text,
        search,
        fc.array(id, { maxLength: 3 }),
        async (n, its, q, o, ids) => {
          const realized = Array.isArray(its)
            ? its.map((it) =>
                typeof it === 'object' && it !== null && 'image' in it
                  ? { ...it, image: realize(it.image) }
                  : it,
              )
            : its;
          let handle: IndexHandle | undefined;
          await settles('openIndex', async () => {
            handle = await rt.openIndex(n as never);
          });
          const h = handle ?? index;
          await settles('index.add', () => h.add(realized as never));
          await settles('index.upsert', () =>
            h.upsert(
              (Array.isArray(realized)
                ? realized.map((it) =>
                    typeof it === 'object' && it !== null && 'image' in it
                      ? { ...it, image: disc('green') }
                      : it,
                  )
                : realized) as never,
            ),
          );
          await settles('index.search', () => h.search(q as never, o as never));
          await settles('index.remove', () => h.remove(ids as never));
          await settles('index.size', () => h.size());
          await stillServing();
        },
      ) as never,
      80,
    );
    // The seeded entry is still found by its own image.
    const hits = await index.search('a blue circle', { k: 10 });
    expect(hits.map((h) => h.id)).toContain('seed');
  });
});
