// holdsFloat16: whether a graph computes in float16 anywhere, read from the wire format (the auto selector sends
// such a graph to wasm, not onnxruntime-web's WebGPU provider, on an adapter without shader-f16).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { holdsFloat16 } from '../../src/onnx/graph-io';
import { encodeGraph, type protoModule } from '../support/onnx-proto';

const FLOAT = 1;
const FLOAT16 = 10;
const corpus = (f: string) => new Uint8Array(readFileSync(`tests/corpus/llava-random/onnx/${f}`));

/** A one-node graph with float32 input x and output y, and the given initializers. */
function graphWith(node: protoModule.onnx.INodeProto, initializer: protoModule.onnx.ITensorProto[] = []) {
  const io = (name: string) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  return encodeGraph({ name: 'g', node: [node], initializer, input: [io('x')], output: [io('y')] });
}
const tensor = (dataType: number): protoModule.onnx.ITensorProto => ({
  name: 'w',
  dataType,
  dims: [1],
  rawData: new Uint8Array(dataType === FLOAT16 ? 2 : 4),
});
const cast = (to: number) =>
  graphWith({ opType: 'Cast', input: ['x'], output: ['y'], attribute: [{ name: 'to', type: 2, i: to }] });

describe('holdsFloat16', () => {
  it("transformers.js-style float16 exports do, float32 ones do not (llava-random's graphs)", () => {
    for (const f of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
      expect(holdsFloat16(corpus(`${f}_fp16.onnx`)), f).toBe(true);
      expect(holdsFloat16(corpus(`${f}.onnx`)), f).toBe(false);
    }
  });

  it('float32 inputs and outputs, but a float16 initializer, constant, Cast, or a branch holding one', () => {
    const relu = { opType: 'Relu', input: ['x'], output: ['y'] };
    expect(holdsFloat16(graphWith(relu, [tensor(FLOAT)]))).toBe(false);
    expect(holdsFloat16(graphWith(relu, [tensor(FLOAT16)]))).toBe(true);
    expect(holdsFloat16(cast(FLOAT16))).toBe(true);
    expect(holdsFloat16(cast(FLOAT))).toBe(false);
    const constant = (t: number) =>
      graphWith({ opType: 'Constant', output: ['y'], attribute: [{ name: 'value', type: 4, t: tensor(t) }] });
    expect(holdsFloat16(constant(FLOAT16))).toBe(true);
    expect(holdsFloat16(constant(FLOAT))).toBe(false);
    const branch = (t: number) => ({ name: 'b', initializer: [tensor(t)], output: [{ name: 'w' }] });
    const ifNode = (t: number) =>
      graphWith({
        opType: 'If',
        input: ['x'],
        output: ['y'],
        attribute: [
          { name: 'then_branch', type: 5, g: branch(t) },
          { name: 'else_branch', type: 5, g: branch(FLOAT) },
        ],
      });
    expect(holdsFloat16(ifNode(FLOAT16))).toBe(true);
    expect(holdsFloat16(ifNode(FLOAT))).toBe(false);
  });

  it('bytes that are not a model say false', () => {
    expect(holdsFloat16(new Uint8Array([0xff, 0xff, 0xff]))).toBe(false);
    expect(holdsFloat16(new Uint8Array(0))).toBe(false);
  });
});
