// A named, persistent embedding index: unit vectors in host memory (and on the GPU when a device is given),
// cosine top-k search, atomic batches. The host copy is the source of truth for rebuilding the GPU matrix
// and for the CPU fallback; IndexedDB is written before memory, so a failed batch leaves both untouched.
import { WebvlError } from '../errors';
import { cpuTopK, normalized } from './cpu-topk';
import { GPU_MAX_K, GpuMatrix } from './gpu-topk';
import type { IndexStorage, StoredEntry } from './storage';

export interface IndexEntryInput {
  readonly id: string;
  readonly vector: ArrayLike<number>;
  readonly payload?: Uint8Array;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface IndexHit {
  readonly id: string;
  /** Cosine similarity in [-1, 1]. */
  readonly score: number;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface EmbeddingIndexOptions {
  storage: IndexStorage;
  /** Keep the matrix on this device and search with WGSL; CPU when absent. */
  device?: GPUDevice;
}

export class EmbeddingIndex {
  private ids: string[] = [];
  private rowOf = new Map<string, number>();
  private entries: StoredEntry[] = [];
  /** Host copy of the matrix, [capacity, dim]. */
  private matrix = new Float32Array(0);
  private dim = 0;
  private gpu: GpuMatrix | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly options: EmbeddingIndexOptions,
  ) {}

  static async open(name: string, options: EmbeddingIndexOptions): Promise<EmbeddingIndex> {
    if (typeof name !== 'string' || name === '') throw new WebvlError('INVALID_INPUT', 'index name is empty');
    const index = new EmbeddingIndex(name, options);
    const stored = await options.storage.load(name);
    if (stored.length) index.applyPuts(stored);
    return index;
  }

  get backend(): 'gpu' | 'cpu' {
    return this.options.device ? 'gpu' : 'cpu';
  }

  get dimension(): number {
    return this.dim;
  }

  size(): number {
    return this.ids.length;
  }

  /** Every entry, in row order (a single-stream model scores each of them against a query). */
  all(): readonly StoredEntry[] {
    return this.entries;
  }

  entry(id: string): StoredEntry | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.entries[r];
  }

  /**
   * Adds new entries; all of them or none (validation and storage happen before any change). An id the
   * index already holds is refused with DUPLICATE_ID: replacing is upsert()'s job, so it is never silent.
   */
  add(batch: readonly IndexEntryInput[]): Promise<number> {
    return this.put(batch, false);
  }

  /** Adds entries and replaces those whose ids exist; all of them or none. */
  upsert(batch: readonly IndexEntryInput[]): Promise<number> {
    return this.put(batch, true);
  }

  /** Ids of `ids` the index already holds, in order. */
  existing(ids: readonly string[]): string[] {
    return ids.filter((id) => this.rowOf.has(id));
  }

  private put(batch: readonly IndexEntryInput[], replace: boolean): Promise<number> {
    return this.serial(async () => {
      const puts = this.validate(batch);
      const taken = replace ? [] : this.existing(puts.map((p) => p.id));
      if (taken.length > 0) {
        throw new WebvlError(
          'DUPLICATE_ID',
          `index '${this.name}' already has ${taken.map((id) => `'${id}'`).join(', ')}; use upsert() to replace`,
          { ids: taken },
        );
      }
      await this.options.storage.commit(this.name, puts, []);
      this.applyPuts(puts);
      return this.size();
    });
  }

  remove(ids: readonly string[]): Promise<number> {
    return this.serial(async () => {
      const present = [...new Set(ids)].filter((id) => this.rowOf.has(id));
      await this.options.storage.commit(this.name, [], present);
      for (const id of present) this.removeRow(this.rowOf.get(id)!);
      return present.length;
    });
  }

  clear(): Promise<void> {
    return this.serial(async () => {
      await this.options.storage.clear(this.name);
      this.ids = [];
      this.entries = [];
      this.rowOf.clear();
      this.dim = 0;
      this.gpu?.destroy();
      this.gpu = undefined;
    });
  }

