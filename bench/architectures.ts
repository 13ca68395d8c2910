// The architecture comparison's latencies (README table), measured through the public API as users get them: one
// runtime per engine, the same model, the same persisted index. The index is built once, on ORT wasm, and every
// engine searches the same entries.
import type { BackendChoice } from '../src/api/types';
import { createRuntime } from '../src/index';
import { failedRow, timeRepeats } from './core';
import type { ArchitectureRowSpec, GraphEngine, RowResult } from './spec';
import { relativeDiff, summarize } from './stats';

// bench/run.ts gives every model and engine a fresh page, so what must outlive a page lives in the tab's
// sessionStorage (new with each browser launch): the models whose index this run built, and ORT wasm's scores per
// row id, which the other engines are checked against.
function stored<T>(key: string): Record<string, T> {
  return JSON.parse(sessionStorage.getItem(key) ?? '{}') as Record<string, T>;
}
function store<T>(key: string, name: string, value: T): void {
  sessionStorage.setItem(key, JSON.stringify({ ...stored<T>(key), [name]: value }));
}
const BUILT = 'webvl-bench-built-indexes';
const REFERENCE = 'webvl-bench-reference-scores';

const indexName = (row: ArchitectureRowSpec) => `bench ${row.name} ${row.gallery}`;
export const searchRowId = (row: ArchitectureRowSpec) =>
  `${row.name}: search ${row.gallery} images for one text (${row.searchMode})`;
export const pairRowId = (row: ArchitectureRowSpec) =>
  `${row.name}: one image–text pair (match, image encoding included)`;

async function buildIndex(row: ArchitectureRowSpec): Promise<void> {
  if (stored<boolean>(BUILT)[row.model]) return;
  const rt = await createRuntime({ backend: 'wasm' });
  try {
    await rt.load(row.model);
    const index = await rt.openIndex(indexName(row));
    await index.clear();
    for (let i = 0; i < row.gallery; i += 50) {
      const urls = row.images.slice(i, Math.min(row.gallery, i + 50));
      const blobs = await Promise.all(urls.map(async (u) => (await fetch(u)).blob()));
      await index.add(blobs.map((image, j) => ({ id: String(i + j), image })));
    }
    if ((await index.size()) !== row.gallery) throw new Error(`index holds ${await index.size()} entries`);
    store(BUILT, row.model, true);
  } finally {
    await rt.dispose();
  }
}

/** timeRepeats, keeping the scores of the last run (checked against ORT wasm's). */
async function timed(repeats: number, once: () => Promise<number[]>) {
  let scores: number[] = [];
  const t = await timeRepeats(repeats, async () => {
    scores = await once();
  });
  return { ...t, scores };
}

function result(
  id: string,
  engine: GraphEngine,
  m: Awaited<ReturnType<typeof timed>>,
  chosen: string,
): RowResult {
  const s = summarize(m.times);
  if (engine === 'wasm') store(REFERENCE, id, m.scores);
  const ref = stored<number[]>(REFERENCE)[id];
  return {
    id,
    engine,
    warmupMs: m.warmupMs,
    medianMs: s.median,
    p90Ms: s.p90,
    repeats: s.n,
    maxRelDiffVsReference: ref && engine !== 'wasm' ? relativeDiff(m.scores, ref) : undefined,
    chosen,
  };
}

/** Both rows of one model on one engine: the search, then one pair. */
export async function benchArchitecture(
  row: ArchitectureRowSpec,
  engine: GraphEngine,
  repeats: number,
  searchRepeats: number,
): Promise<RowResult[]> {
  try {
    await buildIndex(row);
  } catch (e) {
    return [failedRow(searchRowId(row), engine, e), failedRow(pairRowId(row), engine, e)];
  }
  const rt = await createRuntime({ backend: engine as BackendChoice });
  try {
    await rt.load(row.model);
    const index = await rt.openIndex(indexName(row));
    const out: RowResult[] = [];
    try {
      const search = await timed(searchRepeats, async () => {
        const hits = await index.search(row.query, {
          k: 10,
          ...(row.rerank && { rerank: true, candidates: 16 }),
        });
        return hits.map((h) => h.itm ?? h.itc ?? Number.NaN);
      });
      const mode = (await rt.info()).lastRun;
      out.push(result(searchRowId(row), engine, search, `${mode?.mode}, ${mode?.pairs} pairs`));
    } catch (e) {
      out.push(failedRow(searchRowId(row), engine, e));
    }
    try {
      const image = await (await fetch(row.images[0])).blob();
      const pair = await timed(repeats, async () => {
        const [m] = await rt.match(image, [row.query]);
        return [m.itm ?? m.itc ?? Number.NaN];
      });
      out.push(result(pairRowId(row), engine, pair, (await rt.info()).lastRun?.mode ?? ''));
    } catch (e) {
      out.push(failedRow(pairRowId(row), engine, e));
    }
    return out;
  } catch (e) {
    return [failedRow(searchRowId(row), engine, e), failedRow(pairRowId(row), engine, e)];
  } finally {
    await rt.dispose();
  }
}
