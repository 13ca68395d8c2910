// TensorProto (the ONNX node tests' input_N.pb / output_N.pb) → HostTensor.
import { onnx } from 'onnx-proto';
import { type DType, type HostTensor, hostTensor, type TensorData } from '../src/engine/tensor';

const DTYPES: Partial<Record<number, DType>> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.INT32]: 'int32',
  [onnx.TensorProto.DataType.INT64]: 'int64',
  [onnx.TensorProto.DataType.UINT8]: 'uint8',
  [onnx.TensorProto.DataType.INT8]: 'int8',
  [onnx.TensorProto.DataType.BOOL]: 'bool',
  [onnx.TensorProto.DataType.FLOAT16]: 'float16',
};

function longToNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/** Returns null for dtypes webvl does not model (double, string, complex…). */
export function decodeTensorProto(bytes: Uint8Array): HostTensor | null {
  const t = onnx.TensorProto.decode(bytes);
  const dtype = DTYPES[t.dataType];
  if (!dtype) return null;
  const dims = t.dims.map(longToNumber);
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData.slice().buffer as ArrayBuffer;
    const views: Record<DType, (b: ArrayBuffer) => TensorData> = {
      float32: (b) => new Float32Array(b),
      int32: (b) => new Int32Array(b),
      int64: (b) => new BigInt64Array(b),
      uint8: (b) => new Uint8Array(b),
      int8: (b) => new Int8Array(b),
      bool: (b) => new Uint8Array(b),
      float16: (b) => new Uint16Array(b),
    };
    return hostTensor(dtype, dims, views[dtype](raw));
  }
  switch (dtype) {
    case 'float32':
      return hostTensor(dtype, dims, Float32Array.from(t.floatData));
    case 'int64':
      return hostTensor(
        dtype,
        dims,
        BigInt64Array.from(t.int64Data, (v) => BigInt(longToNumber(v))),
      );
    default:
      return hostTensor(dtype, dims, Array.from(t.int32Data));
  }
}
