// The engine's barrier-free layer norm (shaders/layer-norm-core.wgsl), chosen on software adapters and while
// ./layer-norm.ts is a stub (see ../kernel-fallback.ts). Same signature and semantics as ./layer-norm.ts.
import wgsl from '../../../../shaders/layer-norm-core.wgsl?raw';
import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { LayerNormParams } from './types';

export function layerNormCore(
  ctx: KernelContext,
  x: GpuView,
  gamma: GpuView,
  beta: GpuView | null,
  residual: GpuView | null,
  out: GpuView,
  sumOut: GpuView | null,
  params: LayerNormParams = {},
): void {
  const cols = x.dims[x.dims.length - 1];
  const n = x.dims.reduce((a, b) => a * b, 1);
  if (gamma.dims.reduce((a, b) => a * b, 1) !== cols)
    throw new WebvlError('INVALID_INPUT', `layerNorm: gamma must have ${cols} elements`);
  const rows = n / cols;
  const bindings: GpuView[] = [x, gamma, out];
  const decls: string[] = [];
  const slot = (decl: (i: number) => string, view: GpuView) => {
    decls.push(decl(bindings.length));
    bindings.push(view);
  };
  if (beta) slot((i) => `@group(0) @binding(${i}) var<storage, read> beta: array<f32>;`, beta);
  if (residual) slot((i) => `@group(0) @binding(${i}) var<storage, read> residual: array<f32>;`, residual);
  if (sumOut) slot((i) => `@group(0) @binding(${i}) var<storage, read_write> sum_out: array<f32>;`, sumOut);
  decls.push(`@group(0) @binding(${bindings.length}) var<uniform> u: Params;`);
  const source = wgsl
    .replaceAll('{{DECLS}}', decls.join('\n'))
    .replaceAll('{{LOAD}}', residual ? 'return x[i] + residual[i];' : 'return x[i];')
    .replaceAll('{{STORE_SUM}}', sumOut ? 'sum_out[base + c] = y;' : '')
    .replaceAll('{{BETA}}', beta ? ' + beta[c]' : '');
  const uniforms = new ArrayBuffer(16);
  new Uint32Array(uniforms).set([rows, cols]);
  new Float32Array(uniforms)[2] = params.epsilon ?? 1e-5;
  const groups = Math.ceil(rows / 64);
  const gx = Math.min(Math.max(groups, 1), 65535);
  ctx.record({
    label: 'layer-norm-core',
    wgsl: source,
    cacheKey: `layer-norm-core:${beta !== null}:${residual !== null}:${sumOut !== null}`,
    workgroups: [gx, Math.ceil(groups / gx) || 1],
    bindings,
    uniforms,
  });
}
