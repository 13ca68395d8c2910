// KV-cache append with per-batch offsets (ops/kv-append.ts) against its CPU twin, which follows
// onnxruntime's GroupQueryAttention (copy each row's past, then the new rows, over zeros).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kvAppendCpu } from '../../src/engine/webgpu/cpu/kv-append';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { kvAppend } from '../../src/engine/webgpu/ops';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());
afterEach(() => gpu?.release());

describe('CPU twin', () => {
  it('appends after each row’s own length and zeroes the rest', () => {
    // B = 2, H = 1, D = 1, S = 1: row 0 has 2 past tokens (seqlens 2), row 1 has 0 (seqlens 0).
    const past = cpuTensor([2, 1, 3, 1], [1, 2, 3, 4, 5, 6]);
    const out = kvAppendCpu(past, cpuTensor([2, 1, 1, 1], [9, 8]), [2, 0], 4, false);
    expect(Array.from(out.data)).toEqual([1, 2, 9, 0, 8, 0, 0, 0]);
  });
});

describe('kvAppend kernel vs CPU twin', () => {
  it.each([
    { b: 1, h: 2, s: 5, d: 8, past: 0, total: 5, seqlens: [4], first: true },
    { b: 2, h: 2, s: 4, d: 8, past: 0, total: 6, seqlens: [3, 1], first: true }, // right-padded prompt
    { b: 1, h: 2, s: 1, d: 8, past: 6, total: 7, seqlens: [6], first: false }, // decode
    { b: 3, h: 1, s: 1, d: 4, past: 5, total: 6, seqlens: [5, 2, 3], first: false }, // padded decode
    { b: 1, h: 2, s: 3, d: 4, past: 8, total: 8, seqlens: [4], first: false }, // a buffer of capacity 8
  ])('B $b, S $s, past $past → $total, seqlens $seqlens, first $first', async (c) => {
    const rand = rng(c.b * 100 + c.s * 10 + c.past);
    const freshDims = [c.b, c.s, c.h, c.d];
    const fv = randomArray(
      freshDims.reduce((a, b) => a * b, 1),
      rand,
    );
    const pastDims = [c.b, c.h, c.past, c.d];
    const pv = randomArray(
      pastDims.reduce((a, b) => a * b, 1),
      rand,
    );
    const want = kvAppendCpu(
      c.past ? cpuTensor(pastDims, pv) : null,
      cpuTensor(freshDims, fv),
      c.seqlens,
      c.total,
      c.first,
    );
    const out = gpu.empty('float32', [c.b, c.h, c.total, c.d]);
    kvAppend(
      gpu,
      c.past ? gpu.upload('float32', pastDims, pv) : null,
      gpu.upload('float32', [c.b, c.s, c.h * c.d], fv),
      gpu.upload('int32', [c.b], c.seqlens),
      out,
      {
        fresh: {
          shape: [c.b, c.h, c.s, c.d],
          strides: [c.s * c.h * c.d, c.d, c.h * c.d, 1],
        },
        first: c.first,
      },
    );
    expect(gpu.recorded).toEqual(['KvAppend']);
    expect(maxError(await gpu.read(out), want.data)).toBe(0);
  });

  it('rejects new rows that do not fit the cache', () => {
    const fresh = gpu.upload('float32', [1, 4, 8], new Float32Array(32));
    const seqlens = gpu.upload('int32', [1], [3]);
    const out = gpu.empty('float32', [1, 2, 3, 4]);
    expect(() =>
      kvAppend(gpu, null, fresh, seqlens, out, {
        fresh: { shape: [1, 2, 4, 4], strides: [32, 4, 8, 1] },
        first: true,
      }),
    ).toThrow(/fit/);
  });
});