  search(query: ArrayLike<number>, k: number): Promise<IndexHit[]> {
    return this.serial(async () => {
      if (!Number.isInteger(k) || k < 1)
        throw new WebvlError('INVALID_INPUT', `k must be a positive integer, got ${k}`);
      const n = this.size();
      if (n === 0) return [];
      if (query.length !== this.dim) {
        throw new WebvlError('INVALID_INPUT', `query has ${query.length} dims; the index holds ${this.dim}`);
      }
      const q = normalized(query);
      if (!q) throw new WebvlError('INVALID_INPUT', 'query vector is zero or not finite');
      const hits =
        this.gpu && k <= GPU_MAX_K ? await this.gpu.search(q, n, k) : cpuTopK(this.matrix, n, this.dim, q, k);
      return hits.map((h) => ({ id: this.ids[h.row], score: h.score, meta: this.entries[h.row].meta }));
    });
  }

  /** Frees the GPU matrix; the stored entries stay. */
  close(): void {
    this.gpu?.destroy();
    this.gpu = undefined;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private validate(batch: readonly IndexEntryInput[]): StoredEntry[] {
    if (!Array.isArray(batch) || batch.length === 0) throw new WebvlError('INVALID_INPUT', 'empty batch');
    const seen = new Set<string>();
    const dim = this.dim || batch[0].vector?.length;
    return batch.map((e, i) => {
      if (typeof e?.id !== 'string' || e.id === '')
        throw new WebvlError('INVALID_INPUT', `entry ${i} has no id`);
      if (seen.has(e.id)) {
        throw new WebvlError('DUPLICATE_ID', `id '${e.id}' appears twice in one batch`, { ids: [e.id] });
      }
      seen.add(e.id);
      if (e.vector?.length !== dim || !dim) {
        throw new WebvlError(
          'INVALID_INPUT',
          `entry '${e.id}' has ${e.vector?.length} dims; expected ${dim}`,
        );
      }
      const vector = normalized(e.vector);
      if (!vector) throw new WebvlError('INVALID_INPUT', `entry '${e.id}' is zero or not finite`);
      let meta: StoredEntry['meta'];
      try {
        meta = e.meta === undefined ? undefined : structuredClone(e.meta);
      } catch {
        throw new WebvlError(
          'INVALID_INPUT',
          `entry '${e.id}' has meta that cannot be stored (not cloneable)`,
        );
      }
      return { id: e.id, vector, payload: e.payload, meta };
    });
  }

  private applyPuts(puts: readonly StoredEntry[]): void {
    if (this.dim === 0) this.dim = puts[0].vector.length;
    const fresh: StoredEntry[] = [];
    for (const e of puts) {
      const r = this.rowOf.get(e.id);
      if (r === undefined) fresh.push(e);
      else this.setRow(r, e);
    }
    const start = this.ids.length;
    this.ensureCapacity(start + fresh.length);
    for (const [i, e] of fresh.entries()) {
      this.ids.push(e.id);
      this.entries.push(e);
      this.rowOf.set(e.id, start + i);
      this.matrix.set(e.vector, (start + i) * this.dim);
    }
    if (this.options.device) {
      this.gpu ??= new GpuMatrix(this.options.device, this.dim, Math.max(256, this.ids.length));
      this.gpu.writeRows(start, this.matrix.subarray(start * this.dim, this.ids.length * this.dim));
    }
  }

  private setRow(r: number, e: StoredEntry): void {
    this.entries[r] = e;
    this.matrix.set(e.vector, r * this.dim);
    this.gpu?.writeRows(r, e.vector);
  }

  private removeRow(r: number): void {
    const last = this.ids.length - 1;
    const id = this.ids[r];
    if (r !== last) {
      // Move the last row into the hole so rows stay contiguous (the kernel scans rows 0..n-1).
      this.ids[r] = this.ids[last];
      this.rowOf.set(this.ids[r], r);
      this.setRow(r, this.entries[last]);
    }
    this.ids.pop();
    this.entries.pop();
    this.rowOf.delete(id);
  }

  private ensureCapacity(rows: number): void {
    if (this.matrix.length >= rows * this.dim) return;
    const bigger = new Float32Array(
      Math.max(rows, 2 * (this.matrix.length / Math.max(1, this.dim))) * this.dim,
    );
    bigger.set(this.matrix);
    this.matrix = bigger;
  }
}
