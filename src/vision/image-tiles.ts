// Idefics3's image processor (SmolVLM's too), as transformers' Pillow backend runs it: the longest edge is
// resized to `size.longest_edge` (the other side keeps the aspect ratio, rounded up to even), both sides then go
// up to multiples of the tile edge (`max_image_size.longest_edge`), and an image larger than one tile is cut into
// rows × cols tiles, followed by the whole image resized to one tile (the global image). Every resize is
// Pillow's, rounded to 8 bits in between, as transformers' Pillow image processor works on uint8 images.
import { WebvlError } from '../errors';
import { MAX_IMAGE_TILES } from '../limits';
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

/** transformers' MAX_IMAGE_SIZE: no side is resized past it. */
const MAX_IMAGE_SIZE = 4096;

export interface TilePlan extends Pick<PreprocessPlan, 'resample' | 'rescale' | 'mean' | 'std'> {
  /** The first resize's longest edge, or null where do_resize is off. */
  readonly longestEdge: number | null;
  /** A tile's side, which the vision encoder takes. */
  readonly tile: number;
  /** do_image_splitting: tiles plus the global image; off, one tile-sized image. */
  readonly split: boolean;
}

/**
 * Tiles of one image, as the vision encoder takes them: row-major, the global one last. Each is made when asked
 * for ([3, tile, tile] float32), so only the 8-bit grid is held while they are encoded one by one.
 */
export interface ImageTiles {
  tile(index: number): Float32Array;
  readonly count: number;
  readonly edge: number;
  /** The grid (0 × 0 where the image was not split: one image, no global tile). */
  readonly rows: number;
  readonly cols: number;
}

/** Whether a preprocessor config is Idefics3's (by its type, or by the tile size only it has). */
export function isTiledProcessor(cfg: PreprocessorConfigJson): boolean {
  return isProcessorOf(cfg, ['Idefics3ImageProcessor', 'SmolVLMImageProcessor'], 'max_image_size');
}

function edgeOf(v: unknown, name: string): number {
  const edge = (v as { longest_edge?: unknown } | undefined)?.longest_edge;
  if (!Number.isInteger(edge) || (edge as number) < 1 || (edge as number) > MAX_IMAGE_SIZE) {
    throw new WebvlError(
      'INVALID_MODEL',
      `preprocessor_config.json: ${name}.longest_edge must be an integer in 1..${MAX_IMAGE_SIZE}`,
      { [name]: v },
    );
  }
  return edge as number;
}

/** Switches of Idefics3's processor that change pixels in ways we do not implement. */
const UNIMPLEMENTED = ['do_center_crop', 'do_flip_channel_order', 'size_divisor'] as const;

export function planTiles(cfg: PreprocessorConfigJson): TilePlan {
  refuseSwitches(cfg, UNIMPLEMENTED);
  return {
    longestEdge: cfg.do_resize === false ? null : edgeOf(cfg.size, 'size'),
    tile: edgeOf(cfg.max_image_size, 'max_image_size'),
    split: cfg.do_image_splitting !== false,
    resample: planResample({ resample: 1, ...cfg }),
    ...planPixelValues(cfg),
  };
}

/** One tile as a plain preprocessing plan: what the vision encoder takes (its size, the pixel values' map). */
export function tilePreprocessPlan(plan: TilePlan): PreprocessPlan {
  return squarePlan(plan.tile, plan);
}

/** Tiles a grid makes: rows × cols and the global one, or the one image where it was not split (0 × 0). */
export function tileCount({ rows, cols }: { readonly rows: number; readonly cols: number }): number {
  return rows > 0 ? rows * cols + 1 : 1;
}

/** transformers' _resize_output_size_rescale_to_max_len, then _resize_output_size_scale_below_upper_bound. */
export function resizedForLongestEdge(height: number, width: number, longest: number): [number, number] {
  let [h, w] = [height, width];
  const aspect = w / h;
  if (w >= h) {
    w = longest;
    h = Math.trunc(w / aspect);
    h += h % 2;
  } else {
    h = longest;
    w = Math.trunc(h * aspect);
    w += w % 2;
  }
  [h, w] = [Math.max(h, 1), Math.max(w, 1)];
  const bound = w / h;
  if (w >= h && w > MAX_IMAGE_SIZE) [w, h] = [MAX_IMAGE_SIZE, Math.trunc(MAX_IMAGE_SIZE / bound)];
  else if (h > w && h > MAX_IMAGE_SIZE) [h, w] = [MAX_IMAGE_SIZE, Math.trunc(MAX_IMAGE_SIZE * bound)];
  return [Math.max(h, 1), Math.max(w, 1)];
}

