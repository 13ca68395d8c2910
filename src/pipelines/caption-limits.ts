// How long a caption and how many beams one caption call may ask for, from the model itself: the decoder's
// position count bounds the tokens, and the memory one beam holds bounds the beams.
import { BEAM_MEMORY_BYTES, MAX_BEAMS_UNSIZED } from '../limits';
import type { GraphIo } from '../onnx/graph-io';

export interface CaptionLimits {
  /** Most tokens one caption can have: one per decoder position. */
  readonly maxTokens: number;
  /** Most beams: BEAM_MEMORY_BYTES over the bytes one beam holds at full length. */
  readonly maxBeams: number;
}

const FLOAT_BYTES = 4;

/** Elements per row of a declared shape with `dynamic` leading symbolic dims (batch, sequence); undefined if any other is symbolic. */
function perRow(shape: readonly (number | undefined)[] | undefined, dynamic: number[]): number | undefined {
  if (!shape) return undefined;
  let n = 1;
  for (const [i, d] of shape.entries()) {
    if (dynamic.includes(i)) continue;
    if (d === undefined) return undefined;
    n *= d;
  }
  return n;
}

/**
 * Bytes one beam holds at the longest caption, counted from the graphs' declared shapes: its copy of the
 * image tokens (vision last_hidden_state), its KV cache (every present.* output, per position), and its
 * logits, each twice because reordering the beams builds the new cache (on the GPU or the host) while the old
 * one is still alive.
 */
export function bytesPerBeam(
  vision: GraphIo | undefined,
  decoder: GraphIo | undefined,
  positions: number,
): number | undefined {
  const tokens = perRow(vision?.outputs.get('last_hidden_state'), [0]);
  const vocab = perRow(decoder?.outputs.get('logits'), [0, 1]);
  const present = [...(decoder?.outputs ?? new Map()).entries()].filter(([name]) =>
    name.startsWith('present'),
  );
  if (tokens === undefined || vocab === undefined || present.length === 0) return undefined;
  let cachePerPosition = 0;
  for (const [, shape] of present) {
    // [batch, heads, sequence, head_dim]
    const n = perRow(shape, [0, 2]);
    if (n === undefined) return undefined;
    cachePerPosition += n;
  }
  return 2 * FLOAT_BYTES * (tokens + cachePerPosition * positions + vocab);
}

export function captionLimits(
  positions: number,
  vision: GraphIo | undefined,
  decoder: GraphIo | undefined,
): CaptionLimits {
  const perBeam = bytesPerBeam(vision, decoder, positions);
  return {
    maxTokens: positions,
    maxBeams:
      perBeam === undefined ? MAX_BEAMS_UNSIZED : Math.max(1, Math.floor(BEAM_MEMORY_BYTES / perBeam)),
  };
}
