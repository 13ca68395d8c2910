// The task tabs: one panel visible at a time, so every task's controls fit on the first screen.
import { h } from './dom';

export interface Tab {
  readonly id: string;
  readonly label: string;
  readonly panel: HTMLElement;
  /** Called the first time the tab is shown (the Ask tab starts its model then, not with the page). */
  readonly onFirstShow?: () => void;
}

export function tabs(list: readonly Tab[]): HTMLElement {
  const bar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Tasks' });
  const buttons = list.map((t) =>
    h(
      'button',
      { type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': `panel-${t.id}` },
      t.label,
    ),
  );
  const shown = new Set<number>();
  const show = (i: number) => {
    if (!shown.has(i)) {
      shown.add(i);
      list[i].onFirstShow?.();
    }
    list.forEach((t, j) => {
      t.panel.hidden = i !== j;
      buttons[j].setAttribute('aria-selected', String(i === j));
      buttons[j].tabIndex = i === j ? 0 : -1;
    });
  };
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => show(i));
    b.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = (i + step + list.length) % list.length;
      show(next);
      buttons[next].focus();
    });
  });
  for (const t of list) {
    t.panel.id = `panel-${t.id}`;
    t.panel.setAttribute('role', 'tabpanel');
    t.panel.setAttribute('aria-labelledby', `tab-${t.id}`);
  }
  bar.append(...buttons);
  show(0);
  return h('div', { class: 'task-tabs' }, bar, ...list.map((t) => t.panel));
}