/** resize_for_vision_encoder: both sides up to multiples of the tile edge, the aspect ratio kept on the way. */
export function resizedForTiles(height: number, width: number, tile: number): [number, number] {
  const aspect = width / height;
  const up = (v: number) => Math.ceil(v / tile) * tile;
  if (width >= height) {
    const w = up(width);
    return [up(Math.trunc(w / aspect)), w];
  }
  const h = up(height);
  return [h, up(Math.trunc(h * aspect))];
}

/** The sizes an image goes through: after the first resize, the tiled grid, and the grid's rows × cols. */
export function tileGeometry(
  plan: TilePlan,
  height: number,
  width: number,
): { resized: [number, number]; grid: [number, number]; rows: number; cols: number } {
  const resized =
    plan.longestEdge === null ? [height, width] : resizedForLongestEdge(height, width, plan.longestEdge);
  const [rh, rw] = resized as [number, number];
  if (!plan.split) return { resized: [rh, rw], grid: [plan.tile, plan.tile], rows: 0, cols: 0 };
  const grid = resizedForTiles(rh, rw, plan.tile);
  const split = grid[0] > plan.tile || grid[1] > plan.tile;
  const tiles = (grid[0] / plan.tile) * (grid[1] / plan.tile);
  if (tiles > MAX_IMAGE_TILES)
    throw new WebvlError(
      'BAD_IMAGE',
      `a ${width}×${height} image would be cut into ${tiles} tiles of ${plan.tile}; at most ${MAX_IMAGE_TILES}`,
      { tiles, maxTiles: MAX_IMAGE_TILES },
    );
  return {
    resized: [rh, rw],
    grid,
    rows: split ? grid[0] / plan.tile : 0,
    cols: split ? grid[1] / plan.tile : 0,
  };
}

/** The image's tiles, preprocessed (rescaled and normalized) for the vision encoder. */
export function tileImage(img: RgbaImage, plan: TilePlan): ImageTiles {
  checkImage(img);
  const { resized, grid, rows, cols } = tileGeometry(plan, img.height, img.width);
  const t = plan.tile;
  const first = resizePlanar(toPlanarRgb(img), [img.height, img.width], resized, plan.resample);
  const whole = resizePlanar(first, resized, grid, plan.resample);
  // The global image (or the one image, unsplit): the grid resized to one tile.
  const global = rows > 0 ? resizePlanar(whole, grid, [t, t], plan.resample) : whole;
  const count = tileCount({ rows, cols });
  const { scale, shift } = channelAffine(plan);
  // A tile from planes [3, height, width] at (top, left), rescaled and normalized.
  const cut = (planes: Uint8Array, [height, width]: readonly number[], top: number, left: number) => {
    const out = new Float32Array(3 * t * t);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < t; y++) {
        const from = (c * height + top + y) * width + left;
        for (let x = 0; x < t; x++) out[(c * t + y) * t + x] = planes[from + x] * scale[c] - shift[c];
      }
    }
    return out;
  };
  return {
    tile(index: number): Float32Array {
      if (!Number.isInteger(index) || index < 0 || index >= count)
        throw new WebvlError('INTERNAL', `tile ${index} of ${count}`);
      if (index === count - 1) return cut(global, [t, t], 0, 0);
      return cut(whole, grid, Math.floor(index / cols) * t, (index % cols) * t);
    },
    count,
    edge: t,
    rows,
    cols,
  };
}

/** All tiles in one array [count, 3, tile, tile] (tests and references; the pipeline takes them one by one). */
export function allTiles(tiles: ImageTiles): Float32Array {
  const size = 3 * tiles.edge * tiles.edge;
  const out = new Float32Array(tiles.count * size);
  for (let k = 0; k < tiles.count; k++) out.set(tiles.tile(k), k * size);
  return out;
}
