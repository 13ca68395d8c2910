// The inputs the corpus tests feed (tests/corpus/ops and tests/corpus/contrib), shared by the Node tests and the
// browser ones so both run the same numbers: floats from fixed seeds, ids and positions within the tables.
import { type HostTensor, hostTensor } from '../../src/engine/tensor';
import { decodeModel } from '../../src/engine/webgpu/ir/onnx-decode';
import { rng, uniformFloats } from './random';

/** tests/corpus/ops: every declared input float32, uniform in [−1, 1). */
export function opFormFeeds(bytes: Uint8Array): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  decodeModel(bytes).inputs.forEach((v, i) => {
    const dims = (v.shape ?? []).map(Number);
    feeds[v.name] = hostTensor('float32', dims, uniformFloats(elements(dims), 60 + i));
  });
  return feeds;
}

/**
 * Rows of the quantized tables and the rotary caches (scripts/make_contrib_graphs.py): ids are drawn from
 * [−rows, rows) (negative ones wrap), positions from [0, rows − S) so an offset's tokens stay in the cache.
 */
const TABLE_ROWS = 16;
const SEQ = 5;

/** tests/corpus/contrib: floats in [−2, 2), int64 ids and positions. */
export function contribFeeds(bytes: Uint8Array): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  decodeModel(bytes).inputs.forEach((v, i) => {
    const dims = (v.shape ?? []).map(Number);
    const n = elements(dims);
    if (v.dtype === 'int64') {
      const rand = rng(70 + i);
      const [lo, hi] = v.name === 'position_ids' ? [0, TABLE_ROWS - SEQ] : [-TABLE_ROWS, TABLE_ROWS];
      const ids = BigInt64Array.from({ length: n }, () => BigInt(lo + Math.floor(rand() * (hi - lo))));
      feeds[v.name] = hostTensor('int64', dims, ids);
    } else feeds[v.name] = hostTensor('float32', dims, uniformFloats(n, 40 + i, -2, 2));
  });
  return feeds;
}

function elements(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * tests/corpus/linear-attention: batch 2 and `steps` tokens for the symbolic dims, floats in [−1, 1) from `seed`;
 * `state` (the previous call's present state) in place of past_state.
 */
export function recurrentFeeds(
  bytes: Uint8Array,
  steps: number,
  seed: number,
  state?: HostTensor,
): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  decodeModel(bytes).inputs.forEach((v, i) => {
    const dims = (v.shape ?? []).map((d) => (d === 'batch' ? 2 : d === 'steps' ? steps : Number(d)));
    feeds[v.name] =
      v.name === 'past_state' && state
        ? state
        : hostTensor('float32', dims, uniformFloats(elements(dims), seed + i, -1, 1));
  });
  return feeds;
}
