import { readFileSync } from 'node:fs';
import type * as protoModule from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../../src/engine/tensor';
import { type Graph, topologicalOrder } from '../../../src/engine/webgpu/ir/ir';
import { decodeModel } from '../../../src/engine/webgpu/ir/onnx-decode';
import { WebvlError } from '../../../src/errors';
import { onnx } from '../../support/onnx-proto';

const FIXTURE = readFileSync('e2e/fixtures/transformer-block/model.onnx');

function initializer(g: Graph, name: string): HostTensor {
  const t = g.initializers.get(name);
  if (!t) throw new Error(`no initializer ${name}`);
  return t;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof WebvlError ? e.code : `not a WebvlError: ${String(e)}`;
  }
  return undefined;
}

/** Encodes a one-node model whose initializers use the given TensorProto fields. */
function modelWith(tensors: protoModule.onnx.ITensorProto[]): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      node: [{ opType: 'Identity', input: [tensors[0].name as string], output: ['y'], name: 'id' }],
      initializer: tensors,
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('decodeModel', () => {
  it('decodes the transformer-block fixture: inputs with symbolic dims, initializers as typed arrays', () => {
    const g = decodeModel(FIXTURE);
    expect(g.opset).toBe(17);
    expect(g.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([
      ['x', 'float32', ['batch', 'seq', 32]],
      ['attention_mask', 'int64', ['batch', 'seq']],
    ]);
    expect(g.outputs.map((v) => v.name)).toEqual(['y']);
    expect(g.nodes.length).toBe(46);
    const wq = initializer(g, 'wq');
    expect(wq.dims).toEqual([32, 32]);
    expect(wq.data).toBeInstanceOf(Float32Array);
    // Values read by onnx.numpy_helper in Python: wq.flat[:3] and wq.flat[-1].
    const wqData = wq.data as Float32Array;
    expect(wqData[0]).toBeCloseTo(0.12339713, 7);
    expect(wqData[2]).toBeCloseTo(0.28458074, 7);
    expect(wqData[1023]).toBeCloseTo(0.14263214, 7);
    const heads = initializer(g, 'heads_shape');
    expect(Array.from(heads.data as BigInt64Array, Number)).toEqual([0, 0, 4, 8]);
    const eps = initializer(g, 'eps');
    expect((eps.data as Float32Array)[0]).toBeCloseTo(1e-5, 10);
    expect(topologicalOrder(g).length).toBe(46);
  });

  it('reads typed fields (float_data, int64_data), float16 bit patterns and external data', () => {
    const ext = new Uint8Array(16);
    new DataView(ext.buffer).setFloat32(8, 1.5, true);
    new DataView(ext.buffer).setFloat32(12, -2.25, true);
    const bytes = modelWith([
      { name: 'f', dataType: 1, dims: [2], floatData: [0.5, -3] },
      { name: 'i', dataType: 7, dims: [3], int64Data: [1, -2, 3000000000] },
      { name: 'h', dataType: 10, dims: [2], int32Data: [0x3c00, 0xc000] },
      {
        name: 'e',
        dataType: 1,
        dims: [2],
        dataLocation: 1,
        externalData: [
          { key: 'location', value: 'w.bin' },
          { key: 'offset', value: '8' },
          { key: 'length', value: '8' },
        ],
      },
    ]);
    const g = decodeModel(bytes, { 'w.bin': ext });
    expect(Array.from(initializer(g, 'f').data as Float32Array)).toEqual([0.5, -3]);
    expect(Array.from(initializer(g, 'i').data as BigInt64Array)).toEqual([1n, -2n, 3000000000n]);
    const h = initializer(g, 'h');
    expect(h.dtype).toBe('float16');
    expect(Array.from(h.data as Uint16Array)).toEqual([0x3c00, 0xc000]);
    expect(Array.from(initializer(g, 'e').data as Float32Array)).toEqual([1.5, -2.25]);
    expect(codeOf(() => decodeModel(bytes))).toBe('INVALID_MODEL'); // external file missing
  });

  it('widens bfloat16 to float32 exactly, from raw bytes and from int32_data bit patterns', () => {
    // 0x3f80 = 1, 0xc0a0 = -5, 0x3eab = 0.333984375 (1/3 truncated to 8 bits), 0x7f80 = +infinity.
    const bits = Uint16Array.of(0x3f80, 0xc0a0);
    const bytes = modelWith([
      { name: 'raw', dataType: 16, dims: [2], rawData: new Uint8Array(bits.buffer) },
      { name: 'field', dataType: 16, dims: [2], int32Data: [0x3eab, 0x7f80] },
    ]);
    const g = decodeModel(bytes);
    expect(initializer(g, 'raw').dtype).toBe('float32');
    expect(Array.from(initializer(g, 'raw').data as Float32Array)).toEqual([1, -5]);
    expect(Array.from(initializer(g, 'field').data as Float32Array)).toEqual([
      0.333984375,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('unpacks int4 / uint4 (two a byte, low nibble first) to one code a byte, from raw bytes and int32_data', () => {
    const bytes = modelWith([
      // 3 int4 values in 2 bytes: 0x9 → −7, 0x7 → 7, then 0xF → −1 (the last high nibble is padding).
      { name: 'i4', dataType: 22, dims: [3], rawData: Uint8Array.of(0x79, 0x0f) },
      { name: 'u4', dataType: 21, dims: [2, 2], int32Data: [0x3e, 0xa0] },
    ]);
    const g = decodeModel(bytes);
    expect(initializer(g, 'i4').dtype).toBe('int8');
    expect(Array.from(initializer(g, 'i4').data as Int8Array)).toEqual([-7, 7, -1]);
    expect(initializer(g, 'u4').dtype).toBe('uint8');
    expect(Array.from(initializer(g, 'u4').data as Uint8Array)).toEqual([14, 3, 0, 10]);
    const short = modelWith([{ name: 'i4', dataType: 22, dims: [5], rawData: Uint8Array.of(1, 2) }]);
    expect(codeOf(() => decodeModel(short))).toBe('INVALID_MODEL');
  });

  it("writes CastLike's target where the like input's declared type is held as another", () => {
    const castLike = (likeType: number) => {
      const model = onnx.ModelProto.create({
        irVersion: 10,
        opsetImport: [{ domain: '', version: 21 }],
        graph: {
          name: 'g',
          node: [{ opType: 'CastLike', input: ['x', 'like'], output: ['y'], name: 'c' }],
          // One value: 2 bytes of bfloat16 or float16, 1 byte of int4.
          initializer: [
            { name: 'like', dataType: likeType, dims: [1], rawData: new Uint8Array(likeType === 22 ? 1 : 2) },
          ],
          input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }],
          output: [
            { name: 'y', type: { tensorType: { elemType: likeType, shape: { dim: [{ dimValue: 2 }] } } } },
          ],
        },
      });
      return decodeModel(onnx.ModelProto.encode(model).finish()).nodes[0].attrs.to;
    };
    // bfloat16 (held as float32) and int4 (held as int8): written; float16 names its own dtype: left to inference.
    expect(castLike(16)).toEqual({ type: 'int', value: 16 });
    expect(castLike(22)).toEqual({ type: 'int', value: 22 });
    expect(castLike(10)).toBeUndefined();
  });

  it('holds wider types narrower: double as float32, int16 / uint16 / uint32 as int32, uint64 as int64', () => {
    const raw = (values: ArrayBufferView) =>
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    const bytes = modelWith([
      { name: 'd', dataType: 11, dims: [2], doubleData: [0.1, -2.5] },
      { name: 'dr', dataType: 11, dims: [2], rawData: raw(Float64Array.of(1e-3, 7)) },
      { name: 's', dataType: 5, dims: [2], rawData: raw(Int16Array.of(-300, 32767)) },
      { name: 'us', dataType: 4, dims: [2], int32Data: [65535, 2] },
      // uint32 past int32's range saturates, as int64 does on the GPU.
      { name: 'u', dataType: 12, dims: [2], rawData: raw(Uint32Array.of(4000000000, 9)) },
      { name: 'ul', dataType: 13, dims: [2], uint64Data: [5, 6] },
    ]);
    const g = decodeModel(bytes);
    const values = (name: string) => [
      initializer(g, name).dtype,
      Array.from(initializer(g, name).data as ArrayLike<number>),
    ];
    expect(values('d')).toEqual(['float32', [Math.fround(0.1), -2.5]]);
    expect(values('dr')).toEqual(['float32', [Math.fround(1e-3), 7]]);
    expect(values('s')).toEqual(['int32', [-300, 32767]]);
    expect(values('us')).toEqual(['int32', [65535, 2]]);
    expect(values('u')).toEqual(['int32', [2147483647, 9]]);
    expect(initializer(g, 'ul').dtype).toBe('int64');
    expect(Array.from(initializer(g, 'ul').data as BigInt64Array)).toEqual([5n, 6n]);
  });

  it('rejects truncated and corrupt bytes with INVALID_MODEL', () => {
    expect(codeOf(() => decodeModel(FIXTURE.subarray(0, FIXTURE.length - 100)))).toBe('INVALID_MODEL');
    const corrupt = Uint8Array.from(FIXTURE);
    for (let i = 10; i < 60; i++) corrupt[i] = 0xff;
    expect(codeOf(() => decodeModel(corrupt))).toBe('INVALID_MODEL');
    expect(codeOf(() => decodeModel(new Uint8Array([1, 2, 3])))).toBe('INVALID_MODEL');
  });

  it('rejects raw data whose length does not match the dims', () => {
    const bytes = modelWith([{ name: 'f', dataType: 1, dims: [3], rawData: new Uint8Array(8) }]);
    expect(codeOf(() => decodeModel(bytes))).toBe('INVALID_MODEL');
  });
});

describe('topologicalOrder', () => {
  const node = (name: string, inputs: string[], outputs: string[]) => ({
    name,
    opType: 'Relu',
    domain: '',
    attrs: {},
    inputs,
    outputs,
  });
  const graph = (nodes: ReturnType<typeof node>[]): Graph => ({
    nodes,
    initializers: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
    outputs: [{ name: 'z', dtype: 'float32' }],
    valueInfo: new Map(),
    opset: 17,
  });

  it('orders nodes listed out of order', () => {
    const g = graph([node('b', ['y'], ['z']), node('a', ['x'], ['y'])]);
    expect(topologicalOrder(g).map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('detects cycles and dangling reads with INVALID_MODEL', () => {
    expect(codeOf(() => topologicalOrder(graph([node('a', ['z'], ['y']), node('b', ['y'], ['z'])])))).toBe(
      'INVALID_MODEL',
    );
    expect(codeOf(() => topologicalOrder(graph([node('a', ['nope'], ['z'])])))).toBe('INVALID_MODEL');
  });
});
