// A model folder without manifest.json (a Hugging Face / transformers.js folder as it is): files are fetched
// as they are, sized by Content-Length (streamed into a growing buffer when the server does not say), and
// kept in Cache Storage under their URL. What was found — each file's size, or that it is absent — is kept
// as a listing next to them, so a second load makes no request at all. Without hashes nothing can be
// verified: `npx webvl manifest DIR` writes a manifest for folders that need integrity.
import { WebvlError } from '../errors';
import type { ByteCache } from './byte-cache';
import { MANIFEST_FILE } from './manifest';
import type { FolderFile, ModelFolder } from './model-folder';
import { fetchOrThrow, readWithProgress } from './model-store';

/** What a folder was found to hold: size per file, null for a file it does not have. */
export interface FolderListing {
  readonly version: 1;
  readonly files: Record<string, number | null>;
}

function listingKey(folder: URL): string {
  return `${new URL(MANIFEST_FILE, folder).href}?webvl-listing`;
}

/** The cached listing of a folder read before without a manifest, if any. */
export async function readListing(cache: ByteCache | null, folder: URL): Promise<FolderListing | undefined> {
  const cached = await cache?.match(listingKey(folder));
  if (!cached) return undefined;
  try {
    const value = JSON.parse(await cached.text()) as FolderListing;
    const sizes = Object.values(value?.files ?? {});
    const valid = sizes.every((s) => s === null || (Number.isInteger(s) && (s as number) >= 0));
    if (value?.version === 1 && typeof value.files === 'object' && valid) return value;
  } catch {
    // An unreadable listing is as good as none: the folder is asked again.
  }
  return undefined;
}

/** The size a response announces, when it announces one. */
function contentLength(res: Response): number | undefined {
  const header = res.headers.get('content-length');
  if (header === null) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** 404 / 410 / an HTML page where a file should be: the folder does not have it. Other statuses are errors. */
function isAbsent(e: unknown): boolean {
  if (!(e instanceof WebvlError) || e.code !== 'MODEL_NOT_FOUND') return false;
  return e.details?.html === true || e.details?.status === 404 || e.details?.status === 410;
}

export class UnverifiedFolder implements ModelFolder {
  readonly verified = false;
  private readonly listing: FolderListing;

  /** `refresh`: ask the network for every file, using cached copies only when it cannot be reached. */
  constructor(
    readonly url: URL,
    private readonly cache: ByteCache | null,
    private readonly fetchFn: typeof fetch,
    listing: FolderListing | undefined,
    private readonly refresh: boolean,
  ) {
    this.listing = { version: 1, files: { ...(listing?.files ?? {}) } };
  }

  private async record(file: string, size: number | null): Promise<void> {
    this.listing.files[file] = size;
    await this.cache?.put(listingKey(this.url), new Response(JSON.stringify(this.listing)));
  }

  private async fromCache(file: string, fileUrl: string): Promise<FolderFile | undefined> {
    const cached = await this.cache?.match(fileUrl);
    if (!cached) return undefined;
    const bytes = new Uint8Array(await cached.arrayBuffer());
    return {
      file,
      size: bytes.length,
      read: async (onBytes) => {
        onBytes?.(bytes.length, true);
        return bytes;
      },
    };
  }

  async open(file: string): Promise<FolderFile | undefined> {
    if (file.includes('..') || file.startsWith('/')) {
      throw new WebvlError('INVALID_MODEL', `file path escapes the model folder: ${file}`);
    }
    const fileUrl = new URL(file, this.url).href;
    if (!this.refresh) {
      if (this.listing.files[file] === null) return undefined;
      const cached = await this.fromCache(file, fileUrl);
      if (cached) return cached;
    }
    let res: Response;
    try {
      res = await fetchOrThrow(this.fetchFn, fileUrl);
    } catch (e) {
      if (isAbsent(e)) {
        await this.record(file, null);
        return undefined;
      }
      // Unreachable network (refresh while offline): the copy kept from an earlier load still serves.
      const cached =
        typeof (e as WebvlError).details?.status === 'number'
          ? undefined
          : await this.fromCache(file, fileUrl);
      if (cached) return cached;
      throw e;
    }
    const size = contentLength(res);
    return {
      file,
      size,
      discard: () => void res.body?.cancel().catch(() => undefined),
      read: async (onBytes) => {
        let bytes: Uint8Array;
        try {
          // No upper bound: a compressed transfer may decode to more than its Content-Length.
          bytes = await readWithProgress(res, Number.POSITIVE_INFINITY, (n) => onBytes?.(n, false));
        } catch (e) {
          throw new WebvlError('MODEL_NOT_FOUND', `download of ${fileUrl} failed: ${(e as Error).message}`);
        }
        // A compressed transfer may decode to more than Content-Length, never to less: less is a cut download.
        if (size !== undefined && bytes.length < size) {
          throw new WebvlError(
            'INTEGRITY_MISMATCH',
            `${fileUrl} ended after ${bytes.length} of ${size} bytes`,
            {
              file,
              source: 'network',
              expectedSize: size,
              size: bytes.length,
            },
          );
        }
        await this.cache?.put(fileUrl, new Response(bytes as Uint8Array<ArrayBuffer>));
        await this.record(file, bytes.length);
        return bytes;
      },
    };
  }
}
