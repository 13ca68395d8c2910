// Hugging Face's image-processor config (preprocessor_config.json) → what preprocess.ts does, as the CLIP,
// SigLIP and BLIP image processors do it: convert to RGB, resize (Pillow lanczos, bilinear or bicubic; `size` as
// {height, width}, {shortest_edge} or an int), centre crop, rescale, normalize. A value we do not implement is
// refused with UNSUPPORTED_MODEL rather than giving silently different pixels.
import { WebvlError } from '../errors';

export interface PreprocessorConfigJson {
  do_resize?: boolean;
  size?: number | { height?: number; width?: number; shortest_edge?: number; longest_edge?: number };
  /** PIL resample id: 1 = lanczos, 2 = bilinear, 3 = bicubic (the three implemented). */
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: number | { height: number; width: number };
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number | number[];
  image_std?: number | number[];
  do_convert_rgb?: boolean | null;
  image_processor_type?: string;
  feature_extractor_type?: string;
  [key: string]: unknown;
}

/** Pillow's resampling filters that we implement, by the id transformers stores (PILImageResampling). */
export type Resample = 'lanczos' | 'bilinear' | 'bicubic';
const RESAMPLE_IDS: Readonly<Record<number, Resample>> = { 1: 'lanczos', 2: 'bilinear', 3: 'bicubic' };
const PIL_FILTER_NAMES = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];

/** Resolved plan: resize target, optional crop, per-channel affine map applied to 0..255 values. */
export interface PreprocessPlan {
  /** Resize to exactly this size, or (shortestEdge) keep aspect with the short side at that length. */
  readonly resize:
    | { kind: 'exact'; height: number; width: number }
    | { kind: 'shortest'; edge: number }
    | null;
  readonly resample: Resample;
  readonly crop: { height: number; width: number } | null;
  readonly rescale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** Processor switches that change pixels in ways we do not implement: a config that turns one on is refused. */
const UNIMPLEMENTED_SWITCHES = [
  'do_pad',
  'do_thumbnail',
  'do_flip_channel_order',
  'do_reduce_labels',
  'keep_aspect_ratio',
  'do_align_long_axis',
  'do_image_splitting',
  'size_divisor',
  'crop_pct',
  'max_size',
  'do_pan_and_scan',
] as const;

const unsupported = (why: string, details?: Record<string, unknown>) =>
  new WebvlError('UNSUPPORTED_MODEL', `preprocessor_config.json: ${why}`, details);

function triple(v: number | number[] | undefined, fallback: number, name: string): [number, number, number] {
  if (v === undefined) return [fallback, fallback, fallback];
  if (typeof v === 'number') return [v, v, v];
  if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new WebvlError('INVALID_MODEL', `preprocessor_config.json: ${name} must have 3 numbers`);
  }
  return [v[0], v[1], v[2]];
}

function positiveInt(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0) {
    throw new WebvlError('INVALID_MODEL', `preprocessor_config.json: ${name} must be a positive integer`);
  }
  return v as number;
}

/** CLIP's processors read an int `size` as the shortest edge; the others (BLIP, ViT…) as a square. */
function intSizeIsShortestEdge(cfg: PreprocessorConfigJson): boolean {
  const type = cfg.image_processor_type ?? cfg.feature_extractor_type ?? '';
  return /CLIP/.test(type);
}

function planResize(cfg: PreprocessorConfigJson): PreprocessPlan['resize'] {
  if (cfg.do_resize === false || cfg.size === undefined) return null;
  const s = cfg.size;
  if (typeof s === 'number') {
    const n = positiveInt(s, 'size');
    return intSizeIsShortestEdge(cfg)
      ? { kind: 'shortest', edge: n }
      : { kind: 'exact', height: n, width: n };
  }
  const keys = Object.keys(s ?? {})
    .sort()
    .join(',');
  if (keys === 'height,width') {
    return {
      kind: 'exact',
      height: positiveInt(s.height, 'size.height'),
      width: positiveInt(s.width, 'size.width'),
    };
  }
  if (keys === 'shortest_edge')
    return { kind: 'shortest', edge: positiveInt(s.shortest_edge, 'size.shortest_edge') };
  throw unsupported(
    `size ${JSON.stringify(s)} is not implemented (only {height, width}, {shortest_edge} or an int)`,
    {
      size: s,
    },
  );
}

