import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatCpu, expandCpu, sliceCpu, transposeCpu } from '../../src/engine/webgpu/cpu/copy';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { concat, copyStrided, expand, slice, transpose } from '../../src/engine/webgpu/ops';
import { WebvlError } from '../../src/errors';
import { randomArray, rng, TestGpu } from './gpu-harness';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('CPU twins against hand-computed values', () => {
  it('transpose, slice, expand, concat', () => {
    const x = cpuTensor([2, 3], iota(6));
    expect(Array.from(transposeCpu(x).data)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(sliceCpu(x, [0, -1], [2, -4], [0, 1], [1, -2]).data)).toEqual([2, 0, 5, 3]);
    expect(Array.from(sliceCpu(x, [1], [100], [1]).data)).toEqual([1, 2, 4, 5]);
    expect(Array.from(expandCpu(cpuTensor([2, 1], [7, 8]), [2, 2, 3]).data)).toEqual([
      7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8,
    ]);
    expect(Array.from(concatCpu([x, cpuTensor([2, 1], [9, 9])], 1).data)).toEqual([0, 1, 2, 9, 3, 4, 5, 9]);
  });
});

describe('data movement kernels vs CPU twin', () => {
  it('transpose over several perms', async () => {
    const rand = rng(5);
    const cases: [number[], number[]][] = [
      [
        [7, 13],
        [1, 0],
      ],
      [
        [2, 5, 3, 4],
        [0, 2, 1, 3],
      ],
      [
        [3, 4, 5],
        [2, 0, 1],
      ],
      [
        [2, 3, 4, 5, 2],
        [4, 3, 2, 1, 0],
      ],
    ];
    for (const [dims, perm] of cases) {
      const n = dims.reduce((a, b) => a * b, 1);
      const x = randomArray(n, rand);
      const want = transposeCpu(cpuTensor(dims, x), perm);
      const out = gpu.empty('float32', want.dims);
      transpose(gpu, gpu.upload('float32', dims, x), out, perm);
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data, Math.fround));
      gpu.release();
    }
  });

  it('slice with negative indices, steps and clamping', async () => {
    const dims = [5, 6, 7];
    const x = iota(5 * 6 * 7);
    const cases: [number[], number[], number[] | undefined, number[] | undefined][] = [
      [[1], [4], [0], undefined],
      [
        [-3, 0],
        [100, -1],
        [2, 1],
        [2, 2],
      ],
      [
        [4, 5],
        [-100, 0],
        [0, 2],
        [-2, -3],
      ],
      [[0, 0, 0], [5, 6, 7], undefined, undefined],
      [[3], [3], [1], undefined],
    ];
    for (const [starts, ends, axes, steps] of cases) {
      const want = sliceCpu(cpuTensor(dims, x), starts, ends, axes, steps);
      const out = gpu.empty('int32', want.dims);
      slice(gpu, gpu.upload('int32', dims, x), out, { starts, ends, axes, steps });
      expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data));
      gpu.release();
    }
  });

  it('expand and concat', async () => {
    const rand = rng(9);
    const x = randomArray(3, rand);
    const want = expandCpu(cpuTensor([3, 1], x), [2, 3, 5]);
    const out = gpu.empty('float32', [2, 3, 5]);
    expand(gpu, gpu.upload('float32', [3, 1], x), out);
    expect(Array.from(await gpu.read(out))).toEqual(Array.from(want.data, Math.fround));

    const parts = [
      [2, 1, 4],
      [2, 3, 4],
      [2, 2, 4],
    ].map((d) => cpuTensor(d, iota(d[0] * d[1] * d[2])));
    const cat = concatCpu(parts, 1);
    const gcat = gpu.empty('int32', cat.dims);
    concat(
      gpu,
      parts.map((p) => gpu.upload('int32', p.dims, p.data)),
      gcat,
      -2,
    );
    expect(Array.from(await gpu.read(gcat))).toEqual(Array.from(cat.data));
    gpu.release();
  });

  it('copyStrided appends a new token into a KV cache in place', async () => {
    // cache [B=2, H=2, max=4, D=3], past length 2; the new token's K is [B, H, 1, D].
    const cache = gpu.upload('float32', [2, 2, 4, 3], new Float32Array(48));
    const tok = iota(12).map((v) => v + 1);
    copyStrided(
      gpu,
      gpu.upload('float32', [2, 2, 1, 3], tok),
      [6, 3, 3, 1],
      0,
      cache,
      [24, 12, 3, 1],
      2 * 3,
      [2, 2, 1, 3],
    );
    const got = await gpu.read(cache);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 2; h++)
        for (let s = 0; s < 4; s++)
          for (let d = 0; d < 3; d++) {
            const want = s === 2 ? tok[b * 6 + h * 3 + d] : 0;
            expect(got[b * 24 + h * 12 + s * 3 + d]).toBe(want);
          }
    gpu.release();
  });

  it('rejects out-of-bounds copies and bad perms', () => {
    const x = gpu.upload('float32', [4], [1, 2, 3, 4]);
    expect(() => copyStrided(gpu, x, [2], 0, gpu.empty('float32', [4]), [1], 0, [3])).toThrow(WebvlError);
    expect(() =>
      transpose(gpu, gpu.upload('float32', [2, 2], [1, 2, 3, 4]), gpu.empty('float32', [2, 2]), [0, 0]),
    ).toThrow(WebvlError);
    gpu.release();
  });
});
