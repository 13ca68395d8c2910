// Counts the GPU buffers alive in this page, whoever created them (our engine, onnxruntime-web, the index), by
// wrapping GPUDevice.createBuffer and GPUBuffer.destroy: leak checks read the count, benchmarks the peak bytes.
let installed = false;
let count = 0;
let bytes = 0;
let peak = 0;
const sizes = new WeakMap<GPUBuffer, number>();

export function trackGpuBuffers(): void {
  if (installed || typeof GPUDevice === 'undefined') return;
  installed = true;
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = create.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    count += 1;
    bytes += descriptor.size;
    peak = Math.max(peak, bytes);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer): undefined {
    const size = sizes.get(this);
    if (size !== undefined) {
      sizes.delete(this);
      count -= 1;
      bytes -= size;
    }
    return destroy.call(this);
  };
}

/** Buffers created since tracking began and not yet destroyed. */
export function liveGpuBuffers(): { count: number; bytes: number } {
  return { count, bytes };
}

/** Runs `f` and returns its result with the peak number of GPU bytes alive above what was alive before. */
export async function measurePeak<T>(f: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const base = bytes;
  peak = bytes;
  const result = await f();
  return { result, peakBytes: peak - base };
}
