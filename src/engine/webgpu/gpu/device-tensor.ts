// Our GPU-resident tensor: a pooled storage buffer that a later run (of any session on the same device)
// takes as a feed with a GPU copy, never a read-back.
import { WebvlError } from '../../../errors';
import type { DeviceTensor, DType, HostTensor } from '../../tensor';
import type { BufferPool } from './buffer-pool';
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

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool?.release(this.gpuBuffer);
  }
}
