// LFM2-VL's image processor (Lfm2VlImageProcessorFast): an image is resized so that both sides are multiples of
// patch × downsample and its tokens lie within [min_image_tokens, max_image_tokens] (its smart_resize); an image
// larger than that by more than max_pixels_tolerance is instead resized to a grid of tile × tile tiles whose
// shape is the closest aspect ratio among min_tiles..max_tiles tiles, followed by the smart-resized image as a
// thumbnail. Each tile is cut into patch × patch patches, one row of pixel_values each, in (row, column, channel)
// order, and the vision encoder takes its patch grid's rows and columns (spatial_shapes): a tile is as many
// patches as its size gives (SigLIP2's NaFlex), not a fixed square. Resizes are antialiased bilinear from the
// 8-bit image, as torchvision resizes uint8 tensors.
import { WebvlError } from '../errors';
import { MAX_IMAGE_TILES } from '../limits';
import { boundArea, roundHalfEven } from './image-patches';
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

export interface Lfm2TilePlan extends Pick<PreprocessPlan, 'resample' | 'rescale' | 'mean' | 'std'> {
  /** The vision encoder's patch side (encoder_patch_size). */
  readonly patch: number;
  /** Patches merged into one image token per side (downsample_factor). */
  readonly downsample: number;
  /** Whether a large image is cut into tiles (do_image_splitting, and not min_tiles = max_tiles = 1). */
  readonly split: boolean;
  readonly minTiles: number;
  readonly maxTiles: number;
  /** A tiled image's thumbnail: the smart-resized image after the tiles (use_thumbnail). */
  readonly thumbnail: boolean;
  readonly minImageTokens: number;
  readonly maxImageTokens: number;
  /** A tile's side in pixels. */
  readonly tile: number;
  /** How much larger than max_image_tokens an image may be before it is tiled (max_pixels_tolerance). */
  readonly tolerance: number;
}

/** How an image is cut: rows × cols tiles and a thumbnail, or (rows = cols = 0) one smart-resized image. */
export interface Lfm2Geometry {
  readonly rows: number;
  readonly cols: number;
  /** The smart-resized size: the single image's, or the thumbnail's. */
  readonly resized: readonly [number, number];
  /** The pieces the vision encoder sees, in order: each one's height and width in pixels. */
  readonly pieces: readonly (readonly [number, number])[];
}

/** One piece as the vision encoder takes it: patches [rows · cols, patch² · 3] and the patch grid. */
export interface Lfm2Piece {
  readonly patches: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Whether a preprocessor config is LFM2-VL's (by its type, or by the encoder patch size only it names). */
export function isLfm2Processor(cfg: PreprocessorConfigJson): boolean {
  return isProcessorOf(cfg, ['Lfm2VlImageProcessor'], 'encoder_patch_size');
}

const invalid = (what: string, details?: Record<string, unknown>) =>
  new WebvlError('INVALID_MODEL', `preprocessor_config.json: ${what}`, details);

function countIn(v: unknown, fallback: number, name: string, max: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > max)
    throw invalid(`${name} must be an integer in 1..${max}`, { [name]: v });
  return n as number;
}

export function planLfm2Tiles(cfg: PreprocessorConfigJson): Lfm2TilePlan {
  refuseSwitches(cfg, ['do_center_crop', 'do_flip_channel_order']);
  const patch = countIn(cfg.encoder_patch_size ?? cfg.patch_size, 16, 'encoder_patch_size', 256);
  const minTiles = countIn(cfg.min_tiles, 2, 'min_tiles', MAX_IMAGE_TILES);
  const maxTiles = countIn(cfg.max_tiles, 10, 'max_tiles', MAX_IMAGE_TILES);
  const minImageTokens = countIn(cfg.min_image_tokens, 64, 'min_image_tokens', 65_536);
  const maxImageTokens = countIn(cfg.max_image_tokens, 256, 'max_image_tokens', 65_536);
  const split = cfg.do_image_splitting !== false && !(minTiles === 1 && maxTiles === 1);
  if (split && minTiles > maxTiles) throw invalid(`min_tiles ${minTiles} is above max_tiles ${maxTiles}`);
  if (minImageTokens > maxImageTokens)
    throw invalid(`min_image_tokens ${minImageTokens} is above max_image_tokens ${maxImageTokens}`);
  const tolerance = cfg.max_pixels_tolerance ?? 2;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance <= 0 || tolerance > 1000)
    throw invalid('max_pixels_tolerance must be a number in (0, 1000]', { max_pixels_tolerance: tolerance });
  return {
    patch,
    downsample: countIn(cfg.downsample_factor, 2, 'downsample_factor', 16),
    split,
    minTiles,
    maxTiles,
    thumbnail: cfg.use_thumbnail !== false,
    minImageTokens,
    maxImageTokens,
    tile: countIn(cfg.tile_size, 512, 'tile_size', 4096),
    tolerance,
    resample: planResample({ resample: 2, ...cfg }),
    ...planPixelValues(cfg),
  };
}

/**
 * The least image as a plain preprocessing plan: a square of min_image_tokens image tokens, which the warm-up
 * encodes, and the pixel values' map.
 */
export function lfm2PreprocessPlan(plan: Lfm2TilePlan): PreprocessPlan {
  return squarePlan(plan.patch * plan.downsample * Math.ceil(Math.sqrt(plan.minImageTokens)), plan);
}

const roundByFactor = (n: number, factor: number) => roundHalfEven(n / factor) * factor;

