// Test-only KernelContext: a real WebGPU device (dawn.node + SwiftShader), pipelines cached by cacheKey, every
// recorded program dispatched into one command encoder that `run()` submits. Also uploads and reads back.

import { create, globals } from 'webgpu';
import { toHalfBits } from '../../src/engine/half';
import type { DType } from '../../src/engine/tensor';
import { withPrelude } from '../../src/engine/webgpu/gpu/wgsl-prelude';
import type {
  GpuView,
  KernelContext,
  KernelFeatures,
  ProgramSpec,
} from '../../src/engine/webgpu/plan/kernel-context';

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

export type HostData = Float32Array | Int32Array;

export class TestGpu implements KernelContext {
  readonly device: GPUDevice;
  readonly features: KernelFeatures;
  /** Programs recorded since the last run (labels), so tests can assert dispatch counts. */
  readonly recorded: string[] = [];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private readonly transient: GPUBuffer[] = [];
  private readonly compileChecks: Promise<string | null>[] = [];

  /**
   * The object `create()` returned. dawn.node tears its instance down when this is garbage-collected, even while
   * a device made from it is in use (use-after-free: futex errors, hangs), so it must live as long as the device.
   */
  readonly gpu: GPU;

  private constructor(gpu: GPU, device: GPUDevice, adapter: GPUAdapter) {
    this.gpu = gpu;
    this.device = device;
    this.features = {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      maxInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      maxWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
    };
  }

  static async create(): Promise<TestGpu> {
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      throw new Error(
        'no WebGPU adapter: dawn.node needs the Vulkan loader (Debian libvulkan1) and SwiftShader (chromium)',
      );
    }
    // f16 kernels are tested wherever the adapter has shader-f16 (not SwiftShader).
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
    const device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
      },
    });
    return new TestGpu(gpu, device, adapter);
  }

  record(program: ProgramSpec): void {
    // Same key as the engine's PipelineCache: one module may have several entry points.
    const key = `${program.cacheKey}|${program.entryPoint ?? 'main'}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({
        code: withPrelude(program.wgsl),
        label: program.label,
      });
      // As the engine's PipelineCache does: no entry point named means the module's only one, so a program
      // that forgets to name one in a module of several fails here too.
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: program.entryPoint ? { module, entryPoint: program.entryPoint } : { module },
        label: program.label,
      });
      this.compileChecks.push(
        this.device.popErrorScope().then(async (err) => {
          if (!err) return null;
          const info = await module.getCompilationInfo();
          const lines = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
          return `${program.label}: ${err.message}\n${lines}`;
        }),
      );
      this.pipelines.set(key, pipeline);
    }
    const entries: GPUBindGroupEntry[] = program.bindings.map((view, binding) => ({
      binding,
      resource: { buffer: view.buffer, offset: view.offset ?? 0 },
    }));
    if (program.uniforms) {
      const ubuf = this.device.createBuffer({
        size: Math.max(16, program.uniforms.byteLength),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      this.device.queue.writeBuffer(ubuf, 0, program.uniforms);
      this.transient.push(ubuf);
      entries.push({ binding: program.bindings.length, resource: { buffer: ubuf } });
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.encoder ??= this.device.createCommandEncoder();
    const pass = this.encoder.beginComputePass({ label: program.label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = program.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.recorded.push(program.label);
  }

  scratch(dtype: DType, dims: readonly number[]): GpuView {
    return this.empty(dtype, dims);
  }

  constant(dtype: DType, dims: readonly number[], data: Float32Array | Int32Array): GpuView {
    const buffer = this.device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    buffer.unmap();
    this.transient.push(buffer);
    return { buffer, dtype, dims: [...dims] };
  }

  /**
   * Uploads host data; int dtypes are stored as i32 words, as the kernels expect; float16 values are rounded
   * to half precision and packed two per word.
   */
  upload(dtype: DType, dims: readonly number[], data: ArrayLike<number>): GpuView {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`upload: ${data.length} values for dims [${dims}]`);
    const words =
      dtype === 'float32'
        ? Float32Array.from(data)
        : dtype === 'float16'
          ? Uint16Array.from(data, toHalfBits)
          : Int32Array.from(data);
    const buffer = this.device.createBuffer({
      size: Math.max(16, Math.ceil(words.byteLength / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(
      new Uint8Array(words.buffer, words.byteOffset, words.byteLength),
    );
    buffer.unmap();
    this.transient.push(buffer);
    return { buffer, dtype, dims: [...dims] };
  }

  /** An output view filled with NaN bits, so an element a kernel forgets to write cannot pass as zero. */
  empty(dtype: DType, dims: readonly number[]): GpuView {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.upload(
      dtype,
      dims,
      dtype === 'float32' ? new Float32Array(n).fill(Number.NaN) : new Int32Array(n).fill(-7777),
    );
  }

  /** Submits everything recorded so far and waits for it. Throws on validation errors. */
  async run(): Promise<void> {
    const compileErrors = (await Promise.all(this.compileChecks.splice(0))).filter((e) => e !== null);
    if (compileErrors.length > 0) throw new Error(`pipeline creation failed:\n${compileErrors.join('\n')}`);
    this.device.pushErrorScope('validation');
    if (this.encoder) this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`WebGPU validation error: ${err.message}`);
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Runs pending work and reads a view back (f32 or i32 words by its dtype). */
  async read(view: GpuView): Promise<HostData> {
    await this.run();
    const n = view.dims.reduce((a, b) => a * b, 1);
    const bytes = Math.max(16, Math.ceil((n * 4) / 16) * 16);
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(view.buffer, view.offset ?? 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, n * 4);
    staging.unmap();
    staging.destroy();
    return view.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
  }

  /** Frees buffers made since the last call (keeps memory flat across many cases). */
  release(): void {
    // Drop work recorded but never run (a test that failed midway), so it cannot reference freed buffers.
    this.encoder = null;
    for (const b of this.transient.splice(0)) b.destroy();
    this.recorded.length = 0;
  }
}

export { rng } from '../support/random';

export function randomArray(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** Largest |a−b| / (1 + |b|) — absolute error for small values, relative for large ones. NaN mismatch → Inf. */
export function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) return Number.POSITIVE_INFINITY;
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e) / (1 + Math.abs(e));
    if (!(err <= worst)) worst = err;
  }
  return worst;
}

/** The same device presented as a software adapter, so kernels take their barrier-free variants. */
export function asSoftwareAdapter(gpu: TestGpu): KernelContext {
  return {
    device: gpu.device,
    features: { ...gpu.features, softwareAdapter: true },
    record: (program) => gpu.record(program),
    scratch: (dtype, dims) => gpu.scratch(dtype, dims),
    constant: (dtype, dims, data) => gpu.constant(dtype, dims, data),
  };
}

export { toHalfBits } from '../../src/engine/half';
