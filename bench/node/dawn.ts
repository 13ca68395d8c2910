// WebGPU in Node through Dawn (the `webgpu` package), set up the way a page sees it: `navigator.gpu` and the
// GPU* globals, so webvl's engine, onnxruntime-web's WebGPU provider and the index run unchanged.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { create, globals } from 'webgpu';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Unless the caller named a Vulkan driver (the GPU machine's script names NVIDIA's), use Chromium's
 * SwiftShader where it is installed: the browser tests' adapter, so both benchmarks measure the same one
 * (Mesa's lavapipe, also present here, lacks features Dawn needs).
 */
function chooseVulkanDriver(): void {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  if (existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

/**
 * onnxruntime-web's wasm heap is a SharedArrayBuffer in Node, and dawn.node refuses views of one in
 * writeBuffer ("Invalid argument"); a browser accepts them. Copy such views first.
 */
function acceptSharedMemoryViews(): void {
  const write = GPUQueue.prototype.writeBuffer;
  GPUQueue.prototype.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: GPUSize64,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: GPUSize64,
    size?: GPUSize64,
  ): undefined {
    const shared =
      data instanceof SharedArrayBuffer ||
      (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer);
    const own = shared ? (ArrayBuffer.isView(data) ? (data as Uint8Array).slice() : data.slice(0)) : data;
    return write.call(this, buffer, offset, own as BufferSource, dataOffset, size);
  };
}

/** The GPU entry point; kept referenced for the process's life (dawn.node tears its instance down on GC). */
let instance: GPU | undefined;

export function installNodeWebGpu(): GPU {
  if (instance) return instance;
  chooseVulkanDriver();
  Object.assign(globalThis, globals);
  // Dawn toggles, e.g. WEBVL_DAWN_FLAGS='enable-dawn-features=allow_unsafe_apis'.
  instance = create((process.env.WEBVL_DAWN_FLAGS ?? '').split(' ').filter(Boolean));
  const nav = { gpu: instance, hardwareConcurrency: cpus().length, userAgent: `Node.js ${process.version}` };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  acceptSharedMemoryViews();
  return instance;
}

export async function adapterInfo(gpu: GPU): Promise<Record<string, string | boolean | number>> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { description: 'no WebGPU adapter' };
  const i = adapter.info;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    device: i.device,
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
  };
}
