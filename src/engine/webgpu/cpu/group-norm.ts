// CPU twin of ops/group-norm.ts (tests only): float64 two-pass statistics per (batch, group).
import { type CpuTensor, cpuTensor } from './tensor';

export function groupNormCpu(
  x: CpuTensor,
  scale: CpuTensor,
  bias: CpuTensor,
  groups: number,
  epsilon: number,
  perChannel: boolean,
): CpuTensor {
  const [n, c] = x.dims;
  const spatial = x.dims.slice(2).reduce((a, b) => a * b, 1);
  const cpg = c / groups;
  const out = cpuTensor(x.dims);
  for (let b = 0; b < n; b++)
    for (let g = 0; g < groups; g++) {
      const start = (b * c + g * cpg) * spatial;
      const len = cpg * spatial;
      let mean = 0;
      for (let i = 0; i < len; i++) mean += x.data[start + i];
      mean /= len;
      let variance = 0;
      for (let i = 0; i < len; i++) variance += (x.data[start + i] - mean) ** 2;
      variance /= len;
      for (let i = 0; i < len; i++) {
        const at = perChannel ? g * cpg + Math.floor(i / spatial) : g;
        out.data[start + i] =
          ((x.data[start + i] - mean) / Math.sqrt(variance + epsilon)) * scale.data[at] + bias.data[at];
      }
    }
  return out;
}