export function planResample(cfg: PreprocessorConfigJson): Resample {
  // transformers' default for CLIP, SigLIP and BLIP processors is bicubic; ours (models/*-tiny) say 2.
  const id = cfg.resample ?? 3;
  const resample = RESAMPLE_IDS[id];
  if (!resample) {
    const name = PIL_FILTER_NAMES[id] ?? String(id);
    throw unsupported(
      `resample ${id} (${name}) is not implemented; webvl resizes with 1 (lanczos), 2 (bilinear) or 3 (bicubic)`,
      {
        resample: id,
      },
    );
  }
  return resample;
}

/**
 * Whether a preprocessor config is of a processor family: its type starts with one of `types`, or it has `key`,
 * a setting only that family's processor reads.
 */
export function isProcessorOf(cfg: PreprocessorConfigJson, types: readonly string[], key: string): boolean {
  const type = cfg.image_processor_type ?? '';
  return types.some((t) => type.startsWith(t)) || cfg[key] !== undefined;
}

/** UNSUPPORTED_MODEL for the first of `keys` that the config turns on. */
export function refuseSwitches(cfg: PreprocessorConfigJson, keys: readonly string[]): void {
  for (const key of keys) {
    const v = cfg[key];
    if (v !== undefined && v !== null && v !== false)
      throw unsupported(`${key} = ${JSON.stringify(v)} is not implemented`, { [key]: v });
  }
}

export function planPreprocess(cfg: PreprocessorConfigJson): PreprocessPlan {
  refuseSwitches(cfg, UNIMPLEMENTED_SWITCHES);
  const resize = planResize(cfg);
  let crop: PreprocessPlan['crop'] = null;
  if (cfg.do_center_crop && cfg.crop_size !== undefined) {
    const c = cfg.crop_size;
    crop =
      typeof c === 'number'
        ? { height: positiveInt(c, 'crop_size'), width: positiveInt(c, 'crop_size') }
        : {
            height: positiveInt(c.height, 'crop_size.height'),
            width: positiveInt(c.width, 'crop_size.width'),
          };
  }
  return { resize, resample: planResample(cfg), crop, ...planPixelValues(cfg) };
}

/** do_rescale and do_normalize: the per-channel affine map of 0..255 values. */
export function planPixelValues(
  cfg: PreprocessorConfigJson,
): Pick<PreprocessPlan, 'rescale' | 'mean' | 'std'> {
  const normalize = cfg.do_normalize !== false;
  const std = triple(normalize ? cfg.image_std : undefined, 1, 'image_std');
  if (std.some((x) => x === 0)) throw new WebvlError('INVALID_MODEL', 'preprocessor_config.json: zero std');
  const rescale = cfg.do_rescale === false ? 1 : (cfg.rescale_factor ?? 1 / 255);
  if (typeof rescale !== 'number' || !Number.isFinite(rescale)) {
    throw new WebvlError('INVALID_MODEL', 'preprocessor_config.json: rescale_factor must be a number');
  }
  return { rescale, mean: triple(normalize ? cfg.image_mean : undefined, 0, 'image_mean'), std };
}

/**
 * A plain plan that resizes every image to side × side with `pixels`' resample and pixel-value map: what one tile,
 * or the least image a CPU-cut processor takes, is (the warm-up and the image size info() reports).
 */
export function squarePlan(
  side: number,
  { resample, rescale, mean, std }: Pick<PreprocessPlan, 'resample' | 'rescale' | 'mean' | 'std'>,
): PreprocessPlan {
  return { resize: { kind: 'exact', height: side, width: side }, resample, crop: null, rescale, mean, std };
}

/** Output [H, W] of a plan for an input of the given size. */
export function outputSize(plan: PreprocessPlan, height: number, width: number): [number, number] {
  let [h, w] = resizedSize(plan, height, width);
  if (plan.crop) [h, w] = [plan.crop.height, plan.crop.width];
  return [h, w];
}

/** The input size every image gets, when the plan fixes one (an exact resize or a crop). */
export function fixedOutputSize(plan: PreprocessPlan): [number, number] | undefined {
  if (plan.crop) return [plan.crop.height, plan.crop.width];
  if (plan.resize?.kind === 'exact') return [plan.resize.height, plan.resize.width];
  return undefined;
}

export function resizedSize(plan: PreprocessPlan, height: number, width: number): [number, number] {
  const r = plan.resize;
  if (!r) return [height, width];
  if (r.kind === 'exact') return [r.height, r.width];
  // Same rounding as transformers' get_resize_output_image_size (int() of the scaled long side).
  if (height <= width) return [r.edge, Math.floor((r.edge * width) / height)];
  return [Math.floor((r.edge * height) / width), r.edge];
}
