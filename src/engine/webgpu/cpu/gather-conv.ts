// CPU twins of gather and conv2d (tests only): direct loops from the ONNX definitions, float64 sums.
import { type CpuTensor, coordsOf, cpuTensor } from './tensor';

export function gatherCpu(data: CpuTensor, indices: CpuTensor, axis = 0): CpuTensor {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const outDims = [...data.dims.slice(0, ax), ...indices.dims, ...data.dims.slice(ax + 1)];
  const out = cpuTensor(outDims);
  const ir = indices.dims.length;
  for (let i = 0; i < out.data.length; i++) {
    const c = coordsOf(i, outDims);
    const idxCoords = c.slice(ax, ax + ir);
    let flat = 0;
    for (let d = 0; d < ir; d++) flat = flat * indices.dims[d] + idxCoords[d];
    let k = indices.data[flat];
    if (k < 0) k += data.dims[ax];
    const src = [...c.slice(0, ax), k, ...c.slice(ax + ir)];
    let s = 0;
    for (let d = 0; d < rank; d++) s = s * data.dims[d] + src[d];
    out.data[i] = data.data[s];
  }
  return out;
}

export interface ConvCpuOptions {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
  bias?: CpuTensor;
}

export function conv2dCpu(x: CpuTensor, w: CpuTensor, o: ConvCpuOptions = {}): CpuTensor {
  const [N, C, H, W] = x.dims;
  const [M, Cg, KH, KW] = w.dims;
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const g = o.group ?? 1;
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const out = cpuTensor([N, M, OH, OW]);
  const mPerGroup = M / g;
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = o.bias ? o.bias.data[m] : 0;
          const gi = Math.floor(m / mPerGroup);
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * sh + ky * dh - pt;
                const ix = ox * sw + kx * dw - pl;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s +=
                  x.data[((n * C + gi * Cg + c) * H + iy) * W + ix] *
                  w.data[((m * Cg + c) * KH + ky) * KW + kx];
              }
          out.data[((n * M + m) * OH + oy) * OW + ox] = s;
        }
  return out;
}

export interface BlockQuantizedTable {
  /** uint8 storage: two 4-bit codes a byte (low nibble first) or one 8-bit code. */
  readonly data: Uint8Array;
  /** Storage dims; the last holds the packed codes. */
  readonly dims: readonly number[];
  readonly scales: ArrayLike<number>;
  readonly zeroPoints?: Uint8Array;
  readonly bits: 4 | 8;
  readonly blockSize: number;
}

/**
 * GatherBlockQuantized along axis 0 as onnxruntime defines it: (code − zero point) · scale per block of the
 * last axis, zero point 8 / 128 by default, out-of-range indices giving zeros.
 */
export function gatherBlockQuantizedCpu(t: BlockQuantizedTable, indices: CpuTensor): CpuTensor {
  const perByte = 8 / t.bits;
  const stored = t.dims[t.dims.length - 1];
  const k = stored * perByte;
  const rows = t.dims[0];
  const lines = t.dims.slice(1, -1).reduce((a, b) => a * b, 1);
  const blocks = Math.ceil(k / t.blockSize);
  const zeroPerLine = Math.ceil(blocks / perByte);
  const nibble = (bytes: Uint8Array, i: number) =>
    (bytes[Math.floor(i / perByte)] >> ((i % perByte) * t.bits)) & ((1 << t.bits) - 1);
  const out = cpuTensor([...indices.dims, ...t.dims.slice(1, -1), k]);
  const rowSize = lines * k;
  indices.data.forEach((raw, j) => {
    const idx = raw < 0 ? raw + rows : raw;
    if (idx < 0 || idx >= rows) return; // zeros
    for (let line = 0; line < lines; line++) {
      const l = idx * lines + line;
      for (let c = 0; c < k; c++) {
        const b = Math.floor(c / t.blockSize);
        const code = nibble(t.data.subarray(l * stored, (l + 1) * stored), c);
        const zero = t.zeroPoints
          ? nibble(t.zeroPoints.subarray(l * zeroPerLine, (l + 1) * zeroPerLine), b)
          : 1 << (t.bits - 1);
        out.data[j * rowSize + line * k + c] = (code - zero) * t.scales[l * blocks + b];
      }
    }
  });
  return out;
}
