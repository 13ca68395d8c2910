// CPU twin of the reductions (tests only): float64, by grouping every element under its output coordinate.
import type { ReduceOp } from '../ops/types';
import { type CpuTensor, coordsOf, cpuTensor } from './tensor';

export function reduceCpu(x: CpuTensor, op: ReduceOp, axes?: readonly number[], keepdims = true): CpuTensor {
  const rank = x.dims.length;
  const ax = !axes || axes.length === 0 ? x.dims.map((_, i) => i) : axes.map((a) => (a < 0 ? a + rank : a));
  const outDims = x.dims.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  for (let i = 0; i < x.data.length; i++) {
    const c = coordsOf(i, x.dims);
    let o = 0;
    for (let d = 0; d < rank; d++) o = o * outDims[d] + (ax.includes(d) ? 0 : c[d]);
    const g = groups.get(o) ?? [];
    g.push(x.data[i]);
    groups.set(o, g);
  }
  const n = outDims.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    const v = groups.get(o) ?? [];
    const sum = (f: (t: number) => number) => v.reduce((s, t) => s + f(t), 0);
    switch (op) {
      case 'Sum':
        out[o] = sum((t) => t);
        break;
      case 'Mean':
        out[o] = sum((t) => t) / v.length;
        break;
      case 'Max':
        out[o] = Math.max(...v);
        break;
      case 'Min':
        out[o] = Math.min(...v);
        break;
      case 'Prod':
        out[o] = v.reduce((p, t) => p * t, 1);
        break;
      case 'L1':
        out[o] = sum(Math.abs);
        break;
      case 'L2':
        out[o] = Math.sqrt(sum((t) => t * t));
        break;
      case 'SumSquare':
        out[o] = sum((t) => t * t);
        break;
      case 'LogSum':
        out[o] = Math.log(sum((t) => t));
        break;
      case 'LogSumExp':
        out[o] = Math.log(sum(Math.exp));
        break;
    }
  }
  const finalDims = keepdims ? outDims : x.dims.filter((_, i) => !ax.includes(i));
  return cpuTensor(finalDims, out);
}
