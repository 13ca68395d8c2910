// What load() refuses in graphs from real exporters, with which typed error, before anything runs.
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph, Node, ValueInfo } from '../../../src/engine/webgpu/ir/ir';
import { WebvlError } from '../../../src/errors';
import { type AttrValues, onnxNode } from '../../support/onnx-node';
import { nodeGpu } from './gpu';

const f32 = (name: string, shape: number[]): ValueInfo => ({ name, dtype: 'float32', shape });
const tensor = (dtype: HostTensor['dtype'], dims: number[], data: HostTensor['data']): HostTensor => ({
  location: 'cpu',
  dtype,
  dims,
  data,
});

function graph(
  nodes: Node[],
  initializers: [string, HostTensor][],
  inputs: ValueInfo[] = [f32('x', [2, 64])],
): Graph {
  return {
    nodes,
    initializers: new Map(initializers),
    inputs,
    outputs: [f32('y', [2, 8])],
    valueInfo: new Map(),
    opset: 17,
  };
}

async function loadError(g: Graph, backend = new WebGpuBackend({ gpu: nodeGpu() })): Promise<WebvlError> {
  try {
    await backend.loadGraph(g);
  } catch (e) {
    if (e instanceof WebvlError) return e;
    throw e;
  }
  throw new Error('loadGraph() accepted the graph');
}

