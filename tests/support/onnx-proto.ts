// onnx-proto's message classes, for tests that build or edit ONNX models. The package is CommonJS: Node's ESM
// loader exposes it as `default`, bundlers also as a named export.
import * as protoModule from 'onnx-proto';

type OnnxNs = typeof protoModule.onnx;

export const onnx: OnnxNs =
  (protoModule as unknown as { onnx?: OnnxNs }).onnx ??
  (protoModule as unknown as { default: { onnx: OnnxNs } }).default.onnx;

export type { protoModule };

/** A model holding `graph` (IR 8, default opset 17), encoded. */
export function encodeGraph(graph: protoModule.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }),
  ).finish();
}
