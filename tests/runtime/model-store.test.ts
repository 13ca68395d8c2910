import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { MemoryByteCache } from '../../src/models/byte-cache';
import { buildManifest } from '../../src/models/make-manifest';
import { parseManifest, sha256Hex } from '../../src/models/manifest';
import { cacheKey, type LoadProgress, ModelStore, resolveModelUrl } from '../../src/models/model-store';

const BASE = 'http://app.test/';

/** A fake server over a map of URL → bytes that counts requests and streams in small chunks. */
function fakeServer(files: Record<string, Uint8Array>) {
  const requests: string[] = [];
  const fetchFn = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    const bytes = files[url];
    if (!bytes) return new Response('not found', { status: 404 });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
        c.close();
      },
    });
    return new Response(stream, { headers: { 'content-type': 'application/octet-stream' } });
  }) as typeof fetch;
  return { fetchFn, requests };
}

function modelFolder() {
  const a = new TextEncoder().encode('{"logit_scale": 2.5}');
  const b = new Uint8Array(1000).map((_, i) => (i * 31) % 256);
  const manifest = {
    version: 1,
    files: {
      'config.json': { size: a.length, sha256: createHash('sha256').update(a).digest('hex') },
      'onnx/m.onnx': { size: b.length, sha256: createHash('sha256').update(b).digest('hex') },
    },
  };
  const files: Record<string, Uint8Array> = {
    [`${BASE}models/m/manifest.json`]: new TextEncoder().encode(JSON.stringify(manifest)),
    [`${BASE}models/m/config.json`]: a,
    [`${BASE}models/m/onnx/m.onnx`]: b,
  };
  return { files, a, b };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
  return 'resolved';
}

describe('manifest', () => {
  it('sha256Hex agrees with node:crypto', async () => {
    const bytes = new Uint8Array(4097).map((_, i) => i % 251);
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('buildManifest lists every file with size and hash, skipping manifest.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webvl-manifest-'));
    mkdirSync(join(dir, 'onnx'));
    writeFileSync(join(dir, 'config.json'), '{}');
    writeFileSync(join(dir, 'onnx', 'x.onnx'), Buffer.from([1, 2, 3]));
    writeFileSync(join(dir, 'manifest.json'), 'old');
    const m = buildManifest(dir);
    expect(Object.keys(m.files)).toEqual(['config.json', 'onnx/x.onnx']);
    expect(m.files['onnx/x.onnx']).toEqual({
      size: 3,
      sha256: createHash('sha256')
        .update(Buffer.from([1, 2, 3]))
        .digest('hex'),
    });
  });

  it.each([
    ['1e12', 1e12],
    ['2^31 (past the 2 GiB bound)', 2 ** 31],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['a string', '10'],
  ])('rejects a file size of %s with INVALID_MODEL', (_, size) => {
    let error: unknown;
    try {
      parseManifest({ version: 1, files: { 'onnx/m.onnx': { size, sha256: 'a'.repeat(64) } } }, 's');
    } catch (e) {
      error = e;
    }
    expect((error as WebvlError).code).toBe('INVALID_MODEL');
    expect(() =>
      parseManifest(
        { version: 1, files: { 'onnx/m.onnx': { size: 2 ** 31 - 1, sha256: 'a'.repeat(64) } } },
        's',
      ),
    ).not.toThrow();
  });

  it('rejects paths that escape the folder and malformed hashes', () => {
    expect(() =>
      parseManifest({ version: 1, files: { '../x': { size: 1, sha256: 'a'.repeat(64) } } }, 's'),
    ).toThrow(WebvlError);
    expect(() => parseManifest({ version: 1, files: { x: { size: 1, sha256: 'zz' } } }, 's')).toThrow(
      WebvlError,
    );
  });
});

