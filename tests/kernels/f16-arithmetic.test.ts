// f16-arithmetic kernels (matmul tile*-f16, attention tiled-f16) against their CPU twins on half-rounded inputs.
// They need the adapter's shader-f16 feature: where it is missing (SwiftShader, this CI), each test says so in
// its name and is skipped; on a GPU machine they run (the Node benchmark also checks them, at 2e-2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfToFloat, toHalfBits } from '../../src/engine/half';
import { attentionCpu } from '../../src/engine/webgpu/cpu/attention';
import { matmulCpu } from '../../src/engine/webgpu/cpu/matmul';
import { cpuTensor } from '../../src/engine/webgpu/cpu/tensor';
import { attention, matmul } from '../../src/engine/webgpu/ops';
import { maxError, randomArray, rng, TestGpu } from './gpu-harness';

const probe = await TestGpu.create();
const hasF16 = probe.features.shaderF16;
probe.device.destroy();
const why = hasF16 ? '' : ' (not run: this adapter has no shader-f16)';

let gpu: TestGpu;
beforeAll(async () => {
  gpu = await TestGpu.create();
});
afterAll(() => gpu?.device.destroy());

const half = (x: Float32Array) => Float64Array.from(x, (v) => halfToFloat(toHalfBits(v)));

describe('f16 arithmetic kernels vs CPU twins on half-rounded inputs', () => {
  it.skipIf(!hasF16).each([
    { variant: 'tile64-f16' as const, m: 70, n: 68, k: 100 },
    { variant: 'tile128-f16' as const, m: 130, n: 132, k: 260 },
  ])(`matmul $variant $m×$k · $k×$n${why}`, async ({ variant, m, n, k }) => {
    const rand = rng(m + n + k);
    const a = randomArray(m * k, rand);
    const b = randomArray(k * n, rand);
    const want = matmulCpu(cpuTensor([m, k], half(a)), cpuTensor([k, n], half(b)));
    const out = gpu.empty('float32', [m, n]);
    matmul(gpu, gpu.upload('float32', [m, k], a), gpu.upload('float32', [k, n], b), null, out, { variant });
    // f16 products summed over 16-term slabs, slabs added in f32: errors stay near f16 resolution.
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-2);
    gpu.release();
  });

  it.skipIf(!hasF16)(`attention tiled-f16, causal with past${why}`, async () => {
    const [B, H, Sq, Sk, D] = [2, 3, 37, 45, 64];
    const rand = rng(9);
    const q = randomArray(B * H * Sq * D, rand);
    const k = randomArray(B * H * Sk * D, rand);
    const v = randomArray(B * H * Sk * D, rand);
    const want = attentionCpu(
      cpuTensor([B, H, Sq, D], half(q)),
      cpuTensor([B, H, Sk, D], half(k)),
      cpuTensor([B, H, Sk, D], half(v)),
      { causal: true },
    );
    const out = gpu.empty('float32', [B, H, Sq, D]);
    const s = [H * Sq * D, Sq * D, D, 1] as const;
    attention(
      gpu,
      gpu.upload('float32', [B, H, Sq, D], q),
      gpu.upload('float32', [B, H, Sk, D], k),
      gpu.upload('float32', [B, H, Sk, D], v),
      null,
      out,
      { causal: true, variant: 'tiled-f16', out: { strides: s } },
    );
    expect(maxError(await gpu.read(out), want.data)).toBeLessThan(2e-2);
    gpu.release();
  });

  it.skipIf(hasF16)(
    'without shader-f16 the f16 kernels refuse with a typed error, not a compile failure',
    () => {
      const x = gpu.upload('float32', [1, 1, 8, 8], new Float32Array(64));
      expect(() =>
        attention(gpu, x, x, x, null, gpu.empty('float32', [1, 8, 8]), { variant: 'tiled-f16' }),
      ).toThrow(/shader-f16/);
      gpu.release();
    },
  );
});
