// CPU twin of ops/rotary.ts (tests only): x·cos + rotate_half(x)·sin over the last axis, cos/sin broadcast.
import { broadcastIndex, type CpuTensor, coordsOf, cpuTensor } from './tensor';

export function rotaryCpu(x: CpuTensor, cos: CpuTensor, sin: CpuTensor): CpuTensor {
  const d = x.dims[x.dims.length - 1];
  const h = d / 2;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = coordsOf(i, x.dims);
    const j = c[c.length - 1];
    const rotated = j < h ? -x.data[i + h] : x.data[i - h];
    const ic = broadcastIndex(c, cos.dims);
    out[i] = x.data[i] * cos.data[ic] + rotated * sin.data[ic];
  }
  return cpuTensor(x.dims, out);
}
