// CPU twin of ops/grid-sample.ts (tests only), written after the ONNX reference (op_grid_sample.py) for 2-D:
// denormalize, round (nearest), pad the coordinate (not for cubic, as PyTorch and onnxruntime), then interpolate
// per axis over taps padded one by one.
import type { GridSampleParams } from '../ops/grid-sample';
import { type CpuTensor, cpuTensor } from './tensor';

const rint = (v: number) => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

function reflect(v: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (v < lo) {
    const d = lo - v;
    const n = Math.trunc(d / range);
    const r = d - n * range;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    const d = v - hi;
    const n = Math.trunc(d / range);
    const r = d - n * range;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return v;
}

function cubic(t: number): number[] {
  const a = -0.75;
  const x = Math.abs(t);
  return [
    ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a,
    ((a + 2) * x - (a + 3)) * x * x + 1,
    ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1,
    ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a,
  ];
}

export function gridSampleCpu(x: CpuTensor, grid: CpuTensor, p: GridSampleParams): CpuTensor {
  const [n, channels, height, width] = x.dims;
  const [, outHeight, outWidth] = grid.dims;
  const y = cpuTensor([n, channels, outHeight, outWidth]);
  const extent = (size: number) => (p.alignCorners ? [0, size - 1] : [-0.5, size - 0.5]);
  const denormalize = (g: number, size: number) =>
    p.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  const padIndex = (i: number, size: number): number | undefined => {
    if (i >= 0 && i < size) return i;
    if (p.padding === 'zeros') return undefined;
    if (p.padding === 'border') return Math.min(Math.max(i, 0), size - 1);
    const [lo, hi] = extent(size);
    return Math.trunc(reflect(i, lo, hi));
  };
  for (let b = 0; b < n; b++)
    for (let c = 0; c < channels; c++) {
      const plane = (b * channels + c) * height * width;
      const pixel = (row: number, col: number) => {
        const r = padIndex(row, height);
        const k = padIndex(col, width);
        return r === undefined || k === undefined ? 0 : x.data[plane + r * width + k];
      };
      for (let oh = 0; oh < outHeight; oh++)
        for (let ow = 0; ow < outWidth; ow++) {
          const g = ((b * outHeight + oh) * outWidth + ow) * 2;
          const coords = [denormalize(grid.data[g + 1], height), denormalize(grid.data[g], width)].map(
            (v, axis) => {
              const size = axis === 0 ? height : width;
              let value = p.mode === 'nearest' ? rint(v) : v;
              const [lo, hi] = extent(size);
              if (p.mode !== 'cubic' && (value < lo || value > hi)) {
                if (p.padding === 'border') value = Math.min(Math.max(value, 0), size - 1);
                else if (p.padding === 'reflection') value = reflect(value, lo, hi);
              }
              return value;
            },
          );
          const [py, px] = coords;
          let value: number;
          if (p.mode === 'nearest') value = pixel(Math.trunc(py), Math.trunc(px));
          else {
            const [r0, c0] = [Math.floor(py), Math.floor(px)];
            const [wy, wx] =
              p.mode === 'linear'
                ? [
                    [1 - (py - r0), py - r0],
                    [1 - (px - c0), px - c0],
                  ]
                : [cubic(py - r0), cubic(px - c0)];
            const first = p.mode === 'linear' ? 0 : -1;
            value = 0;
            wy.forEach((w, i) => {
              wx.forEach((v, j) => {
                value += w * v * pixel(r0 + first + i, c0 + first + j);
              });
            });
          }
          y.data[((b * channels + c) * outHeight + oh) * outWidth + ow] = value;
        }
    }
  return y;
}