describe('load-time checks', () => {
  it('a MatMulNBits whose packed weights do not fit its K, N and block size is INVALID_MODEL', async () => {
    const node: Node = {
      name: 'q4',
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      attrs: {
        K: { type: 'int', value: 64 },
        N: { type: 'int', value: 8 },
        bits: { type: 'int', value: 4 },
        block_size: { type: 'int', value: 32 },
      },
      inputs: ['x', 'w', 's'],
      outputs: ['y'],
    };
    // 8 columns × 2 blocks × 16 bytes = 256 bytes are needed; give 128, and scales for the right count.
    const e = await loadError(
      graph(
        [node],
        [
          ['w', tensor('uint8', [8, 1, 16], new Uint8Array(128))],
          ['s', tensor('float32', [16], new Float32Array(16))],
        ],
      ),
    );
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/128 bytes/);
    // Right bytes, wrong number of scales.
    const e2 = await loadError(
      graph(
        [node],
        [
          ['w', tensor('uint8', [8, 2, 16], new Uint8Array(256))],
          ['s', tensor('float32', [15], new Float32Array(15))],
        ],
      ),
    );
    expect(e2.code).toBe('INVALID_MODEL');
    expect(e2.message).toMatch(/15 scales for 16 blocks/);
  });

  const maxPool = (attrs: Record<string, number[]>) => onnxNode('MaxPool', attrs);

  it('a MaxPool over four spatial axes (three at most) is UNSUPPORTED_OP at load', async () => {
    const e = await loadError(
      graph([maxPool({ kernel_shape: [2, 2, 2, 2] })], [], [f32('x', [1, 2, 4, 4, 4, 4])]),
    );
    expect(e).toMatchObject({ code: 'UNSUPPORTED_OP', details: { ops: ['MaxPool'] } });
  });

  it.each<[string, AttrValues]>([
    ['overlapping windows', { kernel_shape: [2, 2, 2] }],
    ['padded patches', { kernel_shape: [2, 2, 2], strides: [2, 2, 2], pads: [1, 0, 0, 1, 0, 0] }],
    ['dilated patches', { kernel_shape: [2, 2, 2], strides: [2, 2, 2], dilations: [1, 2, 1] }],
    ['SAME padding', { kernel_shape: [2, 2, 2], strides: [2, 2, 2], auto_pad: 'SAME_UPPER' }],
  ])(
    'a Conv over three spatial axes with %s (only disjoint patches run) is UNSUPPORTED_OP at load',
    async (_l, attrs) => {
      const conv = onnxNode('Conv', attrs, ['x', 'w']);
      const e = await loadError(
        graph(
          [conv],
          [['w', tensor('float32', [1, 2, 2, 2, 2], new Float32Array(16))]],
          [f32('x', [1, 2, 4, 4, 4])],
        ),
      );
      expect(e).toMatchObject({ code: 'UNSUPPORTED_OP', details: { ops: ['Conv'] } });
    },
  );

  it('a Conv over three spatial axes in disjoint patches (strides = kernel) loads', async () => {
    const conv = onnxNode('Conv', { kernel_shape: [2, 2, 2], strides: [2, 2, 2] }, ['x', 'w']);
    const g = graph(
      [conv],
      [['w', tensor('float32', [1, 2, 2, 2, 2], new Float32Array(16))]],
      [f32('x', [1, 2, 4, 4, 4])],
    );
    await expect(new WebGpuBackend({ gpu: nodeGpu() }).loadGraph(g)).resolves.toBeDefined();
  });

  it.each([
    ['a window larger than the padded input', { kernel_shape: [5, 5], pads: [1, 1, 1, 1] }],
    ['pads for the wrong number of axes', { kernel_shape: [2, 2], pads: [1, 1] }],
    ['a zero stride', { kernel_shape: [2, 2], strides: [0, 1] }],
  ])('a MaxPool with %s is INVALID_MODEL once its input shape is known, at every run', async (_, attrs) => {
    const session = await new WebGpuBackend({ gpu: nodeGpu() }).loadGraph(
      graph([maxPool(attrs)], [], [f32('x', [1, 2, 2, 2])]),
    );
    const x = tensor('float32', [1, 2, 2, 2], new Float32Array(8));
    await expect(session.run({ x })).rejects.toMatchObject({ code: 'INVALID_MODEL' });
    await expect(session.run({ x })).rejects.toMatchObject({ code: 'INVALID_MODEL' });
    await session.release();
  });

  it.each([
    [
      'an activation with alpha',
      { activations: ['Sigmoid', 'ScaledTanh', 'Tanh'], activation_alpha: [1, 2] },
    ],
    ['an activation outside the supported ones', { activations: ['HardSigmoid', 'Tanh', 'Tanh'] }],
    ['coupled input and forget gates', { input_forget: 1 }],
  ])('an LSTM with %s is UNSUPPORTED_OP at load', async (_, attrs) => {
    const node = onnxNode('LSTM', {}, ['x', 'w', 'r'], ['', 'y']);
    for (const [k, v] of Object.entries(attrs))
      node.attrs[k] =
        typeof v === 'number'
          ? { type: 'int', value: v }
          : typeof v[0] === 'string'
            ? { type: 'strings', value: v as string[] }
            : { type: 'floats', value: v as number[] };
    const e = await loadError(
      graph(
        [node],
        [
          ['w', tensor('float32', [1, 8, 3], new Float32Array(24))],
          ['r', tensor('float32', [1, 8, 2], new Float32Array(16))],
        ],
        [f32('x', [4, 1, 3])],
      ),
    );
    expect(e).toMatchObject({ code: 'UNSUPPORTED_OP', details: { ops: ['LSTM'] } });
  });

  it('an If whose branch gives fewer outputs than the node declares is INVALID_MODEL', async () => {
    const branch = (op: string): Graph => ({
      nodes: [{ name: op, opType: op, domain: '', attrs: {}, inputs: ['x'], outputs: ['b'] }],
      initializers: new Map(),
      inputs: [],
      outputs: [f32('b', [2, 64])],
      valueInfo: new Map(),
      opset: 17,
    });
    const node: Node = {
      name: 'if',
      opType: 'If',
      domain: '',
      attrs: {
        then_branch: { type: 'graph', value: branch('Relu') },
        else_branch: { type: 'graph', value: branch('Neg') },
      },
      inputs: ['c'],
      outputs: ['y', 'z'],
    };
    const e = await loadError(
      graph([node], [], [f32('x', [2, 64]), { name: 'c', dtype: 'bool', shape: [1] }]),
    );
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/then_branch gives 1 outputs, the node declares 2/);
  });

  it('a constant larger than one buffer binding, read by an op that cannot take it in pieces, is OUT_OF_MEMORY before anything is uploaded', async () => {
    // A device with WebGPU's default limits: 128 MiB per binding. (MatMul weights and Gather tables would be
    // split: tests/engine/webgpu/oversized.test.ts.)
    const adapter = await nodeGpu().requestAdapter();
    const device = await adapter!.requestDevice();
    const limit = device.limits.maxStorageBufferBindingSize;
    const n = limit / 4 + 1024;
    const node: Node = {
      name: 'add',
      opType: 'Add',
      domain: '',
      attrs: {},
      inputs: ['x', 'w'],
      outputs: ['y'],
    };
    const e = await loadError(
      graph([node], [['w', tensor('float32', [64, n / 64], new Float32Array(n))]]),
      new WebGpuBackend({ device }),
    );
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.details).toMatchObject({ tensor: 'w', bytes: n * 4, limit });
    device.destroy();
  });

  it('a GatherBlockQuantized whose scales do not match its table and block size is INVALID_MODEL', async () => {
    const node: Node = {
      name: 'embed',
      opType: 'GatherBlockQuantized',
      domain: 'com.microsoft',
      attrs: { bits: { type: 'int', value: 4 }, block_size: { type: 'int', value: 16 } },
      inputs: ['table', 'ids', 's'],
      outputs: ['y'],
    };
    // 8 rows of 64 4-bit codes (32 bytes) in blocks of 16 need scales [8, 4]; give [8, 2].
    const e = await loadError(
      graph(
        [node],
        [
          ['table', tensor('uint8', [8, 32], new Uint8Array(256))],
          ['s', tensor('float32', [8, 2], new Float32Array(16))],
        ],
        [{ name: 'ids', dtype: 'int64', shape: [2] }],
      ),
    );
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/scales are \[8,2\]/);
  });

  // Forms of claimed ops the engine does not lower are refused at load, so the runtime falls back to ORT.
  const refused = (opType: string, domain: string, attrs: Node['attrs'], inputs: string[], outputs = ['y']) =>
    it(`${domain || 'onnx'} ${opType} ${JSON.stringify(Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, 'value' in a ? a.value : a])))} with inputs ${inputs.join(',')} is UNSUPPORTED_OP`, async () => {
      const e = await loadError(
        graph(
          [{ name: 'n', opType, domain, attrs, inputs, outputs }],
          [],
          inputs.filter(Boolean).map((i) => f32(i, [2, 64])),
        ),
      );
      expect(e.code).toBe('UNSUPPORTED_OP');
      expect(e.details?.ops).toEqual([domain ? `${domain}:${opType}` : opType]);
    });
  const gqa = ['q', 'k', 'v', 'pk', 'pv', 'seqlens', 'total'];
  const heads = { num_heads: { type: 'int', value: 4 }, kv_num_heads: { type: 'int', value: 2 } } as const;
  refused(
    'GroupQueryAttention',
    'com.microsoft',
    { ...heads, local_window_size: { type: 'int', value: 0 } },
    gqa,
  );
  refused('GroupQueryAttention', 'com.microsoft', { ...heads, softcap: { type: 'float', value: -1 } }, gqa);
  refused(
    'GroupQueryAttention',
    'com.microsoft',
    // smooth_softmax is a flag: 0 or 1 (attention sinks); any other value is left to onnxruntime.
    { ...heads, smooth_softmax: { type: 'int', value: 2 } },
    gqa,
  );
  refused('GroupQueryAttention', 'com.microsoft', heads, [...gqa, '', '', 'position_ids']);
  refused('MultiHeadAttention', 'com.microsoft', { num_heads: { type: 'int', value: 4 } }, [
    'q',
    'k',
    'v',
    '',
    '',
    '',
    'pk',
    'pv',
    'past_sequence_length',
    'cache_indirection',
  ]);
  refused('Attention', 'com.microsoft', { num_heads: { type: 'int', value: 4 } }, [
    'x',
    'w',
    'b',
    '',
    '',
    '',
    'past_sequence_length',
  ]);
  refused('RotaryEmbedding', 'com.microsoft', { is_packed_batching: { type: 'int', value: 1 } }, [
    'x',
    'pos',
    'cos',
    'sin',
  ]);
  refused('Resize', '', { mode: { type: 'string', value: 'linear' }, antialias: { type: 'int', value: 1 } }, [
    'x',
    '',
    'scales',
  ]);
  refused('Resize', '', { mode: { type: 'string', value: 'lanczos' } }, ['x', '', 'scales']);
  // Casts to types the engine does not hold: float8 e4m3fn, and int4 (CastLike's target as the decoder writes it).
  refused('Cast', '', { to: { type: 'int', value: 17 } }, ['x']);
  refused('CastLike', '', { to: { type: 'int', value: 22 } }, ['x', 'like']);
});
