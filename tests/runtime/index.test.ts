import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { cpuTopK, normalized } from '../../src/index/cpu-topk';
import { EmbeddingIndex } from '../../src/index/embedding-index';
import { IdbIndexStorage } from '../../src/index/storage';

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Brute-force cosine in float64, written independently of cpuTopK. */
function bruteCosine(vectors: number[][], q: number[]): { i: number; s: number }[] {
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return vectors
    .map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * q[j], 0) / (norm(v) * norm(q)) }))
    .sort((a, b) => b.s - a.s);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
  return 'resolved';
}

describe('cpuTopK', () => {
  it('orders by cosine like a float64 brute force', () => {
    const rand = seeded(3);
    const vs = Array.from({ length: 200 }, () => Array.from({ length: 16 }, rand));
    const q = Array.from({ length: 16 }, rand);
    const m = new Float32Array(200 * 16);
    vs.forEach((v, i) => {
      m.set(normalized(v)!, i * 16);
    });
    const got = cpuTopK(m, 200, 16, normalized(q)!, 7);
    const want = bruteCosine(vs, q).slice(0, 7);
    expect(got.map((h) => h.row)).toEqual(want.map((w) => w.i));
    got.forEach((h, i) => {
      expect(h.score).toBeCloseTo(want[i].s, 5);
    });
  });
});

describe('EmbeddingIndex (IndexedDB via fake-indexeddb)', () => {
  const storage = new IdbIndexStorage();

  it('adds, searches, removes, and survives a reopen', async () => {
    const rand = seeded(5);
    const vs = Array.from({ length: 50 }, () => Array.from({ length: 8 }, rand));
    const idx = await EmbeddingIndex.open('a', { storage });
    expect(await idx.add(vs.map((v, i) => ({ id: `img${i}`, vector: v, meta: { n: i } })))).toBe(50);
    const q = vs[17].map((x, j) => x + 0.01 * (j % 2 ? 1 : -1));
    const hits = await idx.search(q, 3);
    const want = bruteCosine(vs, q).slice(0, 3);
    expect(hits.map((h) => h.id)).toEqual(want.map((w) => `img${w.i}`));
    expect(hits[0].meta).toEqual({ n: 17 });

    expect(await idx.remove(['img17', 'nope'])).toBe(1);
    expect(idx.size()).toBe(49);
    const after = await idx.search(q, 2);
    expect(after.map((h) => h.id)).toEqual(want.slice(1, 3).map((w) => `img${w.i}`));

    const reopened = await EmbeddingIndex.open('a', { storage });
    expect(reopened.size()).toBe(49);
    expect((await reopened.search(q, 2)).map((h) => h.id)).toEqual(after.map((h) => h.id));
  });

  it('add() refuses an id that exists (DUPLICATE_ID, nothing changes, in memory or storage)', async () => {
    const idx = await EmbeddingIndex.open('b0', { storage });
    await idx.add([
      { id: 'x', vector: [1, 0] },
      { id: 'y', vector: [0, 1] },
    ]);
    const dup = idx.add([
      { id: 'z', vector: [1, 1] },
      { id: 'x', vector: [0, -1] },
    ]);
    expect(await codeOf(dup)).toBe('DUPLICATE_ID');
    expect(
      await codeOf(
        idx.add([
          { id: 'w', vector: [1, 1] },
          { id: 'w', vector: [1, 2] },
        ]),
      ),
    ).toBe('DUPLICATE_ID');
    expect(idx.size()).toBe(2);
    expect((await idx.search([1, 0], 2)).map((h) => [h.id, h.score])).toEqual([
      ['x', 1],
      ['y', 0],
    ]);
    const reopened = await EmbeddingIndex.open('b0', { storage });
    expect(reopened.size()).toBe(2);
    expect(reopened.entry('z')).toBeUndefined();
  });

  it('upsert() replaces an entry with the same id instead of duplicating it', async () => {
    const idx = await EmbeddingIndex.open('b', { storage });
    await idx.add([
      { id: 'x', vector: [1, 0] },
      { id: 'y', vector: [0, 1] },
    ]);
    await idx.upsert([{ id: 'x', vector: [0, -1] }]);
    expect(idx.size()).toBe(2);
    const hits = await idx.search([0, 1], 2);
    expect(hits.map((h) => [h.id, h.score])).toEqual([
      ['y', 1],
      ['x', -1],
    ]);
  });

  it('batches are all-or-nothing: one bad vector or a storage failure changes nothing', async () => {
    const idx = await EmbeddingIndex.open('c', { storage });
    await idx.add([{ id: 'keep', vector: [1, 2, 3] }]);
    expect(
      await codeOf(
        idx.add([
          { id: 'n1', vector: [1, 1, 1] },
          { id: 'n2', vector: [1, 1] },
        ]),
      ),
    ).toBe('INVALID_INPUT');
    expect(await codeOf(idx.add([{ id: 'z', vector: [0, 0, 0] }]))).toBe('INVALID_INPUT');
    // A function cannot be stored: IndexedDB aborts the transaction, so the good entry must not land either.
    const bad = idx.add([
      { id: 'good', vector: [1, 0, 0] },
      { id: 'unstorable', vector: [0, 1, 0], meta: { f: () => 1 } },
    ]);
    await expect(bad).rejects.toThrow();
    expect(idx.size()).toBe(1);
    const reopened = await EmbeddingIndex.open('c', { storage });
    expect(reopened.size()).toBe(1);
    expect((await reopened.search([1, 2, 3], 5)).map((h) => h.id)).toEqual(['keep']);
  });

  it('IdbIndexStorage.commit aborts the whole transaction when one put cannot be stored', async () => {
    const bad = storage.commit(
      'e',
      [
        { id: 'good', vector: new Float32Array([1]) },
        { id: 'bad', vector: new Float32Array([1]), meta: { f: () => 1 } },
      ],
      [],
    );
    await expect(bad).rejects.toThrow();
    expect(await storage.load('e')).toEqual([]);
  });

  it('clear empties memory and storage; other indexes are untouched', async () => {
    const idx = await EmbeddingIndex.open('d', { storage });
    await idx.add([{ id: 'p', vector: [1, 0] }]);
    await idx.clear();
    expect(idx.size()).toBe(0);
    expect((await EmbeddingIndex.open('d', { storage })).size()).toBe(0);
    expect((await EmbeddingIndex.open('a', { storage })).size()).toBe(49);
  });

  it('rejects a query of the wrong dimension and a bad k', async () => {
    const idx = await EmbeddingIndex.open('a', { storage });
    expect(await codeOf(idx.search([1, 2], 3))).toBe('INVALID_INPUT');
    expect(await codeOf(idx.search(new Array(8).fill(1), 0))).toBe('INVALID_INPUT');
  });
});
