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

/**
 * CPU twin of rotaryCache(): onnxruntime's loop, per (b, s, head) block of x as [B, S, H, D] (after moving
 * heads for 'bnsh'): for each i < R, out[i] = x[i]·cos[c] + sign·x[j]·sin[c] with its partner j and sign; the
 * rest of the head copied.
 */
export function rotaryCacheCpu(
  x: CpuTensor,
  cos: CpuTensor,
  sin: CpuTensor,
  positions: CpuTensor,
  o: {
    layout: 'bsnh' | 'bnsh';
    heads: number;
    rotaryDim: number;
    interleaved: boolean;
    rotatedHeads?: number;
  },
): CpuTensor {
  const out = cpuTensor(x.dims, x.data);
  const [B] = x.dims;
  const S = o.layout === 'bsnh' ? x.dims[1] : x.dims[2];
  const D = o.layout === 'bsnh' ? x.dims[2] / o.heads : x.dims[3];
  const R = o.rotaryDim;
  const half = R / 2;
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < (o.rotatedHeads ?? o.heads); h++) {
        const base = o.layout === 'bsnh' ? ((b * S + s) * o.heads + h) * D : ((b * o.heads + h) * S + s) * D;
        const raw = positions.data.length === 1 ? positions.data[0] + s : positions.data[b * S + s];
        const pos = Math.min(Math.max(raw, 0), cos.dims[0] - 1);
        for (let i = 0; i < R; i++) {
          const c = o.interleaved ? Math.floor(i / 2) : i % half;
          const sign = o.interleaved ? (i % 2 === 0 ? -1 : 1) : i < half ? -1 : 1;
          const j = o.interleaved ? (i % 2 === 0 ? i + 1 : i - 1) : (i + half) % R;
          out.data[base + i] =
            x.data[base + i] * cos.data[pos * half + c] + sign * x.data[base + j] * sin.data[pos * half + c];
        }
      }
  return out;
}
