// Pool kernel (ops/pool.ts) against its CPU twin, over the parameters ir/pool-params.ts derives from a node;
// onnxruntime-node (tests/engine/webgpu/op-forms.test.ts) and the ONNX node tests check both independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { poolCpu } from '../../src/engine/webgpu/cpu/pool';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { poolParams } from '../../src/engine/webgpu/ir/pool-params';
import { pool } from '../../src/engine/webgpu/ops';
import { type AttrValues, onnxNode } from '../support/onnx-node';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

type Attrs = AttrValues;
const node = (opType: string, attrs: Attrs, outputs = ['y']) => onnxNode(opType, attrs, ['x'], outputs);

describe('pool parameters (hand-computed)', () => {
  it('pads, SAME_UPPER / SAME_LOWER and ceil_mode give the spec’s output sizes', () => {
    // ResNet's stem: 3×3, stride 2, pad 1 on 112 → 56.
    const stem = poolParams(
      node('MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
      [1, 64, 112, 112],
    );
    expect(stem.outSpatial).toEqual([56, 56]);
    // SAME on 5 with kernel 2, stride 1: 1 pad, at the end (UPPER) or the start (LOWER).
    const upper = poolParams(node('AveragePool', { kernel_shape: [2], auto_pad: 'SAME_UPPER' }), [1, 1, 5]);
    expect([upper.padsBegin, upper.padsEnd, upper.outSpatial]).toEqual([[0], [1], [5]]);
    const lower = poolParams(node('AveragePool', { kernel_shape: [2], auto_pad: 'SAME_LOWER' }), [1, 1, 5]);
    expect([lower.padsBegin, lower.padsEnd]).toEqual([[1], [0]]);
    // ceil_mode: (4 − 3) / 2 → ceil 1 → 2 windows; with pad 1 at the end, a third would start in the padding.
    const ceil = node('MaxPool', { kernel_shape: [3], strides: [2], ceil_mode: 1 });
    expect(poolParams(ceil, [1, 1, 4]).outSpatial).toEqual([2]);
    const ceilPadded = node('MaxPool', { kernel_shape: [3], strides: [2], ceil_mode: 1, pads: [0, 1] });
    expect(poolParams(ceilPadded, [1, 1, 4]).outSpatial).toEqual([2]);
    // Dilation 2 widens a 2-tap kernel to 3.
    expect(poolParams(node('MaxPool', { kernel_shape: [2], dilations: [2] }), [1, 1, 6]).outSpatial).toEqual([
      4,
    ]);
  });

  it('bad attributes are INVALID_MODEL', () => {
    const bad: Attrs[] = [
      { kernel_shape: [9] }, // larger than the input
      { kernel_shape: [2], strides: [0] },
      { kernel_shape: [2], pads: [1] },
      { kernel_shape: [2, 2] }, // two axes on a 1-D input
      { kernel_shape: [2], auto_pad: 'SOMETIMES' },
    ];
    for (const attrs of bad)
      expect(() => poolParams(node('MaxPool', attrs), [1, 1, 5])).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL' }),
      );
  });

  it('CPU twin on a hand-computed case: averages with and without the padding counted, max and its index', () => {
    // [1, 2, 3, 4] with kernel 2, stride 2, pad 1 at each end: windows (pad, 1), (2, 3), (4, pad).
    const x = cpuTensor([1, 1, 4], [1, 2, 3, 4]);
    const attrs = { kernel_shape: [2], strides: [2], pads: [1, 1] };
    expect(Array.from(poolCpu('average', x, poolParams(node('AveragePool', attrs), x.dims)).y.data)).toEqual([
      1, 2.5, 4,
    ]);
    const counted = poolParams(node('AveragePool', { ...attrs, count_include_pad: 1 }), x.dims);
    expect(Array.from(poolCpu('average', x, counted).y.data)).toEqual([0.5, 2.5, 2]);
    const max = poolCpu('max', x, poolParams(node('MaxPool', attrs), x.dims));
    expect([Array.from(max.y.data), Array.from(max.indices.data)]).toEqual([
      [1, 3, 4],
      [0, 2, 3],
    ]);
  });
});

