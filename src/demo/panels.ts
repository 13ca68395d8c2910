// The demo's task panels. Each takes the runtime it needs and the image picker, and writes its results
// (with stage timings) into its own output element, whose id the demo e2e test reads.
import type { Runtime } from '../api/runtime';
import { byId, errorText, fmtMs, h } from './dom';
import type { GalleryItem } from './gallery';
import type { ImagePicker } from './image-picker';

const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'];
const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'cross'];

function timingsOf(rt: Runtime): string {
  return fmtMs((rt as Runtime & { lastTimings?: Record<string, number> }).lastTimings);
}

export function classifyPanel(rt: Runtime, picker: ImagePicker): HTMLElement {
  const labels = h('textarea', { id: 'labels', rows: '4', cols: '40' });
  // Size × colour × shape, read through the template "a {}" into prompts shaped like the training captions.
  labels.value = ['large', 'small']
    .flatMap((z) => COLOURS.flatMap((c) => SHAPES.map((s) => `${z} ${c} ${s}`)))
    .join(', ');
  // Templates separated by '|' form a prompt ensemble.
  const template = h('input', { id: 'template', value: 'a {}', size: '24' });
  const out = h('div', { id: 'classify-out', class: 'out' });
  const run = h('button', { id: 'classify-run', type: 'button' }, 'Classify');
  run.addEventListener('click', async () => {
    out.textContent = 'running…';
    try {
      const list = labels.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const templates = template.value
        .split('|')
        .map((t) => t.trim())
        .filter(Boolean);
      const scores = await rt.classify(await picker.current(), list, { template: templates });
      out.replaceChildren(
        ...scores
          .slice(0, 5)
          .map((s) =>
            h(
              'div',
              { class: 'bar' },
              h('meter', { value: String(s.probability) }),
              ` ${s.label} ${(100 * s.probability).toFixed(1)}%`,
            ),
          ),
        h('small', {}, timingsOf(rt)),
      );
      out.dataset.top = scores[0]?.label ?? '';
    } catch (e) {
      out.textContent = errorText(e);
    }
  });
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'Zero-shot classification (CLIP)'),
    h('p', {}, 'Labels (comma separated): '),
    labels,
    h('p', {}, "Prompt templates ('|' between them): ", template, ' ', run),
    out,
  );
}

export function captionPanel(rt: Runtime, picker: ImagePicker): HTMLElement {
  const beams = h('input', { id: 'beams', type: 'number', min: '1', max: '8', value: '1', size: '3' });
  const out = h('div', { id: 'caption-out', class: 'out' });
  const run = h('button', { id: 'caption-run', type: 'button' }, 'Caption');
  const stop = h('button', { id: 'caption-stop', type: 'button' }, 'Stop');
  let ctl: AbortController | undefined;
  stop.addEventListener('click', () => ctl?.abort());
  run.addEventListener('click', async () => {
    ctl = new AbortController();
    out.textContent = '';
    out.dataset.done = '';
    try {
      const r = await rt.caption(await picker.current(), {
        numBeams: Number(beams.value) || 1,
        signal: ctl.signal,
        onToken: (t) => {
          out.textContent = t.text;
        },
      });
      out.replaceChildren(
        h('strong', { id: 'caption-text' }, r.text),
        h('br'),
        h('small', {}, timingsOf(rt)),
      );
      const want = picker.currentCaption();
      if (want) out.append(h('br'), h('small', {}, `generated scene caption: ${want}`));
      out.dataset.done = r.text;
    } catch (e) {
      out.textContent = errorText(e);
    }
  });
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'Captioning (BLIP decoder)'),
    h('p', {}, 'Beams: ', beams, ' ', run, ' ', stop),
    out,
  );
}

