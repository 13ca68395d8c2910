// ONNX protobuf → IR. Decoding is done by onnx-proto (protobufjs); this module only converts its
// message objects into our plain IR and typed arrays.
import * as protoModule from 'onnx-proto';
import { WebvlError } from '../../../errors';
import type { ExternalData } from '../../backend';
import { bfloat16sToFloats } from '../../half';
import type { DType, HostTensor, TensorData } from '../../tensor';
import { ONNX_TO } from './const-eval';
import type { Attr, Dim, Graph, Node, ValueInfo } from './ir';

type OnnxNs = typeof protoModule.onnx;
// onnx-proto is CommonJS: Node's ESM loader exposes it as `default`, bundlers also as a named export.
const onnx: OnnxNs =
  (protoModule as unknown as { onnx?: OnnxNs }).onnx ??
  (protoModule as unknown as { default: { onnx: OnnxNs } }).default.onnx;

type LongLike = number | { toNumber(): number; toString(): string };

/**
 * Element types the engine holds narrower than the file does (WebGPU has no f64, and the kernels hold integers
 * in i32 words): each source type's width, the typed array of its raw bytes and of its typed field, and what it
 * becomes. Doubles and bfloat16 become float32 (bfloat16 exactly); 16-bit and uint32 integers int32, uint64
 * int64 (the values must fit, as int64's must fit i32 on the GPU: larger ones saturate).
 */
interface Narrowed {
  readonly width: number;
  readonly raw: (bytes: ArrayBuffer) => ArrayLike<number> | BigUint64Array;
  readonly field: (t: protoModule.onnx.ITensorProto) => ArrayLike<number | LongLike>;
}
const NARROWED: Readonly<Record<number, Narrowed>> = {
  11: { width: 8, raw: (b) => new Float64Array(b), field: (t) => t.doubleData ?? [] },
  // bfloat16 bit patterns travel in int32_data, as float16's do.
  16: {
    width: 2,
    raw: (b) => bfloat16sToFloats(new Uint16Array(b)),
    field: (t) => bfloat16sToFloats(t.int32Data ?? []),
  },
  5: { width: 2, raw: (b) => new Int16Array(b), field: (t) => t.int32Data ?? [] },
  4: { width: 2, raw: (b) => new Uint16Array(b), field: (t) => t.int32Data ?? [] },
  12: { width: 4, raw: (b) => new Uint32Array(b), field: (t) => (t.uint64Data ?? []) as LongLike[] },
  13: { width: 8, raw: (b) => new BigUint64Array(b), field: (t) => (t.uint64Data ?? []) as LongLike[] },
};

/** Values of a narrowed type as the dtype that holds them. */
function narrowedData(dtype: DType, values: ArrayLike<number | bigint | LongLike>): TensorData {
  const n = values.length;
  // bfloat16 arrives widened already: no second pass over a large table.
  if (values instanceof Float32Array) return values;
  if (dtype === 'float32') return Float32Array.from({ length: n }, (_, i) => Number(values[i]));
  if (dtype === 'int64') return BigInt64Array.from({ length: n }, (_, i) => saturate64(values[i]));
  return Int32Array.from({ length: n }, (_, i) => Math.min(2147483647, Number(toPlain(values[i]))));
}

function toPlain(v: number | bigint | LongLike): number | bigint {
  return typeof v === 'number' || typeof v === 'bigint' ? v : BigInt(v.toString());
}

function saturate64(v: number | bigint | LongLike): bigint {
  const b = BigInt(toPlain(v));
  return b > 9223372036854775807n ? 9223372036854775807n : b;
}

function toNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  if (!Number.isSafeInteger(n)) return Number(v.toString());
  return n;
}

