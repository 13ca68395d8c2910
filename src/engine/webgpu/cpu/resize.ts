// CPU twin of ops/resize.ts (tests only), written the other way round: one 1-D resampling pass per axis (the
// separable form of the ONNX definition), float64 arithmetic, coordinates by the spec's formulas.
import type { ResizeParams } from '../ir/resize-params';
import { type CpuTensor, cpuTensor, stridesOf } from './tensor';

function original(p: ResizeParams, a: number, x: number, lenIn: number): number {
  const scale = p.scales[a];
  const lenOut = p.lengths[a];
  switch (p.coordinate) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return lenOut > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return lenOut > 1 ? (x * (lenIn - 1)) / (lenOut - 1) : 0;
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const [s, e] = [p.roiStart[a], p.roiEnd[a]];
      return lenOut > 1
        ? s * (lenIn - 1) + (x * (e - s) * (lenIn - 1)) / (lenOut - 1)
        : 0.5 * (s + e) * (lenIn - 1);
    }
    case 'half_pixel_symmetric': {
      const adjustment = p.outDims[a] / lenOut;
      return (lenIn / 2) * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
  }
}

/** (input index, weight) pairs one output position of an axis reads; null for the extrapolation value. */
function taps(p: ResizeParams, xo: number, lenIn: number): [number, number][] | null {
  const last = lenIn - 1;
  if (p.coordinate === 'tf_crop_and_resize' && (xo < 0 || xo > last)) return null;
  const clampIdx = (i: number) => Math.min(Math.max(i, 0), last);
  const f = Math.floor(xo);
  if (p.mode === 'nearest') {
    const frac = xo - f;
    const pick = {
      round_prefer_floor: frac <= 0.5 ? f : f + 1,
      round_prefer_ceil: frac >= 0.5 ? f + 1 : f,
      floor: f,
      ceil: Math.ceil(xo),
    }[p.nearest];
    return [[clampIdx(pick), 1]];
  }
  if (p.mode === 'linear') {
    const xc = Math.min(Math.max(xo, 0), last);
    const fc = Math.floor(xc);
    return [
      [clampIdx(fc), 1 - (xc - fc)],
      [clampIdx(fc + 1), xc - fc],
    ];
  }
  // Keys' cubic kernel: W(d) = (A+2)|d|³ − (A+3)|d|² + 1 for |d| ≤ 1, A|d|³ − 5A|d|² + 8A|d| − 4A for 1 < |d| < 2.
  const A = p.cubicA;
  const kernel = (d: number) => {
    const t = Math.abs(d);
    if (t <= 1) return (A + 2) * t ** 3 - (A + 3) * t ** 2 + 1;
    if (t < 2) return A * t ** 3 - 5 * A * t ** 2 + 8 * A * t - 4 * A;
    return 0;
  };
  const out: [number, number][] = [];
  for (let j = -1; j <= 2; j++) {
    const i = f + j;
    const outside = i < 0 || i > last;
    out.push([clampIdx(i), p.excludeOutside && outside ? 0 : kernel(xo - i)]);
  }
  if (p.excludeOutside) {
    const total = out.reduce((s, [, w]) => s + w, 0);
    for (const t of out) t[1] /= total;
  }
  return out;
}

export function resizeCpu(x: CpuTensor, p: ResizeParams): CpuTensor {
  let cur = x;
  for (let a = 0; a < x.dims.length; a++) {
    const lenIn = cur.dims[a];
    const dims = [...cur.dims];
    dims[a] = p.outDims[a];
    const next = cpuTensor(dims);
    const inStrides = stridesOf(cur.dims);
    const outStrides = stridesOf(dims);
    const outer = dims.slice(0, a).reduce((s, d) => s * d, 1);
    const inner = dims.slice(a + 1).reduce((s, d) => s * d, 1);
    for (let c = 0; c < dims[a]; c++) {
      const same = lenIn === dims[a] && p.scales[a] === 1 && p.coordinate !== 'tf_half_pixel_for_nn';
      const t =
        same && p.coordinate !== 'tf_crop_and_resize'
          ? [[c, 1] as [number, number]]
          : taps(p, original(p, a, c, lenIn), lenIn);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const at = o * (a > 0 ? outStrides[a - 1] : 0) + c * outStrides[a] + i;
          if (!t) {
            next.data[at] = p.extrapolation;
            continue;
          }
          let s = 0;
          for (const [k, w] of t)
            s += w * cur.data[o * (a > 0 ? inStrides[a - 1] : 0) + k * inStrides[a] + i];
          next.data[at] =
            p.mode === 'nearest'
              ? cur.data[o * (a > 0 ? inStrides[a - 1] : 0) + t[0][0] * inStrides[a] + i]
              : s;
        }
    }
    cur = next;
  }
  return cur;
}
