// ConvTranspose kernel (ops/conv-transpose.ts, gather form) against its CPU twin (scatter form), over the
// parameters ir/conv-transpose-params.ts derives from a node; onnxruntime-node (tests/engine/webgpu/op-forms.test.ts)
// and the ONNX node tests check both independently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convTransposeCpu } from '../../src/engine/webgpu/cpu/conv-transpose';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { convTransposeParams } from '../../src/engine/webgpu/ir/conv-transpose-params';
import { convTranspose } from '../../src/engine/webgpu/ops';
import { type AttrValues, onnxNode } from '../support/onnx-node';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

type Attrs = AttrValues;
const node = (attrs: Attrs) => onnxNode('ConvTranspose', attrs, ['x', 'w']);

describe('ConvTranspose parameters (hand-computed)', () => {
  it('output sizes from pads, output_padding, auto_pad and output_shape', () => {
    // (3 − 1)·2 + 3 = 7, less pads 1 + 1 = 5, plus output_padding 1 = 6.
    const p = convTransposeParams(
      node({ strides: [2], pads: [1, 1], output_padding: [1] }),
      [1, 2, 3],
      [2, 4, 3],
    );
    expect([p.outSpatial, p.padsBegin, p.outChannels]).toEqual([[6], [1], 4]);
    // SAME_UPPER: output = in · stride = 6 from 7, one pad, at the end; SAME_LOWER puts it at the start.
    const upper = convTransposeParams(node({ strides: [2], auto_pad: 'SAME_UPPER' }), [1, 2, 3], [2, 1, 3]);
    expect([upper.outSpatial, upper.padsBegin]).toEqual([[6], [0]]);
    const lower = convTransposeParams(node({ strides: [2], auto_pad: 'SAME_LOWER' }), [1, 2, 3], [2, 1, 3]);
    expect([lower.outSpatial, lower.padsBegin]).toEqual([[6], [1]]);
    // output_shape 5 from 7: two pads, one each side.
    const shaped = convTransposeParams(node({ strides: [2], output_shape: [5] }), [1, 2, 3], [2, 1, 3]);
    expect([shaped.outSpatial, shaped.padsBegin]).toEqual([[5], [1]]);
    // Groups: 4 input channels in 2 groups, 3 outputs each.
    expect(convTransposeParams(node({ group: 2 }), [1, 4, 5, 5], [4, 3, 2, 2]).outChannels).toBe(6);
  });

  it('CPU twin on a hand-computed case: stride 2 spreads the inputs, overlapping taps add', () => {
    // x = [1, 2], w = [1, 10, 100], stride 2: y = [1, 10, 100 + 2, 20, 200].
    const p = convTransposeParams(node({ strides: [2] }), [1, 1, 2], [1, 1, 3]);
    const y = convTransposeCpu(cpuTensor([1, 1, 2], [1, 2]), cpuTensor([1, 1, 3], [1, 10, 100]), null, p);
    expect(Array.from(y.data)).toEqual([1, 10, 102, 20, 200]);
  });

  it('bad attributes are INVALID_MODEL', () => {
    for (const [attrs, x, w] of [
      [{ group: 3 }, [1, 4, 5], [4, 1, 3]],
      [{ kernel_shape: [2] }, [1, 2, 5], [2, 1, 3]],
      [{ pads: [9, 9] }, [1, 2, 2], [2, 1, 3]],
    ] as const)
      expect(() => convTransposeParams(node(attrs as Attrs), x, w)).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL' }),
      );
  });
});

const CASES: { name: string; x: number[]; w: number[]; attrs: Attrs; bias?: boolean }[] = [
  {
    name: '2×2 stride 2 upsampling (SAM-style), bias',
    x: [1, 8, 5, 6],
    w: [8, 4, 2, 2],
    attrs: { strides: [2, 2] },
    bias: true,
  },
  {
    name: '3×3 stride 2, pads, output_padding',
    x: [2, 3, 4, 5],
    w: [3, 2, 3, 3],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  },
  {
    name: 'groups and dilations',
    x: [1, 4, 5, 4],
    w: [4, 3, 2, 3],
    attrs: { group: 2, dilations: [2, 1], strides: [1, 2] },
    bias: true,
  },
  { name: '1-D SAME_UPPER', x: [2, 3, 7], w: [3, 2, 4], attrs: { strides: [3], auto_pad: 'SAME_UPPER' } },
  {
    name: '3-D with output_shape',
    x: [1, 2, 3, 2, 3],
    w: [2, 3, 2, 3, 2],
    attrs: { strides: [2, 1, 2], output_shape: [6, 3, 5] },
  },
  {
    name: 'depthwise (group = channels)',
    x: [1, 6, 4, 4],
    w: [6, 1, 3, 3],
    attrs: { group: 6, strides: [2, 2], pads: [1, 0, 0, 1] },
  },
];

describe('ConvTranspose kernel vs CPU twin', () => {
  it.each(CASES)('$name', async (c) => {
    const rand = rng(c.x.reduce((a, b) => a * b, 1) + c.name.length);
    const p = convTransposeParams(node(c.attrs), c.x, c.w);
    const xv = randomArray(
      c.x.reduce((a, b) => a * b, 1),
      rand,
    );
    const wv = randomArray(
      c.w.reduce((a, b) => a * b, 1),
      rand,
    );
    const bv = c.bias ? randomArray(p.outChannels, rand) : undefined;
    const want = convTransposeCpu(
      cpuTensor(c.x, xv),
      cpuTensor(c.w, wv),
      bv ? cpuTensor([p.outChannels], bv) : null,
      p,
    );
    const out = gpu.empty('float32', want.dims);
    convTranspose(
      gpu,
      gpu.upload('float32', c.x, xv),
      gpu.upload('float32', c.w, wv),
      bv ? gpu.upload('float32', [p.outChannels], bv) : null,
      out,
      p,
    );
    expect(gpu.recorded).toEqual(['ConvTranspose']);
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(1e-5);
  });
});
