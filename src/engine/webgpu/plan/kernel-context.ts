// The contract between the engine's executor and its kernels (src/engine/webgpu/ops/*).
// A kernel is a function that checks its views and records one or more programs; a program is
// WGSL + workgroup count + bindings (the shape of ratchet's and onnxruntime's WebGPU ops).
import type { DType } from '../../tensor';
import type { QuantLayout } from '../passes/pack-quantized';

/** A contiguous, row-major tensor in a GPU buffer. */
export interface GpuView {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Byte offset into `buffer` (multiple of the adapter's minStorageBufferOffsetAlignment). */
  readonly offset?: number;
  /**
   * A quantized matmul weight packed as passes/pack-quantized.ts lays it out (scales, zero points, 4- or 8-bit
   * codes in u32 words); `dims` are then the logical [N, K] of B.
   */
  readonly quant?: QuantLayout;
}

export interface ProgramSpec {
  /** Debug label, also counted in stats. */
  readonly label: string;
  /** Complete WGSL source (a shaders/*.wgsl file after specialization). */
  readonly wgsl: string;
  /** Identifies the compiled pipeline: same key → same pipeline, compiled once. */
  readonly cacheKey: string;
  readonly entryPoint?: string;
  readonly workgroups: readonly [number, number?, number?];
  /** Storage bindings of @group(0), in @binding order starting at 0. */
  readonly bindings: readonly GpuView[];
  /** If present, bound as a uniform buffer at @binding(bindings.length). */
  readonly uniforms?: ArrayBuffer;
}

export interface KernelFeatures {
  readonly shaderF16: boolean;
  readonly subgroups: boolean;
  readonly maxInvocationsPerWorkgroup: number;
  readonly maxWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  /**
   * The adapter is a software rasterizer (SwiftShader, WARP…: `isFallbackAdapter` or its name says so). There,
   * workgroup barriers cost far more than global-memory reads, so the engine prefers barrier-free variants
   * where it has measured them faster. Optional: absent means a hardware adapter.
   */
  readonly softwareAdapter?: boolean;
  /**
   * The session asked for f16 arithmetic (`computePrecision: 'f16'`); kernels that have an f16 form take it
   * when `shaderF16` is also true. Optional: absent means f32.
   */
  readonly f16Compute?: boolean;
}

export interface KernelContext {
  readonly device: GPUDevice;
  readonly features: KernelFeatures;
  /** Records one dispatch into the run's command encoder (pipeline from cache, bind group built here). */
  record(program: ProgramSpec): void;
  /** Scratch buffer valid for the current run only (returned to the pool when the run ends). */
  scratch(dtype: DType, dims: readonly number[]): GpuView;
  /**
   * A read-only buffer holding data the kernel computed on the host when it was recorded (e.g. Resize's
   * per-axis tap tables), as 32-bit words; it lives as long as the recorded programs.
   */
  constant(dtype: DType, dims: readonly number[], data: Float32Array | Int32Array): GpuView;
}
