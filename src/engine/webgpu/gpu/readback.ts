// GPU → CPU copies: a staging buffer per read, mapped after submit, converted to the host dtype.
import { toHalfBits } from '../../half';
import type { DType, HostTensor, TensorData } from '../../tensor';
import { BUFFER_COPY_DST, BUFFER_MAP_READ, MAP_MODE_READ } from './gpu-flags';

/** Turns the GPU form (f32, or one i32 per element) back into the host dtype's typed array. */
export function fromGpuData(dtype: DType, bytes: ArrayBuffer, count: number): TensorData {
  if (dtype === 'float32') return new Float32Array(bytes, 0, count).slice();
  // float16 values live as f32 on the GPU (plan.ts): rounded to halves here.
  if (dtype === 'float16') return Uint16Array.from(new Float32Array(bytes, 0, count), toHalfBits);
  const i32 = new Int32Array(bytes, 0, count);
  switch (dtype) {
    case 'int32':
      return i32.slice();
    case 'int64':
      return BigInt64Array.from(i32, (v) => BigInt(v));
    case 'int8':
      return Int8Array.from(i32);
    default: // bool and uint8
      return Uint8Array.from(i32);
  }
}

/**
 * Encodes a copy of `bytes` bytes of `source` into a fresh staging buffer; call the returned function after
 * submitting `encoder` to map it and get the tensor.
 */
export function readBack(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  source: GPUBuffer,
  bytes: number,
  dtype: DType,
  dims: readonly number[],
): () => Promise<HostTensor> {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const staging = device.createBuffer({
    size,
    usage: BUFFER_MAP_READ | BUFFER_COPY_DST,
    label: 'readback',
  });
  encoder.copyBufferToBuffer(source, 0, staging, 0, size);
  return async () => {
    await staging.mapAsync(MAP_MODE_READ);
    const count = dims.reduce((a, b) => a * b, 1);
    const data = fromGpuData(dtype, staging.getMappedRange(), count);
    staging.unmap();
    staging.destroy();
    return { location: 'cpu', dtype, dims: [...dims], data };
  };
}