function toBigInt(v: LongLike): bigint {
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

function invalid(message: string, details?: Record<string, unknown>): WebvlError {
  return new WebvlError('INVALID_MODEL', message, details);
}

/**
 * 4-bit integers (opset 21's UINT4 = 21, INT4 = 22), two a byte in the file, low nibble first: held one a byte,
 * as uint8 / int8, so the kernels and the folding read ordinary codes (pack-quantized.ts packs them back to
 * nibbles for the matmul kernels).
 */
const NIBBLES: Readonly<Record<number, { dtype: 'uint8' | 'int8'; signed: boolean }>> = {
  21: { dtype: 'uint8', signed: false },
  22: { dtype: 'int8', signed: true },
};

/** `count` 4-bit values from their packed bytes, sign-extended for INT4. */
function unpackNibbles(bytes: ArrayLike<number>, count: number, signed: boolean, name: string): TensorData {
  if (bytes.length !== Math.ceil(count / 2)) {
    throw invalid(
      `tensor '${name}': ${bytes.length} bytes of 4-bit data, its dims need ${Math.ceil(count / 2)}`,
    );
  }
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const nibble = (bytes[i >> 1] >> ((i & 1) * 4)) & 15;
    out[i] = signed && nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}

export function onnxDType(code: number, what: string): DType {
  const dtype = ONNX_TO[code] ?? NIBBLES[code]?.dtype;
  if (dtype === undefined) {
    // TensorProto.DataType runs from 1 (FLOAT) to 23 (FLOAT4E2M1): anything else is a corrupt file.
    if (!(Number.isInteger(code) && code >= 1 && code <= 23)) {
      throw invalid(`${what}: ${code} is not an ONNX data type`, { dataType: code });
    }
    throw new WebvlError('UNSUPPORTED_MODEL', `${what}: ONNX data type ${code} is not supported`, {
      dataType: code,
    });
  }
  return dtype;
}

const BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  int8: 1,
  bool: 1,
};

function lookupExternal(external: ExternalData | undefined, file: string): Uint8Array | undefined {
  if (!external) return undefined;
  if (external instanceof Map) return external.get(file);
  return (external as Readonly<Record<string, Uint8Array>>)[file];
}

/** Typed array of `dtype` over a copy of `bytes` (copied so the view is aligned and owns its memory). */
function fromBytes(
  dtype: DType,
  bytes: Uint8Array,
  count: number,
  name: string,
  narrowed: Narrowed | undefined,
): TensorData {
  const width = narrowed ? narrowed.width : BYTES[dtype];
  if (bytes.byteLength !== count * width) {
    throw invalid(`tensor '${name}': ${bytes.byteLength} bytes of data, its dims need ${count * width}`);
  }
  // Copy into a fresh ArrayBuffer: raw_data may be an unaligned view into the model bytes (Node's
  // Buffer.slice would even share memory).
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  const copy = own.buffer;
  if (narrowed) return narrowedData(dtype, narrowed.raw(copy));
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy);
    case 'float16':
      return new Uint16Array(copy);
    case 'int32':
      return new Int32Array(copy);
    case 'int64':
      return new BigInt64Array(copy);
    case 'int8':
      return new Int8Array(copy);
    default:
      return new Uint8Array(copy);
  }
}

function fromTypedFields(
  dtype: DType,
  t: protoModule.onnx.ITensorProto,
  count: number,
  narrowed: Narrowed | undefined,
): TensorData {
  const name = t.name ?? '';
  let data: TensorData;
  if (narrowed) data = narrowedData(dtype, narrowed.field(t));
  else {
    switch (dtype) {
      case 'float32':
        data = Float32Array.from(t.floatData ?? []);
        break;
      case 'int64':
        data = BigInt64Array.from((t.int64Data ?? []) as LongLike[], toBigInt);
        break;
      case 'int32':
        data = Int32Array.from(t.int32Data ?? []);
        break;
      case 'float16': // float16 bit patterns travel in int32_data
        data = Uint16Array.from(t.int32Data ?? []);
        break;
      case 'int8':
        data = Int8Array.from(t.int32Data ?? []);
        break;
      default:
        data = Uint8Array.from(t.int32Data ?? []);
    }
  }
  if (data.length !== count) {
    throw invalid(`tensor '${name}': ${data.length} values, its dims need ${count}`);
  }
  return data;
}