export function retrievalPanel(rt: Runtime, gallery: readonly GalleryItem[]): HTMLElement {
  const status = h('p', { id: 'index-status' }, 'index: not built');
  const build = h('button', { id: 'index-build', type: 'button' }, `Index ${gallery.length} gallery images`);
  const query = h('input', { id: 'query', value: gallery[0]?.caption ?? 'a large red circle', size: '40' });
  const rerank = h('input', { id: 'rerank', type: 'checkbox' });
  rerank.checked = true;
  const search = h('button', { id: 'search-run', type: 'button' }, 'Search');
  const out = h('div', { id: 'search-out', class: 'out' });
  const byFile = new Map(gallery.map((g) => [g.file, g]));

  const refresh = async () => {
    const index = await rt.openIndex('demo-gallery');
    const n = await index.size();
    status.textContent = `index: ${n} images (${index.backend === 'gpu' ? 'GPU matrix, WGSL top-k' : 'CPU'})`;
    status.dataset.size = String(n);
    return index;
  };
  build.addEventListener('click', async () => {
    try {
      const index = await refresh();
      status.textContent = 'embedding gallery…';
      const items = await Promise.all(
        gallery.map(async (g) => ({
          id: g.file,
          image: await (await fetch(g.url)).blob(),
          meta: { caption: g.caption },
        })),
      );
      // One batch per 50 images: each lands whole or not at all. upsert: building again replaces, not refuses.
      for (let i = 0; i < items.length; i += 50) await index.upsert(items.slice(i, i + 50));
      await refresh();
    } catch (e) {
      status.textContent = errorText(e);
    }
  });
  search.addEventListener('click', async () => {
    out.textContent = 'searching…';
    try {
      const index = await rt.openIndex('demo-gallery');
      const hits = await index.search(query.value, { k: 5, rerank: rerank.checked });
      out.replaceChildren(
        ...hits.map((hit) => {
          const g = byFile.get(hit.id);
          return h(
            'div',
            { class: 'hit', 'data-id': hit.id },
            h('img', { src: g?.url ?? '', width: '48', height: '48' }),
            ` ${hit.id} ITC ${hit.itc.toFixed(3)}${hit.itm !== undefined ? ` ITM ${hit.itm.toFixed(3)}` : ''} — ${g?.caption ?? ''}`,
          );
        }),
        h('small', {}, timingsOf(rt)),
      );
    } catch (e) {
      out.textContent = errorText(e);
    }
  });
  void refresh().catch(() => undefined);
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'Retrieval (ITC top-k, ITM re-rank)'),
    status,
    build,
    h('p', {}, 'Query: ', query, ' ', h('label', {}, rerank, ' re-rank with ITM'), ' ', search),
    out,
  );
}

export function capfiltPanel(rt: Runtime, gallery: readonly GalleryItem[]): HTMLElement {
  const threshold = h('input', {
    id: 'threshold',
    type: 'number',
    step: '0.05',
    min: '0',
    max: '1',
    value: '0.5',
  });
  const run = h('button', { id: 'capfilt-run', type: 'button' }, 'Run CapFilt on 4 gallery images');
  const out = h('div', { id: 'capfilt-out', class: 'out' });
  run.addEventListener('click', async () => {
    out.textContent = 'running…';
    try {
      const picks = gallery.slice(0, 4);
      const images = await Promise.all(picks.map(async (g) => (await fetch(g.url)).blob()));
      // Give every other image a wrong "web text", so the filter has something to reject.
      const texts = picks.map((g, i) => (i % 2 ? picks[(i + 1) % picks.length].caption : g.caption));
      const items = await rt.capfilt(images, { threshold: Number(threshold.value), texts });
      out.replaceChildren(
        ...items.map((it, i) =>
          h(
            'div',
            { class: 'capfilt' },
            h('img', { src: picks[i].url, width: '48', height: '48' }),
            ` synthetic: "${it.caption}" ${it.captionScore.toFixed(2)} ${it.captionKept ? 'kept' : 'filtered'}; web: "${it.text}" ${it.textScore?.toFixed(2)} ${it.textKept ? 'kept' : 'filtered'}`,
          ),
        ),
        h('small', {}, timingsOf(rt)),
      );
    } catch (e) {
      out.textContent = errorText(e);
    }
  });
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'CapFilt (caption, then filter with ITM)'),
    h('p', {}, 'Threshold: ', threshold, ' ', run),
    out,
  );
}

export async function renderDeviceInfo(runtimes: Record<string, Runtime>): Promise<void> {
  const el = byId('device');
  const rows: HTMLElement[] = [];
  for (const [name, rt] of Object.entries(runtimes)) {
    const info = await rt.info();
    const a = info.adapter;
    rows.push(
      h(
        'div',
        {},
        h('strong', {}, `${name}: `),
        `backend ${info.backend} (${info.backendReason}); ${info.backendDescription}; `,
        `WebGPU ${info.webgpu ? `yes, ${a?.vendor} ${a?.architecture}${a?.software ? ' (software)' : ''}` : 'no'}; `,
        `cross-origin isolated ${info.crossOriginIsolated}; `,
        info.model
          ? `model ${info.model.url} (${info.model.dtype}, ${(info.model.bytes / 1e6).toFixed(1)} MB, loaded in ${info.model.loadMs.toFixed(0)} ms; preprocessing on the ${info.model.preprocessing.toUpperCase()})`
          : 'no model',
        info.lastTimings ? h('br') : '',
        info.lastTimings ? h('small', {}, `last request: ${fmtMs(info.lastTimings)}`) : '',
      ),
    );
  }
  el.replaceChildren(...rows);
}
