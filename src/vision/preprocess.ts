// RGBA pixels → NCHW float32 on the CPU: lanczos, bilinear or bicubic resize with Pillow's antialiasing (the filter
// widens when shrinking, as Image.resize does), optional centre crop, rescale, per-channel normalize.
import { WebvlError } from '../errors';
import { outputSize, type PreprocessPlan, type Resample, resizedSize } from './preprocessor-config';

/** Raw pixels: width × height, 4 bytes per pixel (RGBA), row-major, as in ImageData. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width*height*4 bytes, row-major RGBA (ImageData layout). */
  readonly data: Uint8Array | Uint8ClampedArray;
}

export function checkImage(img: RgbaImage): void {
  const ok =
    Number.isInteger(img.width) &&
    Number.isInteger(img.height) &&
    img.width > 0 &&
    img.height > 0 &&
    img.data?.length === img.width * img.height * 4;
  if (!ok) {
    throw new WebvlError('BAD_IMAGE', `image is ${img.width}×${img.height} with ${img.data?.length} bytes`);
  }
}

interface Taps {
  /** First input index per output index. */
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** count[i] weights for output i, at i*maxTaps. */
  readonly weights: Float64Array;
  readonly maxTaps: number;
}

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

/** Pillow's filters (libImaging/Resample.c): support at scale 1 and the kernel. */
const FILTERS: Readonly<Record<Resample, { support: number; kernel: (x: number) => number }>> = {
  // Sinc windowed by a 3-lobe sinc, as Pillow's lanczos_filter.
  lanczos: { support: 3, kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  bilinear: { support: 1, kernel: (x) => Math.max(0, 1 - Math.abs(x)) },
  // Keys' cubic with a = -0.5, as Pillow's bicubic_filter.
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/**
 * Pillow's antialiased taps for one axis (precompute_coeffs): the support grows with the downscale factor.
 * Shared with the GPU path (src/vision/pixel-jobs.ts), so both resample with the same weights.
 */
export function resampleTaps(inSize: number, outSize: number, resample: Resample = 'bilinear'): Taps {
  const filter = FILTERS[resample];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = filter.kernel((j - center + 0.5) / filterScale);
      weights[o * maxTaps + (j - lo)] = w;
      total += w;
    }
    for (let j = 0; j < hi - lo; j++) if (total !== 0) weights[o * maxTaps + j] /= total;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/** Planar 8-bit RGB [3, H, W] from RGBA (alpha dropped, like PIL's convert('RGB')). */
export function toPlanarRgb(img: RgbaImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = img.data[i * 4];
    out[n + i] = img.data[i * 4 + 1];
    out[2 * n + i] = img.data[i * 4 + 2];
  }
  return out;
}

/**
 * Separable resize of planar 8-bit [3, h, w] → [3, oh, ow]. Like Pillow, a pass runs only along an axis whose
 * size changes, the horizontal one first, and each pass's result is rounded and clamped to 8 bits, so we land
 * within ±1 level of PIL.
 */
export function resizePlanar(
  src: Uint8Array,
  [h, w]: readonly [number, number],
  [oh, ow]: readonly [number, number],
  resample: Resample,
): Uint8Array {
  let mid = src;
  if (w !== ow) {
    const tx = resampleTaps(w, ow, resample);
    mid = new Uint8Array(3 * h * ow);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < ow; x++) {
          let acc = 0;
          for (let k = 0; k < tx.count[x]; k++)
            acc += tx.weights[x * tx.maxTaps + k] * src[(c * h + y) * w + tx.start[x] + k];
          mid[(c * h + y) * ow + x] = clamp8(acc);
        }
      }
    }
  }
  if (h === oh) return mid;
  const ty = resampleTaps(h, oh, resample);
  const out = new Uint8Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let acc = 0;
        for (let k = 0; k < ty.count[y]; k++)
          acc += ty.weights[y * ty.maxTaps + k] * mid[(c * h + ty.start[y] + k) * ow + x];
        out[(c * oh + y) * ow + x] = clamp8(acc);
      }
    }
  }
  return out;
}

function clamp8(v: number): number {
  return Math.min(255, Math.max(0, Math.round(v)));
}

