// Fused attention (shaders/attention.wgsl): one dispatch per call, any strided q/k/v/out layout; keys and
// values from one source, or from a KV cache followed by a tail of new ones (attention-keys-tail.wgsl).
import attentionWgsl from '../../../../shaders/attention.wgsl?raw';
import attentionDecodeWgsl from '../../../../shaders/attention-decode.wgsl?raw';
import attentionF16Wgsl from '../../../../shaders/attention-f16.wgsl?raw';
import attentionIoWgsl from '../../../../shaders/attention-io.wgsl?raw';
import attentionKeysWgsl from '../../../../shaders/attention-keys.wgsl?raw';
import attentionKeysTailWgsl from '../../../../shaders/attention-keys-tail.wgsl?raw';
import attentionWideWgsl from '../../../../shaders/attention-wide.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  broadcastStrides,
  contiguousStrides,
  elementCount,
  expectFloat32,
  invalid,
  specialize,
  UniformWriter,
} from './common';
import type { AttentionParams, AttentionVariant, Strided4 } from './types';

/** Query rows (= threads) per workgroup. */
const BR = 32;
/** Threads per query row of the wide kernel (attention-wide.wgsl): 256 threads a workgroup of BR rows. */
const WIDE_LANES = 8;
/**
 * On a hardware adapter, the tiled kernel's grid below this many workgroups (of one 32-thread wave each) leaves
 * most of a discrete GPU idle, so the wide kernel runs instead: one image's ViT-B attention is 84 workgroups.
 * Not yet measured on a GPU: the device bench's kernel rows time both.
 */
const WIDE_BELOW_WORKGROUPS = 512;
const MAX_HEAD_SIZE = 128;
/**
 * Up to this many query rows, use attention-decode.wgsl (a workgroup per query row, keys split across its
 * threads): the tiled kernel would run one busy thread per workgroup, walking all keys alone.
 */
export const DECODE_MAX_QUERIES = 4;

function layoutOf(name: string, view: GpuView, given: Strided4 | undefined): Required<Strided4> {
  if (given) return { shape: given.shape, strides: given.strides, start: given.start ?? 0 };
  if (view.dims.length !== 4)
    invalid(`Attention: ${name} must be 4-D [B, H, S, D] or come with a strided layout`);
  const s = contiguousStrides(view.dims);
  return {
    shape: [view.dims[0], view.dims[1], view.dims[2], view.dims[3]],
    strides: [s[0], s[1], s[2], s[3]],
    start: 0,
  };
}

/** Throws unless every element the layout addresses lies inside the view. */
function checkInside(
  name: string,
  view: GpuView,
  shape: readonly number[],
  strides: readonly number[],
  start: number,
) {
  if (strides.some((s) => s < 0 || !Number.isInteger(s)))
    invalid(`Attention: ${name} strides must be non-negative integers`);
  let last = start;
  shape.forEach((d, i) => {
    last += (d - 1) * strides[i];
  });
  if (start < 0 || last >= elementCount(view.dims)) {
    invalid(`Attention: ${name} layout reaches element ${last}, view has ${elementCount(view.dims)}`, {
      shape,
      strides,
      start,
    });
  }
}