const CASES: { name: string; op: string; dims: number[]; attrs: Attrs; ints?: boolean; ties?: boolean }[] = [
  {
    name: 'max 3×3 s2 p1 (ResNet stem)',
    op: 'MaxPool',
    dims: [2, 3, 9, 9],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: 'average 3×3 s2 p1',
    op: 'AveragePool',
    dims: [1, 2, 7, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    name: 'average, padding counted, uneven pads',
    op: 'AveragePool',
    dims: [1, 2, 6, 5],
    attrs: { kernel_shape: [3, 2], pads: [2, 0, 1, 1], count_include_pad: 1 },
  },
  {
    name: 'average, ceil_mode, padding counted',
    op: 'AveragePool',
    dims: [1, 3, 6, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, count_include_pad: 1, pads: [0, 0, 1, 1] },
  },
  {
    // The last window along the first axis overhangs the padded input: its taps there count for nothing.
    name: 'average, ceil_mode past the padded input, padding counted',
    op: 'AveragePool',
    dims: [1, 2, 5, 7],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, count_include_pad: 1, pads: [1, 0, 0, 0] },
  },
  {
    name: 'max, dilations 2, ceil_mode',
    op: 'MaxPool',
    dims: [1, 2, 7, 6],
    attrs: { kernel_shape: [2, 2], strides: [2, 1], dilations: [2, 2], ceil_mode: 1 },
  },
  {
    name: 'max 1-D SAME_LOWER',
    op: 'MaxPool',
    dims: [2, 3, 11],
    attrs: { kernel_shape: [4], strides: [3], auto_pad: 'SAME_LOWER' },
  },
  {
    name: 'average 1-D SAME_UPPER',
    op: 'AveragePool',
    dims: [2, 3, 11],
    attrs: { kernel_shape: [4], strides: [3], auto_pad: 'SAME_UPPER' },
  },
  {
    name: 'max 3-D with pads',
    op: 'MaxPool',
    dims: [1, 2, 4, 5, 6],
    attrs: { kernel_shape: [2, 3, 2], strides: [1, 2, 2], pads: [1, 0, 1, 0, 1, 1] },
  },
  {
    name: 'average 3-D',
    op: 'AveragePool',
    dims: [1, 2, 4, 5, 6],
    attrs: { kernel_shape: [3, 2, 2], strides: [1, 1, 2], pads: [1, 1, 0, 1, 0, 1] },
  },
  { name: 'global average', op: 'GlobalAveragePool', dims: [2, 3, 5, 7], attrs: {} },
  { name: 'global max', op: 'GlobalMaxPool', dims: [2, 3, 5, 7], attrs: {} },
  {
    name: 'max on integers',
    op: 'MaxPool',
    dims: [1, 2, 6, 6],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    ints: true,
  },
  {
    name: 'max over ties keeps the first tap',
    op: 'MaxPool',
    dims: [1, 2, 6, 6],
    attrs: { kernel_shape: [3, 3], strides: [1, 1] },
    ties: true,
  },
];

describe('pool kernel vs CPU twin', () => {
  it.each(CASES)('$name', async (c) => {
    const n = c.dims.reduce((a, b) => a * b, 1);
    const rand = rng(n + c.name.length);
    const kind = c.op.includes('Max') ? 'max' : 'average';
    const values = c.ints
      ? Int32Array.from(randomArray(n, rand, 0, 255), Math.floor)
      : c.ties
        ? Float32Array.from(randomArray(n, rand, 0, 3), Math.floor) // three values: many equal maxima
        : randomArray(n, rand, -2, 2);
    const dtype = c.ints ? 'int32' : 'float32';
    for (const storageOrder of kind === 'max' && !c.op.startsWith('Global') ? [0, 1] : [0]) {
      const p = poolParams(node(c.op, { ...c.attrs, ...(storageOrder ? { storage_order: 1 } : {}) }), c.dims);
      const want = poolCpu(kind, cpuTensor(c.dims, values), p);
      const out = gpu.empty(dtype, want.y.dims);
      const indices = kind === 'max' ? gpu.empty('int32', want.y.dims) : undefined;
      pool(gpu, kind, gpu.upload(dtype, c.dims, values), out, p, indices);
      expect(gpu.recorded).toEqual([kind === 'max' ? 'MaxPool' : 'AveragePool']);
      expect(maxError(await gpu.read(out), want.y.data)).toBeLessThan(1e-5);
      if (indices)
        expect(Array.from(await gpu.read(indices))).toEqual(
          Array.from(storageOrder ? want.columnMajorIndices.data : want.indices.data),
        );
      gpu.release();
    }
  });

  it('rejects an integer AveragePool and an output of the wrong size', () => {
    const p = poolParams(node('AveragePool', { kernel_shape: [2] }), [1, 1, 4]);
    const ints = gpu.upload('int32', [1, 1, 4], [1, 2, 3, 4]);
    expect(() => pool(gpu, 'average', ints, gpu.empty('int32', [1, 1, 3]), p)).toThrow(/must be float/);
    const x = gpu.upload('float32', [1, 1, 4], [1, 2, 3, 4]);
    expect(() => pool(gpu, 'average', x, gpu.empty('float32', [1, 1, 2]), p)).toThrow();
  });
});
