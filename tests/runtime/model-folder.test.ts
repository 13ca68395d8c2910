// Model folders as they are (no manifest.json): sizes from Content-Length or streamed, byte progress, Cache
// Storage keys and a second load without requests; a manifest, when there is one, still verifies every file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { MemoryByteCache } from '../../src/models/byte-cache';
import { normalizeHubUrl } from '../../src/models/hub-url';
import { LoadCounter } from '../../src/models/load-counter';
import { buildManifest } from '../../src/models/make-manifest';
import { openModelFolder } from '../../src/models/model-folder';
import { cacheKey, type LoadProgress } from '../../src/models/model-store';
import { fakeServer, utf8 } from '../support/fake-folder-server';

const BASE = 'http://app.test/';
const DIR = `${BASE}models/m/`;
const config = utf8('{"model_type": "clip"}');
const graph = new Uint8Array(1000).map((_, i) => (i * 31) % 256);

function folder(): Record<string, Uint8Array> {
  return { [`${DIR}config.json`]: config, [`${DIR}onnx/m.onnx`]: graph };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
  return 'resolved';
}

async function readAll(files: string[], opts: Parameters<typeof openModelFolder>[1]) {
  const f = await openModelFolder('/models/m', { baseUrl: BASE, ...opts });
  const events: LoadProgress[] = [];
  const counter = new LoadCounter(f.url.href, (p) => events.push(p));
  const opened = await Promise.all(files.map((x) => f.open(x)));
  const bytes = await counter.read(opened.filter((o) => o !== undefined));
  return { folder: f, bytes, events, opened };
}

