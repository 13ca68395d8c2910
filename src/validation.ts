// Checks for values that arrive from callers. Each failure is INVALID_INPUT naming the field (as the caller
// wrote it: 'options.maxTokens', 'labels[2]'), so a caller can see which argument to fix.
import { WebvlError } from './errors';

export function invalid(field: string, why: string, extra: Record<string, unknown> = {}): WebvlError {
  return new WebvlError('INVALID_INPUT', `${field} ${why}`, { field, ...extra });
}

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}

/** An integer in [min, max]; `undefined` gives `fallback`. */
export function integerIn(field: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}; got ${shown(v)}`, { min, max });
  }
  return v;
}

/** A finite number in [min, max]. */
export function numberIn(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(field, `must be a number from ${min} to ${max}; got ${shown(v)}`, { min, max });
  }
  return v;
}

export function optionalBoolean(field: string, v: unknown): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean')
    throw invalid(field, `must be true or false; got ${shown(v)}`);
  return v;
}

export function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw invalid(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${shown(v)}`);
  }
  return v as T;
}

/** A string of at most `maxLength` code units (`nonEmpty`: at least one). */
export function stringOf(field: string, v: unknown, maxLength: number, nonEmpty = true): string {
  if (typeof v !== 'string') throw invalid(field, `must be a string; got ${shown(v)}`);
  if (nonEmpty && v === '') throw invalid(field, 'is empty');
  if (v.length > maxLength) throw invalid(field, `is ${v.length} characters; at most ${maxLength}`);
  return v;
}

/** An array of at most `max` items (a copy, so later changes by the caller do not reach us). */
export function arrayOf(field: string, v: unknown, max: number): unknown[] {
  if (!Array.isArray(v)) throw invalid(field, `must be an array; got ${shown(v)}`);
  if (v.length > max) throw invalid(field, `has ${v.length} items; at most ${max}`, { max });
  return [...v];
}

/** Every item a string (texts, labels, ids): the type only; emptiness is the tokenizer's or the index's call. */
export function stringsOf(
  field: string,
  v: unknown,
  max: number,
  maxLength = Number.POSITIVE_INFINITY,
): string[] {
  return arrayOf(field, v, max).map((s, i) => stringOf(`${field}[${i}]`, s, maxLength, false));
}

/** An options argument: undefined → {}; otherwise a plain object. */
export function optionsObject(field: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalid(field, `must be an object; got ${shown(v)}`);
  }
  return v as Record<string, unknown>;
}
