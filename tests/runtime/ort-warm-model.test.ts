import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { identityModel } from '../../src/engine/ort/ort-warm-model';
import { decodeModel } from '../../src/engine/webgpu/ir/onnx-decode';
import { graphIo } from '../../src/onnx/graph-io';

describe('identityModel (hand-encoded ONNX)', () => {
  it('decodes with onnx-proto to y = Identity(x) on float[1], opset 13', () => {
    const g = decodeModel(identityModel());
    expect(g.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([['Identity', ['x'], ['y']]]);
    expect(g.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([['x', 'float32', [1]]]);
    expect(g.outputs.map((v) => v.name)).toEqual(['y']);
    expect(g.opset).toBe(13);
    const io = graphIo(identityModel());
    expect(io && [...io.inputs]).toEqual([['x', [1]]]);
    expect(io && [...io.outputs]).toEqual([['y', [1]]]);
  });

  it('onnxruntime (wasm, in Node) loads and runs it', async () => {
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(identityModel(), { executionProviders: ['wasm'] });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([2.5]), [1]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([2.5]);
    await session.release();
  });
});
