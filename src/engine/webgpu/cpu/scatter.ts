// CPU twin of ScatterElements (tests only): ONNX's reference loop, in scatter form (the kernel gathers) — each
// update in turn, in row-major order, combined into the copy of data at its coordinates with the axis one
// replaced by its index.
import { type CpuTensor, coordsOf, cpuTensor, stridesOf } from './tensor';

export type ScatterCombine = 'none' | 'add' | 'mul' | 'max' | 'min';

const COMBINE: Record<ScatterCombine, (old: number, update: number) => number> = {
  none: (_, u) => u,
  add: (o, u) => o + u,
  mul: (o, u) => o * u,
  max: Math.max,
  min: Math.min,
};

export function scatterElementsCpu(
  data: CpuTensor,
  indices: CpuTensor,
  updates: CpuTensor,
  axis: number,
  reduction: ScatterCombine = 'none',
): CpuTensor {
  const out = cpuTensor(data.dims, data.data);
  const strides = stridesOf(data.dims);
  const ax = axis < 0 ? axis + data.dims.length : axis;
  for (let e = 0; e < indices.data.length; e++) {
    const c = coordsOf(e, indices.dims);
    const idx = indices.data[e];
    c[ax] = idx < 0 ? idx + data.dims[ax] : idx;
    const at = c.reduce((a, v, d) => a + v * strides[d], 0);
    out.data[at] = COMBINE[reduction](out.data[at], updates.data[e]);
  }
  return out;
}
