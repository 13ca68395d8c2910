// ONNX AveragePool / MaxPool and their Global forms (shaders/pool.wgsl): any kernel, strides, dilations and pads
// over 1 to 3 spatial axes, MaxPool's Indices, ceil_mode through the output size (ir/pool-params.ts).
import poolWgsl from '../../../../shaders/pool.wgsl?raw';
import { MAX_POOL_RANK, type PoolParams } from '../ir/pool-params';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
  vec4Slot,
} from './common';

export type PoolKind = 'max' | 'average';

/** `indices`: MaxPool's second output (int64 on the graph, i32 on the GPU), flat offsets into x. */
export function pool(
  ctx: KernelContext,
  kind: PoolKind,
  x: GpuView,
  out: GpuView,
  p: PoolParams,
  indices?: GpuView,
): void {
  const spatial = x.dims.slice(2);
  if (spatial.length < 1 || spatial.length > MAX_POOL_RANK)
    invalid(`Pool: ${spatial.length} spatial axes (1 to ${MAX_POOL_RANK} are supported)`);
  if (x.dtype === 'float16' || x.dtype === 'bool' || out.dtype !== x.dtype)
    invalid(`Pool: ${x.dtype} input, ${out.dtype} output`);
  if (kind === 'average' && x.dtype !== 'float32') invalid('AveragePool: the input must be float');
  if (indices && kind !== 'max') invalid('Pool: only MaxPool has indices');
  const outDims = [...x.dims.slice(0, 2), ...p.outSpatial];
  expectDims('Pool output', out, outDims);
  if (indices) expectDims('MaxPool indices', indices, outDims);
  const n = elementCount(outDims);
  if (n === 0) return;
  if (elementCount(x.dims) >= 2 ** 31) invalid('MaxPool: indices past 2^31 elements');
  const float = x.dtype === 'float32';
  const mode = kind === 'max' ? 0 : p.countIncludePad ? 2 : 1;
  const bindings = indices ? [x, out, indices] : [x, out];
  ctx.record({
    label: kind === 'max' ? 'MaxPool' : 'AveragePool',
    wgsl: specialize(poolWgsl, {
      T: float ? 'f32' : 'i32',
      LOWEST: float ? '-3.402823466e38' : '(-2147483647 - 1)',
      MODE: mode,
      INDICES: indices ? '@group(0) @binding(2) var<storage, read_write> indices: array<i32>;' : '',
      WRITE_INDEX: indices ? 'indices[i] = best_at;' : '',
      UNIFORM: bindings.length,
    }),
    cacheKey: `pool|${mode}|${float ? 'f32' : 'i32'}|${indices ? 'indices' : ''}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings,
    uniforms: new UniformWriter()
      .u32s([n, p.storageOrder])
      .u32Array(vec4Slot(spatial, 1), 1)
      .u32Array(vec4Slot(p.outSpatial, 1), 1)
      .u32Array(vec4Slot(p.kernel, 1), 1)
      .u32Array(vec4Slot(p.strides, 1), 1)
      .u32Array(vec4Slot(p.dilations, 1), 1)
      .u32Array(vec4Slot(p.padsBegin, 0), 1)
      .u32Array(
        vec4Slot(
          spatial.map((d, i) => d + p.padsEnd[i]),
          1,
        ),
        1,
      )
      .finish(),
  });
}
