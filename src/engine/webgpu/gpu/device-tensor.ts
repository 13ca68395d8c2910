// Our GPU-resident tensor: a pooled storage buffer that a later run (of any session on the same device)
// takes as a feed with a GPU copy, never a read-back.
import { WebvlError } from '../../../errors';
import type { DeviceTensor, DType, HostTensor } from '../../tensor';
import type { BufferPool } from './buffer-pool';
import { BUFFER_COPY_DST, BUFFER_COPY_SRC, BUFFER_STORAGE } from './gpu-flags';
import { readBack } from './readback';

export class WebGpuDeviceTensor implements DeviceTensor {
  readonly location = 'gpu';
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    private readonly gpuBuffer: GPUBuffer,
    readonly dtype: DType,
    readonly dims: readonly number[],
    /** Bytes of valid data at the start of the buffer. */
    readonly bytes: number,
    /** Where the buffer goes back on dispose; none for views of a buffer someone else owns (a KV cache). */
    private readonly pool?: BufferPool,
  ) {}

  get buffer(): GPUBuffer {
    if (this.disposed) throw new WebvlError('INVALID_INPUT', 'this GPU tensor has been disposed');
    return this.gpuBuffer;
  }

  async download(): Promise<HostTensor> {
    const encoder = this.device.createCommandEncoder();
    const pending = readBack(this.device, encoder, this.buffer, this.bytes, this.dtype, this.dims);
    this.device.queue.submit([encoder.finish()]);
    return pending();
  }

  /** Byte copies into one pooled buffer: contiguous [1, s, …] pieces follow each other along axis 1. */
  gatherRows(rows: readonly number[]): WebGpuDeviceTensor | undefined {
    const pool = this.pool;
    const [batch] = this.dims;
    if (!pool || !batch || rows.length === 0 || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= batch))
      return undefined;
    const rowBytes = this.bytes / batch;
    if (rowBytes % 4 !== 0) return undefined; // buffer copies move whole words
    const buffer = pool.acquire(
      Math.max(4, rows.length * rowBytes),
      BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST,
      'gathered rows',
    );
    const encoder = this.device.createCommandEncoder({ label: 'gather rows' });
    if (rowBytes > 0)
      for (const [i, r] of rows.entries())
        encoder.copyBufferToBuffer(this.buffer, r * rowBytes, buffer, i * rowBytes, rowBytes);
    this.device.queue.submit([encoder.finish()]);
    return new WebGpuDeviceTensor(
      this.device,
      buffer,
      this.dtype,
      [rows.length, ...this.dims.slice(1)],
      rows.length * rowBytes,
      pool,
    );
  }

  joinSequence(rest: readonly DeviceTensor[]): WebGpuDeviceTensor | undefined {
    const parts = [this, ...rest];
    const pool = this.pool;
    if (!pool || !parts.every((t) => t instanceof WebGpuDeviceTensor && t.device === this.device))
      return undefined;
    const tensors = parts as WebGpuDeviceTensor[];
    if (tensors.some((t) => t.bytes % 4 !== 0)) return undefined; // buffer copies move whole words
    const bytes = tensors.reduce((n, t) => n + t.bytes, 0);
    const buffer = pool.acquire(
      Math.max(4, bytes),
      BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST,
      'joined sequence',
    );
    const encoder = this.device.createCommandEncoder({ label: 'join sequence' });
    let at = 0;
    for (const t of tensors) {
      if (t.bytes > 0) encoder.copyBufferToBuffer(t.buffer, 0, buffer, at, t.bytes);
      at += t.bytes;
    }
    this.device.queue.submit([encoder.finish()]);
    const length = tensors.reduce((n, t) => n + t.dims[1], 0);
    return new WebGpuDeviceTensor(
      this.device,
      buffer,
      this.dtype,
      [1, length, ...this.dims.slice(2)],
      bytes,
      pool,
    );
  }

  reshaped(dims: readonly number[]): WebGpuDeviceTensor | undefined {
    if (dims.reduce((n, d) => n * d, 1) !== this.dims.reduce((n, d) => n * d, 1)) return undefined;
    const buffer = this.buffer;
    this.disposed = true; // the buffer goes with the new tensor, back to the pool when that is disposed
    return new WebGpuDeviceTensor(this.device, buffer, this.dtype, [...dims], this.bytes, this.pool);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool?.release(this.gpuBuffer);
  }
}
