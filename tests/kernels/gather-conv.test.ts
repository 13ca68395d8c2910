import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unaryScalar } from '../../src/engine/webgpu/cpu/elementwise';
import {
  type BlockQuantizedTable,
  conv2dCpu,
  gatherBlockQuantizedCpu,
  gatherCpu,
} from '../../src/engine/webgpu/cpu/gather-conv';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import type { Graph, Node } from '../../src/engine/webgpu/ir/ir';
import { type Conv2dVariant, conv2d, gather, gatherQuantized } from '../../src/engine/webgpu/ops';
import { conv2dOutputDims } from '../../src/engine/webgpu/ops/conv2d';
import { layoutFromAttrs } from '../../src/engine/webgpu/passes/pack-quantized';
import { packGatherBlockQuantized } from '../../src/engine/webgpu/passes/pack-quantized-gather';
import { WebvlError } from '../../src/errors';
import { asSoftwareAdapter, maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

describe('CPU twins against hand-computed values', () => {
  it('gather rows and columns with a negative index', () => {
    const data = cpuTensor([3, 2], [1, 2, 3, 4, 5, 6]);
    expect(Array.from(gatherCpu(data, cpuTensor([2], [2, -3])).data)).toEqual([5, 6, 1, 2]);
    expect(Array.from(gatherCpu(data, cpuTensor([1, 1], [1]), 1).data)).toEqual([2, 4, 6]);
  });
  it('conv: 2×2 box filter with padding, and a stride-2 patch embedding', () => {
    const x = cpuTensor([1, 1, 2, 2], [1, 2, 3, 4]);
    const w = cpuTensor([1, 1, 2, 2], [1, 1, 1, 1]);
    expect(Array.from(conv2dCpu(x, w, { pads: [1, 1, 0, 0] }).data)).toEqual([1, 3, 4, 10]);
    const patches = conv2dCpu(cpuTensor([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]), w, { strides: [2, 2] });
    expect(Array.from(patches.data)).toEqual([14, 22]);
  });
});

describe('gather kernel vs CPU twin', () => {
  it.each([
    { dims: [50, 16], idx: [2, 7], axis: 0 },
    { dims: [4, 9, 5], idx: [3], axis: 1 },
    { dims: [3, 4, 6], idx: [2, 2], axis: -1 },
    { dims: [10], idx: [], axis: 0 },
  ])('data $dims indices $idx axis $axis', async ({ dims, idx, axis }) => {
    const rand = rng(dims.length * 17 + idx.length);
    const n = dims.reduce((a, b) => a * b, 1);
    const ax = axis < 0 ? axis + dims.length : axis;
    const ni = idx.reduce((a, b) => a * b, 1);
    const indices = Array.from({ length: ni }, () => Math.floor(rand() * dims[ax] * 2) - dims[ax]);
    const data = randomArray(n, rand);
    const want = gatherCpu(cpuTensor(dims, data), cpuTensor(idx, indices), axis);
    const out = gpu.empty('float32', want.dims);
    gather(gpu, gpu.upload('float32', dims, data), gpu.upload('int64', idx, indices), out, axis);
    expect(maxError(await gpu.read(out), want.data)).toBe(0);
    gpu.release();
  });
});

/** A one-node GatherBlockQuantized graph holding `t`, packed by the load-time pass; its packed table. */
function packed(t: BlockQuantizedTable): { bytes: Uint8Array; rowDims: number[]; node: Node } {
  const graph: Graph = {
    nodes: [
      {
        name: 'gbq',
        opType: 'GatherBlockQuantized',
        domain: 'com.microsoft',
        attrs: {
          bits: { type: 'int', value: t.bits },
          block_size: { type: 'int', value: t.blockSize },
          quantize_axis: { type: 'int', value: t.dims.length - 1 },
        },
        inputs: ['table', 'ids', 'scales', t.zeroPoints ? 'zeros' : ''],
        outputs: ['y'],
      },
    ],
    initializers: new Map([
      ['table', { location: 'cpu', dtype: 'uint8', dims: t.dims, data: t.data }],
      [
        'scales',
        {
          location: 'cpu',
          dtype: 'float32',
          dims: [...t.dims.slice(0, -1), t.scales.length / t.dims.slice(0, -1).reduce((a, b) => a * b, 1)],
          data: Float32Array.from(t.scales),
        },
      ],
      ...(t.zeroPoints
        ? ([
            [
              'zeros',
              {
                location: 'cpu',
                dtype: 'uint8',
                dims: [
                  ...t.dims.slice(0, -1),
                  t.zeroPoints.length / t.dims.slice(0, -1).reduce((a, b) => a * b, 1),
                ],
                data: t.zeroPoints,
              },
            ],
          ] as const)
        : []),
    ]),
    inputs: [{ name: 'ids', dtype: 'int32' }],
    outputs: [{ name: 'y', dtype: 'float32' }],
    valueInfo: new Map(),
    opset: 17,
  };
  expect(packGatherBlockQuantized(graph, graph.nodes[0])).toBe(true);
  const node = graph.nodes[0];
  const rowDims = node.attrs.row_dims?.type === 'ints' ? [...node.attrs.row_dims.value] : [];
  return { bytes: graph.initializers.get(node.inputs[1])?.data as Uint8Array, rowDims, node };
}

describe('quantized gather kernel vs CPU twin', () => {
  it('CPU twin: a hand-computed 4-bit row', () => {
    // Row 1 holds codes 0x21 → [1, 2, …]; zero point 8, scale 0.5: (1 − 8)·0.5 = −3.5, (2 − 8)·0.5 = −3.
    const t: BlockQuantizedTable = {
      data: Uint8Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 0x21)),
      dims: [2, 8],
      scales: [1, 0.5],
      bits: 4,
      blockSize: 16,
    };
    const out = gatherBlockQuantizedCpu(t, cpuTensor([2], [-1, 5]));
    expect(Array.from(out.data.slice(0, 2))).toEqual([-3.5, -3]);
    expect(Array.from(out.data.slice(16))).toEqual(new Array(16).fill(0)); // index 5 is outside: zeros
  });

  it.each<{ bits: 4 | 8; blockSize: number; dims: number[]; zeros: boolean }>([
    { bits: 4, blockSize: 16, dims: [7, 24], zeros: true },
    { bits: 4, blockSize: 32, dims: [5, 2, 16], zeros: false },
    { bits: 8, blockSize: 16, dims: [6, 40], zeros: true },
    { bits: 8, blockSize: 64, dims: [3, 64], zeros: false },
  ])('$bits-bit, block $blockSize, table $dims, zero points $zeros', async (c) => {
    const rand = rng(c.dims.reduce((a, b) => a * b, c.bits));
    const byte = () => Math.floor(rand() * 256);
    const lines = c.dims.slice(0, -1).reduce((a, b) => a * b, 1);
    const k = (c.dims[c.dims.length - 1] * 8) / c.bits;
    const blocks = Math.ceil(k / c.blockSize);
    const t: BlockQuantizedTable = {
      data: Uint8Array.from({ length: lines * c.dims[c.dims.length - 1] }, byte),
      dims: c.dims,
      scales: randomArray(lines * blocks, rand, 0.01, 0.2),
      zeroPoints: c.zeros
        ? Uint8Array.from({ length: lines * Math.ceil(blocks / (8 / c.bits)) }, byte)
        : undefined,
      bits: c.bits,
      blockSize: c.blockSize,
    };
    const rows = c.dims[0];
    const ids = [0, rows - 1, -1, 2, rows, -rows - 1, 1];
    const want = gatherBlockQuantizedCpu(t, cpuTensor([7], ids));
    const { bytes, rowDims, node } = packed(t);
    const words = new Int32Array(Math.ceil(bytes.length / 4));
    new Uint8Array(words.buffer).set(bytes);
    const out = gpu.empty('float32', want.dims);
    gatherQuantized(
      gpu,
      gpu.constant('uint8', [bytes.length], words),
      layoutFromAttrs(node, lines, k),
      rowDims,
      gpu.upload('int32', [7], ids),
      out,
    );
    expect(gpu.recorded).toEqual(['GatherBlockQuantized']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-6);
    gpu.release();
  });

  it('refuses inconsistent scales at load', () => {
    const t: BlockQuantizedTable = {
      data: new Uint8Array(32),
      dims: [2, 16],
      scales: [1, 1, 1, 1, 1, 1],
      bits: 4,
      blockSize: 16,
    };
    expect(() => packed(t)).toThrow(/scales/);
  });
});

