// LayerNorm over the last axis with fused residual add (shaders/layer-norm.wgsl).
import layerNormWgsl from '../../../../shaders/layer-norm.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
} from './common';
import type { LayerNormParams } from './types';

/** Rows per workgroup of the row-per-thread variant (its workgroup size). */
const ROWS_PER_GROUP = 64;

export function layerNorm(
  ctx: KernelContext,
  x: GpuView,
  gamma: GpuView,
  beta: GpuView | null,
  residual: GpuView | null,
  out: GpuView,
  sumOut: GpuView | null,
  params: LayerNormParams = {},
  /** Per-row mean and 1/sqrt(var + eps) (LayerNormalization's Mean / InvStdDev), dims x.dims[..-1] + [1]. */
  stats: { mean: GpuView; invStdDev: GpuView } | null = null,
): void {
  expectFloat32('LayerNorm input', x);
  expectFloat32('LayerNorm gamma', gamma);
  expectFloat32('LayerNorm output', out);
  if (x.dims.length === 0) invalid('LayerNorm: input must have at least one axis');
  const cols = x.dims[x.dims.length - 1];
  if (elementCount(gamma.dims) !== cols)
    invalid(`LayerNorm: gamma has dims [${gamma.dims}], expected [${cols}]`);
  if (beta) {
    expectFloat32('LayerNorm beta', beta);
    if (elementCount(beta.dims) !== cols)
      invalid(`LayerNorm: beta has dims [${beta.dims}], expected [${cols}]`);
  }
  if (residual) {
    expectFloat32('LayerNorm residual', residual);
    expectDims('LayerNorm residual', residual, x.dims);
  }
  expectDims('LayerNorm output', out, x.dims);
  if (sumOut) {
    if (!residual) invalid('LayerNorm: sumOut needs a residual input');
    expectFloat32('LayerNorm sum output', sumOut);
    expectDims('LayerNorm sum output', sumOut, x.dims);
  }
  const rows = cols === 0 ? 0 : elementCount(x.dims) / cols;
  if (stats) {
    for (const [name, v] of [
      ['mean', stats.mean],
      ['invStdDev', stats.invStdDev],
    ] as const) {
      expectFloat32(`LayerNorm ${name} output`, v);
      if (elementCount(v.dims) !== rows)
        invalid(`LayerNorm: ${name} has dims [${v.dims}], expected ${rows} values`);
    }
  }
  if (rows === 0) return;
  const hasSum = sumOut !== null;
  const extra = [...(sumOut ? [sumOut] : []), ...(stats ? [stats.mean, stats.invStdDev] : [])];
  const names = [...(sumOut ? ['sum_out'] : []), ...(stats ? ['mean_out', 'inv_std_out'] : [])];
  const decls = names.map(
    (n, i) => `@group(0) @binding(${5 + i}) var<storage, read_write> ${n}: array<f32>;`,
  );
  decls.push(`@group(0) @binding(${5 + names.length}) var<uniform> u: Params;`);
  // Software adapters: one thread per row, no barriers (main_rows in the shader).
  const rowPerThread = ctx.features.softwareAdapter === true;
  ctx.record({
    label: `${residual ? 'Add' : ''}${params.rms ? 'RMSNorm' : 'LayerNorm'}`,
    wgsl: specialize(layerNormWgsl, {
      DECLS: decls.join('\n'),
      SUM_STORE: hasSum ? 'sum_out[base + c] = y;' : '',
      STATS_STORE: stats ? 'mean_out[row] = mean;\n    inv_std_out[row] = inv_std;' : '',
    }),
    entryPoint: rowPerThread ? 'main_rows' : 'main',
    cacheKey: `layernorm|${hasSum}|${rowPerThread}${stats ? '|stats' : ''}`,
    workgroups: grid1d(rowPerThread ? Math.ceil(rows / ROWS_PER_GROUP) : rows),
    bindings: [x, residual ?? x, gamma, beta ?? gamma, out, ...extra],
    uniforms: new UniformWriter()
      .u32s([rows, cols])
      .f32s([params.epsilon ?? 1e-5])
      .u32s([residual ? 1 : 0, beta ? 1 : 0, params.rms ? 1 : 0])
      .finish(),
  });
}