export function attention(
  ctx: KernelContext,
  q: GpuView,
  k: GpuView,
  v: GpuView,
  mask: GpuView | null,
  out: GpuView,
  params: AttentionParams = {},
): void {
  for (const [name, view] of [
    ['q', q],
    ['k', k],
    ['v', v],
    ['output', out],
  ] as const)
    expectFloat32(`Attention ${name}`, view);
  const ql = layoutOf('q', q, params.q);
  const kl = layoutOf('k', k, params.k);
  const vl = layoutOf('v', v, params.v);
  const [B, H, Sq, D] = ql.shape;
  const tail = params.tail && {
    k: layoutOf('tail k', params.tail.k, params.tail.kLayout),
    v: layoutOf('tail v', params.tail.v, params.tail.vLayout),
  };
  // Keys from k/v, then the tail's.
  const split = kl.shape[2];
  const Sk = split + (tail ? tail.k.shape[2] : 0);
  // Grouped-query attention: k/v have H / group heads, each shared by `group` query heads.
  const group = H / kl.shape[1];
  if (kl.shape[0] !== B || !Number.isInteger(group) || kl.shape[3] !== D) {
    invalid(`Attention: k shape [${kl.shape}] does not match q [${ql.shape}]`);
  }
  if (vl.shape[0] !== B || vl.shape[1] !== kl.shape[1] || vl.shape[2] !== split || vl.shape[3] !== D) {
    invalid(`Attention: v shape [${vl.shape}] does not match k [${kl.shape}]`);
  }
  if (D < 1 || D > MAX_HEAD_SIZE) invalid(`Attention: head size ${D} outside 1…${MAX_HEAD_SIZE}`);
  if (params.tail && tail) {
    expectFloat32('Attention tail k', params.tail.k);
    expectFloat32('Attention tail v', params.tail.v);
    const heads = kl.shape[1];
    for (const [name, l] of [
      ['tail k', tail.k],
      ['tail v', tail.v],
    ] as const)
      if (l.shape[0] !== B || l.shape[1] !== heads || l.shape[2] !== tail.k.shape[2] || l.shape[3] !== D)
        invalid(`Attention: ${name} shape [${l.shape}] does not match k [${kl.shape}]`);
    checkInside('tail k', params.tail.k, tail.k.shape, tail.k.strides, tail.k.start);
    checkInside('tail v', params.tail.v, tail.v.shape, tail.v.strides, tail.v.start);
  }
  checkInside('q', q, ql.shape, ql.strides, ql.start);
  if (split > 0) {
    checkInside('k', k, kl.shape, kl.strides, kl.start);
    checkInside('v', v, vl.shape, vl.strides, vl.start);
  }
  const oStrides = params.out?.strides ?? [Sq * H * D, D, H * D, 1];
  const oStart = params.out?.start ?? 0;
  checkInside('output', out, ql.shape, oStrides, oStart);

  let mStrides = [0, 0, 0, 0];
  if (mask) {
    expectFloat32('Attention mask', mask);
    if (mask.dims.length > 4) invalid(`Attention: mask rank ${mask.dims.length} exceeds 4`);
    mStrides = broadcastStrides(mask.dims, [B, H, Sq, Sk]);
  }
  const past = params.pastLength ?? Sk - Sq;
  if (params.causal && (past < 0 || past + Sq > Sk)) {
    invalid(`Attention: causal with pastLength ${past} needs past + Sq (${past + Sq}) ≤ Sk (${Sk})`);
  }
  const softcap = params.softcap ?? 0;
  if (!Number.isFinite(softcap) || softcap < 0) invalid(`Attention: softcap ${softcap} must be ≥ 0`);
  const window = params.window ?? 0;
  if (!Number.isSafeInteger(window) || window < 0 || window >= 2 ** 32)
    invalid(`Attention: window ${window} must be a non-negative integer`);
  if (window > 0 && !params.causal) invalid('Attention: a sliding window needs causal attention');
  if (params.sinks) {
    expectFloat32('Attention sinks', params.sinks);
    if (elementCount(params.sinks.dims) !== H)
      invalid(`Attention: ${elementCount(params.sinks.dims)} sinks for ${H} heads`);
  }
  if (B === 0 || H === 0 || Sq === 0) return;
  if (Sk === 0) invalid('Attention: no keys');
  if (
    Sq > ctx.features.maxComputeWorkgroupsPerDimension ||
    H > ctx.features.maxComputeWorkgroupsPerDimension
  ) {
    invalid(`Attention: ${Sq} queries × ${H} heads exceed the workgroup grid`);
  }
  const tiledGrid: [number, number, number] = [Math.ceil(Sq / BR), H, B];
  const variant = params.variant ?? chooseVariant(ctx, Sq, D, tiledGrid[0] * H * B);
  if (variant === 'tiled-f16' && (!ctx.features.shaderF16 || D % 4 !== 0))
    invalid('Attention: the f16 kernel needs shader-f16 and a head size that is a multiple of 4');
  if (variant === 'wide' && ctx.features.maxInvocationsPerWorkgroup < BR * WIDE_LANES)
    invalid(`Attention: the wide kernel needs ${BR * WIDE_LANES} invocations per workgroup`);
  const program = attentionProgram(variant, D, tiledGrid, [Sq, H, B]);
  const bindings = [q, k, v, mask ?? q, out];
  if (params.tail) bindings.push(params.tail.k, params.tail.v);
  const sinkBinding = bindings.length;
  bindings.push(params.sinks ?? q);
  ctx.record({
    label: 'Attention',
    wgsl:
      (variant === 'tiled-f16' ? 'enable f16;\n' : '') +
      specialize(attentionIoWgsl, { SINK: sinkBinding, UNIFORM: bindings.length }) +
      (tail ? attentionKeysTailWgsl : attentionKeysWgsl) +
      program.wgsl,
    cacheKey: `${program.cacheKey}${tail ? '|tail' : ''}`,
    workgroups: program.workgroups,
    bindings,
    uniforms: new UniformWriter()
      .u32s([B, H, Sq, Sk, Math.max(past, 0), params.causal ? 1 : 0, mask ? 1 : 0])
      .f32s([params.scale ?? 1 / Math.sqrt(D)])
      .u32s([ql.start, kl.start, vl.start, oStart])
      .u32s([...ql.strides, ...kl.strides, ...vl.strides, ...oStrides, ...mStrides])
      .u32s([0, group, split])
      .f32s([params.softcap ?? 0])
      .u32s([tail?.k.start ?? 0, tail?.v.start ?? 0, window, params.sinks ? 1 : 0])
      .u32s(tail ? [...tail.k.strides, ...tail.v.strides] : new Array(8).fill(0))
      .finish(),
  });
}

