// Rotary position embedding. rotary(): the rotate-half form with cos/sin already expanded to x's last axis
// (shaders/rotary.wgsl), one dispatch for what exports spell as two Slices, a Neg, a Concat, two Muls and an
// Add per query or key tensor. rotaryCache(): cos/sin caches indexed by position ids, rotate-half or
// interleaved, partial rotary dims (shaders/rotary-cache.wgsl): com.microsoft RotaryEmbedding and
// GroupQueryAttention's do_rotary.
import rotaryWgsl from '../../../../shaders/rotary.wgsl?raw';
import rotaryCacheWgsl from '../../../../shaders/rotary-cache.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { MAX_RANK } from './binary';
import {
  broadcastDims,
  broadcastStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  isFloat,
  sameDims,
  UniformWriter,
} from './common';

export function rotary(ctx: KernelContext, x: GpuView, cos: GpuView, sin: GpuView, out: GpuView): void {
  for (const [name, t] of [
    ['x', x],
    ['cos', cos],
    ['sin', sin],
    ['output', out],
  ] as const)
    expectFloat32(`Rotary ${name}`, t);
  expectDims('Rotary output', out, x.dims);
  const d = x.dims.at(-1) ?? 0;
  if (d % 2 !== 0) invalid(`Rotary: the last axis (${d}) must be even`);
  if (!sameDims(cos.dims, sin.dims)) invalid(`Rotary: cos [${cos.dims}] and sin [${sin.dims}] differ`);
  if (cos.dims.at(-1) !== d || !sameDims(broadcastDims(cos.dims, x.dims), x.dims))
    invalid(`Rotary: cos/sin [${cos.dims}] do not broadcast to x [${x.dims}] along its last axis`);
  if (x.dims.length > MAX_RANK) invalid(`Rotary: rank ${x.dims.length} exceeds ${MAX_RANK}`);
  const n = elementCount(x.dims);
  if (n === 0) return;
  ctx.record({
    label: 'Rotary',
    wgsl: rotaryWgsl,
    cacheKey: 'rotary',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, cos, sin, out],
    uniforms: new UniformWriter()
      .u32s([n, x.dims.length, d / 2, 0])
      .u32Array(x.dims, 2)
      .u32Array(broadcastStrides(cos.dims, x.dims), 2)
      .finish(),
  });
}

export interface RotaryCacheParams {
  /** x is [B, S, heads · headSize] ('bsnh') or [B, heads, S, headSize] ('bnsh'). */
  readonly layout: 'bsnh' | 'bnsh';
  readonly heads: number;
  /** Leading values of each head that rotate (even, ≤ head size); the rest are copied. */
  readonly rotaryDim: number;
  /** Pairs (2i, 2i+1) instead of (i, i + rotaryDim/2). */
  readonly interleaved: boolean;
  /** Heads from this one on are copied unrotated (a packed QKV's values); default all rotate. */
  readonly rotatedHeads?: number;
  /**
   * Multimodal rotary (com.microsoft MRotaryEmbedding): positions are [3, B, S], temporal, height and width
   * streams, split among the angles by `section` (summing to rotaryDim / 2), in turn or interleaved.
   */
  readonly mrope?: { readonly section: readonly [number, number, number]; readonly interleaved: boolean };
  /** The caches hold a row per token (B · S rows, row b · S + s); positions are not read. */
  readonly tokenRows?: boolean;
}

/**
 * out = x rotated by the angles of each token's position: cos/sin [maxPosition, rotaryDim / 2], positions
 * (i32 family) [B, S], or [1] holding the first token's position (the rest follow it).
 */
export function rotaryCache(
  ctx: KernelContext,
  x: GpuView,
  cos: GpuView,
  sin: GpuView,
  positions: GpuView,
  out: GpuView,
  p: RotaryCacheParams,
): void {
  for (const [name, t] of [
    ['x', x],
    ['cos cache', cos],
    ['sin cache', sin],
    ['output', out],
  ] as const)
    expectFloat32(`RotaryEmbedding ${name}`, t);
  if (!p.tokenRows && isFloat(positions.dtype))
    invalid(`RotaryEmbedding: position ids must be integers, got ${positions.dtype}`);
  expectDims('RotaryEmbedding output', out, x.dims);
  const rank = p.layout === 'bsnh' ? 3 : 4;
  if (x.dims.length !== rank) invalid(`RotaryEmbedding: x [${x.dims}] is not ${p.layout}`);
  const [b, second, third] = x.dims;
  const seq = p.layout === 'bsnh' ? second : third;
  const headSize = p.layout === 'bsnh' ? third / p.heads : x.dims[3];
  if (p.layout === 'bnsh' && second !== p.heads)
    invalid(`RotaryEmbedding: x [${x.dims}] has ${second} heads, not ${p.heads}`);
  if (!Number.isInteger(headSize))
    invalid(`RotaryEmbedding: ${third} values do not split into ${p.heads} heads`);
  if (p.rotaryDim % 2 !== 0 || p.rotaryDim < 2 || p.rotaryDim > headSize)
    invalid(`RotaryEmbedding: rotary dim ${p.rotaryDim} must be even and within the head size ${headSize}`);
  if (!sameDims(cos.dims, sin.dims) || cos.dims.length !== 2 || cos.dims[1] !== p.rotaryDim / 2)
    invalid(
      `RotaryEmbedding: caches [${cos.dims}] / [${sin.dims}] must both be [positions, ${p.rotaryDim / 2}]`,
    );
  const perToken = elementCount(positions.dims) !== 1;
  if (p.tokenRows) {
    if (cos.dims[0] !== b * seq)
      invalid(`RotaryEmbedding: caches of ${cos.dims[0]} rows for ${b} × ${seq} tokens`);
  } else if (p.mrope) {
    if (!sameDims(positions.dims, [3, b, seq]))
      invalid(`MRotaryEmbedding: position ids [${positions.dims}] must be [3, ${b}, ${seq}]`);
    if (p.mrope.section.reduce((x, y) => x + y, 0) !== p.rotaryDim / 2)
      invalid(`MRotaryEmbedding: mrope_section [${p.mrope.section}] does not sum to ${p.rotaryDim / 2}`);
  } else if (perToken && !sameDims(positions.dims, [b, seq]))
    invalid(`RotaryEmbedding: position ids [${positions.dims}] must be [${b}, ${seq}] or one offset`);
  const n = elementCount(x.dims);
  if (n === 0) return;
  if (cos.dims[0] === 0) invalid('RotaryEmbedding: empty caches');
  ctx.record({
    label: 'RotaryEmbedding',
    wgsl: rotaryCacheWgsl,
    cacheKey: 'rotary-cache',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, cos, sin, positions, out],
    uniforms: new UniformWriter()
      .u32s([n, p.heads, seq, headSize, p.rotaryDim, p.rotatedHeads ?? p.heads])
      .u32s([p.layout === 'bsnh' ? 0 : 1, p.interleaved ? 1 : 0, positionFormat(p, perToken), cos.dims[0]])
      .u32s([...(p.mrope?.section ?? [0, 0, 0]), p.mrope?.interleaved ? 1 : 0, b, 0])
      .finish(),
  });
}

/** How the kernel finds a token's cache row (shaders/rotary-cache.wgsl's pos_format). */
function positionFormat(p: RotaryCacheParams, perToken: boolean): number {
  if (p.tokenRows) return 3;
  if (p.mrope) return 2;
  return perToken ? 1 : 0;
}
