// Zero-shot classification (CLIP): the labels' probabilities as bars, best first.
import type { Runtime } from '../api/runtime';
import type { LabelScore } from '../api/types';
import { h, whileRunning } from './dom';
import type { ImagePicker } from './image-picker';
import { gate, showError, timingsLine } from './task';

const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'];
const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'cross'];
const SHOWN = 5;

function bars(scores: readonly LabelScore[]): HTMLElement {
  return h(
    'ol',
    { class: 'bars' },
    ...scores.slice(0, SHOWN).map((s) => {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.width = `${Math.max(0.5, 100 * s.probability).toFixed(1)}%`;
      return h(
        'li',
        { class: 'bar' },
        h('span', { class: 'bar-label' }, s.label),
        h('span', { class: 'bar-track' }, fill),
        h('span', { class: 'bar-value' }, `${(100 * s.probability).toFixed(1)}%`),
      );
    }),
  );
}

export function classifyPanel(
  runtime: Promise<Runtime>,
  picker: ImagePicker,
  afterTask: () => void,
): HTMLElement {
  const labels = h('textarea', { id: 'labels', rows: '4', 'aria-label': 'labels, comma separated' });
  // Size × colour × shape, read through the template "a {}" into prompts shaped like the training captions.
  labels.value = ['large', 'small']
    .flatMap((z) => COLOURS.flatMap((c) => SHAPES.map((s) => `${z} ${c} ${s}`)))
    .join(', ');
  const count = h('span', {}, '');
  const countLabels = () => {
    count.textContent = String(labels.value.split(',').filter((s) => s.trim()).length);
  };
  countLabels();
  labels.addEventListener('input', countLabels);
  // Templates separated by '|' form a prompt ensemble.
  const template = h('input', { id: 'template', value: 'a {}', size: '14', 'aria-label': 'prompt template' });
  const out = h('div', { id: 'classify-out', class: 'out', 'aria-live': 'polite' });
  const run = h('button', { id: 'classify-run', type: 'button', class: 'primary' }, 'Classify');
  gate([run], runtime, 'CLIP');
  picker.onChange(() => out.replaceChildren());
  run.addEventListener('click', () =>
    whileRunning([run], async () => {
      const rt = await runtime;
      out.replaceChildren(h('p', { class: 'muted' }, 'Classifying…'));
      delete out.dataset.top;
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
          h(
            'p',
            { class: 'result-title' },
            `Top ${Math.min(SHOWN, scores.length)} of ${scores.length} labels`,
          ),
          bars(scores),
          timingsLine(rt),
        );
        out.dataset.top = scores[0]?.label ?? '';
      } catch (e) {
        showError(out, e);
      }
      afterTask();
    }),
  );
  return h(
    'div',
    { class: 'task' },
    h('p', { class: 'task-intro' }, 'CLIP scores the image against every label and says which fits best.'),
    h('div', { class: 'controls' }, run, h('label', {}, 'Template ', template)),
    h('details', { class: 'labels' }, h('summary', {}, 'Labels (', count, ')'), labels),
    out,
  );
}
