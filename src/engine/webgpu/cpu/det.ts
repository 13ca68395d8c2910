// CPU twin of ops/det.ts (tests only), by cofactor expansion along the first row (the kernel eliminates), in
// float64: for the small matrices tests use.
import type { CpuTensor } from './tensor';
import { cpuTensor } from './tensor';

function cofactorDet(m: readonly (readonly number[])[]): number {
  if (m.length === 0) return 1;
  let sum = 0;
  for (let j = 0; j < m.length; j++) {
    const minor = m.slice(1).map((row) => row.filter((_, k) => k !== j));
    sum += (j % 2 === 0 ? 1 : -1) * m[0][j] * cofactorDet(minor);
  }
  return sum;
}

export function detCpu(x: CpuTensor): CpuTensor {
  const n = x.dims[x.dims.length - 1];
  const out = cpuTensor(x.dims.slice(0, -2));
  for (let b = 0; b < out.data.length; b++) {
    const rows = Array.from({ length: n }, (_, r) =>
      Array.from(x.data.subarray((b * n + r) * n, (b * n + r + 1) * n)),
    );
    out.data[b] = cofactorDet(rows);
  }
  return out;
}
