// CPU twins of transpose, slice, expand and concat (tests only). Written from the ONNX definitions directly,
// not from the GPU kernel's stride arithmetic, so the two are independent.
import { broadcastIndex, type CpuTensor, coordsOf, cpuTensor, stridesOf } from './tensor';

export function transposeCpu(x: CpuTensor, perm?: readonly number[]): CpuTensor {
  const p = perm ?? x.dims.map((_, i) => x.dims.length - 1 - i);
  const outDims = p.map((a) => x.dims[a]);
  const out = cpuTensor(outDims);
  const inStrides = stridesOf(x.dims);
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, outDims);
    let src = 0;
    for (let d = 0; d < c.length; d++) src += c[d] * inStrides[p[d]];
    out.data[i] = x.data[src];
  }
  return out;
}

/** ONNX Slice by enumerating the selected indices per axis. */
export function sliceCpu(
  x: CpuTensor,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
): CpuTensor {
  const rank = x.dims.length;
  const picks: number[][] = x.dims.map((d) => Array.from({ length: d }, (_, i) => i));
  (axes ?? starts.map((_, i) => i)).forEach((rawAxis, i) => {
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const d = x.dims[axis];
    const step = steps?.[i] ?? 1;
    const norm = (v: number) => (v < 0 ? v + d : v);
    const list: number[] = [];
    if (step > 0) {
      const s = Math.max(0, Math.min(norm(starts[i]), d));
      const e = Math.max(0, Math.min(norm(ends[i]), d));
      for (let k = s; k < e; k += step) list.push(k);
    } else {
      const s = Math.max(0, Math.min(norm(starts[i]), d - 1));
      const e = Math.max(-1, Math.min(norm(ends[i]), d - 1));
      for (let k = s; k > e; k += step) list.push(k);
    }
    picks[axis] = list;
  });
  const outDims = picks.map((p) => p.length);
  const out = cpuTensor(outDims);
  const inStrides = stridesOf(x.dims);
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, outDims);
    let src = 0;
    for (let d = 0; d < rank; d++) src += picks[d][c[d]] * inStrides[d];
    out.data[i] = x.data[src];
  }
  return out;
}

export function expandCpu(x: CpuTensor, outDims: readonly number[]): CpuTensor {
  const out = cpuTensor(outDims);
  for (let i = 0; i < out.data.length; i++)
    out.data[i] = x.data[broadcastIndex(coordsOf(i, outDims), x.dims)];
  return out;
}

export function concatCpu(inputs: readonly CpuTensor[], axis: number): CpuTensor {
  const rank = inputs[0].dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const outDims = [...inputs[0].dims];
  outDims[ax] = inputs.reduce((s, t) => s + t.dims[ax], 0);
  const out = cpuTensor(outDims);
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, outDims);
    let k = c[ax];
    let t = 0;
    while (k >= inputs[t].dims[ax]) k -= inputs[t++].dims[ax];
    const cc = [...c];
    cc[ax] = k;
    let src = 0;
    const s = stridesOf(inputs[t].dims);
    for (let d = 0; d < rank; d++) src += cc[d] * s[d];
    out.data[i] = inputs[t].data[src];
  }
  return out;
}
