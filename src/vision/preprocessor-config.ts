// The subset of Hugging Face's image-processor config (preprocessor_config.json) our models use.
import { WebvlError } from '../errors';

export interface PreprocessorConfigJson {
  do_resize?: boolean;
  size?: number | { height?: number; width?: number; shortest_edge?: number };
  /** PIL resample id: 2 = bilinear (the only one implemented), 3 = bicubic is treated as bilinear. */
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: number | { height: number; width: number };
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number[];
  image_std?: number[];
}

/** Resolved plan: resize target, optional crop, per-channel affine map applied to 0..255 values. */
export interface PreprocessPlan {
  /** Resize to exactly this size, or (shortestEdge) keep aspect with the short side at that length. */
  readonly resize:
    | { kind: 'exact'; height: number; width: number }
    | { kind: 'shortest'; edge: number }
    | null;
  readonly crop: { height: number; width: number } | null;
  readonly rescale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

function triple(v: number[] | undefined, fallback: number, name: string): [number, number, number] {
  if (v === undefined) return [fallback, fallback, fallback];
  if (v.length !== 3 || v.some((x) => typeof x !== 'number')) {
    throw new WebvlError('INVALID_MODEL', `preprocessor_config.json: ${name} must have 3 numbers`);
  }
  return [v[0], v[1], v[2]];
}

export function planPreprocess(cfg: PreprocessorConfigJson): PreprocessPlan {
  let resize: PreprocessPlan['resize'] = null;
  if (cfg.do_resize !== false && cfg.size !== undefined) {
    const s = cfg.size;
    if (typeof s === 'number') resize = { kind: 'exact', height: s, width: s };
    else if (s.height && s.width) resize = { kind: 'exact', height: s.height, width: s.width };
    else if (s.shortest_edge) resize = { kind: 'shortest', edge: s.shortest_edge };
  }
  let crop: PreprocessPlan['crop'] = null;
  if (cfg.do_center_crop && cfg.crop_size !== undefined) {
    const c = cfg.crop_size;
    crop = typeof c === 'number' ? { height: c, width: c } : { height: c.height, width: c.width };
  }
  const std = triple(cfg.do_normalize === false ? undefined : cfg.image_std, 1, 'image_std');
  if (std.some((x) => x === 0)) throw new WebvlError('INVALID_MODEL', 'preprocessor_config.json: zero std');
  return {
    resize,
    crop,
    rescale: cfg.do_rescale === false ? 1 : (cfg.rescale_factor ?? 1 / 255),
    mean: triple(cfg.do_normalize === false ? undefined : cfg.image_mean, 0, 'image_mean'),
    std,
  };
}

/** Output [H, W] of a plan for an input of the given size. */
export function outputSize(plan: PreprocessPlan, height: number, width: number): [number, number] {
  let [h, w] = resizedSize(plan, height, width);
  if (plan.crop) [h, w] = [plan.crop.height, plan.crop.width];
  return [h, w];
}

export function resizedSize(plan: PreprocessPlan, height: number, width: number): [number, number] {
  const r = plan.resize;
  if (!r) return [height, width];
  if (r.kind === 'exact') return [r.height, r.width];
  // Same rounding as transformers' get_resize_output_image_size (int() of the scaled long side).
  if (height <= width) return [r.edge, Math.floor((r.edge * width) / height)];
  return [Math.floor((r.edge * height) / width), r.edge];
}
