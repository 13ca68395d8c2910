// CPU twin of ops/conv-transpose.ts (tests only), in scatter form (the kernel gathers): every input element adds
// x · w to output position q·stride − pad_begin + j·dilation for each tap j, over any number of spatial axes.
import type { ConvTransposeParams } from '../ir/conv-transpose-params';
import { type CpuTensor, coordsOf, cpuTensor, stridesOf } from './tensor';

export function convTransposeCpu(
  x: CpuTensor,
  w: CpuTensor,
  bias: CpuTensor | null,
  p: ConvTransposeParams,
): CpuTensor {
  const [batch, inChannels] = x.dims;
  const outDims = [batch, p.outChannels, ...p.outSpatial];
  const y = cpuTensor(outDims);
  const outStrides = stridesOf(outDims);
  const inGroup = inChannels / p.group;
  const outGroup = p.outChannels / p.group;
  const taps = p.kernel.reduce((a, b) => a * b, 1);
  for (let i = 0; i < y.data.length; i++) y.data[i] = bias ? bias.data[coordsOf(i, outDims)[1]] : 0;
  for (let i = 0; i < x.data.length; i++) {
    const [n, ic, ...q] = coordsOf(i, x.dims);
    const g = Math.floor(ic / inGroup);
    for (let c = 0; c < outGroup; c++)
      for (let t = 0; t < taps; t++) {
        const j = coordsOf(t, p.kernel);
        const o = q.map((qi, d) => qi * p.strides[d] - p.padsBegin[d] + j[d] * p.dilations[d]);
        if (o.some((od, d) => od < 0 || od >= p.outSpatial[d])) continue;
        const at = [n, g * outGroup + c, ...o].reduce((a, v, d) => a + v * outStrides[d], 0);
        y.data[at] += x.data[i] * w.data[(ic * outGroup + c) * taps + t];
      }
  }
  return y;
}
