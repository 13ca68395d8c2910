// Fetches the files of one model folder: manifest first (sizes + hashes), then each file from the cache or
// the network with byte-level progress, checked against its SHA-256 before anything uses it.
import { WebvlError } from '../errors';
import { type ByteCache, openDefaultCache } from './byte-cache';
import { MANIFEST_FILE, type ModelManifest, parseManifest, sha256Hex } from './manifest';

/**
 * What a load is doing: fetching a file's bytes, checking its SHA-256 against the manifest, turning a graph into
 * a session (onnxruntime-web's session creation; our engine's decode, passes and pipeline compilation), or a
 * first run of each graph so that the first real request does not pay for it.
 */
export type LoadStage = 'downloading' | 'verifying' | 'compiling' | 'warming-up';

/** One event of a model load: its stage, how far that stage is, and the bytes so far. */
export interface LoadProgress {
  readonly stage: LoadStage;
  /**
   * 1-based position of `file` among the files read together (config.json; the other JSON files; the graphs) or
   * among the graphs (compiling, warming-up).
   */
  readonly step: number;
  /** How many files or graphs that stage has. */
  readonly steps: number;
  /** Model folder URL (with trailing slash). */
  readonly model: string;
  /** File being loaded, relative to the folder (for compiling and warming-up: the graph's file). */
  readonly file: string;
  /** Bytes of `file` so far, and its size from the manifest. */
  readonly fileLoaded: number;
  readonly fileTotal: number;
  /** Bytes of all requested files loaded so far, and their total from the manifest. */
  readonly loaded: number;
  readonly total: number;
  /** The bytes came from Cache Storage (no request). */
  readonly fromCache: boolean;
}

export type ProgressListener = (p: LoadProgress) => void;

/** Per-file progress from loadFile: bytes so far, where from, and whether they are being fetched or checked. */
export type FileProgress = (loaded: number, fromCache: boolean, stage: 'downloading' | 'verifying') => void;

export interface ModelStoreOptions {
  /** Origins other than the page's own that model URLs may come from (e.g. 'https://cdn.example'). */
  allowedOrigins?: readonly string[];
  /** Defaults to Cache Storage; `null` disables caching. */
  cache?: ByteCache | null;
  fetch?: typeof fetch;
  /** Base for relative model URLs; defaults to the page/worker location. */
  baseUrl?: string;
  /**
   * Fetch the manifest from the network even when a cached one exists (to pick up a re-exported model).
   * Files are cached under their hash, so unchanged files still come from the cache. Default false: the
   * cached manifest is used, so a second load makes no request at all.
   */
  refresh?: boolean;
}

/** Cache key of a file: its URL plus its hash, so a re-exported file never meets the old bytes. */
export function cacheKey(fileUrl: string, sha256: string): string {
  return `${fileUrl}?sha256=${sha256}`;
}

