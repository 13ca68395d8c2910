// CPU twins of ArgMax and TopK over the last axis (tests only): a full stable sort per row.
import { type CpuTensor, cpuTensor } from './tensor';

export function topkCpu(x: CpuTensor, k: number, largest = true): { values: CpuTensor; indices: CpuTensor } {
  const len = x.dims[x.dims.length - 1];
  const rows = x.data.length / len;
  const values: number[] = [];
  const indices: number[] = [];
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: len }, (_, j) => j);
    const v = (j: number) => x.data[r * len + j];
    // Ties keep the lower index first (Array.prototype.sort is stable).
    order.sort((a, b) => (largest ? v(b) - v(a) : v(a) - v(b)));
    for (let t = 0; t < k; t++) {
      values.push(v(order[t]));
      indices.push(order[t]);
    }
  }
  const dims = [...x.dims.slice(0, -1), k];
  return { values: cpuTensor(dims, values), indices: cpuTensor(dims, indices) };
}

export function argmaxCpu(x: CpuTensor): CpuTensor {
  const { indices } = topkCpu(x, 1, true);
  return cpuTensor(x.dims.slice(0, -1), indices.data);
}
