// A decoder's key/value cache on the device at a fixed capacity (engine/backend.ts KvCache): one buffer per
// past input, [batch, heads, capacity, headDim]; each step's new positions are copied in with buffer copies,
// one contiguous run per (batch, head).
import { WebvlError } from '../../../errors';
import type { KvCache, KvCacheSpec } from '../../backend';
import type { Tensor } from '../../tensor';
import { STORAGE_USAGE } from '../plan/plan';
import type { EngineDevice } from '../session';
import { WebGpuDeviceTensor } from './device-tensor';

const FLOAT_BYTES = 4;

/** A buffer of [rows, slots, width] float32 values, and a position among its slots. */
interface Positions {
  readonly buffer: GPUBuffer;
  readonly slots: number;
  readonly at: number;
}

/** Copies `count` positions of every row from `src` (starting at src.at) to `dst` (at dst.at): one copy a row. */
export function copyPositions(
  encoder: GPUCommandEncoder,
  src: Positions,
  dst: Positions,
  { rows, count, width }: { rows: number; count: number; width: number },
): void {
  if (count === 0) return;
  for (let row = 0; row < rows; row++)
    encoder.copyBufferToBuffer(
      src.buffer,
      (row * src.slots + src.at) * width * FLOAT_BYTES,
      dst.buffer,
      (row * dst.slots + dst.at) * width * FLOAT_BYTES,
      count * width * FLOAT_BYTES,
    );
}

export class GpuKvCache implements KvCache {
  private readonly buffers = new Map<string, GPUBuffer>();
  private filled = 0;
  private released = false;

  constructor(
    private readonly engine: EngineDevice,
    private readonly spec: KvCacheSpec,
  ) {
    const { batch, heads, headDim, capacity } = spec;
    for (const [what, n] of Object.entries({ batch, heads, headDim, capacity }))
      if (!Number.isInteger(n) || n < 1)
        throw new WebvlError('INVALID_INPUT', `KV cache ${what} must be a count, got ${n}`);
    const bytes = batch * heads * capacity * headDim * FLOAT_BYTES;
    for (const name of spec.names)
      this.buffers.set(name, engine.pool.acquire(bytes, STORAGE_USAGE, `kv ${name}`));
  }

  get capacity(): number {
    return this.spec.capacity;
  }

  get length(): number {
    return this.filled;
  }

  pasts(): Record<string, Tensor> {
    this.check();
    const { batch, heads, capacity, headDim } = this.spec;
    const dims = [batch, heads, capacity, headDim];
    const bytes = batch * heads * capacity * headDim * FLOAT_BYTES;
    const out: Record<string, Tensor> = {};
    for (const [name, buffer] of this.buffers)
      out[name] = new WebGpuDeviceTensor(this.engine.device, buffer, 'float32', dims, bytes);
    return out;
  }

  async append(presents: Readonly<Record<string, Tensor>>, from: number, count: number): Promise<void> {
    this.check();
    const { batch, heads, capacity, headDim } = this.spec;
    if (this.filled + count > capacity)
      throw new WebvlError(
        'INVALID_INPUT',
        `KV cache: ${this.filled} + ${count} positions exceed its capacity ${capacity}`,
      );
    const encoder = this.engine.device.createCommandEncoder({ label: 'kv append' });
    for (const [name, cache] of this.buffers) {
      const present = presents[name];
      if (!(present instanceof WebGpuDeviceTensor))
        throw new WebvlError('INTERNAL', `KV cache: present tensor for '${name}' is not on this device`);
      const [b, h, total, d] = present.dims;
      if (b !== batch || h !== heads || d !== headDim || from + count > total)
        throw new WebvlError(
          'INVALID_MODEL',
          `KV cache: present '${name}' is [${present.dims}], expected [${batch}, ${heads}, ≥${from + count}, ${headDim}]`,
        );
      copyPositions(
        encoder,
        { buffer: present.buffer, slots: total, at: from },
        { buffer: cache, slots: capacity, at: this.filled },
        { rows: batch * heads, count, width: headDim },
      );
    }
    this.engine.device.queue.submit([encoder.finish()]);
    this.filled += count;
  }

  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.filled)
      throw new WebvlError(
        'INVALID_INPUT',
        `KV cache: cannot truncate ${this.filled} positions to ${length}`,
      );
    this.filled = length;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const b of this.buffers.values()) this.engine.pool.release(b);
    this.buffers.clear();
  }

  private check(): void {
    if (this.released) throw new WebvlError('NOT_LOADED', 'KV cache has been released');
  }
}
