// Retrieval (BLIP): build the gallery index (progress, ETA, cancel), then search it by text. Hits are shown as
// a grid with both scores, ordered by the one in use: ITM after re-ranking, ITC otherwise.
import type { IndexHandle, Runtime } from '../api/runtime';
import type { RetrievalHit } from '../api/types';
import { fmtSeconds, h, whileRunning } from './dom';
import type { GalleryItem } from './gallery';
import { buildIndex } from './index-builder';
import { gate, showError, timingsLine } from './task';

const INDEX_NAME = 'demo-gallery';
const K = 8;

/** ITM probabilities of non-matches are tiny; three decimals would show them all as 0.000. */
const fmtProbability = (p: number) => (p >= 0.001 || p === 0 ? p.toFixed(3) : p.toExponential(1));

function hitCard(hit: RetrievalHit, rank: number, gallery: ReadonlyMap<string, GalleryItem>, byItm: boolean) {
  const g = gallery.get(hit.id);
  const itm =
    hit.itm === undefined
      ? undefined
      : h('span', { class: byItm ? 'score main' : 'score' }, `ITM ${fmtProbability(hit.itm)}`);
  // A single-stream model (ViLT) has no ITC: its hits carry ITM only.
  const itc =
    hit.itc === undefined
      ? undefined
      : h('span', { class: byItm ? 'score' : 'score main' }, `ITC ${hit.itc.toFixed(3)}`);
  return h(
    'li',
    { class: 'hit', 'data-id': hit.id },
    h('span', { class: 'rank' }, String(rank)),
    h('img', { src: g?.url ?? '', alt: g?.caption ?? hit.id }),
    h(
      'span',
      { class: 'scores' },
      ...(byItm && itm ? [itm, itc] : [itc, itm]).filter((x): x is HTMLSpanElement => x !== undefined),
    ),
    h('span', { class: 'hit-caption' }, g?.caption ?? hit.id),
  );
}

export function searchPanel(
  runtime: Promise<Runtime>,
  gallery: readonly GalleryItem[],
  afterTask: () => void,
): HTMLElement {
  const byFile = new Map(gallery.map((g) => [g.file, g]));
  const status = h('p', { id: 'index-status', class: 'index-status' }, 'Index: waiting for BLIP…');
  const progress = h('progress', { id: 'index-progress', max: String(gallery.length), value: '0' });
  progress.hidden = true;
  const build = h(
    'button',
    { id: 'index-build', type: 'button', class: 'secondary' },
    `Index ${gallery.length} gallery images`,
  );
  const cancel = h('button', { id: 'index-cancel', type: 'button', class: 'secondary' }, 'Cancel');
  cancel.hidden = true;
  const query = h('input', {
    id: 'query',
    type: 'search',
    value: gallery[0]?.caption ?? 'a large red circle',
    'aria-label': 'search text',
  });
  const rerank = h('input', { id: 'rerank', type: 'checkbox' });
  rerank.checked = true;
  const search = h('button', { id: 'search-run', type: 'button', class: 'primary' }, 'Search');
  const out = h('div', { id: 'search-out', class: 'out', 'aria-live': 'polite' });
  gate([build, search], runtime, 'BLIP');

  const open = async (): Promise<IndexHandle> => (await runtime).openIndex(INDEX_NAME);
  const showSize = async () => {
    const index = await open();
    const n = await index.size();
    const where = index.backend === 'gpu' ? 'on the GPU (WGSL top-k)' : 'on the CPU';
    status.textContent = `Index: ${n} of ${gallery.length} gallery images, searched ${where}.`;
    status.dataset.size = String(n);
  };
  runtime.then(() => showSize()).catch(() => undefined);

  let ctl: AbortController | undefined;
  cancel.addEventListener('click', () => {
    ctl?.abort();
    cancel.disabled = true;
    status.textContent = 'Cancelling after the current batch…';
  });
  build.addEventListener('click', () =>
    whileRunning([build], async () => {
      ctl = new AbortController();
      cancel.hidden = false;
      cancel.disabled = false;
      progress.hidden = false;
      delete status.dataset.size;
      try {
        const done = await buildIndex(await open(), gallery, ctl.signal, (p) => {
          progress.value = p.done;
          status.textContent = `Indexing: ${p.done} of ${p.total} images${
            p.etaMs === undefined ? '' : ` · about ${fmtSeconds(p.etaMs)} left`
          }`;
        });
        await showSize();
        if (ctl.signal.aborted) status.textContent += ` Cancelled after ${done}.`;
      } catch (e) {
        showError(out, e);
        await showSize().catch(() => undefined);
      } finally {
        cancel.hidden = true;
        progress.hidden = true;
      }
      afterTask();
    }),
  );
  search.addEventListener('click', () =>
    whileRunning([search], async () => {
      out.replaceChildren(h('p', { class: 'muted' }, 'Searching…'));
      try {
        const rt = await runtime;
        const hits = await (await open()).search(query.value, { k: K, rerank: rerank.checked });
        const byItm = rerank.checked;
        const sorted = [...hits].sort(
          (a, b) => (byItm ? (b.itm ?? 0) - (a.itm ?? 0) : 0) || (b.itc ?? 0) - (a.itc ?? 0),
        );
        const note = byItm
          ? `Sorted by ITM, the probability that the text describes the image (the top ${2 * K} by ITC, re-ranked).`
          : 'Sorted by ITC, the cosine similarity of the text and image embeddings.';
        out.replaceChildren(
          h('p', { class: 'sort-note', id: 'sort-note' }, note),
          sorted.length
            ? h('ol', { class: 'grid' }, ...sorted.map((hit, i) => hitCard(hit, i + 1, byFile, byItm)))
            : h('p', { class: 'muted' }, 'The index is empty: build it first.'),
          timingsLine(rt),
        );
      } catch (e) {
        showError(out, e);
      }
      afterTask();
    }),
  );
  query.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !search.disabled) search.click();
  });
  return h(
    'div',
    { class: 'task' },
    h(
      'p',
      { class: 'task-intro' },
      'Search the gallery by text: BLIP embeds every image once, then each query.',
    ),
    h('div', { class: 'controls' }, build, cancel),
    status,
    progress,
    h(
      'div',
      { class: 'controls' },
      query,
      h('label', { class: 'check' }, rerank, ' re-rank with ITM'),
      search,
    ),
    out,
  );
}
