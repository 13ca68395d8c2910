// CPU twin of resizeNormalize (tests only): bilinear with half-pixel centres, edge replication, float64.
import { type CpuTensor, cpuTensor } from './tensor';

export interface ResizeCpuOptions {
  crop?: { x: number; y: number; width: number; height: number };
  rescale?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
}

/** rgba: width·height·4 bytes, row-major. Returns [1, 3, outH, outW]. */
export function resizeNormalizeCpu(
  rgba: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  o: ResizeCpuOptions = {},
): CpuTensor {
  const crop = o.crop ?? { x: 0, y: 0, width, height };
  const rescale = o.rescale ?? 1 / 255;
  const mean = o.mean ?? [0, 0, 0];
  const std = o.std ?? [1, 1, 1];
  const out = cpuTensor([1, 3, outH, outW]);
  const px = (x: number, y: number, c: number) => rgba[(y * width + x) * 4 + c];
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * crop.width) / outW - 0.5, 0), crop.width - 1) + crop.x;
      const sy = Math.min(Math.max(((y + 0.5) * crop.height) / outH - 0.5, 0), crop.height - 1) + crop.y;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, crop.x + crop.width - 1);
      const y1 = Math.min(y0 + 1, crop.y + crop.height - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const top = px(x0, y0, c) * (1 - fx) + px(x1, y0, c) * fx;
        const bottom = px(x0, y1, c) * (1 - fx) + px(x1, y1, c) * fx;
        const v = top * (1 - fy) + bottom * fy;
        out.data[(c * outH + y) * outW + x] = (v * rescale - mean[c]) / std[c];
      }
    }
  return out;
}
