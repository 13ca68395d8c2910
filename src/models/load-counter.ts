// Byte progress over a model load that reads its files in batches (the JSON files first, whose contents
// decide which graphs follow). The total is the sum of the sizes known so far; a file whose size was not
// announced (no Content-Length) adds its bytes as they arrive, so `loaded` never passes `total`.
import type { FolderFile } from './model-folder';
import type { ProgressListener } from './model-store';

export class LoadCounter {
  private total = 0;
  private loaded = 0;

  constructor(
    private readonly model: string,
    private readonly onProgress?: ProgressListener,
  ) {}

  /** Bytes of every file read so far. */
  get bytes(): number {
    return this.loaded;
  }

  /**
   * Reads the files one after another, reporting bytes as they arrive; `onFile` hears each file as soon as its
   * bytes are in (and verified), so work on it can start while the next one downloads. It may name files found
   * on the way (a graph's external data), which are read right after it.
   */
  async read(
    files: readonly FolderFile[],
    onFile?: (file: string, bytes: Uint8Array) => Promise<readonly FolderFile[] | undefined>,
  ): Promise<Map<string, Uint8Array>> {
    const queue = [...files];
    const announce = (fs: readonly FolderFile[]) => {
      this.total += fs.reduce((s, f) => s + (f.size ?? 0), 0);
    };
    announce(queue);
    const out = new Map<string, Uint8Array>();
    for (let i = 0; i < queue.length; i++) {
      const f = queue[i];
      const announced = f.size ?? 0;
      const bytes = await f.read((fileLoaded, fromCache, stage = 'downloading') => {
        const fileTotal = Math.max(announced, fileLoaded);
        this.onProgress?.({
          stage,
          step: i + 1,
          steps: queue.length,
          model: this.model,
          file: f.file,
          fileLoaded,
          fileTotal,
          loaded: this.loaded + fileLoaded,
          total: this.total + fileTotal - announced,
          fromCache,
        });
      });
      this.total += bytes.length - announced;
      this.loaded += bytes.length;
      out.set(f.file, bytes);
      const more = await onFile?.(f.file, bytes);
      if (more?.length) {
        announce(more);
        queue.splice(i + 1, 0, ...more);
      }
    }
    return out;
  }
}
