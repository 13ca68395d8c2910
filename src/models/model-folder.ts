// A model folder as the loader sees it, with or without a manifest. With manifest.json every file is
// verified against its SHA-256 (ModelStore); without one (a Hugging Face / transformers.js folder as it is)
// files are fetched as they are, sized by Content-Length, and cached under their URL (UnverifiedFolder).
import { WebvlError } from '../errors';
import { type ByteCache, openDefaultCache } from './byte-cache';
import { normalizeHubUrl } from './hub-url';
import { MANIFEST_FILE } from './manifest';
import { ModelStore, type ModelStoreOptions, resolveModelUrl } from './model-store';
import { readListing, UnverifiedFolder } from './unverified-folder';

/**
 * Bytes of one file so far, whether they come from Cache Storage, and whether they are being fetched or (with a
 * manifest) checked against their hash.
 */
export type FileBytesListener = (
  loaded: number,
  fromCache: boolean,
  stage?: 'downloading' | 'verifying',
) => void;

/** A file of the folder that exists; its bytes are read (and verified, with a manifest) by read(). */
export interface FolderFile {
  /** Path relative to the folder ('onnx/vision_model.onnx'). */
  readonly file: string;
  /** Size from the manifest, the cache or Content-Length; undefined when the server did not say. */
  readonly size: number | undefined;
  read(onBytes?: FileBytesListener): Promise<Uint8Array>;
  /** Drops a file opened but not wanted after all (stops its download). */
  discard?(): void;
}

export interface ModelFolder {
  /** Folder URL, with a trailing slash. */
  readonly url: URL;
  /** True when a manifest lists every file with its SHA-256 and each file is checked against it. */
  readonly verified: boolean;
  /** The file, or undefined when the folder has none (a manifest that does not list it, or HTTP 404). */
  open(file: string): Promise<FolderFile | undefined>;
}

/** A manifest folder: every file is checked against its SHA-256 before anyone uses it. */
class VerifiedFolder implements ModelFolder {
  readonly verified = true;
  constructor(private readonly store: ModelStore) {}
  get url(): URL {
    return this.store.url;
  }
  async open(file: string): Promise<FolderFile | undefined> {
    if (!this.store.has(file)) return undefined;
    return {
      file,
      size: this.store.sizeOf([file]),
      read: (onBytes) => this.store.loadFile(file, onBytes),
    };
  }
}

/** An HTTP answer (404, an HTML page…) rather than a network failure: the manifest is simply not there. */
function answeredWithoutManifest(e: unknown): boolean {
  return e instanceof WebvlError && e.code === 'MODEL_NOT_FOUND' && typeof e.details?.status === 'number';
}

/**
 * Opens a model folder. A cached manifest (or the cached listing of a folder that had none) is used
 * without any request; otherwise manifest.json is fetched, and a folder that answers without one is read
 * as it is. `refresh` re-asks the network, falling back to what is cached when it cannot be reached.
 */
export async function openModelFolder(
  modelUrl: string,
  options: ModelStoreOptions = {},
): Promise<ModelFolder> {
  const base = options.baseUrl ?? globalThis.location?.href ?? 'http://localhost/';
  const normalized = normalizeHubUrl(modelUrl);
  const url = resolveModelUrl(normalized, base, options.allowedOrigins);
  const cache: ByteCache | null =
    options.cache === undefined ? ((await openDefaultCache()) ?? null) : options.cache;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const storeOptions = { ...options, cache, fetch: fetchFn, baseUrl: base };
  const unverified = (listing: Awaited<ReturnType<typeof readListing>>, refresh: boolean) =>
    new UnverifiedFolder(url, cache, fetchFn, listing, refresh);
  if (!options.refresh) {
    if (await cache?.match(new URL(MANIFEST_FILE, url).href))
      return new VerifiedFolder(await ModelStore.open(url.href, storeOptions));
    const listing = await readListing(cache, url);
    if (listing) return unverified(listing, false);
  }
  try {
    return new VerifiedFolder(await ModelStore.open(url.href, storeOptions));
  } catch (e) {
    if (answeredWithoutManifest(e)) return unverified(undefined, options.refresh === true);
    // Offline: a folder read before without a manifest still opens from the cache.
    const listing = await readListing(cache, url);
    if (listing) return unverified(listing, false);
    throw e;
  }
}
