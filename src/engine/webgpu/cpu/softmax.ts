// CPU twin of softmax and log-softmax (tests only): float64, max-subtracted.
import { type CpuTensor, cpuTensor } from './tensor';

export function softmaxCpu(x: CpuTensor, axis = -1, log = false): CpuTensor {
  const rank = x.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const len = x.dims[ax];
  const inner = x.dims.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = x.dims.slice(0, ax).reduce((a, b) => a * b, 1);
  const out = cpuTensor(x.dims);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * len + j) * inner + i;
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < len; j++) m = Math.max(m, x.data[at(j)]);
      let s = 0;
      for (let j = 0; j < len; j++) s += Math.exp(x.data[at(j)] - m);
      for (let j = 0; j < len; j++)
        out.data[at(j)] = log ? x.data[at(j)] - m - Math.log(s) : Math.exp(x.data[at(j)] - m) / s;
    }
  }
  return out;
}
