// Image preprocessing on a backend's own device: what the vision side hands a GPU backend so that the model
// input is produced where the model runs (no float32 upload). The resampling taps come from the CPU path's
// filter (src/vision/preprocess.ts), so both paths compute the same thing.
import type { Tensor } from './tensor';

/** Resampling taps of one axis: output i reads inputs start[i] … start[i]+count[i]-1 with weights[i·maxTaps + k]. */
export interface ResampleTaps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array | Float32Array;
  readonly maxTaps: number;
}

/** One image: RGBA8 pixels, taps to its resized size, and the crop window into the resized image. */
export interface PixelJob {
  readonly width: number;
  readonly height: number;
  /** width·height·4 bytes, row-major RGBA. */
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly tapsX: ResampleTaps;
  readonly tapsY: ResampleTaps;
  /** [height, width] after resizing. */
  readonly resized: readonly [number, number];
  /** Offset of the output window in the resized image (negative pads with 0). */
  readonly top: number;
  readonly left: number;
}

export interface PixelBatchSpec {
  /** [height, width] of every image's output. */
  readonly output: readonly [number, number];
  /** Per channel: out = v · scale − shift for 0–255 values v. */
  readonly scale: readonly [number, number, number];
  readonly shift: readonly [number, number, number];
}

export interface PixelPipeline {
  /** Whether the image and its intermediate fit the device's buffer limits (else preprocess on the CPU). */
  fits(job: PixelJob): boolean;
  /** [N, 3, H, W] float32 pixel values, left on the device for the vision session to read. */
  run(jobs: readonly PixelJob[], spec: PixelBatchSpec): Promise<Tensor>;
}
