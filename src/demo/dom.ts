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

export function errorText(e: unknown): string {
  const code = (e as { code?: string }).code;
  return code ? `${code}: ${(e as Error).message}` : String(e);
}
