// Embeds the gallery into the persisted index in batches, with counts, an ETA and a cancel between batches.
// Each batch is stored whole or not at all (the runtime's guarantee), so a cancelled build keeps what it did.
import type { IndexHandle } from '../api/runtime';
import type { GalleryItem } from './gallery';

export const BATCH = 25;

export interface BuildProgress {
  readonly done: number;
  readonly total: number;
  /** Estimated milliseconds left, from the pace so far; undefined before the first batch ends. */
  readonly etaMs?: number;
}

export async function buildIndex(
  index: IndexHandle,
  gallery: readonly GalleryItem[],
  signal: AbortSignal,
  onProgress: (p: BuildProgress) => void,
): Promise<number> {
  await index.clear();
  const t0 = performance.now();
  let done = 0;
  onProgress({ done, total: gallery.length });
  for (let i = 0; i < gallery.length && !signal.aborted; i += BATCH) {
    const batch = gallery.slice(i, i + BATCH);
    const items = await Promise.all(
      batch.map(async (g) => ({
        id: g.file,
        image: await (await fetch(g.url)).blob(),
        meta: { caption: g.caption },
      })),
    );
    await index.add(items);
    done += batch.length;
    const perItem = (performance.now() - t0) / done;
    onProgress({ done, total: gallery.length, etaMs: perItem * (gallery.length - done) });
  }
  return done;
}
