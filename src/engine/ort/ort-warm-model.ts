// The smallest useful ONNX model: one Identity node on a float tensor of one element, encoded by hand. Creating
// a session from it is how onnxruntime-web is made to initialise (fetch and compile its 27 MB binary, start its
// wasm threads or its WebGPU device) while a real model is still downloading: it has no public init call.

type Field = [num: number, value: number | string | Uint8Array];

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A protobuf message: numbers are varints (wire type 0), strings and nested messages length-delimited (2). */
function message(...fields: Field[]): Uint8Array {
  const bytes: number[] = [];
  for (const [num, value] of fields) {
    if (typeof value === 'number') {
      bytes.push(...varint(num * 8), ...varint(value));
    } else {
      const payload = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      bytes.push(...varint(num * 8 + 2), ...varint(payload.length), ...payload);
    }
  }
  return new Uint8Array(bytes);
}

const FLOAT = 1; // TensorProto.DataType.FLOAT

/** ValueInfoProto: name, type { tensor_type { elem_type: FLOAT, shape { dim { dim_value: 1 } } } }. */
function floatOfOne(name: string): Uint8Array {
  const shape = message([1, message([1, 1])]);
  return message([1, name], [2, message([1, message([1, FLOAT], [2, shape])])]);
}

/** ModelProto { ir_version 8, opset_import { version 13 }, graph { y = Identity(x) } }. */
export function identityModel(): Uint8Array {
  const node = message([1, 'x'], [2, 'y'], [4, 'Identity']);
  const graph = message([1, node], [2, 'warm-up'], [11, floatOfOne('x')], [12, floatOfOne('y')]);
  return message([1, 8], [8, message([2, 13])], [7, graph]);
}
