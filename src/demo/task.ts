// What every task panel shares: a run button that waits for its model, output that shows results or a styled
// error, and the runtime's stage timings of the last request.
import type { Runtime } from '../api/runtime';
import { fmtMs, h } from './dom';
import { errorView } from './error-view';

export function timingsOf(rt: Runtime): string {
  return fmtMs((rt as Runtime & { lastTimings?: Record<string, number> }).lastTimings);
}

/** Keeps `buttons` disabled until the model behind `runtime` is ready, saying so in their title. */
export function gate(buttons: readonly HTMLButtonElement[], runtime: Promise<Runtime>, model: string): void {
  for (const b of buttons) {
    b.disabled = true;
    b.title = `waiting for ${model} to load`;
  }
  runtime.then(
    () => {
      for (const b of buttons) {
        b.disabled = false;
        b.title = '';
      }
    },
    () => {
      for (const b of buttons) b.title = `${model} failed to load`;
    },
  );
}

export function showError(out: HTMLElement, e: unknown): void {
  out.replaceChildren(errorView(e));
}

export function timingsLine(rt: Runtime): HTMLElement {
  return h('p', { class: 'timings' }, timingsOf(rt));
}
