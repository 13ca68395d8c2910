// Captioning (BLIP decoder): the caption appears token by token; Stop cancels it.
import type { Runtime } from '../api/runtime';
import { h, whileRunning } from './dom';
import type { ImagePicker } from './image-picker';
import { gate, showError, timingsLine } from './task';

export function captionPanel(
  runtime: Promise<Runtime>,
  picker: ImagePicker,
  afterTask: () => void,
): HTMLElement {
  const beams = h('input', {
    id: 'beams',
    type: 'number',
    min: '1',
    max: '8',
    value: '1',
    'aria-label': 'beams',
  });
  const out = h('div', { id: 'caption-out', class: 'out', 'aria-live': 'polite' });
  const run = h('button', { id: 'caption-run', type: 'button', class: 'primary' }, 'Caption');
  const stop = h('button', { id: 'caption-stop', type: 'button', class: 'secondary' }, 'Stop');
  stop.disabled = true;
  gate([run], runtime, 'BLIP');
  picker.onChange(() => out.replaceChildren());
  let ctl: AbortController | undefined;
  stop.addEventListener('click', () => ctl?.abort());
  run.addEventListener('click', () =>
    whileRunning([run], async () => {
      const rt = await runtime;
      ctl = new AbortController();
      stop.disabled = false;
      const text = h('p', { class: 'caption-text', id: 'caption-live' }, '…');
      out.replaceChildren(text);
      out.dataset.done = '';
      try {
        const r = await rt.caption(await picker.current(), {
          numBeams: Number(beams.value) || 1,
          signal: ctl.signal,
          onToken: (t) => {
            text.textContent = t.text;
          },
        });
        out.replaceChildren(
          h('p', { class: 'caption-text', id: 'caption-text' }, r.text || '(empty caption)'),
        );
        const want = picker.currentCaption();
        if (want) out.append(h('p', { class: 'muted' }, `The scene was generated from: “${want}”`));
        out.append(timingsLine(rt));
        out.dataset.done = r.text;
      } catch (e) {
        showError(out, e);
      } finally {
        stop.disabled = true;
      }
      afterTask();
    }),
  );
  return h(
    'div',
    { class: 'task' },
    h('p', { class: 'task-intro' }, 'BLIP writes a caption for the image, one token at a time.'),
    h('div', { class: 'controls' }, run, stop, h('label', {}, 'Beams ', beams)),
    out,
  );
}
