// SwiftShader timings of the kernels' software-adapter (barrier-free) variants vs their default (tiled /
// workgroup-reduction) variants on the shapes of clip-tiny (vision: 65 tokens,
// text: 32 tokens × 1 or 8 prompts) and blip-tiny ITM (32 text tokens, cross-attention over 65 image tokens):
// hidden 128, MLP 256, merged QKV 384. Each sample records REPS dispatches into one submit and waits for it.
// Run: npx vitest bench --run tests/kernels/software-variants.bench.ts
import { afterAll, bench, describe } from 'vitest';
import { conv2d, layerNorm, matmul, reduce } from '../../src/engine/webgpu/ops';
import type { Activation, Conv2dVariant } from '../../src/engine/webgpu/ops/types';
import type { GpuView, KernelContext } from '../../src/engine/webgpu/plan/kernel-context';
import { asSoftwareAdapter, randomArray, rng, TestGpu } from './gpu-harness';

const REPS = 20;
const gpu = await TestGpu.create();
const software: KernelContext = asSoftwareAdapter(gpu);
const variants: [string, KernelContext][] = [
  ['software', software],
  ['default', gpu],
];
const rand = rng(7);
afterAll(() => gpu.device.destroy());

function input(dims: number[]): GpuView {
  return gpu.upload(
    'float32',
    dims,
    randomArray(
      dims.reduce((a, b) => a * b, 1),
      rand,
    ),
  );
}

async function repeat(record: () => void): Promise<void> {
  for (let i = 0; i < REPS; i++) record();
  await gpu.run();
}

const options = { time: 400, warmupIterations: 2 };

const linears: [string, number, number, number, Activation][] = [
  ['vision qkv 65×128→384', 65, 128, 384, 'none'],
  ['vision fc1 65×128→256 gelu', 65, 128, 256, 'gelu-erf'],
  ['vision fc2 65×256→128', 65, 256, 128, 'none'],
  ['text qkv 32×128→384', 32, 128, 384, 'none'],
  ['text×8 fc1 256×128→256 gelu', 256, 128, 256, 'gelu-erf'],
  ['itm cross kv 65×128→256', 65, 128, 256, 'none'],
  ['projection 1×128→128', 1, 128, 128, 'none'],
];
for (const [name, m, k, n, activation] of linears) {
  const a = input([1, m, k]);
  const w = input([k, n]);
  const bias = input([n]);
  const out = gpu.empty('float32', [1, m, n]);
  describe(`linear ${name}`, () => {
    for (const [variant, ctx] of variants)
      bench(variant, () => repeat(() => matmul(ctx, a, w, bias, out, { activation })), options);
  });
}

for (const [name, rows] of [
  ['vision 65×128', 65],
  ['text 32×128', 32],
  ['text×8 256×128', 256],
] as const) {
  const x = input([rows, 128]);
  const residual = input([rows, 128]);
  const gamma = input([128]);
  const beta = input([128]);
  const out = gpu.empty('float32', [rows, 128]);
  const sum = gpu.empty('float32', [rows, 128]);
  describe(`layerNorm ${name} (+residual)`, () => {
    for (const [variant, ctx] of variants)
      bench(variant, () => repeat(() => layerNorm(ctx, x, gamma, beta, residual, out, sum)), options);
  });
}

for (const [name, dims, axes] of [
  ['ReduceSum last axis 65×128', [65, 128], [-1]],
  ['ReduceMean last axis 8×32×128', [8, 32, 128], [-1]],
  ['ReduceSum axis 1 8×32 (mask)', [8, 32], [1]],
] as const) {
  const x = input([...dims]);
  const outDims = dims.map((d, i) => (axes.some((a) => (a + dims.length) % dims.length === i) ? 1 : d));
  const out = gpu.empty('float32', outDims);
  describe(`reduce ${name}`, () => {
    for (const [variant, ctx] of variants)
      bench(variant, () => repeat(() => reduce(ctx, x, out, { op: 'Sum', axes: [...axes] })), options);
  });
}

// Conv: the v2 vision tower's 3×3 stem (models/train/llava_nets.py deep_stem, 64×64 input, one image), im2col +
// matmul (the software default) against the window kernel it replaced. Fewer, longer samples: one dispatch of the
// largest layer takes tens of ms here.
const convOptions = { time: 0, iterations: 3, warmupIterations: 1 };
for (const [cIn, cOut, size, stride] of [
  [32, 32, 64, 2],
  [32, 64, 32, 1],
  [64, 64, 32, 2],
  [64, 64, 16, 1],
  [64, 128, 16, 2],
  [128, 128, 8, 1],
] as const) {
  const x = input([1, cIn, size, size]);
  const w = input([cOut, cIn, 3, 3]);
  const bias = input([cOut]);
  const params = {
    strides: [stride, stride] as [number, number],
    pads: [1, 1, 1, 1] as [number, number, number, number],
  };
  const o = size / stride;
  const out = gpu.empty('float32', [1, cOut, o, o]);
  describe(`conv ${cIn}→${cOut} 3×3 stride ${stride} at ${size}×${size}`, () => {
    for (const variant of ['im2col', 'window'] as Conv2dVariant[])
      bench(
        variant,
        () => repeat(() => conv2d(software, x, w, bias, out, { ...params, variant })),
        convOptions,
      );
  });
}
