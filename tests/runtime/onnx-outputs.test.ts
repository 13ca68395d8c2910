import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/engine/webgpu/onnx-decode';
import { onnxOutputNames } from '../../src/models/onnx-outputs';

const graphs = ['clip-tiny', 'blip-tiny'].flatMap((m) =>
  readdirSync(`models/${m}/onnx`).map((f) => `models/${m}/onnx/${f}`),
);

describe('onnxOutputNames (wire-format scan)', () => {
  it.each(graphs)('%s: the same names, in order, as a full decode with onnx-proto', (path) => {
    const bytes = new Uint8Array(readFileSync(path));
    const decoded = decodeModel(bytes).outputs.map((o) => o.name);
    expect(decoded.length).toBeGreaterThan(0);
    expect(onnxOutputNames(bytes)).toEqual(decoded);
  });

  it('refuses bytes that are not a model with INVALID_MODEL', () => {
    const model = new Uint8Array(readFileSync(graphs[0]));
    for (const bad of [
      model.subarray(0, model.length >> 1),
      new Uint8Array([0xff, 0xff, 0xff]),
      new Uint8Array(0),
    ]) {
      expect(() => onnxOutputNames(bad)).toThrowError(expect.objectContaining({ code: 'INVALID_MODEL' }));
    }
  });
});
