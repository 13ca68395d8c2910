// LayerNorm over the last axis with fused residual add (shaders/layer-norm.wgsl).
import layerNormWgsl from '../../../../shaders/layer-norm.wgsl?raw';
import type { GpuView, KernelContext } from '../kernel-context';
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
  if (rows === 0) return;
  const hasSum = sumOut !== null;
  // Software adapters: one thread per row, no barriers (main_rows in the shader).
  const rowPerThread = ctx.features.softwareAdapter === true;
  ctx.record({
    label: residual ? 'AddLayerNorm' : 'LayerNorm',
    wgsl: specialize(layerNormWgsl, {
      SUM_DECL: hasSum
        ? '@group(0) @binding(5) var<storage, read_write> sum_out: array<f32>;\n@group(0) @binding(6) var<uniform> u: Params;'
        : '@group(0) @binding(5) var<uniform> u: Params;',
      SUM_STORE: hasSum ? 'sum_out[base + c] = y;' : '',
    }),
    entryPoint: rowPerThread ? 'main_rows' : 'main',
    cacheKey: `layernorm|${hasSum}|${rowPerThread}`,
    workgroups: grid1d(rowPerThread ? Math.ceil(rows / ROWS_PER_GROUP) : rows),
    bindings: [x, residual ?? x, gamma, beta ?? gamma, out, ...(sumOut ? [sumOut] : [])],
    uniforms: new UniformWriter()
      .u32s([rows, cols])
      .f32s([params.epsilon ?? 1e-5])
      .u32s([residual ? 1 : 0, beta ? 1 : 0])
      .finish(),
  });
}
