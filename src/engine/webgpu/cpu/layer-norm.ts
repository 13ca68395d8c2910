// CPU twin of LayerNorm with residual (tests only): float64 two-pass statistics.
import { type CpuTensor, cpuTensor } from './tensor';

export function layerNormCpu(
  x: CpuTensor,
  gamma: CpuTensor,
  beta?: CpuTensor,
  residual?: CpuTensor,
  epsilon = 1e-5,
): { out: CpuTensor; sum: CpuTensor; mean: CpuTensor; invStdDev: CpuTensor } {
  const cols = x.dims[x.dims.length - 1];
  const rows = x.data.length / cols;
  const out = cpuTensor(x.dims);
  const sum = cpuTensor(
    x.dims,
    Array.from(x.data, (v, i) => v + (residual ? residual.data[i] : 0)),
  );
  const statsDims = [...x.dims.slice(0, -1), 1];
  const means = cpuTensor(statsDims);
  const invStdDev = cpuTensor(statsDims);
  for (let r = 0; r < rows; r++) {
    const row = sum.data.subarray(r * cols, (r + 1) * cols);
    const mean = row.reduce((a, b) => a + b, 0) / cols;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / cols;
    means.data[r] = mean;
    invStdDev.data[r] = 1 / Math.sqrt(variance + epsilon);
    for (let c = 0; c < cols; c++) {
      out.data[r * cols + c] =
        ((row[c] - mean) / Math.sqrt(variance + epsilon)) * gamma.data[c] + (beta ? beta.data[c] : 0);
    }
  }
  return { out, sum, mean: means, invStdDev };
}
