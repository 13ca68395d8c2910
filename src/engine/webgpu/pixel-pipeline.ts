// Image preprocessing on our engine's device: RGBA uploads (4 bytes a pixel, not 12 of float32), two resize
// dispatches per image, and the [N, 3, H, W] result left on the GPU as the vision session's feed.
import { WebvlError } from '../../errors';
import type { PixelBatchSpec, PixelJob, PixelPipeline } from '../pixels';
import { WebGpuDeviceTensor } from './device-tensor';
import { buildDispatches, encodeDispatches, gpuElementBytes } from './dispatch';
import type { KernelContext, ProgramSpec } from './kernel-context';
import { type PackedTapsLayout, packResampleTaps, type ResizeNormalizeParams, resizeNormalize } from './ops';
import { STORAGE_USAGE } from './plan';
import type { EngineDevice } from './session';

/** The kernel's parameters for one image of a batch. */
export function resizeParams(
  job: PixelJob,
  spec: PixelBatchSpec,
  taps: PackedTapsLayout,
  batchIndex = 0,
): ResizeNormalizeParams {
  return {
    srcWidth: job.width,
    srcHeight: job.height,
    resizedHeight: job.resized[0],
    resizedWidth: job.resized[1],
    top: job.top,
    left: job.left,
    taps,
    scale: spec.scale,
    shift: spec.shift,
    batchIndex,
  };
}

export class GpuPixelPipeline implements PixelPipeline {
  constructor(private readonly engine: EngineDevice) {}

  fits(job: PixelJob): boolean {
    const limit = this.engine.device.limits.maxStorageBufferBindingSize;
    return job.width * job.height * 4 <= limit && 3 * job.height * job.resized[1] * 4 <= limit;
  }

  async run(jobs: readonly PixelJob[], spec: PixelBatchSpec): Promise<WebGpuDeviceTensor> {
    const { device, pool, pipelines, features } = this.engine;
    const dims = [jobs.length, 3, spec.output[0], spec.output[1]];
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    const out = pool.acquire(bytes, STORAGE_USAGE, 'pixel_values');
    const temps: GPUBuffer[] = [];
    const upload = (data: ArrayBufferView, label: string): GPUBuffer => {
      const buffer = pool.acquire(data.byteLength, STORAGE_USAGE, label);
      temps.push(buffer);
      device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return buffer;
    };
    const programs: ProgramSpec[] = [];
    const ctx: KernelContext = {
      device,
      features,
      record: (program) => programs.push(program),
      scratch: (dtype, scratchDims) => {
        const n = scratchDims.reduce((a, b) => a * b, 1);
        const buffer = pool.acquire(Math.max(4, n * gpuElementBytes(dtype)), STORAGE_USAGE, 'scratch');
        temps.push(buffer);
        return { buffer, dtype, dims: scratchDims };
      },
    };
    try {
      jobs.forEach((job, batchIndex) => {
        if (!this.fits(job)) {
          throw new WebvlError(
            'BAD_IMAGE',
            `a ${job.width}×${job.height} image exceeds this GPU's buffer limit`,
          );
        }
        const taps = packResampleTaps(job.tapsX, job.tapsY);
        resizeNormalize(
          ctx,
          { buffer: upload(job.data, 'image'), dtype: 'uint8', dims: [job.height, job.width] },
          { buffer: upload(taps.data, 'taps'), dtype: 'float32', dims: [taps.data.length] },
          { buffer: out, dtype: 'float32', dims },
          resizeParams(job, spec, taps.layout, batchIndex),
        );
      });
      device.pushErrorScope('validation');
      const built = await buildDispatches(device, pipelines, programs);
      const encoder = device.createCommandEncoder({ label: 'preprocess' });
      encodeDispatches(encoder, built.dispatches);
      device.queue.submit([encoder.finish()]);
      // Destroying or reusing buffers after submit is safe: queued work keeps its own references.
      built.uniformBuffer?.destroy();
      const error = await device.popErrorScope();
      if (error) throw new WebvlError('INTERNAL', `preprocess: GPU validation error: ${error.message}`);
    } catch (e) {
      pool.release(out);
      throw e;
    } finally {
      for (const b of temps) pool.release(b);
    }
    return new WebGpuDeviceTensor(device, out, 'float32', dims, bytes, pool);
  }
}