/** Where one image goes: resized size, output size and the centre-crop offsets into the resized image. */
export interface Placement {
  readonly resized: readonly [number, number];
  readonly output: readonly [number, number];
  readonly top: number;
  readonly left: number;
}

export function placeImage(plan: PreprocessPlan, height: number, width: number): Placement {
  const resized = resizedSize(plan, height, width);
  const output = outputSize(plan, height, width);
  // Centre crop offsets as transformers computes them (floor of the half difference).
  return {
    resized,
    output,
    top: Math.floor((resized[0] - output[0]) / 2),
    left: Math.floor((resized[1] - output[1]) / 2),
  };
}

/** Per-channel affine map of 0..255 values: v · scale[c] − shift[c] (rescale, then normalize). */
export function channelAffine(plan: Pick<PreprocessPlan, 'rescale' | 'mean' | 'std'>): {
  scale: [number, number, number];
  shift: [number, number, number];
} {
  const per = (f: (c: number) => number): [number, number, number] => [f(0), f(1), f(2)];
  return {
    scale: per((c) => plan.rescale / plan.std[c]),
    shift: per((c) => plan.mean[c] / plan.std[c]),
  };
}

/** Resize then centre crop: planar [3, oh, ow] 8-bit values (0 where a crop is larger than the image). */
function resizeAndCrop(
  img: RgbaImage,
  plan: PreprocessPlan,
): { planes: Uint8Array; height: number; width: number } {
  checkImage(img);
  const {
    resized: [rh, rw],
    output: [oh, ow],
    top,
    left,
  } = placeImage(plan, img.height, img.width);
  const resized = resizePlanar(toPlanarRgb(img), [img.height, img.width], [rh, rw], plan.resample);
  const planes = new Uint8Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      const sy = y + top;
      for (let x = 0; x < ow; x++) {
        const sx = x + left;
        // Padding with 0 where a crop is larger than the image (transformers pads the same way).
        if (sy >= 0 && sy < rh && sx >= 0 && sx < rw)
          planes[(c * oh + y) * ow + x] = resized[(c * rh + sy) * rw + sx];
      }
    }
  }
  return { planes, height: oh, width: ow };
}

/** [3, H, W] float32 for one image, following the plan (resize → crop → rescale → normalize). */
export function preprocessRgba(
  img: RgbaImage,
  plan: PreprocessPlan,
): { data: Float32Array; height: number; width: number } {
  const { planes, height, width } = resizeAndCrop(img, plan);
  const { scale, shift } = channelAffine(plan);
  const plane = height * width;
  const data = Float32Array.from(
    planes,
    (v, i) => v * scale[Math.floor(i / plane)] - shift[Math.floor(i / plane)],
  );
  return { data, height, width };
}

/** Stacks several preprocessed images into one NCHW batch (all must have the same output size). */
export function preprocessBatch(
  images: readonly RgbaImage[],
  plan: PreprocessPlan,
): { data: Float32Array; dims: [number, number, number, number] } {
  if (images.length === 0) throw new WebvlError('BAD_IMAGE', 'no images given');
  const parts = images.map((im) => preprocessRgba(im, plan));
  const { height, width } = parts[0];
  if (parts.some((p) => p.height !== height || p.width !== width)) {
    throw new WebvlError('BAD_IMAGE', 'images in one batch must preprocess to one size');
  }
  const data = new Float32Array(parts.length * 3 * height * width);
  for (const [i, p] of parts.entries()) data.set(p.data, i * p.data.length);
  return { data, dims: [parts.length, 3, height, width] };
}

/**
 * The image at the model's input size (resize + crop, before rescale/normalize), as 8-bit RGBA. Our
 * resize rounds to 8 bits anyway, so preprocessing this copy gives exactly the tensor of the original;
 * the index stores it to re-encode candidates for ITM re-ranking.
 */
export function resizeToModel(img: RgbaImage, plan: PreprocessPlan): RgbaImage {
  const { planes, height, width } = resizeAndCrop(img, plan);
  const plane = height * width;
  const data = new Uint8ClampedArray(plane * 4);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[i * 4 + c] = planes[c * plane + i];
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}
