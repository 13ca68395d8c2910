// CPU twin of matmul/linear (tests only): float64 dot products, NumPy batch broadcasting, ONNX rank-1 rules.
import type { Activation } from '../ops/types';
import { unaryScalar } from './elementwise';
import { broadcastIndex, broadcastShape, type CpuTensor, coordsOf, cpuTensor } from './tensor';

const ACT: Record<Activation, (v: number) => number> = {
  none: (v) => v,
  relu: (v) => Math.max(v, 0),
  'gelu-erf': (v) => unaryScalar('Gelu', v),
  'gelu-tanh': (v) => unaryScalar('GeluTanh', v),
  'quick-gelu': (v) => unaryScalar('QuickGelu', v),
  silu: (v) => v * unaryScalar('Sigmoid', v),
};

export function matmulCpu(
  a: CpuTensor,
  b: CpuTensor,
  options: {
    bias?: CpuTensor;
    /** Multiplied into the output after the activation (same dims as the output). */
    gate?: CpuTensor;
    transposeB?: boolean;
    activation?: Activation;
    alpha?: number;
  } = {},
): CpuTensor {
  const tb = options.transposeB ?? false;
  const aD = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bD = b.dims.length === 1 ? (tb ? [1, b.dims[0]] : [b.dims[0], 1]) : b.dims;
  const m = aD[aD.length - 2];
  const k = aD[aD.length - 1];
  const n = tb ? bD[bD.length - 2] : bD[bD.length - 1];
  const aBatch = aD.slice(0, -2);
  const bBatch = bD.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  const nBatch = batch.reduce((x, y) => x * y, 1);
  const out = new Float64Array(nBatch * m * n);
  const act = ACT[options.activation ?? 'none'];
  for (let bi = 0; bi < nBatch; bi++) {
    const c = coordsOf(bi, batch);
    const ao = broadcastIndex(c, aBatch) * m * k;
    const bo = broadcastIndex(c, bBatch) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a.data[ao + i * k + t] * b.data[bo + (tb ? j * k + t : t * n + j)];
        s *= options.alpha ?? 1;
        if (options.bias) s += options.bias.data.length === 1 ? options.bias.data[0] : options.bias.data[j];
        const o = (bi * m + i) * n + j;
        out[o] = act(s) * (options.gate ? options.gate.data[o] : 1);
      }
    }
  }
  const dims = [...batch];
  if (a.dims.length > 1) dims.push(m);
  if (b.dims.length > 1) dims.push(n);
  return cpuTensor(dims, out);
}
