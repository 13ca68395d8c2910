// "Load a model folder": any folder URL the classification panel should use instead of clip-tiny — a Hugging
// Face / transformers.js folder as it is (CLIP, SigLIP, BLIP), one of ours, or a Hub address on an allowed
// origin. The runtime is kept; only its model changes, so the panels go on working with the new one.
import type { Runtime } from '../api/runtime';
import { h } from './dom';
import { errorCode } from './error-view';

export function modelUrlForm(runtime: Promise<Runtime>, initial: string): HTMLElement {
  const input = h('input', { id: 'model-url', value: initial, 'aria-label': 'model folder URL' });
  const dtype = h('input', { id: 'model-dtype', value: 'fp32', size: '6', 'aria-label': 'dtype' });
  const out = h('div', { id: 'model-url-out', class: 'out' });
  const load = h('button', { id: 'model-url-load', type: 'submit' }, 'Load');
  const form = h(
    'form',
    { id: 'model-url-form' },
    h('label', {}, 'Model folder for classification: ', input),
    ' dtype ',
    dtype,
    ' ',
    load,
    out,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.textContent = 'loading…';
    delete out.dataset.kind;
    try {
      const info = await (await runtime).load(input.value.trim(), { dtype: dtype.value.trim() as 'fp32' });
      const graphs = info.graphs.map((g) => `${g.file}`).join(', ');
      out.textContent = `${info.kind} from ${info.url} (${graphs}; ${info.verified ? 'verified by its manifest' : 'no manifest: not verified'}; scores by ${info.scoring.kind})`;
      out.dataset.kind = info.kind;
    } catch (e) {
      out.textContent = `failed: ${errorCode(e)}: ${e instanceof Error ? e.message : String(e)}`;
      out.dataset.kind = 'error';
    }
  });
  return form;
}
