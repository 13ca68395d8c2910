// Whole-number command-line options of the bench and eval runners, checked before any work starts.

/** `value` as a whole number from `min` (default 1) to `max`, or an error naming the option. */
export function cliCount(name: string, value: string, max = 100_000, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${value}`);
  return n;
}
