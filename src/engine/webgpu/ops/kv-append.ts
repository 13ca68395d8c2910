// Key/value cache appends with per-batch offsets (shaders/kv-append.wgsl): GroupQueryAttention's presents,
// where each batch row's new keys land after that row's own past (seqlens read on the GPU), not after the
// longest one, so a right-padded batch needs no host round trip.
import kvAppendWgsl from '../../../../shaders/kv-append.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectFloat32,
  grid1d,
  invalid,
  isFloat,
  UniformWriter,
} from './common';
import type { Strided4 } from './types';

export interface KvAppendParams {
  /** The new rows' logical [B, H, S, D] layout within `fresh`. */
  readonly fresh: Strided4;
  /** A first prompt: the new rows start at position 0 whatever seqlens says. */
  readonly first: boolean;
}

/**
 * out [B, H, T, D]: per batch row b, past[b, :, :pb] then the S new rows at pb = seqlens[b] + 1 − S (0 when
 * `first`), zeros after. past [B, H, P, D] or null (no past); seqlens (i32 family) [B].
 */
export function kvAppend(
  ctx: KernelContext,
  past: GpuView | null,
  fresh: GpuView,
  seqlens: GpuView,
  out: GpuView,
  p: KvAppendParams,
): void {
  expectFloat32('KvAppend new rows', fresh);
  expectFloat32('KvAppend output', out);
  if (past) expectFloat32('KvAppend past', past);
  if (isFloat(seqlens.dtype)) invalid(`KvAppend: seqlens must be integers, got ${seqlens.dtype}`);
  if (out.dims.length !== 4) invalid(`KvAppend: output [${out.dims}] is not [B, H, T, D]`);
  const [b, h, total, d] = out.dims;
  const [fb, fh, s, fd] = p.fresh.shape;
  if (fb !== b || fh !== h || fd !== d || s > total)
    invalid(`KvAppend: new rows [${p.fresh.shape}] do not fit the cache [${out.dims}]`);
  if (past && (past.dims.length !== 4 || past.dims[0] !== b || past.dims[1] !== h || past.dims[3] !== d))
    invalid(`KvAppend: past [${past.dims}] does not match the cache [${out.dims}]`);
  if (elementCount(seqlens.dims) !== b)
    invalid(`KvAppend: ${elementCount(seqlens.dims)} seqlens for batch ${b}`);
  const start = p.fresh.start ?? 0;
  let last = start;
  p.fresh.shape.forEach((n, i) => {
    last += (n - 1) * p.fresh.strides[i];
  });
  if (s > 0 && last >= elementCount(fresh.dims))
    invalid(`KvAppend: the new rows' layout reaches element ${last} of ${elementCount(fresh.dims)}`);
  const n = elementCount(out.dims);
  if (n === 0) return;
  ctx.record({
    label: 'KvAppend',
    wgsl: kvAppendWgsl,
    cacheKey: 'kv-append',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [past ?? fresh, fresh, seqlens, out],
    uniforms: new UniformWriter()
      .u32s([n, h, total, d, s, past ? past.dims[2] : 0, p.first ? 1 : 0, start])
      .u32s(p.fresh.strides)
      .finish(),
  });
}
