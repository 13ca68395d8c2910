// Images → the jobs a GPU backend's pixel pipeline runs: same placement (resize, centre crop) and the same
// Pillow taps as the CPU path in ./preprocess.ts, so the GPU only does the arithmetic.
import type { PixelBatchSpec, PixelJob } from '../engine/pixels';
import { WebvlError } from '../errors';
import { channelAffine, checkImage, placeImage, type RgbaImage, resampleTaps } from './preprocess';
import type { PreprocessPlan } from './preprocessor-config';

export function pixelJobs(
  images: readonly RgbaImage[],
  plan: PreprocessPlan,
): { jobs: PixelJob[]; spec: PixelBatchSpec } {
  if (images.length === 0) throw new WebvlError('BAD_IMAGE', 'no images given');
  for (const img of images) checkImage(img);
  const places = images.map((img) => placeImage(plan, img.height, img.width));
  const output = places[0].output;
  if (places.some((p) => p.output[0] !== output[0] || p.output[1] !== output[1])) {
    throw new WebvlError('BAD_IMAGE', 'images in one batch must preprocess to one size');
  }
  const jobs = images.map(
    (img, i): PixelJob => ({
      width: img.width,
      height: img.height,
      data: img.data,
      tapsX: resampleTaps(img.width, places[i].resized[1], plan.resample),
      tapsY: resampleTaps(img.height, places[i].resized[0], plan.resample),
      resized: places[i].resized,
      top: places[i].top,
      left: places[i].left,
    }),
  );
  return { jobs, spec: { output, ...channelAffine(plan) } };
}
