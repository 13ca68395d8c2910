import type { PixelPipeline } from './pixels';
import type { DType, Tensor } from './tensor';

/** Backends that can run an ONNX graph. `webgpu` is ours; the `ort-*` ones are onnxruntime-web. */
export type BackendName = 'webgpu' | 'ort-webgpu' | 'wasm';

export interface SessionOptions {
  /** Output names that should stay on the GPU (returned as DeviceTensor) instead of being read back. */
  keepOnDevice?: readonly string[];
  /** Free-form label used in errors and stats. */
  label?: string;
}

export interface RunStats {
  /** GPU dispatches (ours) or graph nodes executed (ORT), where the backend knows it. */
  dispatches?: number;
  /** Bytes read back to the CPU in the last run. */
  bytesRead: number;
}

/** A tensor's type and shape without its data. */
export interface TensorShape {
  readonly dtype: DType;
  readonly dims: readonly number[];
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Run the graph. Outputs named in `keepOnDevice` may come back as DeviceTensor. */
  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  /**
   * Builds what a run on inputs of these shapes needs (our engine: the plan and its compiled pipelines) without
   * running it, and says what the outputs would be. Backends that prepare on their first run omit it (or
   * resolve to undefined): run them instead.
   */
  prepare?(inputs: Readonly<Record<string, TensorShape>>): Promise<Record<string, TensorShape> | undefined>;
  /** Counters from the last run, where the backend can measure them. */
  lastRunStats(): RunStats | undefined;
  release(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Parse, validate and prepare a model. Rejects with a WebvlError (INVALID_MODEL, UNSUPPORTED_OP, …). */
  load(model: Uint8Array, options?: SessionOptions): Promise<Session>;
  /** Human-readable description of the device this backend runs on. */
  describe(): string;
  /** Image preprocessing on this backend's device, for GPU backends (undefined: the CPU does it). */
  pixelPipeline?(): Promise<PixelPipeline | undefined>;
  /**
   * Starts what the backend needs before its first load (onnxruntime-web: fetching and compiling its binary,
   * its threads or device; our engine: the device), so that it overlaps with downloading a model. Never
   * rejects: a failure shows again, typed, at load().
   */
  prepare?(): Promise<void>;
}