/** Lfm2VlImageProcessorFast.smart_resize: [height, width], multiples of patch × downsample (at least one each). */
export function lfm2SmartResize(plan: Lfm2TilePlan, height: number, width: number): [number, number] {
  const factor = plan.patch * plan.downsample;
  const perToken = factor * factor;
  const rounded: [number, number] = [
    Math.max(factor, roundByFactor(height, factor)),
    Math.max(factor, roundByFactor(width, factor)),
  ];
  return boundArea(
    [height, width],
    rounded,
    factor,
    plan.minImageTokens * perToken,
    plan.maxImageTokens * perToken,
  );
}

/** _is_image_too_large: more pixels than max_image_tokens allow, by more than the tolerance. */
function tooLarge(plan: Lfm2TilePlan, height: number, width: number): boolean {
  const factor = plan.patch * plan.downsample;
  const h = Math.max(plan.patch, roundByFactor(height, factor));
  const w = Math.max(plan.patch, roundByFactor(width, factor));
  return h * w > plan.maxImageTokens * factor * factor * plan.tolerance;
}

/** The grids of min..max tiles as (cols, rows), fewest tiles first (_target_ratios). */
function targetRatios(min: number, max: number): [number, number][] {
  const seen = new Set<string>();
  const ratios: [number, number][] = [];
  for (let n = min; n <= max; n++)
    for (let w = 1; w <= n; w++)
      for (let h = 1; h <= n; h++)
        if (w * h >= min && w * h <= max && !seen.has(`${w}x${h}`)) {
          seen.add(`${w}x${h}`);
          ratios.push([w, h]);
        }
  // Fewest tiles first (a stable sort: equal areas in the order met, as transformers.js has them).
  return ratios.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
}

/** find_closest_aspect_ratio: the grid (cols, rows) whose shape is nearest the image's. */
function closestGrid(plan: Lfm2TilePlan, height: number, width: number): [number, number] {
  const aspect = width / height;
  let best: [number, number] = [1, 1];
  let bestDiff = Number.POSITIVE_INFINITY;
  for (const ratio of targetRatios(plan.minTiles, plan.maxTiles)) {
    const diff = Math.abs(aspect - ratio[0] / ratio[1]);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = ratio;
    } else if (diff === bestDiff && height * width > 0.5 * plan.tile * plan.tile * ratio[0] * ratio[1])
      best = ratio;
  }
  return best;
}

/** How an image of this size is cut (resize_and_split). */
export function lfm2Geometry(plan: Lfm2TilePlan, height: number, width: number): Lfm2Geometry {
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new WebvlError('BAD_IMAGE', `the image is ${width}×${height}: its aspect ratio must be below 200`);
  const resized = lfm2SmartResize(plan, height, width);
  if (!plan.split || !tooLarge(plan, height, width)) return { rows: 0, cols: 0, resized, pieces: [resized] };
  const [cols, rows] = closestGrid(plan, height, width);
  const tiles = new Array<readonly [number, number]>(rows * cols).fill([plan.tile, plan.tile]);
  const thumbnail = plan.thumbnail && rows * cols !== 1;
  return { rows, cols, resized, pieces: thumbnail ? [...tiles, resized] : tiles };
}

/** Image tokens of a piece of this size: its patch rows and columns, merged downsample × downsample. */
export function lfm2PieceTokens(plan: Lfm2TilePlan, [height, width]: readonly [number, number]): number {
  const side = (n: number) => Math.ceil(Math.floor(n / plan.patch) / plan.downsample);
  return side(height) * side(width);
}

/** The image's pieces (tiles, then the thumbnail; or the one image), each made when asked for. */
export function lfm2Pieces(
  img: RgbaImage,
  plan: Lfm2TilePlan,
): { geometry: Lfm2Geometry; piece(k: number): Lfm2Piece } {
  checkImage(img);
  const geometry = lfm2Geometry(plan, img.height, img.width);
  const planes = toPlanarRgb(img);
  const source: [number, number] = [img.height, img.width];
  const { rows, cols, resized, pieces } = geometry;
  const grid: [number, number] = [rows * plan.tile, cols * plan.tile];
  let tiled: Uint8Array | undefined;
  const { scale, shift } = channelAffine(plan);
  const p = plan.patch;
  // Patches of the [3, height, width] planes' window at (top, left), (row, column, channel) within a patch.
  const cut = (
    from: Uint8Array,
    fromWidth: number,
    fromHeight: number,
    top: number,
    left: number,
    [h, w]: readonly [number, number],
  ): Lfm2Piece => {
    const [pr, pc] = [Math.floor(h / p), Math.floor(w / p)];
    const out = new Float32Array(pr * pc * p * p * 3);
    let at = 0;
    for (let r = 0; r < pr; r++)
      for (let c = 0; c < pc; c++)
        for (let dy = 0; dy < p; dy++)
          for (let dx = 0; dx < p; dx++)
            for (let ch = 0; ch < 3; ch++)
              out[at++] =
                from[(ch * fromHeight + top + r * p + dy) * fromWidth + left + c * p + dx] * scale[ch] -
                shift[ch];
    return { patches: out, rows: pr, cols: pc };
  };
  return {
    geometry,
    piece(k: number): Lfm2Piece {
      if (!Number.isInteger(k) || k < 0 || k >= pieces.length)
        throw new WebvlError('INTERNAL', `piece ${k} of ${pieces.length}`);
      if (k >= rows * cols) {
        const small = resizePlanar(planes, source, resized, plan.resample);
        return cut(small, resized[1], resized[0], 0, 0, resized);
      }
      tiled ??= resizePlanar(planes, source, grid, plan.resample);
      const t = plan.tile;
      return cut(tiled, grid[1], grid[0], Math.floor(k / cols) * t, (k % cols) * t, [t, t]);
    },
  };
}