describe('a folder without manifest.json', () => {
  for (const withLength of [true, false]) {
    it(`loads with ${withLength ? 'sizes from Content-Length' : 'no Content-Length (streamed into a growing buffer)'}; progress ends at the real sizes`, async () => {
      const server = fakeServer(folder(), { contentLength: () => withLength });
      const {
        folder: f,
        bytes,
        events,
      } = await readAll(['config.json', 'onnx/m.onnx'], {
        cache: null,
        fetch: server.fetchFn,
      });
      expect(f.verified).toBe(false);
      expect(bytes.get('onnx/m.onnx')).toEqual(graph);
      expect(bytes.get('config.json')).toEqual(config);
      const last = events[events.length - 1];
      expect(last.loaded).toBe(config.length + graph.length);
      expect(last.total).toBe(config.length + graph.length);
      // Streamed (7-byte chunks) and monotone; never more loaded than the total said at that moment.
      expect(events.filter((e) => e.file === 'onnx/m.onnx').length).toBeGreaterThan(100);
      for (let i = 1; i < events.length; i++)
        expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
      for (const e of events) expect(e.loaded).toBeLessThanOrEqual(e.total);
      // With Content-Length the total is known from the first event on.
      if (withLength) expect(events.every((e) => e.total === config.length + graph.length)).toBe(true);
      // One request for the (absent) manifest, one per file.
      expect(server.requests.map((u) => u.replace(DIR, ''))).toEqual([
        'manifest.json',
        'config.json',
        'onnx/m.onnx',
      ]);
    });
  }

  it('files are cached under their URL; a second load (new folder object) makes no request, absent files included', async () => {
    const server = fakeServer(folder());
    const cache = new MemoryByteCache();
    const first = await readAll(['config.json', 'onnx/m.onnx', 'generation_config.json'], {
      cache,
      fetch: server.fetchFn,
    });
    expect(first.opened[2]).toBeUndefined();
    expect(cache.entries.get(`${DIR}onnx/m.onnx`)).toEqual(graph);
    const before = server.requests.length;
    const again = await readAll(['config.json', 'onnx/m.onnx', 'generation_config.json'], {
      cache,
      fetch: server.fetchFn,
    });
    expect(server.requests.length).toBe(before);
    expect(again.opened[2]).toBeUndefined();
    expect(again.bytes.get('onnx/m.onnx')).toEqual(graph);
    expect(again.events.every((e) => e.fromCache)).toBe(true);
    expect(again.events[again.events.length - 1].loaded).toBe(config.length + graph.length);
  });

  it('refresh fetches again (a re-exported file replaces the cached one); offline it falls back to the cache', async () => {
    const files = folder();
    const server = fakeServer(files);
    const cache = new MemoryByteCache();
    await readAll(['onnx/m.onnx'], { cache, fetch: server.fetchFn });
    const newer = new Uint8Array(300).fill(9);
    files[`${DIR}onnx/m.onnx`] = newer;
    expect(
      (await readAll(['onnx/m.onnx'], { cache, fetch: server.fetchFn })).bytes.get('onnx/m.onnx'),
    ).toEqual(graph);
    const fresh = await readAll(['onnx/m.onnx'], { cache, fetch: server.fetchFn, refresh: true });
    expect(fresh.bytes.get('onnx/m.onnx')).toEqual(newer);
    const offline = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const off = await readAll(['onnx/m.onnx'], { cache, fetch: offline, refresh: true });
    expect(off.bytes.get('onnx/m.onnx')).toEqual(newer);
  });

  it('a download cut short of its Content-Length is refused and not cached', async () => {
    const files = folder();
    const cut = fakeServer(files);
    const cutFetch = (async (input: RequestInfo | URL) => {
      const res = await cut.fetchFn(input);
      if (!String(input).endsWith('m.onnx')) return res;
      return new Response(graph.slice(0, 500), { headers: { 'content-length': String(graph.length) } });
    }) as typeof fetch;
    const cache = new MemoryByteCache();
    const f = await openModelFolder('/models/m', { baseUrl: BASE, cache, fetch: cutFetch });
    const file = await f.open('onnx/m.onnx');
    expect(await codeOf(file!.read())).toBe('INTEGRITY_MISMATCH');
    expect(cache.entries.has(`${DIR}onnx/m.onnx`)).toBe(false);
  });

  it('a server error other than 404 is MODEL_NOT_FOUND with its status, not a missing file', async () => {
    const f = await openModelFolder('/models/m', {
      baseUrl: BASE,
      cache: null,
      fetch: (async (u: RequestInfo | URL) =>
        String(u).endsWith('manifest.json')
          ? new Response('', { status: 404 })
          : new Response('', { status: 503 })) as typeof fetch,
    });
    const e = await f.open('config.json').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WebvlError);
    expect((e as WebvlError).details?.status).toBe(503);
  });
});

describe('a folder with manifest.json is still verified', () => {
  function withManifest(files: Record<string, Uint8Array>) {
    const entry = (b: Uint8Array) => ({
      size: b.length,
      sha256: createHash('sha256').update(b).digest('hex'),
    });
    const manifest = { version: 1, files: { 'config.json': entry(config), 'onnx/m.onnx': entry(graph) } };
    return { ...files, [`${DIR}manifest.json`]: utf8(JSON.stringify(manifest)) };
  }

  it('files are checked: a tampered network file is refused; cache keys carry the hash', async () => {
    const files = withManifest(folder());
    const cache = new MemoryByteCache();
    const ok = await readAll(['config.json', 'onnx/m.onnx', 'not-listed.json'], {
      cache,
      fetch: fakeServer(files).fetchFn,
    });
    expect(ok.folder.verified).toBe(true);
    expect(ok.opened[2]).toBeUndefined(); // not in the manifest: no request made for it
    const sha = createHash('sha256').update(graph).digest('hex');
    expect(cache.entries.has(cacheKey(`${DIR}onnx/m.onnx`, sha))).toBe(true);
    const tampered = { ...files, [`${DIR}onnx/m.onnx`]: graph.map((b, i) => (i === 3 ? b ^ 1 : b)) };
    const f = await openModelFolder('/models/m', {
      baseUrl: BASE,
      cache: null,
      fetch: fakeServer(tampered).fetchFn,
    });
    expect(await codeOf((await f.open('onnx/m.onnx'))!.read())).toBe('INTEGRITY_MISMATCH');
  });

  it('a cached manifest is used with no request, before any cached listing of the same folder', async () => {
    const cache = new MemoryByteCache();
    const plain = fakeServer(folder());
    await readAll(['config.json'], { cache, fetch: plain.fetchFn }); // first seen without a manifest
    const signed = fakeServer(withManifest(folder()));
    await readAll(['config.json'], { cache, fetch: signed.fetchFn, refresh: true }); // now it has one
    const quiet = fakeServer({});
    const again = await readAll(['config.json'], { cache, fetch: quiet.fetchFn });
    expect(again.folder.verified).toBe(true);
    expect(again.bytes.get('config.json')).toEqual(config);
    expect(quiet.requests).toEqual([]);
  });
});