/** Resolves a model folder URL and refuses origins that were not allowed. */
export function resolveModelUrl(
  modelUrl: string,
  baseUrl: string,
  allowedOrigins: readonly string[] = [],
): URL {
  let url: URL;
  try {
    url = new URL(modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`, baseUrl);
  } catch {
    throw new WebvlError('INVALID_INPUT', `not a URL: ${modelUrl}`);
  }
  const own = new URL(baseUrl).origin;
  if (url.origin !== own && !allowedOrigins.includes(url.origin)) {
    throw new WebvlError(
      'INVALID_INPUT',
      `model URL ${url.href} is not on this origin (${own}); pass allowedOrigins to permit it`,
      { reason: 'cross-origin', origin: url.origin },
    );
  }
  return url;
}

/** First buffer for a streamed file; it doubles as bytes arrive. */
const FIRST_BUFFER_BYTES = 1 << 16;

/**
 * Reads the body, reporting bytes as they arrive. The buffer grows with the bytes actually received (the
 * manifest's size is a claim, not an allocation), and reading stops once the stream passes `expected`: the
 * result is then longer than the manifest says, which the caller refuses. (Infinity: no size to hold it to.)
 */
export async function readWithProgress(
  response: Response,
  expected: number,
  onBytes: (loaded: number) => void,
): Promise<Uint8Array> {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length);
    return bytes;
  }
  let buffer = new Uint8Array(Math.min(expected, FIRST_BUFFER_BYTES));
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(loaded + value.length, Math.min(expected, buffer.length * 2)));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.length;
    onBytes(loaded);
    if (loaded > expected) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}

/** One model folder: its manifest and verified file bytes. */
export class ModelStore {
  private constructor(
    readonly url: URL,
    readonly manifest: ModelManifest,
    private readonly cache: ByteCache | null,
    private readonly fetchFn: typeof fetch,
  ) {}

  /** Reads the manifest (from the cache when present, so a second visit makes no request). */
  static async open(modelUrl: string, options: ModelStoreOptions = {}): Promise<ModelStore> {
    const base = options.baseUrl ?? globalThis.location?.href ?? 'http://localhost/';
    const url = resolveModelUrl(modelUrl, base, options.allowedOrigins);
    const cache = options.cache === undefined ? ((await openDefaultCache()) ?? null) : options.cache;
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    const manifestUrl = new URL(MANIFEST_FILE, url).href;
    let text: string | undefined;
    let fromNetwork = false;
    if (options.refresh) {
      // Revalidate, but stay usable offline: an unreachable network falls back to the cached manifest.
      try {
        text = await (await fetchOrThrow(fetchFn, manifestUrl)).text();
        fromNetwork = true;
      } catch (e) {
        const stale = await cache?.match(manifestUrl);
        if (!stale) throw e;
        text = await stale.text();
      }
    } else {
      const cached = await cache?.match(manifestUrl);
      if (cached) text = await cached.text();
    }
    if (text === undefined) {
      const res = await fetchOrThrow(fetchFn, manifestUrl);
      text = await res.text();
      fromNetwork = true;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebvlError('INVALID_MODEL', `${manifestUrl} is not JSON`);
    }
    const manifest = parseManifest(json, manifestUrl);
    if (fromNetwork) await cache?.put(manifestUrl, new Response(text));
    return new ModelStore(url, manifest, cache, fetchFn);
  }

  has(file: string): boolean {
    return file in this.manifest.files;
  }

  /** Total bytes of the given files per the manifest. */
  sizeOf(files: readonly string[]): number {
    return files.reduce((s, f) => s + this.entry(f).size, 0);
  }

  private entry(file: string) {
    const e = this.manifest.files[file];
    if (!e) throw new WebvlError('MODEL_NOT_FOUND', `${this.url.href} has no file '${file}' in its manifest`);
    return e;
  }

  /**
   * Loads several files in order, reporting bytes as they arrive. Each file is verified before it is
   * returned (and before `onFile` sees it, so a caller can start using one file while the next downloads);
   * a cached file that fails the check is evicted and the load is refused.
   */
  async loadFiles(
    files: readonly string[],
    onProgress?: ProgressListener,
    onFile?: (file: string, bytes: Uint8Array) => void,
  ): Promise<Map<string, Uint8Array>> {
    const total = this.sizeOf(files);
    let done = 0;
    const out = new Map<string, Uint8Array>();
    for (const [i, file] of files.entries()) {
      const bytes = await this.loadFile(file, (fileLoaded, fromCache, stage) =>
        onProgress?.({
          stage,
          step: i + 1,
          steps: files.length,
          model: this.url.href,
          file,
          fileLoaded,
          fileTotal: this.entry(file).size,
          loaded: done + fileLoaded,
          total,
          fromCache,
        }),
      );
      done += bytes.length;
      out.set(file, bytes);
      onFile?.(file, bytes);
    }
    return out;
  }

  async loadFile(file: string, onBytes?: FileProgress): Promise<Uint8Array> {
    const { size, sha256 } = this.entry(file);
    const fileUrl = new URL(file, this.url).href;
    const key = cacheKey(fileUrl, sha256);
    const cached = await this.cache?.match(key);
    if (cached) {
      const bytes = new Uint8Array(await cached.arrayBuffer());
      onBytes?.(bytes.length, true, 'verifying');
      if ((await sha256Hex(bytes)) !== sha256) {
        // Someone or something changed the stored bytes: never run them, and do not keep them.
        await this.cache?.delete(key);
        throw new WebvlError('INTEGRITY_MISMATCH', `cached ${fileUrl} does not match its manifest hash`, {
          file,
          source: 'cache',
        });
      }
      return bytes;
    }
    const res = await fetchOrThrow(this.fetchFn, fileUrl);
    const bytes = await readWithProgress(res, size, (n) => onBytes?.(n, false, 'downloading'));
    onBytes?.(bytes.length, false, 'verifying');
    if (bytes.length !== size || (await sha256Hex(bytes)) !== sha256) {
      throw new WebvlError('INTEGRITY_MISMATCH', `${fileUrl} does not match its manifest hash`, {
        file,
        source: 'network',
        expectedSize: size,
        size: bytes.length,
      });
    }
    await this.cache?.put(key, new Response(bytes as Uint8Array<ArrayBuffer>));
    return bytes;
  }

  async loadJson<T>(file: string): Promise<T> {
    const bytes = await this.loadFile(file);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch {
      throw new WebvlError('INVALID_MODEL', `${this.url.href}${file} is not JSON`);
    }
  }
}

export async function fetchOrThrow(fetchFn: typeof fetch, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new WebvlError('MODEL_NOT_FOUND', `could not fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    throw new WebvlError('MODEL_NOT_FOUND', `${url}: HTTP ${res.status}`, { status: res.status });
  }
  // Dev servers and SPA hosts answer unknown paths with index.html and a 200; no model file is HTML.
  if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
    throw new WebvlError('MODEL_NOT_FOUND', `${url}: the server answered with an HTML page (no such file)`, {
      status: res.status,
      html: true,
    });
  }
  return res;
}
