// The GPU preprocessing kernel against Pillow/NumPy (the fixture the CPU path is tested on) and against the
// CPU path itself, then the standalone pipeline the runtime uses (batch, buffers returned to the pool).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/engine/webgpu/gpu/buffer-pool';
import { WebGpuDeviceTensor } from '../../src/engine/webgpu/gpu/device-tensor';
import { PipelineCache } from '../../src/engine/webgpu/gpu/pipeline-cache';
import { packResampleTaps, resizeNormalize } from '../../src/engine/webgpu/ops';
import { GpuPixelPipeline, resizeParams } from '../../src/engine/webgpu/pixel-pipeline';
import { WebvlError } from '../../src/errors';
import { pixelJobs } from '../../src/vision/pixel-jobs';
import { preprocessBatch, preprocessRgba, type RgbaImage } from '../../src/vision/preprocess';
import {
  type PreprocessorConfigJson,
  type PreprocessPlan,
  planPreprocess,
} from '../../src/vision/preprocessor-config';
import {
  base64Bytes,
  base64Floats,
  levelSize,
  preprocessFixture,
} from '../runtime/fixtures/preprocess-fixture';
import { rng, TestGpu } from './gpu-harness';

const CLIP_NORM = {
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
};

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

/** Runs the kernel on one image through the test harness; returns [3·H·W] floats. */
async function kernelPreprocess(img: RgbaImage, plan: PreprocessPlan): Promise<Float32Array> {
  const { jobs, spec } = pixelJobs([img], plan);
  const job = jobs[0];
  const taps = packResampleTaps(job.tapsX, job.tapsY);
  const words = new Uint32Array(img.data.buffer, img.data.byteOffset, img.width * img.height);
  const out = gpu.empty('float32', [1, 3, spec.output[0], spec.output[1]]);
  resizeNormalize(
    gpu,
    gpu.upload(
      'uint8',
      [img.height, img.width],
      Int32Array.from(words, (v) => v | 0),
    ),
    gpu.upload('float32', [taps.data.length], taps.data),
    out,
    resizeParams(job, spec, taps.layout),
  );
  const got = (await gpu.read(out)) as Float32Array;
  gpu.release();
  return got;
}

/**
 * Largest difference in 8-bit levels (after undoing the normalization) and the share of exact values. `level`
 * is one input level per channel in output units (default: rescale 1/255 over the CLIP std).
 */
function compareLevels(
  got: Float32Array,
  want: Float32Array,
  level: readonly number[] = levelSize({ image_std: CLIP_NORM.image_std }),
  plane = got.length / 3,
) {
  expect(got.length).toBe(want.length);
  let maxLevels = 0;
  let exact = 0;
  for (let i = 0; i < got.length; i++) {
    const levels = Math.abs(got[i] - want[i]) / level[Math.floor(i / plane) % 3];
    maxLevels = Math.max(maxLevels, levels);
    if (levels < 1e-3) exact++;
  }
  return { maxLevels, exactShare: exact / got.length };
}

function randomImage(width: number, height: number, seed: number): RgbaImage {
  const rand = rng(seed);
  // Smooth gradients plus noise, so resampling has something to average.
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      data[at] = (x * 255) / width + rand() * 40;
      data[at + 1] = (y * 255) / height + rand() * 40;
      data[at + 2] = rand() * 255;
      data[at + 3] = 255;
    }
  }
  return { width, height, data };
}

describe('resizeNormalize kernel vs Pillow/NumPy', () => {
  for (const c of preprocessFixture.cases) {
    it(c.name, async () => {
      const plan = planPreprocess(c.config);
      const img = { width: c.width, height: c.height, data: base64Bytes(c.rgba) };
      const got = await kernelPreprocess(img, plan);
      const level = levelSize(c.config);
      const vsPillow = compareLevels(got, base64Floats(c.expected), level);
      // Pillow resamples in 8-bit fixed point: at most one level apart, and rarely.
      expect(vsPillow.maxLevels).toBeLessThanOrEqual(1.01);
      expect(vsPillow.exactShare).toBeGreaterThan(0.95);
      const vsCpu = compareLevels(got, preprocessRgba(img, plan).data, level);
      expect(vsCpu.maxLevels).toBeLessThanOrEqual(1.01);
    });
  }
});