export function tensorFromProto(t: protoModule.onnx.ITensorProto, external?: ExternalData): HostTensor {
  const name = t.name ?? '';
  const code = t.dataType ?? 0;
  const dtype = onnxDType(code, `tensor '${name}'`);
  const narrowed = NARROWED[code];
  const dims = (t.dims ?? []).map((d) => toNumber(d as LongLike));
  if (dims.some((d) => d < 0 || !Number.isSafeInteger(d)))
    throw invalid(`tensor '${name}': bad dims [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  const nibbles = NIBBLES[code];
  let data: TensorData;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const file = entries.get('location') ?? '';
    const bytes = lookupExternal(external, file);
    if (!bytes) {
      throw invalid(`tensor '${name}' lives in external file '${file}', which was not provided`, { file });
    }
    const offset = Number(entries.get('offset') ?? '0');
    const length = entries.has('length') ? Number(entries.get('length')) : bytes.byteLength - offset;
    if (offset < 0 || length < 0 || offset + length > bytes.byteLength) {
      throw invalid(
        `tensor '${name}': external range ${offset}+${length} is outside '${file}' (${bytes.byteLength} bytes)`,
      );
    }
    const range = bytes.subarray(offset, offset + length);
    data = nibbles
      ? unpackNibbles(range, count, nibbles.signed, name)
      : fromBytes(dtype, range, count, name, narrowed);
  } else if (t.rawData && t.rawData.byteLength > 0) {
    data = nibbles
      ? unpackNibbles(t.rawData, count, nibbles.signed, name)
      : fromBytes(dtype, t.rawData, count, name, narrowed);
  } else if (nibbles) {
    // int32_data holds the packed bytes, one a field.
    data = unpackNibbles(t.int32Data ?? [], count, nibbles.signed, name);
  } else {
    data = fromTypedFields(dtype, t, count, narrowed);
  }
  return { location: 'cpu', dtype, dims, data };
}

const utf8 = new TextDecoder();

function attrFromProto(
  a: protoModule.onnx.IAttributeProto,
  opset: number,
  external?: ExternalData,
): Attr | undefined {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.GRAPH:
      // Loop/Scan bodies have untyped inputs and stay unsupported; If branches are what the engine reads.
      try {
        return a.g ? { type: 'graph', value: decodeGraph(a.g, opset, external) } : undefined;
      } catch {
        return undefined;
      }
    case T.INT:
      return { type: 'int', value: toNumber(a.i as LongLike) };
    case T.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case T.STRING:
      return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case T.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => toNumber(v as LongLike)) };
    case T.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case T.TENSOR:
      return a.t ? { type: 'tensor', value: tensorFromProto(a.t, external) } : undefined;
    default:
      // Sparse, type and graph-list attributes are not representable; ops using them are unsupported.
      return undefined;
  }
}

function valueInfoFromProto(v: protoModule.onnx.IValueInfoProto): ValueInfo | undefined {
  const tt = v.type?.tensorType;
  if (!v.name || !tt) return undefined;
  const dtype = onnxDType(tt.elemType ?? 0, `value '${v.name}'`);
  if (!tt.shape) return { name: v.name, dtype };
  const shape: Dim[] = (tt.shape.dim ?? []).map((d, i) => {
    if (d.dimParam) return d.dimParam;
    // protobufjs sets only fields present on the wire as own properties; an absent dim is unknown.
    if (Object.hasOwn(d, 'dimValue') && d.dimValue !== null) return toNumber(d.dimValue as LongLike);
    return `${v.name}:${i}`;
  });
  return { name: v.name, dtype, shape };
}

/** Turns `Constant` nodes into initializers, so passes only ever see one kind of constant. */
function constantValue(n: Node): HostTensor | undefined {
  const a = n.attrs;
  const v = a.value;
  if (v?.type === 'tensor') return v.value;
  const f = a.value_float;
  if (f?.type === 'float')
    return { location: 'cpu', dtype: 'float32', dims: [], data: Float32Array.of(f.value) };
  const fs = a.value_floats;
  if (fs?.type === 'floats')
    return { location: 'cpu', dtype: 'float32', dims: [fs.value.length], data: Float32Array.from(fs.value) };
  const i = a.value_int;
  if (i?.type === 'int')
    return { location: 'cpu', dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(i.value)) };
  const is = a.value_ints;
  if (is?.type === 'ints') {
    return {
      location: 'cpu',
      dtype: 'int64',
      dims: [is.value.length],
      data: BigInt64Array.from(is.value, BigInt),
    };
  }
  return undefined;
}

/**
 * Decodes ONNX model bytes into the IR. Truncated or corrupt bytes, and graphs that are not well formed,
 * reject with INVALID_MODEL; data types we cannot hold reject with UNSUPPORTED_MODEL.
 */
export function decodeModel(bytes: Uint8Array, external?: ExternalData): Graph {
  let model: protoModule.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw invalid(`not a valid ONNX model: ${e instanceof Error ? e.message : String(e)}`);
  }
  const g = model.graph;
  if (!g || ((g.node ?? []).length === 0 && (g.output ?? []).length === 0)) {
    throw invalid('ONNX model has no graph');
  }
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? toNumber(opsetEntry.version as LongLike) : 0;

  return decodeGraph(g, opset, external);
}

/** One graph: the model's, or a subgraph (an If branch, whose inputs are empty). */
function decodeGraph(g: protoModule.onnx.IGraphProto, opset: number, external?: ExternalData): Graph {
  const initializers = new Map<string, HostTensor>();
  for (const t of g.initializer ?? []) {
    if (!t.name) throw invalid('initializer without a name');
    initializers.set(t.name, tensorFromProto(t, external));
  }

  const nodes: Node[] = [];
  (g.node ?? []).forEach((n, index) => {
    const attrs: Record<string, Attr> = {};
    for (const a of n.attribute ?? []) {
      const value = attrFromProto(a, opset, external);
      if (a.name && value) attrs[a.name] = value;
    }
    const node: Node = {
      name: n.name || `${n.opType ?? 'node'}_${index}`,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      attrs,
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
    };
    if (!node.opType) throw invalid(`node ${index} has no op type`);
    if (node.opType === 'Constant' && node.domain === '') {
      const value = constantValue(node);
      if (!value) throw invalid(`Constant node '${node.name}' has no value attribute we can read`);
      initializers.set(node.outputs[0], value);
      return;
    }
    nodes.push(node);
  });

  const convert = (list: protoModule.onnx.IValueInfoProto[] | null | undefined, what: string): ValueInfo[] =>
    (list ?? []).map((v) => {
      const info = valueInfoFromProto(v);
      if (!info) throw invalid(`graph ${what} '${v.name ?? '?'}' is not a typed tensor`);
      return info;
    });
  const inputs = convert(g.input, 'input').filter((v) => !initializers.has(v.name));
  const outputs = convert(g.output, 'output');
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.valueInfo ?? []) {
    const info = valueInfoFromProto(v);
    if (info) valueInfo.set(info.name, info);
  }
  declaredTypeAttrs(g, nodes);
  return { nodes, initializers, inputs, outputs, valueInfo, opset };
}

/**
 * What the decoded dtypes no longer tell, written on the nodes that depend on it:
 * - CastLike casts to the declared type of its second input. Where that type is held as another (bfloat16 as
 *   float32, int16 as int32, int4 as int8), its code is written on the node as `to`; passes/cast-like.ts fills
 *   in every other target from inferred dtypes.
 * - GatherBlockQuantized reads int4 / uint4 data (held one code a byte) differently from uint8 data (two codes
 *   a byte): the data's type code is written as `data_type`.
 */
function declaredTypeAttrs(g: protoModule.onnx.IGraphProto, nodes: Node[]): void {
  const declared = new Map<string, number>();
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    const code = v.type?.tensorType?.elemType;
    if (v.name && code) declared.set(v.name, code);
  }
  for (const t of g.initializer ?? []) if (t.name && t.dataType) declared.set(t.name, t.dataType);
  for (const n of g.node ?? []) {
    const value = n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
    if (value?.dataType && n.output?.[0]) declared.set(n.output[0], value.dataType);
  }
  for (const node of nodes) {
    if (node.domain === 'com.microsoft' && node.opType === 'GatherBlockQuantized') {
      const code = declared.get(node.inputs[0]);
      if (code === undefined) delete node.attrs.data_type;
      else node.attrs.data_type = { type: 'int', value: code };
    }
    const isOnnx = node.domain === '' || node.domain === 'ai.onnx';
    if (isOnnx && node.opType === 'Cast' && node.attrs.to?.type === 'int')
      declared.set(node.outputs[0], node.attrs.to.value);
    if (!isOnnx || node.opType !== 'CastLike') continue;
    const code = declared.get(node.inputs[1]);
    // int4 / uint4 targets too: load() refuses those casts (their holders' dtypes would cast to 8 bits).
    if (code !== undefined && (NARROWED[code] || NIBBLES[code])) {
      node.attrs.to = { type: 'int', value: code };
      declared.set(node.outputs[0], code);
    } else delete node.attrs.to;
  }
}
