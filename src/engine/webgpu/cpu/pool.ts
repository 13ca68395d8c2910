// CPU twin of ops/pool.ts (tests only): every output's window walked over any number of spatial axes, taps at
// o·stride − pad_begin + j·dilation; max keeps the first of equal values, averages divide by the taps inside the
// input, or inside the padded input with count_include_pad.
import type { PoolParams } from '../ir/pool-params';
import { type CpuTensor, coordsOf, cpuTensor, stridesOf } from './tensor';

export function poolCpu(
  kind: 'max' | 'average',
  x: CpuTensor,
  p: PoolParams,
): { y: CpuTensor; indices: CpuTensor; columnMajorIndices: CpuTensor } {
  const [n, c, ...spatial] = x.dims;
  const outDims = [n, c, ...p.outSpatial];
  const y = cpuTensor(outDims);
  const indices = cpuTensor(outDims);
  const columnMajorIndices = cpuTensor(outDims);
  const plane = spatial.reduce((a, b) => a * b, 1);
  const rowMajor = stridesOf(spatial);
  // Column-major: the first spatial axis fastest.
  const colMajor = spatial.map((_, i) => spatial.slice(0, i).reduce((a, b) => a * b, 1));
  const taps = p.kernel.reduce((a, b) => a * b, 1);
  for (let o = 0; o < y.data.length; o++) {
    const [b, ch, ...at] = coordsOf(o, outDims);
    const base = (b * c + ch) * plane;
    let best = Number.NEGATIVE_INFINITY;
    let bestTap: number[] | undefined;
    let sum = 0;
    let inside = 0;
    let padded = 0;
    for (let t = 0; t < taps; t++) {
      const j = coordsOf(t, p.kernel);
      const pos = at.map((oi, i) => oi * p.strides[i] - p.padsBegin[i] + j[i] * p.dilations[i]);
      if (pos.every((q, i) => q < spatial[i] + p.padsEnd[i])) padded++;
      if (pos.some((q, i) => q < 0 || q >= spatial[i])) continue;
      const v = x.data[base + pos.reduce((a, q, i) => a + q * rowMajor[i], 0)];
      inside++;
      sum += v;
      if (!bestTap || v > best) {
        best = v;
        bestTap = pos;
      }
    }
    if (kind === 'max') {
      y.data[o] = best;
      indices.data[o] = bestTap ? base + bestTap.reduce((a, q, i) => a + q * rowMajor[i], 0) : -1;
      columnMajorIndices.data[o] = bestTap ? base + bestTap.reduce((a, q, i) => a + q * colMajor[i], 0) : -1;
    } else y.data[o] = inside ? sum / (p.countIncludePad ? padded : inside) : 0;
  }
  return { y, indices, columnMajorIndices };
}
