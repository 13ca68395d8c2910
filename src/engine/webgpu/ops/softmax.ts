// Softmax and LogSoftmax along any axis (shaders/softmax.wgsl).
import softmaxWgsl from '../../../../shaders/softmax.wgsl?raw';
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

/** Each element's output from the row's max and its sum of exp(v − max). */
const FINISH = {
  softmax: 'exp(v - row_max) * (1.0 / total)',
  log: 'v - row_max - log(total)',
} as const;

/** Rows per workgroup of the row-per-thread variant (its workgroup size). */
const ROWS_PER_GROUP = 64;

export function softmax(ctx: KernelContext, x: GpuView, out: GpuView, axis = -1, log = false): void {
  expectFloat32('Softmax input', x);
  expectFloat32('Softmax output', out);
  expectDims('Softmax output', out, x.dims);
  const rank = x.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) invalid(`Softmax: axis ${axis} out of range for rank ${rank}`);
  const axisLen = x.dims[ax];
  const inner = elementCount(x.dims.slice(ax + 1));
  const rows = elementCount(x.dims) / Math.max(axisLen, 1);
  if (rows === 0 || axisLen === 0) return;
  // Software adapters: one thread per row, no barriers (see main_rows in the shader).
  const rowPerThread = ctx.features.softwareAdapter === true;
  ctx.record({
    label: log ? 'LogSoftmax' : 'Softmax',
    wgsl: specialize(softmaxWgsl, { FINISH: FINISH[log ? 'log' : 'softmax'] }),
    entryPoint: rowPerThread ? 'main_rows' : 'main',
    cacheKey: `softmax|${rowPerThread ? 'rows' : 'groups'}|${log ? 'log' : ''}`,
    workgroups: grid1d(rowPerThread ? Math.ceil(rows / ROWS_PER_GROUP) : rows),
    bindings: [x, out],
    uniforms: new UniformWriter().u32s([rows, axisLen, inner]).finish(),
  });
}
