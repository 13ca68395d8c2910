// GPU buffers recycled by size class: plans take their intermediates from here and give them back when
// evicted; GPU-resident outputs return here on dispose().

/** Sizes round up to a power of two (min 256 B), so buffers of similar sizes are interchangeable. */
export function sizeClass(bytes: number): number {
  let size = 256;
  while (size < bytes) size *= 2;
  return size;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  private created = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${usage}:${size}`;
    const buffer = this.free.get(key)?.pop() ?? this.create(size, usage, label);
    this.live.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return; // double release or foreign buffer: ignore
    const key = `${buffer.usage}:${buffer.size}`;
    const list = this.free.get(key);
    if (list) list.push(buffer);
    else this.free.set(key, [buffer]);
  }

  /** Buffers created so far (tests use it to check reuse). */
  get createdCount(): number {
    return this.created;
  }

  /** Buffers handed out and not yet released (tests check it returns to 0: nothing leaks). */
  get inUseCount(): number {
    return this.live.size;
  }

  /** Buffers kept for reuse: alive on the device by design, destroyed with the pool. */
  get idleCount(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.live) b.destroy();
    this.free.clear();
    this.live.clear();
  }

  private create(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    this.created++;
    return this.device.createBuffer({ size, usage, label });
  }
}
