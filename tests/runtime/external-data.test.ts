// External-data files: which ones a graph names (read from the wire format, initializers and attribute tensors
// of every subgraph), where they lie in the folder, and which locations are refused. Checked against what
// Python's onnx wrote (scripts/make_external_data_corpus.py) and against graphs built here with onnx-proto.
import { readFileSync } from 'node:fs';
import type * as protoModule from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { externalDataLocations, externalDataPath } from '../../src/models/external-data';
import { encodeGraph } from '../support/onnx-proto';

const graphOf = (path: string) => new Uint8Array(readFileSync(`tests/corpus/hf/${path}`));

const externalTensor = (name: string, location: string): protoModule.onnx.ITensorProto => ({
  name,
  dataType: 1,
  dims: [1],
  dataLocation: 1,
  externalData: [
    { key: 'offset', value: '0' },
    { key: 'location', value: location },
    { key: 'length', value: '4' },
  ],
});

describe('externalDataLocations', () => {
  it("names the files exporters wrote, each once (Python onnx's own files)", () => {
    expect(externalDataLocations(graphOf('clip-external/onnx/vision_model.onnx'))).toEqual([
      'vision_model.onnx.data',
    ]);
    expect(externalDataLocations(graphOf('clip-external/onnx/text_model.onnx'))).toEqual([
      'text_model.onnx_data',
      'text_model.onnx_data_1',
    ]);
    expect(externalDataLocations(graphOf('clip-external/onnx/model.onnx'))).toEqual(['model.onnx_data']);
  });

  it('is empty for graphs that hold their weights, and for bytes that are not a model', () => {
    expect(externalDataLocations(graphOf('clip-export/onnx/model.onnx'))).toEqual([]);
    expect(externalDataLocations(new Uint8Array([0xff, 0xff, 0xff]))).toEqual([]);
    expect(externalDataLocations(new Uint8Array(0))).toEqual([]);
  });

  it("finds tensors of attributes and of If branches, not only the main graph's initializers", () => {
    const branch: protoModule.onnx.IGraphProto = {
      name: 'then',
      node: [
        {
          opType: 'Constant',
          output: ['c'],
          attribute: [{ name: 'value', type: 4, t: externalTensor('c', 'branch.bin') }],
        },
      ],
      initializer: [externalTensor('w', 'branch-init.bin')],
      output: [{ name: 'c' }],
    };
    const model = encodeGraph({
      name: 'g',
      node: [
        {
          opType: 'If',
          input: ['cond'],
          output: ['y'],
          attribute: [
            { name: 'then_branch', type: 5, g: branch },
            { name: 'else_branch', type: 5, g: { ...branch, initializer: [] } },
          ],
        },
      ],
      initializer: [
        externalTensor('a', 'main.bin'),
        { name: 'inline', dataType: 1, dims: [1], rawData: new Uint8Array(4) },
        externalTensor('b', 'main.bin'),
      ],
    });
    expect(externalDataLocations(model)).toEqual(['main.bin', 'branch-init.bin', 'branch.bin']);
  });

  it('finds tensors of list attributes (tensors = 10) and initializers of graph lists (graphs = 11)', () => {
    const model = encodeGraph({
      name: 'g',
      node: [
        {
          opType: 'Custom',
          domain: 'test',
          output: ['y'],
          attribute: [
            { name: 'ts', type: 9, tensors: [externalTensor('t', 'list.bin')] },
            {
              name: 'gs',
              type: 10,
              graphs: [{ name: 'sub', initializer: [externalTensor('w', 'graphs.bin')] }],
            },
          ],
        },
      ],
    });
    expect(externalDataLocations(model)).toEqual(['list.bin', 'graphs.bin']);
  });
});

describe('externalDataPath', () => {
  it('is relative to the graph file, as ONNX defines it', () => {
    expect(externalDataPath('onnx/model.onnx', 'model.onnx_data')).toBe('onnx/model.onnx_data');
    expect(externalDataPath('onnx/model.onnx', './weights/w.bin')).toBe('onnx/weights/w.bin');
    expect(externalDataPath('model.onnx', 'model.onnx.data')).toBe('model.onnx.data');
  });

  it('refuses, as INVALID_MODEL, a location that leaves the folder or is not a plain file name', () => {
    for (const location of [
      '../config.json',
      'a/../../b',
      '/etc/passwd',
      'C:\\w.bin',
      'http://x/w',
      'w?x',
      '',
    ]) {
      let error: unknown;
      try {
        externalDataPath('onnx/model.onnx', location);
      } catch (e) {
        error = e;
      }
      expect(error, location).toBeInstanceOf(WebvlError);
      expect((error as WebvlError).code, location).toBe('INVALID_MODEL');
      expect((error as WebvlError).message).toContain('onnx/model.onnx');
    }
  });
});
