// Attributes out of range for the ranks a model's inputs declare are the model's error: INVALID_MODEL when the
// plan is built (the first run, or load's warm-up), as onnxruntime refuses such a graph, never a silent result
// or an error that blames the input. The session keeps serving the shapes it can plan.
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph, Node } from '../../../src/engine/webgpu/ir/ir';
import { type AttrValues, onnxNode } from '../../support/onnx-node';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

function graph(node: Node, initializers: [string, HostTensor][] = [], opset = 13): Graph {
  return {
    nodes: [node],
    initializers: new Map(initializers),
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }],
    outputs: node.outputs.map((name) => ({ name, dtype: 'float32' as const })),
    valueInfo: new Map(),
    opset,
  };
}

const op = (type: string, attrs: AttrValues, inputs = ['x'], outputs = ['y']) =>
  onnxNode(type, attrs, inputs, outputs);
const ints = (name: string, values: number[]): [string, HostTensor] => [
  name,
  hostTensor('int64', [values.length], values),
];

const CASES: [string, Graph, RegExp][] = [
  ['Transpose with a perm of another rank', graph(op('Transpose', { perm: [0, 1, 2] })), /not a permutation/],
  ['Transpose with a repeated axis', graph(op('Transpose', { perm: [1, 1] })), /not a permutation/],
  ['Softmax on axis 5', graph(op('Softmax', { axis: 5 })), /axis 5 is out of range for rank 2/],
  ['Concat on axis 7', graph(op('Concat', { axis: 7 }, ['x', 'x'])), /axis 7/],
  [
    'ReduceSum over axis 4',
    graph(op('ReduceSum', { keepdims: 1 }, ['x', 'axes']), [ints('axes', [4])]),
    /axis 4/,
  ],
  ['ReduceMean over axis −3 (opset 13 attribute)', graph(op('ReduceMean', { axes: [-3] })), /axis -3/],
  ['Flatten on axis 9', graph(op('Flatten', { axis: 9 })), /axis 9/],
  [
    'LayerNormalization on axis 4',
    graph(op('LayerNormalization', { axis: 4 }, ['x', 's']), [['s', hostTensor('float32', [3], [1, 1, 1])]]),
    /axis 4/,
  ],
  ['Gather on axis 2', graph(op('Gather', { axis: 2 }, ['x', 'i']), [ints('i', [0])]), /axis 2/],
  ['ArgMax on axis −3', graph(op('ArgMax', { axis: -3 })), /axis -3/],
  ['Split on axis 3', graph(op('Split', { axis: 3 }, ['x'], ['y', 'z'])), /axis 3/],
  [
    'Squeeze of an axis of size 3',
    graph(op('Squeeze', {}, ['x', 'axes']), [ints('axes', [1])]),
    /size 3, not 1/,
  ],
  ['Unsqueeze at axis 5', graph(op('Unsqueeze', {}, ['x', 'axes']), [ints('axes', [5])]), /axis 5/],
  [
    'Slice over axis 2',
    graph(op('Slice', {}, ['x', 'b', 'e', 'a']), [ints('b', [0]), ints('e', [1]), ints('a', [2])]),
    /axis 2/,
  ],
  ['CumSum along axis 2', graph(op('CumSum', {}, ['x', 'a']), [ints('a', [2])]), /axis 2/],
];

describe('attributes out of range are INVALID_MODEL', () => {
  it.each(CASES)('%s', async (_label, g, message) => {
    const session = await backend.loadGraph(g);
    try {
      const x = hostTensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
      for (let i = 0; i < 2; i++)
        await expect(session.run({ x })).rejects.toMatchObject({ code: 'INVALID_MODEL', message });
    } finally {
      await session.release();
    }
  });

  it('in range, the same forms run', async () => {
    const session = await backend.loadGraph(graph(op('Softmax', { axis: -2 })));
    const out = await session.run({ x: hostTensor('float32', [2, 3], [0, 0, 0, 0, 0, 0]) });
    expect(Array.from((out.y as HostTensor).data as Float32Array)).toEqual(new Array(6).fill(0.5));
    await session.release();
  });
});
