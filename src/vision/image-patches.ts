// Qwen2-VL's image processor (Qwen2VLImageProcessor, as transformers' Pillow backend runs it): the image is resized
// so that both sides are multiples of patch × merge and its area lies within [min_pixels, max_pixels]
// (smart_resize), rescaled and normalized, and cut into patch × patch squares. Each patch is one row of
// pixel_values, its channels × temporal copies × pixels flattened; rows go in merge-window order (the merge × merge
// patches that the vision encoder's merger joins into one image token are consecutive). A still image is one frame,
// repeated to fill the temporal patch.
import { WebvlError } from '../errors';
import { MAX_IMAGE_TOKENS } from '../limits';
import { channelAffine, checkImage, type RgbaImage, resizePlanar, toPlanarRgb } from './preprocess';
import {
  isProcessorOf,
  type PreprocessorConfigJson,
  type PreprocessPlan,
  planPixelValues,
  planResample,
  refuseSwitches,
  squarePlan,
} from './preprocessor-config';

export interface PatchPlan extends Pick<PreprocessPlan, 'resample' | 'rescale' | 'mean' | 'std'> {
  readonly patch: number;
  /** Patches per side of one image token (the merger's window). */
  readonly merge: number;
  /** Frames per patch: a still image is repeated this many times. */
  readonly temporal: number;
  readonly minPixels: number;
  readonly maxPixels: number;
}

/** One image as the vision encoder takes it. */
export interface ImagePatches {
  /** [patches, 3 · temporal · patch²], row-major. */
  readonly pixels: Float32Array;
  /** grid_thw: frames, patch rows, patch columns. */
  readonly grid: readonly [number, number, number];
  /** The size the image was resized to. */
  readonly height: number;
  readonly width: number;
}

/** Whether a preprocessor config is Qwen2-VL's (by its type, or by the merge size only it has). */
export function isPatchProcessor(cfg: PreprocessorConfigJson): boolean {
  return isProcessorOf(cfg, ['Qwen2VLImageProcessor', 'Qwen2_5_VLImageProcessor'], 'merge_size');
}

const invalid = (what: string, details?: Record<string, unknown>) =>
  new WebvlError('INVALID_MODEL', `preprocessor_config.json: ${what}`, details);

function countIn(v: unknown, name: string, max: number): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max)
    throw invalid(`${name} must be an integer in 1..${max}`, { [name]: v });
  return v as number;
}

/** The most pixels a config may ask an image to be resized to (16k × 16k). */
const MAX_PIXELS = 16384 * 16384;

export function planPatches(cfg: PreprocessorConfigJson): PatchPlan {
  refuseSwitches(cfg, ['do_center_crop', 'do_pad', 'do_flip_channel_order']);
  const size = typeof cfg.size === 'object' ? cfg.size : undefined;
  const minPixels = countIn(cfg.min_pixels ?? size?.shortest_edge ?? 56 * 56, 'min_pixels', MAX_PIXELS);
  const maxPixels = countIn(cfg.max_pixels ?? size?.longest_edge ?? 28 * 28 * 1280, 'max_pixels', MAX_PIXELS);
  if (minPixels > maxPixels) throw invalid(`min_pixels ${minPixels} is above max_pixels ${maxPixels}`);
  if (cfg.do_resize === false) throw invalid('do_resize false is not implemented (sizes must be multiples)');
  return {
    patch: countIn(cfg.patch_size ?? 14, 'patch_size', 256),
    merge: countIn(cfg.merge_size ?? 2, 'merge_size', 16),
    temporal: countIn(cfg.temporal_patch_size ?? 2, 'temporal_patch_size', 16),
    minPixels,
    maxPixels,
    resample: planResample({ resample: 3, ...cfg }),
    ...planPixelValues(cfg),
  };
}

/**
 * Patches as a plain preprocessing plan: the pixel values' map, and the least image a grid takes (one image token,
 * merge × merge patches), which the warm-up encodes.
 */
export function patchPreprocessPlan(plan: PatchPlan): PreprocessPlan {
  return squarePlan(plan.patch * plan.merge, plan);
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The step every smart_resize shares: (h, w), the image's sides already rounded to multiples of `factor`, scaled
 * down or up with the image's own aspect ratio when their area is outside [minPixels, maxPixels].
 */
export function boundArea(
  [height, width]: readonly [number, number],
  [h, w]: readonly [number, number],
  factor: number,
  minPixels: number,
  maxPixels: number,
): [number, number] {
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    return [
      Math.max(factor, Math.floor(height / beta / factor) * factor),
      Math.max(factor, Math.floor(width / beta / factor) * factor),
    ];
  }
  if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    return [Math.ceil((height * beta) / factor) * factor, Math.ceil((width * beta) / factor) * factor];
  }
  return [h, w];
}

/**
 * transformers' smart_resize: the size nearest (height, width) whose sides are multiples of `factor` and whose
 * area is within [minPixels, maxPixels], keeping the aspect ratio as far as that allows.
 */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new WebvlError(
      'BAD_IMAGE',
      `the image is ${width}×${height}: its aspect ratio must be below 200 for this model`,
    );
  const rounded: [number, number] = [
    roundHalfEven(height / factor) * factor,
    roundHalfEven(width / factor) * factor,
  ];
  return boundArea([height, width], rounded, factor, minPixels, maxPixels);
}

/** The patch grid (frames, rows, columns) an image of this size is cut into. */
export function patchGrid(plan: PatchPlan, height: number, width: number): [number, number, number] {
  const [h, w] = smartResize(height, width, plan.patch * plan.merge, plan.minPixels, plan.maxPixels);
  return [1, h / plan.patch, w / plan.patch];
}

/** Image tokens of a grid: merge × merge patches make one. */
export function patchTokens(plan: PatchPlan, [t, rows, cols]: readonly number[]): number {
  return (t * rows * cols) / plan.merge ** 2;
}

export function imagePatches(img: RgbaImage, plan: PatchPlan): ImagePatches {
  checkImage(img);
  const { patch: p, merge: m, temporal } = plan;
  const grid = patchGrid(plan, img.height, img.width);
  const [, rows, cols] = grid;
  const tokens = patchTokens(plan, grid);
  if (tokens > MAX_IMAGE_TOKENS)
    throw new WebvlError(
      'BAD_IMAGE',
      `the image would be ${tokens} image tokens, above ${MAX_IMAGE_TOKENS}: check max_pixels`,
    );
  const height = rows * p;
  const width = cols * p;
  const planes = resizePlanar(toPlanarRgb(img), [img.height, img.width], [height, width], plan.resample);
  const { scale, shift } = channelAffine(plan);
  const rowSize = 3 * temporal * p * p;
  const pixels = new Float32Array(rows * cols * rowSize);
  let at = 0;
  // Rows in merge-window order: window (by, bx), then the patch (my, mx) inside it.
  for (let by = 0; by < rows / m; by++)
    for (let bx = 0; bx < cols / m; bx++)
      for (let my = 0; my < m; my++)
        for (let mx = 0; mx < m; mx++) {
          const top = (by * m + my) * p;
          const left = (bx * m + mx) * p;
          for (let c = 0; c < 3; c++)
            for (let t = 0; t < temporal; t++)
              for (let y = 0; y < p; y++) {
                const from = (c * height + top + y) * width + left;
                for (let x = 0; x < p; x++) pixels[at++] = planes[from + x] * scale[c] - shift[c];
              }
        }
  return { pixels, grid, height, width };
}
