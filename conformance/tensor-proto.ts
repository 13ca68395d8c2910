// TensorProto (the ONNX node tests' input_N.pb / output_N.pb) → HostTensor, with the engine's own decoder.
import { onnx } from 'onnx-proto';
import type { HostTensor } from '../src/engine/tensor';
import { tensorFromProto } from '../src/engine/webgpu/ir/onnx-decode';

/** The element types webvl models; tests of any other (double, string, complex…) count as unsupported. */
const WEBVL_TYPES = new Set<number>([
  onnx.TensorProto.DataType.FLOAT,
  onnx.TensorProto.DataType.INT32,
  onnx.TensorProto.DataType.INT64,
  onnx.TensorProto.DataType.UINT8,
  onnx.TensorProto.DataType.INT8,
  onnx.TensorProto.DataType.BOOL,
  onnx.TensorProto.DataType.FLOAT16,
]);

/** Returns null for element types outside webvl. */
export function decodeTensorProto(bytes: Uint8Array): HostTensor | null {
  const t = onnx.TensorProto.decode(bytes);
  return WEBVL_TYPES.has(t.dataType) ? tensorFromProto(t) : null;
}