describe('conv2d kernel vs CPU twin', () => {
  it.each([
    { x: [2, 3, 16, 16], w: [8, 3, 4, 4], strides: [4, 4] as [number, number] },
    { x: [1, 4, 9, 7], w: [6, 4, 3, 3], pads: [1, 1, 1, 1] as [number, number, number, number], bias: true },
    {
      x: [1, 4, 11, 10],
      w: [4, 2, 3, 2],
      group: 2,
      strides: [2, 1] as [number, number],
      dilations: [2, 1] as [number, number],
      relu: true,
    },
    {
      x: [1, 3, 13, 13],
      w: [5, 3, 3, 3],
      pads: [0, 2, 1, 0] as [number, number, number, number],
      bias: true,
    },
    // Cout per group a multiple of 4: the register-blocked kernel (4 channels × 4 columns a thread), with
    // widths that leave a partial block of columns, strides, groups and a fused activation.
    {
      x: [2, 3, 10, 10],
      w: [8, 3, 3, 3],
      pads: [1, 1, 1, 1] as [number, number, number, number],
      bias: true,
    },
    {
      x: [1, 8, 9, 11],
      w: [8, 4, 3, 3],
      group: 2,
      strides: [2, 2] as [number, number],
      pads: [1, 0, 1, 2] as [number, number, number, number],
      relu: true,
    },
    { x: [1, 4, 7, 6], w: [12, 4, 2, 3], dilations: [2, 1] as [number, number], bias: true },
    { x: [1, 3, 16, 16], w: [16, 3, 4, 4], strides: [4, 4] as [number, number], bias: true },
    // Cout per group a multiple of 8: the window kernel (8 channels × 4 columns, window sizes compiled in), on
    // stem-like 3×3 convolutions with stride 1 and 2, partial column blocks, pads on all sides, groups, dilations.
    {
      x: [2, 5, 13, 11],
      w: [16, 5, 3, 3],
      strides: [2, 2] as [number, number],
      pads: [1, 1, 1, 1] as [number, number, number, number],
      bias: true,
      relu: true,
    },
    {
      x: [1, 6, 9, 10],
      w: [16, 3, 3, 3],
      group: 2,
      dilations: [2, 2] as [number, number],
      pads: [2, 1, 2, 3] as [number, number, number, number],
    },
    { x: [1, 8, 7, 5], w: [8, 8, 1, 1], bias: true },
    {
      x: [1, 3, 12, 14],
      w: [24, 3, 5, 3],
      strides: [1, 3] as [number, number],
      pads: [2, 1, 0, 2] as [number, number, number, number],
    },
  ])('x $x w $w', async (c) => {
    const rand = rng(c.x.join('').length + c.w[0]);
    const nx = c.x.reduce((a, b) => a * b, 1);
    const nw = c.w.reduce((a, b) => a * b, 1);
    const x = randomArray(nx, rand);
    const w = randomArray(nw, rand);
    const bias = randomArray(c.w[0], rand);
    const base = conv2dCpu(cpuTensor(c.x, x), cpuTensor(c.w, w), {
      strides: c.strides,
      pads: c.pads,
      dilations: c.dilations,
      group: c.group,
      bias: c.bias ? cpuTensor([c.w[0]], bias) : undefined,
    });
    const want = c.relu ? Float64Array.from(base.data, (v) => unaryScalar('Relu', v)) : base.data;
    const params = { strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group };
    expect(conv2dOutputDims(c.x, c.w, params)).toEqual(base.dims);
    // Every kernel that applies, forced, and the default choice on both kinds of adapter.
    const perGroup = c.w[0] / (c.group ?? 1);
    const window =
      perGroup % 8 === 0 && Math.max(...c.w.slice(2), ...(c.strides ?? []), ...(c.dilations ?? [])) <= 8;
    const im2col =
      (c.group ?? 1) === 1 && (c.w[1] * c.w[2] * c.w[3]) % 4 === 0 && (base.dims[2] * base.dims[3]) % 4 === 0;
    const variants: (Conv2dVariant | undefined)[] = [
      undefined,
      'direct',
      ...(perGroup % 4 === 0 ? (['blocked'] as const) : []),
      ...(window ? (['window'] as const) : []),
      ...(im2col ? (['im2col'] as const) : []),
    ];
    for (const ctx of [gpu, asSoftwareAdapter(gpu)]) {
      for (const variant of variants) {
        const out = gpu.empty('float32', base.dims);
        conv2d(
          ctx,
          gpu.upload('float32', c.x, x),
          gpu.upload('float32', c.w, w),
          c.bias ? gpu.upload('float32', [c.w[0]], bias) : null,
          out,
          { ...params, activation: c.relu ? 'relu' : 'none', variant },
        );
        expect(maxError(await gpu.read(out), want), `variant ${variant ?? 'default'}`).toBeLessThan(2e-6);
        gpu.release();
      }
    }
  });

  it('im2col runs a batch larger than one column buffer in chunks of images', async () => {
    // 72 × 144 floats of columns an image; a 2-image buffer gives chunks of 2, 2 and 1.
    const c = { x: [5, 8, 12, 12], w: [8, 8, 3, 3] };
    const rand = rng(7);
    const x = randomArray(
      c.x.reduce((a, b) => a * b, 1),
      rand,
    );
    const w = randomArray(
      c.w.reduce((a, b) => a * b, 1),
      rand,
    );
    const bias = randomArray(8, rand);
    const pads = [1, 1, 1, 1] as [number, number, number, number];
    const base = conv2dCpu(cpuTensor(c.x, x), cpuTensor(c.w, w), { pads, bias: cpuTensor([8], bias) });
    const out = gpu.empty('float32', base.dims);
    gpu.recorded.length = 0;
    conv2d(
      asSoftwareAdapter(gpu),
      gpu.upload('float32', c.x, x),
      gpu.upload('float32', c.w, w),
      gpu.upload('float32', [8], bias),
      out,
      { pads, activation: 'relu', variant: 'im2col', maxColumnBytes: 2 * 72 * 144 * 4 },
    );
    expect(gpu.recorded.filter((l) => l === 'Conv (im2col)')).toHaveLength(3);
    const want = Float64Array.from(base.data, (v) => unaryScalar('Relu', v));
    expect(maxError(await gpu.read(out), want)).toBeLessThan(2e-6);
    gpu.release();
  });

  it('rejects a forced kernel that does not apply', () => {
    const x = gpu.upload('float32', [1, 4, 6, 6], new Float32Array(144));
    const w = gpu.upload('float32', [6, 2, 3, 3], new Float32Array(108));
    const out = gpu.empty('float32', [1, 6, 4, 4]);
    for (const variant of ['blocked', 'window', 'im2col'] as const) {
      expect(() => conv2d(gpu, x, w, null, out, { group: 2, variant })).toThrow(WebvlError);
    }
    for (const maxColumnBytes of [0, -4096, 1.5, Number.NaN]) {
      expect(() => conv2d(gpu, x, w, null, out, { group: 2, maxColumnBytes })).toThrow(/maxColumnBytes/);
    }
    gpu.release();
  });

  it('rejects a group that does not divide the channels', () => {
    const x = gpu.upload('float32', [1, 3, 4, 4], new Float32Array(48));
    const w = gpu.upload('float32', [2, 3, 1, 1], new Float32Array(6));
    expect(() => conv2d(gpu, x, w, null, gpu.empty('float32', [1, 2, 4, 4]), { group: 2 })).toThrow(
      WebvlError,
    );
    gpu.release();
  });
});
