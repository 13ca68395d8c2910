// Image preprocessing on our engine's device: RGBA uploads (4 bytes a pixel, not 12 of float32), two resize
// dispatches per image, and the [N, 3, H, W] result left on the GPU as the vision session's feed.
import { WebvlError } from '../../errors';
import type { PixelBatchSpec, PixelJob, PixelPipeline } from '../pixels';
import { WebGpuDeviceTensor } from './gpu/device-tensor';
import { type PackedTapsLayout, packResampleTaps, type ResizeNormalizeParams, resizeNormalize } from './ops';
import { buildDispatches, encodeDispatches, gpuElementBytes } from './plan/dispatch';
import type { KernelContext, ProgramSpec } from './plan/kernel-context';
import { STORAGE_USAGE } from './plan/plan';
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
    // Per-request buffers (pixels, taps, the horizontal pass) are sized exactly and destroyed after submit, not
    // pooled: one huge photo must not leave a buffer of its size class behind.
    const temps: GPUBuffer[] = [];
    const buffer = (size: number, label: string): GPUBuffer => {
      const b = device.createBuffer({
        size: Math.max(4, Math.ceil(size / 4) * 4),
        usage: STORAGE_USAGE,
        label,
      });
      temps.push(b);
      return b;
    };
    const upload = (data: ArrayBufferView, label: string): GPUBuffer => {
      const b = buffer(data.byteLength, label);
      device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const programs: ProgramSpec[] = [];
    const ctx: KernelContext = {
      device,
      features,
      record: (program) => programs.push(program),
      scratch: (dtype, scratchDims) => {
        const n = scratchDims.reduce((a, b) => a * b, 1);
        return { buffer: buffer(n * gpuElementBytes(dtype), 'scratch'), dtype, dims: scratchDims };
      },
      constant: (dtype, constantDims, data) => ({
        buffer: upload(data, 'kernel constant'),
        dtype,
        dims: constantDims,
      }),
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
      const built = await buildDispatches(device, pipelines, programs);
      device.pushErrorScope('validation');
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
      for (const b of temps) b.destroy();
    }
    return new WebGpuDeviceTensor(device, out, 'float32', dims, bytes, pool);
  }
}