describe('hub-style URLs', () => {
  it.each([
    [
      'https://huggingface.co/Xenova/clip-vit-base-patch32',
      'https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/',
    ],
    ['https://huggingface.co/org/name/', 'https://huggingface.co/org/name/resolve/main/'],
    ['https://huggingface.co/org/name/tree/v1.0', 'https://huggingface.co/org/name/resolve/v1.0/'],
    [
      'https://hf-mirror.test/org/name/blob/abc123/onnx/model.onnx',
      'https://hf-mirror.test/org/name/resolve/abc123/',
    ],
    ['https://huggingface.co/org/name/resolve/main/', 'https://huggingface.co/org/name/resolve/main/'],
    ['https://cdn.test/a/b', 'https://cdn.test/a/b'],
    ['/models/clip-tiny/', '/models/clip-tiny/'],
  ])('%s → %s', (given, want) => {
    expect(normalizeHubUrl(given)).toBe(want);
  });

  it('files resolve under <origin>/<org>/<name>/resolve/<rev>/ when the origin is allowed, and not otherwise', async () => {
    const hub = 'https://hub.test/org/clip/resolve/main/';
    const server = fakeServer({ [`${hub}config.json`]: config });
    const opts = { baseUrl: BASE, cache: null, fetch: server.fetchFn };
    expect(await codeOf(openModelFolder('https://hub.test/org/clip/tree/main', opts))).toBe('INVALID_INPUT');
    const f = await openModelFolder('https://hub.test/org/clip/tree/main', {
      ...opts,
      allowedOrigins: ['https://hub.test'],
    });
    expect(f.url.href).toBe(hub);
    expect(await (await f.open('config.json'))!.read()).toEqual(config);
  });
});

describe('npx webvl manifest DIR', () => {
  it('writes DIR/manifest.json equal to buildManifest, which the loader then verifies against', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webvl-bin-'));
    mkdirSync(join(dir, 'onnx'));
    writeFileSync(join(dir, 'config.json'), '{"model_type":"clip"}');
    writeFileSync(join(dir, 'onnx', 'model.onnx'), Buffer.from([1, 2, 3, 4]));
    const out = execFileSync('node', ['bin/webvl.mjs', 'manifest', dir], { encoding: 'utf8' });
    expect(out).toContain('2 files, 25 bytes');
    const written = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(written).toEqual(buildManifest(dir));
    expect(Object.keys(written.files)).toEqual(['config.json', 'onnx/model.onnx']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.bin).toEqual({ webvl: 'bin/webvl.mjs' });
    expect(pkg.files).toContain('bin');
  });

  it('refuses a missing folder and a bad command with a usage line', () => {
    const run = (args: string[]) => {
      try {
        execFileSync('node', ['bin/webvl.mjs', ...args], { encoding: 'utf8', stdio: 'pipe' });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect(run(['manifest', '/no/such/dir'])).toBe(1);
    expect(run(['frobnicate'])).toBe(2);
  });
});
