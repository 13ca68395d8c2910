// A decoder's key/value cache on the device at a fixed capacity (engine/backend.ts KvCache): one buffer per
// past input, [batch, heads, capacity, headDim]; each step's new positions are copied in with buffer copies,
// one contiguous run per (batch, head). Beam search reorders whole rows the same way, into new buffers.
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
  private rows: number;

  constructor(
    private readonly engine: EngineDevice,
    private readonly spec: KvCacheSpec,
  ) {
    const { batch, heads, headDim, capacity } = spec;
    for (const [what, n] of Object.entries({ batch, heads, headDim, capacity }))
      if (!Number.isInteger(n) || n < 1)
        throw new WebvlError('INVALID_INPUT', `KV cache ${what} must be a count, got ${n}`);
    this.rows = batch;
    for (const name of spec.names) this.buffers.set(name, this.acquire(name, batch));
  }

  get batch(): number {
    return this.rows;
  }

  get capacity(): number {
    return this.spec.capacity;
  }

  get length(): number {
    return this.filled;
  }

  pasts(): Record<string, Tensor> {
    this.check();
    const { heads, capacity, headDim } = this.spec;
    const dims = [this.rows, heads, capacity, headDim];
    const bytes = this.rowBytes() * this.rows;
    const out: Record<string, Tensor> = {};
    for (const [name, buffer] of this.buffers)
      out[name] = new WebGpuDeviceTensor(this.engine.device, buffer, 'float32', dims, bytes);
    return out;
  }

  async append(presents: Readonly<Record<string, Tensor>>, from: number, count: number): Promise<void> {
    this.check();
    const { heads, capacity, headDim } = this.spec;
    const batch = this.rows;
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

  async reorder(rows: readonly number[]): Promise<void> {
    this.check();
    if (rows.length < 1 || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= this.rows))
      throw new WebvlError(
        'INVALID_INPUT',
        `KV cache: cannot reorder ${this.rows} rows as [${rows.join(', ')}]`,
      );
    const bytes = this.rowBytes();
    const encoder = this.engine.device.createCommandEncoder({ label: 'kv reorder' });
    const next = new Map<string, GPUBuffer>();
    for (const [name, old] of this.buffers) {
      const buffer = this.acquire(name, rows.length);
      next.set(name, buffer);
      // A row is one contiguous block of [heads, capacity, headDim]; only its filled slots matter, but one copy
      // of the block is fewer commands than one per head.
      for (const [to, from] of rows.entries())
        encoder.copyBufferToBuffer(old, from * bytes, buffer, to * bytes, bytes);
    }
    this.engine.device.queue.submit([encoder.finish()]);
    // Work submitted later, whoever the pool gives these buffers to next, runs after the copies.
    for (const old of this.buffers.values()) this.engine.pool.release(old);
    this.buffers.clear();
    for (const [name, buffer] of next) this.buffers.set(name, buffer);
    this.rows = rows.length;
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

  /** Bytes of one row: [heads, capacity, headDim] float32. */
  private rowBytes(): number {
    const { heads, capacity, headDim } = this.spec;
    return heads * capacity * headDim * FLOAT_BYTES;
  }

  private acquire(name: string, rows: number): GPUBuffer {
    return this.engine.pool.acquire(rows * this.rowBytes(), STORAGE_USAGE, `kv ${name}`);
  }

  private check(): void {
    if (this.released) throw new WebvlError('NOT_LOADED', 'KV cache has been released');
  }
}