describe('resizeNormalize kernel vs the CPU path', () => {
  it.each(
    [
      { name: 'downscale 97×61, shortest edge 32, centre crop 32', w: 97, h: 61, shortest: 32, crop: 32 },
      { name: 'upscale 13×9 → 40×40', w: 13, h: 9, size: 40 },
      { name: 'shrink one axis only 64×200 → 64×64', w: 64, h: 200, size: 64 },
      { name: 'crop larger than the image pads with zeros', w: 30, h: 20, shortest: 20, crop: 24 },
      { name: 'no resize (model-sized image) is exact', w: 64, h: 64, size: 64 },
    ].flatMap((c) => [2, 3].map((resample) => ({ ...c, resample, name: `${c.name}, resample ${resample}` }))),
  )('$name', async ({ w, h, size, shortest, crop, resample }) => {
    const config: PreprocessorConfigJson = {
      ...CLIP_NORM,
      resample,
      size: shortest ? { shortest_edge: shortest } : { height: size, width: size },
      do_center_crop: crop !== undefined,
      crop_size: crop ? { height: crop, width: crop } : undefined,
    };
    const plan = planPreprocess(config);
    const img = randomImage(w, h, w * 31 + h);
    const got = await kernelPreprocess(img, plan);
    const { maxLevels, exactShare } = compareLevels(got, preprocessRgba(img, plan).data);
    // f32 on the GPU vs f64 on the CPU: only a tie at x.5 before rounding can flip a level.
    expect(maxLevels).toBeLessThanOrEqual(1.01);
    expect(exactShare).toBeGreaterThan(0.99);
    if (w === 64 && h === 64) expect(maxLevels).toBeLessThan(1e-3);
  });

  it('rejects a taps view that does not match the resized size', () => {
    const plan = planPreprocess({ ...CLIP_NORM, size: { height: 8, width: 8 } });
    const img = randomImage(16, 16, 5);
    const { jobs, spec } = pixelJobs([img], plan);
    const taps = packResampleTaps(jobs[0].tapsX, jobs[0].tapsY);
    const run = () =>
      resizeNormalize(
        gpu,
        gpu.empty('uint8', [16, 16]),
        gpu.upload('float32', [taps.data.length], taps.data),
        gpu.empty('float32', [1, 3, 8, 8]),
        {
          srcWidth: 16,
          srcHeight: 16,
          resizedHeight: 8,
          resizedWidth: 9, // taps were made for 8 columns
          top: 0,
          left: 0,
          taps: taps.layout,
          scale: spec.scale,
          shift: spec.shift,
        },
      );
    expect(run).toThrow(WebvlError);
    gpu.release();
  });
});

describe('GpuPixelPipeline (the runtime path)', () => {
  it('preprocesses a batch of differently sized images into one GPU tensor, two dispatches each', async () => {
    const device = gpu.device;
    const pool = new BufferPool(device);
    const pipelines = new PipelineCache(device);
    const pipeline = new GpuPixelPipeline({ device, features: gpu.features, pipelines, pool });
    const plan = planPreprocess({
      ...CLIP_NORM,
      size: { shortest_edge: 24 },
      do_center_crop: true,
      crop_size: { height: 24, width: 24 },
    });
    const images = [randomImage(50, 37, 1), randomImage(24, 24, 2), randomImage(31, 80, 3)];
    const { jobs, spec } = pixelJobs(images, plan);
    expect(jobs.every((j) => pipeline.fits(j))).toBe(true);
    const tensor = await pipeline.run(jobs, spec);
    expect(tensor).toBeInstanceOf(WebGpuDeviceTensor);
    expect(tensor.dims).toEqual([3, 3, 24, 24]);
    expect(pipelines.size).toBe(2); // horizontal + vertical entry points, compiled once for all images
    const host = await tensor.download();
    const want = preprocessBatch(images, plan);
    const { maxLevels, exactShare } = compareLevels(host.data as Float32Array, want.data, undefined, 24 * 24);
    expect(maxLevels).toBeLessThanOrEqual(1.01);
    expect(exactShare).toBeGreaterThan(0.99);
    tensor.dispose();
    expect(pool.inUseCount).toBe(0);
    // Only the output returns to the pool; per-image buffers (sized by the photo) are destroyed, not kept.
    expect(pool.idleCount).toBe(1);
    pool.destroy();
  });

  it('refuses images whose batch would not preprocess to one size', () => {
    const plan = planPreprocess({ ...CLIP_NORM, size: { shortest_edge: 24 } });
    expect(() => pixelJobs([randomImage(24, 24, 1), randomImage(48, 24, 2)], plan)).toThrow(WebvlError);
  });
});
