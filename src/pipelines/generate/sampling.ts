// Choosing the next token: greedy, or temperature + top-k + top-p + min-p sampling with a seeded draw. The GPU head
// (shaders/sample-topk.wgsl) does the same on our engine; this is the host path for other backends, in the
// same order of operations so both pick the same token for the same draw.
import { WebvlError } from '../../errors';

export interface Sampling {
  /** Softmax temperature, > 0. */
  readonly temperature: number;
  /** Candidates considered: the topK most likely (1 = greedy). */
  readonly topK: number;
  /** Nucleus: the smallest prefix of the candidates whose probability reaches topP, in (0, 1]. */
  readonly topP: number;
  /** Drops candidates less likely than minP times the most likely one, in [0, 1] (default 0: none). */
  readonly minP?: number;
  /** Seeds the draws, so a seeded answer repeats. */
  readonly seed?: number;
}

export const GREEDY: Sampling = { temperature: 1, topK: 1, topP: 1 };

/** The most candidates sampling may consider (the GPU head's TopK runs that many rounds). */
export const MAX_TOP_K = 64;

export function checkSampling(s: Sampling): void {
  const bad = (what: string) => {
    throw new WebvlError('INVALID_INPUT', `sampling: ${what}`);
  };
  if (!Number.isFinite(s.temperature) || s.temperature <= 0 || s.temperature > 100)
    bad(`temperature must be in (0, 100], got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 1 || s.topK > MAX_TOP_K)
    bad(`topK must be an integer in [1, ${MAX_TOP_K}], got ${s.topK}`);
  if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) bad(`topP must be in (0, 1], got ${s.topP}`);
  if (s.minP !== undefined && !(Number.isFinite(s.minP) && s.minP >= 0 && s.minP <= 1))
    bad(`minP must be in [0, 1], got ${s.minP}`);
  if (s.seed !== undefined && (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff))
    bad(`seed must be an integer in [0, 2^32), got ${s.seed}`);
}

/** Uniform draws in [0, 1) (mulberry32): small, fast, and the same sequence on every platform. */
export function drawsFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The topK best indices of a row, best first (ties: lower index first, as ONNX TopK). */
function best(row: ArrayLike<number>, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < row.length; i++) {
    let at = out.length;
    while (at > 0 && row[out[at - 1]] < row[i]) at--;
    if (at < k) {
      out.splice(at, 0, i);
      if (out.length > k) out.pop();
    }
  }
  return out;
}

/**
 * The token `draw` in [0, 1) selects from `row`'s logits under `s`: the topK best, weighted by softmax at the
 * temperature, cut to the nucleus (the smallest prefix whose mass reaches topP), then to those at least minP times
 * as likely as the best (transformers' warpers in its order: temperature, top-k, top-p, min-p; one always kept).
 */
export function pickToken(row: ArrayLike<number>, s: Sampling, draw: number): number {
  const candidates = best(row, Math.min(s.topK, row.length));
  if (candidates.length === 1) return candidates[0];
  const top = row[candidates[0]];
  const weights = candidates.map((i) => Math.exp((row[i] - top) / s.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let kept = 0;
  let mass = 0;
  do {
    mass += weights[kept++];
  } while (kept < candidates.length && mass < s.topP * total);
  // Weights fall from 1 (the best): min-p keeps a prefix too, whose mass is summed again as the GPU head does.
  if (s.minP) {
    while (kept > 1 && weights[kept - 1] < s.minP) kept--;
    mass = 0;
    for (let i = 0; i < kept; i++) mass += weights[i];
  }
  let running = 0;
  for (let i = 0; i < kept; i++) {
    running += weights[i];
    if (running > draw * mass) return candidates[i];
  }
  return candidates[kept - 1];
}

/**
 * The repetition penalties a request or a folder may ask for (transformers': 1 is none, above 1 discourages
 * repeats, below 1 favours them). Past 10 a held token is all but banned, which an end token or maxTokens does
 * better; below 1e-3 one is all but forced.
 */
export const MIN_REPETITION_PENALTY = 1e-3;
export const MAX_REPETITION_PENALTY = 10;

export function isRepetitionPenalty(p: unknown): p is number {
  return typeof p === 'number' && p >= MIN_REPETITION_PENALTY && p <= MAX_REPETITION_PENALTY;
}

/**
 * transformers' RepetitionPenaltyLogitsProcessor, in place: each token `held` (the sequence so far, each token
 * once) has its logit divided by `penalty` where positive, multiplied where negative. The GPU head
 * (shaders/repetition-penalty.wgsl) does the same.
 */
export function penalizeRepeats(row: Float32Array, held: ReadonlySet<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const t of held) {
    if (t < 0 || t >= row.length) continue;
    row[t] = row[t] < 0 ? row[t] * penalty : row[t] / penalty;
  }
}

/** The tokens `held`, as the GPU head reads them: bit t % 32 of word t / 32, `words` per row, `rows` alike. */
export function heldBitset(held: Iterable<number>, words: number, rows = 1): Int32Array {
  const bits = new Int32Array(words * rows);
  for (const t of held) if (t >= 0 && t < words * 32) bits[t >>> 5] |= 1 << (t & 31);
  for (let r = 1; r < rows; r++) bits.copyWithin(r * words, 0, words);
  return bits;
}
