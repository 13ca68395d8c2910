// TensorProto (the ONNX node tests' input_N.pb / output_N.pb) → HostTensor, with the engine's own decoder.
import { onnx } from 'onnx-proto';
import type { HostTensor } from '../src/engine/tensor';
import { tensorFromProto } from '../src/engine/webgpu/ir/onnx-decode';

/**
 * The element types webvl holds: its own, and those it holds narrower as the engine's decoder does (double and
 * bfloat16 as float32; int16, uint16, uint32 as int32; uint64 as int64), so such tests run on what a model's
 * tensors of those types become. Tests of any other (string, complex…) count as unsupported.
 */
const T = onnx.TensorProto.DataType;
const WEBVL_TYPES = new Set<number>([
  T.FLOAT,
  T.INT32,
  T.INT64,
  T.UINT8,
  T.INT8,
  T.BOOL,
  T.FLOAT16,
  T.DOUBLE,
  T.BFLOAT16,
  T.INT16,
  T.UINT16,
  T.UINT32,
  T.UINT64,
]);

/**
 * Returns null for element types outside webvl. `declared`: the graph's element type for this value; the node
 * tests store bfloat16 values as their uint16 bit patterns, so those are read back as bfloat16.
 */
export function decodeTensorProto(bytes: Uint8Array, declared?: number): HostTensor | null {
  const t = onnx.TensorProto.decode(bytes);
  if (declared === T.BFLOAT16 && t.dataType === T.UINT16) t.dataType = T.BFLOAT16;
  return WEBVL_TYPES.has(t.dataType) ? tensorFromProto(t) : null;
}
