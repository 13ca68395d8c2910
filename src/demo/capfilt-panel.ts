// CapFilt (BLIP): caption four gallery images, then keep or drop each caption and each "web text" by ITM.
import type { Runtime } from '../api/runtime';
import { h, whileRunning } from './dom';
import type { GalleryItem } from './gallery';
import { gate, showError, timingsLine } from './task';

function verdict(text: string, score: number | undefined, kept: boolean | undefined): HTMLElement {
  return h(
    'span',
    { class: `verdict ${kept ? 'kept' : 'dropped'}` },
    h('span', { class: 'badge' }, kept ? 'kept' : 'filtered'),
    ` “${text}” `,
    h('span', { class: 'muted' }, score === undefined ? '' : `ITM ${score.toFixed(2)}`),
  );
}

export function capfiltPanel(
  runtime: Promise<Runtime>,
  gallery: readonly GalleryItem[],
  afterTask: () => void,
): HTMLElement {
  const threshold = h('input', {
    id: 'threshold',
    type: 'number',
    step: '0.05',
    min: '0',
    max: '1',
    value: '0.5',
    'aria-label': 'threshold',
  });
  const run = h('button', { id: 'capfilt-run', type: 'button', class: 'primary' }, 'Run CapFilt');
  const out = h('div', { id: 'capfilt-out', class: 'out', 'aria-live': 'polite' });
  gate([run], runtime, 'BLIP');
  run.addEventListener('click', () =>
    whileRunning([run], async () => {
      out.replaceChildren(h('p', { class: 'muted' }, 'Captioning and filtering…'));
      try {
        const rt = await runtime;
        const picks = gallery.slice(0, 4);
        const images = await Promise.all(picks.map(async (g) => (await fetch(g.url)).blob()));
        // Give every other image a wrong "web text", so the filter has something to reject.
        const texts = picks.map((g, i) => (i % 2 ? picks[(i + 1) % picks.length].caption : g.caption));
        const items = await rt.capfilt(images, { threshold: Number(threshold.value), texts });
        out.replaceChildren(
          h(
            'ul',
            { class: 'capfilt-list' },
            ...items.map((it, i) =>
              h(
                'li',
                { class: 'capfilt' },
                h('img', { src: picks[i].url, alt: picks[i].caption }),
                h(
                  'div',
                  {},
                  h(
                    'div',
                    {},
                    h('b', {}, 'Synthetic caption: '),
                    verdict(it.caption, it.captionScore, it.captionKept),
                  ),
                  h('div', {}, h('b', {}, 'Web text: '), verdict(it.text ?? '', it.textScore, it.textKept)),
                ),
              ),
            ),
          ),
          timingsLine(rt),
        );
      } catch (e) {
        showError(out, e);
      }
      afterTask();
    }),
  );
  return h(
    'div',
    { class: 'task' },
    h(
      'p',
      { class: 'task-intro' },
      'BLIP’s data filter: caption four gallery images, then keep only captions and web texts that ITM says match.',
    ),
    h('div', { class: 'controls' }, run, h('label', {}, 'Threshold ', threshold)),
    out,
  );
}
