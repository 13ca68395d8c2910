// Tiny DOM helpers for the demo (no framework).
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
}

export function fmtMs(timings: Record<string, number> | undefined): string {
  if (!timings) return '';
  return Object.entries(timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)} ms`)
    .join(' · ');
}

export function fmtSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function fmtMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Runs `job` with `buttons` disabled, so a task cannot be started twice; they come back however it ends. */
export async function whileRunning<T>(
  buttons: readonly HTMLButtonElement[],
  job: () => Promise<T>,
): Promise<T> {
  for (const b of buttons) b.disabled = true;
  try {
    return await job();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
