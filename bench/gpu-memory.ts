// Counts the bytes of GPU buffers alive in this page, whichever engine created them, so every row can report
// the peak it added over its start (buffers still alive at the end of a row are released by the engines).
let live = 0;
let peak = 0;
const sizes = new WeakMap<GPUBuffer, number>();

export function trackGpuMemory(): void {
  if (typeof GPUDevice === 'undefined') return;
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = create.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    live += descriptor.size;
    peak = Math.max(peak, live);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function (this: GPUBuffer): undefined {
    const size = sizes.get(this);
    if (size !== undefined) {
      sizes.delete(this);
      live -= size;
    }
    return destroy.call(this);
  };
}

/** Runs `f` and returns its result with the peak number of GPU bytes alive above what was alive before. */
export async function measurePeak<T>(f: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const base = live;
  peak = live;
  const result = await f();
  return { result, peakBytes: peak - base };
}