describe('ModelStore', () => {
  it('refresh picks up a re-exported model: changed files are fetched, unchanged ones come from the cache', async () => {
    const { files } = modelFolder();
    const server = fakeServer(files);
    const cache = new MemoryByteCache();
    const opts = { baseUrl: BASE, cache, fetch: server.fetchFn };
    await (await ModelStore.open('/models/m', opts)).loadFiles(['config.json', 'onnx/m.onnx']);
    // Re-export: new graph bytes and a new manifest on the server.
    const newer = new Uint8Array(500).fill(7);
    files[`${BASE}models/m/onnx/m.onnx`] = newer;
    const manifest = JSON.parse(new TextDecoder().decode(files[`${BASE}models/m/manifest.json`]));
    manifest.files['onnx/m.onnx'] = { size: 500, sha256: createHash('sha256').update(newer).digest('hex') };
    files[`${BASE}models/m/manifest.json`] = new TextEncoder().encode(JSON.stringify(manifest));
    const before = server.requests.length;
    // Without refresh the cached (old) manifest and files stay in use, with no request at all.
    expect((await (await ModelStore.open('/models/m', opts)).loadFile('onnx/m.onnx')).length).toBe(1000);
    expect(server.requests.length).toBe(before);
    const fresh = await ModelStore.open('/models/m', { ...opts, refresh: true });
    expect(await fresh.loadFile('onnx/m.onnx')).toEqual(newer);
    await fresh.loadFile('config.json');
    expect(server.requests.slice(before).map((u) => u.replace(BASE, ''))).toEqual([
      'models/m/manifest.json',
      'models/m/onnx/m.onnx',
    ]);
    // Offline (every fetch fails): refresh falls back to the cached manifest and the cached files.
    const offline = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const off = await ModelStore.open('/models/m', { baseUrl: BASE, cache, fetch: offline, refresh: true });
    expect(await off.loadFile('onnx/m.onnx')).toEqual(newer);
  });

  it('reports byte progress that ends at the file sizes, then serves the second load from the cache', async () => {
    const { files, a, b } = modelFolder();
    const server = fakeServer(files);
    const cache = new MemoryByteCache();
    const events: LoadProgress[] = [];
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache, fetch: server.fetchFn });
    const got = await store.loadFiles(['config.json', 'onnx/m.onnx'], (p) => events.push(p));
    expect(got.get('onnx/m.onnx')).toEqual(b);
    const last = events[events.length - 1];
    expect(last.loaded).toBe(a.length + b.length);
    expect(last.total).toBe(a.length + b.length);
    // Progress is monotone and streamed (7-byte chunks → many events for the 1000-byte file).
    expect(events.filter((e) => e.file === 'onnx/m.onnx').length).toBeGreaterThan(100);
    for (let i = 1; i < events.length; i++)
      expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    expect(server.requests).toHaveLength(3);
    // Per file: its bytes arrive ('downloading'), then one 'verifying' event as its hash is checked.
    for (const [i, file] of ['config.json', 'onnx/m.onnx'].entries()) {
      const mine = events.filter((e) => e.file === file);
      expect(mine.every((e) => e.step === i + 1 && e.steps === 2)).toBe(true);
      expect(mine.map((e) => e.stage)).toEqual([...mine.slice(0, -1).map(() => 'downloading'), 'verifying']);
      expect(mine.at(-1)?.fileLoaded).toBe(mine.at(-1)?.fileTotal);
    }

    const again = await ModelStore.open('/models/m', { baseUrl: BASE, cache, fetch: server.fetchFn });
    const events2: LoadProgress[] = [];
    await again.loadFiles(['config.json', 'onnx/m.onnx'], (p) => events2.push(p));
    expect(server.requests).toHaveLength(3);
    expect(events2.every((e) => e.fromCache)).toBe(true);
    // From the cache there is nothing to download, only the hash to check.
    expect(events2.map((e) => [e.file, e.stage])).toEqual([
      ['config.json', 'verifying'],
      ['onnx/m.onnx', 'verifying'],
    ]);
    expect(events2[events2.length - 1].loaded).toBe(a.length + b.length);
  });

  it('refuses and evicts a tampered cached file; the next load fetches a good copy', async () => {
    const { files, b } = modelFolder();
    const server = fakeServer(files);
    const cache = new MemoryByteCache();
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache, fetch: server.fetchFn });
    await store.loadFile('onnx/m.onnx');
    const key = cacheKey(`${BASE}models/m/onnx/m.onnx`, createHash('sha256').update(b).digest('hex'));
    expect(cache.entries.has(key)).toBe(true);
    const tampered = b.slice();
    tampered[10] ^= 1;
    cache.entries.set(key, tampered);
    expect(await codeOf(store.loadFile('onnx/m.onnx'))).toBe('INTEGRITY_MISMATCH');
    expect(cache.entries.has(key)).toBe(false);
    expect(await store.loadFile('onnx/m.onnx')).toEqual(b);
  });

  it('refuses a tampered network file and does not cache it', async () => {
    const { files } = modelFolder();
    files[`${BASE}models/m/onnx/m.onnx`] = files[`${BASE}models/m/onnx/m.onnx`].slice();
    files[`${BASE}models/m/onnx/m.onnx`][0] ^= 255;
    const cache = new MemoryByteCache();
    const store = await ModelStore.open('/models/m', {
      baseUrl: BASE,
      cache,
      fetch: fakeServer(files).fetchFn,
    });
    expect(await codeOf(store.loadFile('onnx/m.onnx'))).toBe('INTEGRITY_MISMATCH');
    expect([...cache.entries.keys()].some((k) => k.includes('m.onnx'))).toBe(false);
  });

  it('a size the manifest inflates is not allocated up front: memory follows the bytes that arrive', async () => {
    const { files, b } = modelFolder();
    const manifest = JSON.parse(new TextDecoder().decode(files[`${BASE}models/m/manifest.json`]));
    manifest.files['onnx/m.onnx'].size = 1.5e9;
    files[`${BASE}models/m/manifest.json`] = new TextEncoder().encode(JSON.stringify(manifest));
    let peak = 0;
    const fetchFn = (async (input: RequestInfo | URL) => {
      const url = String(input);
      if (!url.endsWith('m.onnx')) return fakeServer(files).fetchFn(input);
      let at = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
          if (at >= b.length) {
            c.close();
            return;
          }
          c.enqueue(b.slice(at, at + 100));
          at += 100;
        },
      });
      return new Response(stream);
    }) as typeof fetch;
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache: null, fetch: fetchFn });
    const before = process.memoryUsage().arrayBuffers;
    expect(await codeOf(store.loadFile('onnx/m.onnx'))).toBe('INTEGRITY_MISMATCH');
    expect(peak - before).toBeLessThan(100e6);
  });

  it('a stream longer than the manifest says is cut off as soon as it passes that size', async () => {
    const { files } = modelFolder();
    let pulled = 0;
    const fetchFn = (async (input: RequestInfo | URL) => {
      if (!String(input).endsWith('m.onnx')) return fakeServer(files).fetchFn(input);
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          // 4000 chunks of 1000 bytes at most, so a reader that never stops still ends.
          if (++pulled > 4000) c.close();
          else c.enqueue(new Uint8Array(1000));
        },
      });
      return new Response(stream);
    }) as typeof fetch;
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache: null, fetch: fetchFn });
    expect(await codeOf(store.loadFile('onnx/m.onnx'))).toBe('INTEGRITY_MISMATCH');
    // The manifest says 1000 bytes: the second chunk already passes it.
    expect(pulled).toBeLessThanOrEqual(3);
  });

  it('missing model → MODEL_NOT_FOUND; other origins refused unless allowed', async () => {
    const server = fakeServer({});
    expect(
      await codeOf(ModelStore.open('/models/none', { baseUrl: BASE, cache: null, fetch: server.fetchFn })),
    ).toBe('MODEL_NOT_FOUND');
    expect(() => resolveModelUrl('https://evil.test/m', BASE)).toThrow(WebvlError);
    expect(resolveModelUrl('https://cdn.test/m', BASE, ['https://cdn.test']).href).toBe(
      'https://cdn.test/m/',
    );
  });
});