/**
 * One query row or a few: the decode kernel; else the tiled one, in f16 when the session asked for it, or the
 * wide one when the tiled grid is too small for a hardware adapter.
 */
function chooseVariant(
  ctx: KernelContext,
  queries: number,
  headSize: number,
  tiledWorkgroups: number,
): AttentionVariant {
  if (queries <= DECODE_MAX_QUERIES) return 'decode';
  if (ctx.features.shaderF16 && ctx.features.f16Compute === true && headSize % 4 === 0) return 'tiled-f16';
  const hardware = ctx.features.softwareAdapter !== true;
  const fits = ctx.features.maxInvocationsPerWorkgroup >= BR * WIDE_LANES;
  return hardware && fits && tiledWorkgroups < WIDE_BELOW_WORKGROUPS ? 'wide' : 'tiled';
}

function attentionProgram(
  variant: AttentionVariant,
  D: number,
  tiledGrid: [number, number, number],
  decodeGrid: [number, number, number],
): { wgsl: string; cacheKey: string; workgroups: [number, number, number] } {
  // Keys per tile: the tiles must fit the 16 KiB most adapters leave comfortably (f16 tiles hold twice as many
  // keys; the wide kernel also keeps a tile of scores).
  const BC = (D <= 64 ? 32 : 16) * (variant === 'tiled-f16' ? 2 : 1);
  switch (variant) {
    case 'wide': {
      const wideBC = D <= 64 ? 16 : 8;
      return {
        wgsl: specialize(attentionWideWgsl, { D, BR, L: WIDE_LANES, BC: wideBC }),
        cacheKey: `attention-wide|${D}|${BR}|${WIDE_LANES}|${wideBC}`,
        workgroups: tiledGrid,
      };
    }
    case 'decode':
      return {
        wgsl: specialize(attentionDecodeWgsl, { D }),
        cacheKey: `attention-decode|${D}`,
        workgroups: decodeGrid,
      };
    case 'tiled':
      return {
        wgsl: specialize(attentionWgsl, { D, BR, BC }),
        cacheKey: `attention|${D}|${BR}|${BC}`,
        workgroups: tiledGrid,
      };
    case 'tiled-f16':
      return {
        wgsl: specialize(attentionF16Wgsl, { D, BR, BC }),
        cacheKey: `attention-f16|${D}|${BR}|${BC}`,
        workgroups: tiledGrid,
      };
  }
}
