// Per-row ArgMax and TopK over the last axis (shaders/argmax-topk.wgsl).
import argmaxTopkWgsl from '../../../../shaders/argmax-topk.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { elementCount, expectDims, grid1d, invalid, specialize, UniformWriter, wgslScalar } from './common';
import type { TopKParams } from './types';

/** Rows per workgroup of the row-per-thread variant (its workgroup size). */
const ROWS_PER_GROUP = 64;

function recordTopK(
  ctx: KernelContext,
  label: string,
  x: GpuView,
  values: GpuView,
  indices: GpuView,
  k: number,
  largest: boolean,
  lastIndex = false,
): void {
  const len = x.dims[x.dims.length - 1];
  const rows = elementCount(x.dims) / Math.max(len, 1);
  if (rows === 0 || k === 0) return;
  // Software adapters: one thread per row, no barriers (main_rows in the shader).
  const rowPerThread = ctx.features.softwareAdapter === true;
  const scalar = wgslScalar(x.dtype);
  ctx.record({
    label,
    wgsl: specialize(argmaxTopkWgsl, {
      BETTER: largest ? 'v > w' : 'v < w',
      TIE: lastIndex ? 'i > j' : 'i < j',
      T: scalar,
    }),
    entryPoint: rowPerThread ? 'main_rows' : 'main',
    cacheKey: `topk|${scalar}|${largest}|${lastIndex}|${rowPerThread}`,
    workgroups: grid1d(rowPerThread ? Math.ceil(rows / ROWS_PER_GROUP) : rows),
    bindings: [x, values, indices],
    uniforms: new UniformWriter().u32s([rows, len, k]).finish(),
  });
}

/** float32, or any integer dtype (held as i32); not float16 or bool. */
function checkRows(op: string, x: GpuView): void {
  if (x.dtype === 'float16' || x.dtype === 'bool') invalid(`${op}: ${x.dtype} input is not supported`);
  if (x.dims.length === 0) invalid(`${op}: input must have at least one axis`);
  if (x.dims[x.dims.length - 1] === 0) invalid(`${op}: empty last axis`);
}

/**
 * The index of each row's largest (or with `largest: false` smallest) element over the last axis; ties go to
 * the first index, or with `lastIndex` the last one.
 */
export function argmax(
  ctx: KernelContext,
  x: GpuView,
  out: GpuView,
  options: { largest?: boolean; lastIndex?: boolean } = {},
): void {
  checkRows('ArgMax', x);
  if (out.dtype === 'float32' || out.dtype === 'float16')
    invalid(`ArgMax writes integers, output is ${out.dtype}`);
  expectDims('ArgMax output', out, x.dims.slice(0, -1));
  // The kernel always writes values too; ArgMax parks them in scratch.
  const values = ctx.scratch(x.dtype === 'float32' ? 'float32' : 'int32', x.dims.slice(0, -1));
  const largest = options.largest ?? true;
  recordTopK(ctx, largest ? 'ArgMax' : 'ArgMin', x, values, out, 1, largest, options.lastIndex);
}

export function topk(
  ctx: KernelContext,
  x: GpuView,
  values: GpuView,
  indices: GpuView,
  params: TopKParams,
): void {
  checkRows('TopK', x);
  const len = x.dims[x.dims.length - 1];
  if (!Number.isInteger(params.k) || params.k < 0 || params.k > len) {
    invalid(`TopK: k=${params.k} must be an integer in [0, ${len}]`);
  }
  const outDims = [...x.dims.slice(0, -1), params.k];
  if ((values.dtype === 'float32') !== (x.dtype === 'float32'))
    invalid(`TopK values (${values.dtype}) must have the input's dtype (${x.dtype})`);
  expectDims('TopK values', values, outDims);
  expectDims('TopK indices', indices, outDims);
  if (indices.dtype === 'float32' || indices.dtype === 'float16')
    invalid('TopK indices must be an integer view');
  recordTopK(ctx, 'TopK', x, values, indices, params.k, params.largest ?? true);
}
