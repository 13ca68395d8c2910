// Arguments cross to the worker by structured clone, which refuses functions, symbols, DOM nodes, WeakMaps
// and objects whose getters throw. Checked before posting, so the caller gets INVALID_INPUT naming the part
// that cannot cross ('items[0].meta.f') instead of a DataCloneError from deep inside postMessage.
import { invalid } from '../validation';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function keyPath(field: string, key: string): string {
  return IDENTIFIER.test(key) ? `${field}.${key}` : `${field}[${JSON.stringify(key)}]`;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The innermost part of `value` that structured clone refuses, with why; undefined when all of it clones. */
function unsendable(
  field: string,
  value: unknown,
  seen: Set<object>,
): { field: string; why: string } | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch (e) {
    // Descend only into plain containers; anything else (a Map holding a function, a class the platform
    // refuses) is reported as a whole. `seen` stops a cycle from being walked forever.
    if (typeof value === 'object' && value !== null && !seen.has(value)) {
      seen.add(value);
      const isArray = Array.isArray(value);
      const proto = Object.getPrototypeOf(value);
      if (isArray || proto === Object.prototype || proto === null) {
        const keys = isArray ? value.map((_, i) => String(i)) : Object.keys(value);
        for (const key of keys) {
          const path = isArray ? `${field}[${key}]` : keyPath(field, key);
          let child: unknown;
          try {
            child = (value as Record<string, unknown>)[key];
          } catch (getter) {
            return { field: path, why: `reading it threw: ${reason(getter)}` };
          }
          const inner = unsendable(path, child, seen);
          if (inner) return inner;
        }
      }
    }
    return { field, why: reason(e) };
  }
}

/** Throws INVALID_INPUT naming the first part of `value` that cannot be sent to the worker. */
export function assertSendable(field: string, value: unknown): void {
  const problem = unsendable(field, value, new Set());
  if (problem) throw invalid(problem.field, `cannot be sent to the runtime worker (${problem.why})`);
}
