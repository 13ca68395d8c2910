// Persistence for embedding indexes: IndexedDB, one object store keyed by [index name, entry id]. A batch
// is one readwrite transaction, so it lands whole or not at all (IndexedDB aborts the lot on any failure).

export interface StoredEntry {
  readonly id: string;
  readonly vector: Float32Array;
  /**
   * Opaque bytes kept with the entry: the runtime keeps the model-size image here for ITM re-ranking, or, for a
   * single-stream model, the image's patch embeddings (float32), which every search pairs with the query.
   */
  readonly payload?: Uint8Array;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface IndexStorage {
  load(name: string): Promise<StoredEntry[]>;
  /** Applies deletions then puts, atomically. */
  commit(name: string, puts: readonly StoredEntry[], deletes: readonly string[]): Promise<void>;
  clear(name: string): Promise<void>;
}

const DB_NAME = 'webvl-index';
const STORE = 'entries';

interface Row extends StoredEntry {
  readonly index: string;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    tx.onerror = () => reject(tx.error);
  });
}

export class IdbIndexStorage implements IndexStorage {
  private db: Promise<IDBDatabase> | undefined;

  constructor(private readonly factory: IDBFactory = indexedDB) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: ['index', 'id'] });
        store.createIndex('byIndex', 'index');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return this.db;
  }

  async load(name: string): Promise<StoredEntry[]> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readonly');
    const rows = await request(tx.objectStore(STORE).index('byIndex').getAll(IDBKeyRange.only(name)));
    return (rows as Row[]).map(({ id, vector, payload, meta }) => ({ id, vector, payload, meta }));
  }

  async commit(name: string, puts: readonly StoredEntry[], deletes: readonly string[]): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const finished = done(tx);
    try {
      for (const id of deletes) store.delete([name, id]);
      for (const e of puts) store.put({ ...e, index: name } satisfies Row);
    } catch (e) {
      // put() throws synchronously (e.g. DataCloneError) after earlier requests were queued; without an
      // explicit abort the transaction would commit those and the batch would land half-way.
      tx.abort();
      await finished.catch(() => undefined);
      throw e;
    }
    await finished;
  }

  async clear(name: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const keys = await request(store.index('byIndex').getAllKeys(IDBKeyRange.only(name)));
    for (const k of keys) store.delete(k);
    await done(tx);
  }
}

/** Keeps nothing across reloads; for environments without IndexedDB. */
export class MemoryIndexStorage implements IndexStorage {
  private readonly data = new Map<string, Map<string, StoredEntry>>();
  async load(name: string): Promise<StoredEntry[]> {
    return [...(this.data.get(name)?.values() ?? [])];
  }
  async commit(name: string, puts: readonly StoredEntry[], deletes: readonly string[]): Promise<void> {
    const m = this.data.get(name) ?? new Map<string, StoredEntry>();
    for (const id of deletes) m.delete(id);
    for (const e of puts) m.set(e.id, e);
    this.data.set(name, m);
  }
  async clear(name: string): Promise<void> {
    this.data.delete(name);
  }
}
