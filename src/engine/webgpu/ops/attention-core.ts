// The engine's own fused attention (shaders/attention-core.wgsl), used while ./attention.ts is not yet
// implemented (see ../kernel-fallback.ts). Same signature and semantics as ./attention.ts.
import wgsl from '../../../../shaders/attention-core.wgsl?raw';
import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { AttentionParams, Strided4 } from './types';

function contiguous4(dims: readonly number[]): Strided4 {
  if (dims.length !== 4)
    throw new WebvlError('INVALID_INPUT', `attention: expected a 4-D view, got [${dims}]`);
  const [, h, s, d] = dims;
  return { shape: [dims[0], h, s, d], strides: [h * s * d, s * d, d, 1], start: 0 };
}

/** Element strides of a mask of rank ≤ 4 broadcast to [B, H, Sq, Sk] (0 on broadcast dims). */
function maskStrides(dims: readonly number[], target: readonly number[]): number[] {
  const padded = [...Array(4 - dims.length).fill(1), ...dims];
  const own = [0, 0, 0, 0];
  let acc = 1;
  for (let i = 3; i >= 0; i--) {
    own[i] = acc;
    acc *= padded[i];
  }
  return padded.map((d, i) => {
    if (d === target[i]) return own[i];
    if (d === 1) return 0;
    throw new WebvlError('INVALID_INPUT', `attention: mask [${dims}] does not broadcast to [${target}]`);
  });
}

export function attentionCore(
  ctx: KernelContext,
  q: GpuView,
  k: GpuView,
  v: GpuView,
  mask: GpuView | null,
  out: GpuView,
  params: AttentionParams = {},
): void {
  const qv = params.q ?? contiguous4(q.dims);
  const kv = params.k ?? contiguous4(k.dims);
  const vv = params.v ?? contiguous4(v.dims);
  const [b, h, sq, d] = qv.shape;
  const sk = kv.shape[2];
  const dv = vv.shape[3];
  if (d > 128 || dv > 128)
    throw new WebvlError('INVALID_INPUT', `attention: head size ${Math.max(d, dv)} > 128`);
  if (kv.shape[3] !== d || vv.shape[2] !== sk)
    throw new WebvlError('INVALID_INPUT', 'attention: q/k/v shapes disagree');
  const os = params.out?.strides ?? [sq * h * dv, dv, h * dv, 1];
  const ms = mask ? maskStrides(mask.dims, [b, h, sq, sk]) : [0, 0, 0, 0];
  const bindings: GpuView[] = [q, k, v, out];
  const decls: string[] = [];
  if (mask) {
    decls.push('@group(0) @binding(4) var<storage, read> mask: array<f32>;');
    bindings.push(mask);
  }
  decls.push(`@group(0) @binding(${bindings.length}) var<uniform> u: Params;`);
  const source = wgsl
    .replaceAll('{{DECLS}}', decls.join('\n'))
    .replaceAll('{{MASK}}', mask ? ' + mask[bb * u.ms.x + hh * u.ms.y + i * u.ms.z + j * u.ms.w]' : '');
  const uniforms = new ArrayBuffer(144);
  const u32 = new Uint32Array(uniforms);
  const past = params.pastLength ?? sk - sq;
  u32.set([b, h, sq, sk, d, dv, params.causal ? 1 : 0, Math.max(past, 0)], 0);
  u32.set(qv.strides, 8);
  u32.set(kv.strides, 12);
  u32.set(vv.strides, 16);
  u32.set(os, 20);
  u32.set(ms, 24);
  u32.set([qv.start ?? 0, kv.start ?? 0, vv.start ?? 0, params.out?.start ?? 0], 28);
  new Float32Array(uniforms)[32] = params.scale ?? 1 / Math.sqrt(d);
  const groups = Math.ceil((b * h * sq) / 64);
  const gx = Math.min(groups, 65535);
  ctx.record({
    label: 'attention-core',
    wgsl: source,
    cacheKey: `attention-core:${mask !== null}`,
    workgroups: [gx, Math.ceil(groups / gx)],
    bindings,
    uniforms,
  });
}
