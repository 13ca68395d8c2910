// Where verified model files are kept between visits. In browsers and workers this is Cache Storage; tests
// in Node pass an in-memory implementation with the same three calls.
export interface ByteCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
}

export const MODEL_CACHE_NAME = 'webvl-models-v1';

/** Cache Storage when the environment has it (secure contexts), otherwise nothing is kept. */
export async function openDefaultCache(): Promise<ByteCache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  return caches.open(MODEL_CACHE_NAME);
}

/** A Map-backed cache for tests and environments without Cache Storage. */
export class MemoryByteCache implements ByteCache {
  readonly entries = new Map<string, Uint8Array>();
  async match(url: string): Promise<Response | undefined> {
    const bytes = this.entries.get(url);
    return bytes ? new Response(bytes.slice() as Uint8Array<ArrayBuffer>) : undefined;
  }
  async put(url: string, response: Response): Promise<void> {
    this.entries.set(url, new Uint8Array(await response.arrayBuffer()));
  }
  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }
}
