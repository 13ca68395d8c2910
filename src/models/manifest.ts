// The manifest a model folder ships (models/<name>/manifest.json): every file with its size and sha256,
// so the runtime can show byte-level progress up front and refuse a file whose bytes changed.
import { WebvlError } from '../errors';
import { MAX_MODEL_FILE_BYTES } from '../limits';

export interface ManifestEntry {
  /** Size in bytes. */
  readonly size: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

export interface ModelManifest {
  readonly version: 1;
  /** Paths relative to the model folder ('config.json', 'onnx/vision_model.onnx', …). */
  readonly files: Readonly<Record<string, ManifestEntry>>;
}

export const MANIFEST_FILE = 'manifest.json';

/** Validates an untrusted manifest (it came over the network or out of a cache). */
export function parseManifest(value: unknown, source: string): ModelManifest {
  const bad = (why: string) => new WebvlError('INVALID_MODEL', `${source}: bad manifest: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { version, files } = value as { version?: unknown; files?: unknown };
  if (version !== 1) throw bad(`unknown version ${String(version)}`);
  if (typeof files !== 'object' || files === null) throw bad('no files');
  const out: Record<string, ManifestEntry> = {};
  for (const [path, entry] of Object.entries(files)) {
    const { size, sha256 } = (entry ?? {}) as { size?: unknown; sha256?: unknown };
    if (path.includes('..') || path.startsWith('/')) throw bad(`path escapes the folder: ${path}`);
    // Sizes are claims until the bytes arrive; one past the bound is refused before anything is fetched.
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_MODEL_FILE_BYTES) {
      throw bad(`size of ${path} must be an integer from 0 to ${MAX_MODEL_FILE_BYTES}; got ${String(size)}`);
    }
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw bad(`sha256 of ${path}`);
    out[path] = { size, sha256 };
  }
  return { version: 1, files: out };
}

/** Lower-case hex SHA-256 through SubtleCrypto (browsers, workers and Node ≥ 19 all have it). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
