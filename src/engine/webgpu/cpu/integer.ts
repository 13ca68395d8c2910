// CPU twins of ops/integer.ts (tests only). The matmul walks output coordinates with NumPy broadcasting; the conv
// pads its input with x's zero point first, then slides the window with no bounds checks (the kernel skips the
// taps outside instead). Zero points and scales are given per tensor (one value), per row / column, or per row
// of every batch of A (per column of every batch of B): the value index is the flat row or column across batches.
import type { ConvParams } from '../ir/conv-params';
import { broadcastIndex, broadcastShape, type CpuTensor, coordsOf, cpuTensor, stridesOf } from './tensor';

export interface CpuRequantize {
  readonly aScale: readonly number[];
  readonly bScale: readonly number[];
  readonly yScale: number;
  readonly yZero: number;
  readonly bias: readonly number[];
  /** The output type's range. */
  readonly lo: number;
  readonly hi: number;
}

export interface CpuIntegerOperands {
  readonly aZero: readonly number[];
  readonly bZero: readonly number[];
  readonly requant?: CpuRequantize;
}

const pick = (values: readonly number[], i: number): number => (values.length === 1 ? values[0] : values[i]);

/** A matmul operand's value for a row (column): one for all, one per row, or one per row of every batch. */
const along = (values: readonly number[], local: number, count: number, flat: number): number =>
  values.length === count ? values[local] : pick(values, flat);

/** Round half to even, saturate: what a requantized sum becomes (f32 arithmetic, as the kernel does it). */
function requantize(acc: number, aScale: number, bScale: number, bias: number, r: CpuRequantize): number {
  const multiplier = Math.fround(Math.fround(aScale * bScale) / r.yScale);
  const v = Math.fround(Math.fround(acc + bias) * multiplier);
  const floor = Math.floor(v);
  const even = v - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(v);
  return Math.min(r.hi, Math.max(r.lo, even + r.yZero));
}

/** A [..., M, K] × B [..., K, N] (both at least 2-D). */
export function matmulIntegerCpu(a: CpuTensor, b: CpuTensor, q: CpuIntegerOperands): CpuTensor {
  const [m, k] = a.dims.slice(-2);
  const n = b.dims[b.dims.length - 1];
  const aBatch = a.dims.slice(0, -2);
  const bBatch = b.dims.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  const y = cpuTensor([...batch, m, n]);
  for (let i = 0; i < y.data.length; i++) {
    const c = coordsOf(i, y.dims);
    const [row, col] = c.slice(-2);
    const at = c.slice(0, -2);
    const aRow = broadcastIndex(at, aBatch) * m + row;
    const bCol = broadcastIndex(at, bBatch) * n + col;
    const za = along(q.aZero, row, m, aRow);
    const zb = along(q.bZero, col, n, bCol);
    let acc = 0;
    for (let t = 0; t < k; t++)
      acc += (a.data[aRow * k + t] - za) * (b.data[(bCol - col) * k + t * n + col] - zb);
    const r = q.requant;
    y.data[i] = r ? requantize(acc, along(r.aScale, row, m, aRow), along(r.bScale, col, n, bCol), 0, r) : acc;
  }
  return y;
}

/** x [N, C, …] × w [Cout, C/group, …]: one x zero point, w's per output channel or one. */
export function convIntegerCpu(x: CpuTensor, w: CpuTensor, p: ConvParams, q: CpuIntegerOperands): CpuTensor {
  const [batch, channels, ...spatial] = x.dims;
  const padded = spatial.map((s, d) => s + p.padsBegin[d] + p.padsEnd[d]);
  const xp = cpuTensor([batch, channels, ...padded]);
  xp.data.fill(q.aZero[0]);
  const xpStrides = stridesOf(xp.dims);
  for (let i = 0; i < x.data.length; i++) {
    const [nb, c, ...s] = coordsOf(i, x.dims);
    const at = [nb, c, ...s.map((v, d) => v + p.padsBegin[d])];
    xp.data[at.reduce((acc, v, d) => acc + v * xpStrides[d], 0)] = x.data[i];
  }
  const y = cpuTensor([batch, p.outChannels, ...p.outSpatial]);
  const inGroup = channels / p.group;
  const outGroup = p.outChannels / p.group;
  const taps = p.kernel.reduce((acc, v) => acc * v, 1);
  for (let i = 0; i < y.data.length; i++) {
    const [nb, oc, ...o] = coordsOf(i, y.dims);
    const zb = pick(q.bZero, oc);
    let acc = 0;
    for (let c = 0; c < inGroup; c++)
      for (let t = 0; t < taps; t++) {
        const j = coordsOf(t, p.kernel);
        const at = [
          nb,
          Math.floor(oc / outGroup) * inGroup + c,
          ...o.map((v, d) => v * p.strides[d] + j[d] * p.dilations[d]),
        ];
        const xv = xp.data[at.reduce((s, v, d) => s + v * xpStrides[d], 0)];
        acc += (xv - q.aZero[0]) * (w.data[(oc * inGroup + c) * taps + t] - zb);
      }
    const r = q.requant;
    y.data[i] = r ? requantize(acc, r.aScale[0], pick(r.bScale, oc), pick(r.bias, oc), r) : acc;
  }
  return y;
}
