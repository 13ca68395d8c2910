// Batched matmul / linear with bias and fused activation: tiled (shaders/matmul.wgsl), one output row
// (shaders/gemv.wgsl), and on software adapters the barrier-free 4×4-block variant (shaders/matmul-direct*.wgsl,
// measured 1.3–1.7× faster than the earlier barrier-free tiled-grid variant at M = 32–256 and 6× faster than
// gemv at M = 1 on SwiftShader at CLIP/BLIP shapes; 6–13× faster than the tiled kernel there: see
// tests/kernels/software-variants.bench.ts).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import gemvWgsl from '../../../../shaders/gemv.wgsl?raw';
import matmulWgsl from '../../../../shaders/matmul.wgsl?raw';
import bF16Wgsl from '../../../../shaders/matmul-b-f16.wgsl?raw';
import bF16x4Wgsl from '../../../../shaders/matmul-b-f16x4.wgsl?raw';
import bF32Wgsl from '../../../../shaders/matmul-b-f32.wgsl?raw';
import bF32x4Wgsl from '../../../../shaders/matmul-b-f32x4.wgsl?raw';
import matmulDirectWgsl from '../../../../shaders/matmul-direct.wgsl?raw';
import matmulDirectScalarWgsl from '../../../../shaders/matmul-direct-scalar.wgsl?raw';
import matmulDirectVec4Wgsl from '../../../../shaders/matmul-direct-vec4.wgsl?raw';
import matmulIoWgsl from '../../../../shaders/matmul-io.wgsl?raw';
import loadScalarWgsl from '../../../../shaders/matmul-load-scalar.wgsl?raw';
import loadVec4Wgsl from '../../../../shaders/matmul-load-vec4.wgsl?raw';
import matmulTiledWgsl from '../../../../shaders/matmul-tiled.wgsl?raw';
import type { GpuView, KernelContext } from '../kernel-context';
import {
  broadcastDims,
  broadcastStrides,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  specialize,
  UniformWriter,
} from './common';
import type { Activation, MatmulParams, MatmulVariant } from './types';

const TILE = 32;
/** Output columns per gemv.wgsl workgroup: one per thread, or 8 (32 lanes each) when B is transposed. */
const GEMV_COLUMNS = 256;
const GEMV_COLUMNS_TRANSPOSED = 8;
const MAX_BATCH_RANK = 8;
/** Batch rank of matmul-direct.wgsl (its bdims/astr/bstr are vec4s). */
const DIRECT_BATCH_RANK = 4;
/** Invocations per matmul-direct workgroup, one 4×4 output block each. */
const DIRECT_GROUP = 64;

/** Large tiles (shaders/matmul-tiled.wgsl): output tile TM×TN, RM×RN per thread, BK-deep slabs. */
interface TiledShape {
  readonly tm: number;
  readonly tn: number;
  readonly rm: number;
  readonly rn: number;
  readonly bk: number;
}
const TILED: Record<'tile64' | 'tile128', TiledShape> = {
  tile64: { tm: 64, tn: 64, rm: 4, rn: 4, bk: 16 },
  tile128: { tm: 128, tn: 128, rm: 8, rn: 8, bk: 16 },
};
/**
 * A large tile only pays when the grid still fills the GPU: below this many workgroups the 32×32 kernel's
 * 16× more, smaller workgroups keep more multiprocessors busy (a ViT-B layer at batch 1 is 197 rows).
 */
const MIN_LARGE_TILE_WORKGROUPS = 128;

/** The body of matmul-direct.wgsl's activate() for each fused activation (functions of activations.wgsl). */
const DIRECT_ACTIVATION: Record<Activation, string> = {
  none: 'return x;',
  relu: 'return max(x, 0.0);',
  'gelu-erf': 'return gelu_erf(x);',
  'gelu-tanh': 'return gelu_tanh(x);',
  'quick-gelu': 'return quick_gelu(x);',
};

/** B's storage (float32, or float16 weights widened on load) for element-wise and vec4 reads. */
function bAccess(b: GpuView, vec4: boolean): { wgsl: string; key: string } {
  const half = b.dtype === 'float16';
  return {
    wgsl: vec4 ? (half ? bF16x4Wgsl : bF32x4Wgsl) : half ? bF16Wgsl : bF32Wgsl,
    key: half ? 'b16' : 'b32',
  };
}

/** The `act` uniform of matmul.wgsl / conv2d.wgsl for each fused activation. */
export const ACTIVATION_CODE: Record<Activation, number> = {
  none: 0,
  relu: 1,
  'gelu-erf': 2,
  'gelu-tanh': 3,
  'quick-gelu': 4,
};

export interface MatmulGeometry {
  m: number;
  n: number;
  k: number;
  batchDims: number[];
  outDims: number[];
  aBatchStrides: number[];
  bBatchStrides: number[];
}

/** Shapes of an ONNX MatMul (rank-1 operands promoted and their dim dropped again from the output). */
export function matmulGeometry(
  aDims: readonly number[],
  bDims: readonly number[],
  transposeB: boolean,
): MatmulGeometry {
  if (aDims.length === 0 || bDims.length === 0) invalid('MatMul: scalar operands are not allowed');
  const a2 = aDims.length === 1 ? [1, aDims[0]] : [...aDims];
  const b2 = bDims.length === 1 ? (transposeB ? [1, bDims[0]] : [bDims[0], 1]) : [...bDims];
  const m = a2[a2.length - 2];
  const k = a2[a2.length - 1];
  const kb = transposeB ? b2[b2.length - 1] : b2[b2.length - 2];
  const n = transposeB ? b2[b2.length - 2] : b2[b2.length - 1];
  if (k !== kb) invalid(`MatMul: inner dims differ ([${aDims}] × [${bDims}]${transposeB ? 'ᵀ' : ''})`);
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const batchDims = broadcastDims(aBatch, bBatch);
  if (batchDims.length > MAX_BATCH_RANK)
    invalid(`MatMul: batch rank ${batchDims.length} exceeds ${MAX_BATCH_RANK}`);
  const outDims = [...batchDims];
  if (aDims.length > 1) outDims.push(m);
  if (bDims.length > 1) outDims.push(n);
  return {
    m,
    n,
    k,
    batchDims,
    outDims,
    aBatchStrides: broadcastStrides(aBatch, batchDims).map((s) => s * m * k),
    bBatchStrides: broadcastStrides(bBatch, batchDims).map((s) => s * k * n),
  };
}

export function matmul(
  ctx: KernelContext,
  a: GpuView,
  b: GpuView,
  bias: GpuView | null,
  out: GpuView,
  params: MatmulParams = {},
): void {
  expectFloat32('MatMul A', a);
  // B may hold float16 weights (two per u32 word), read through matmul-b-f16*.wgsl.
  if (b.dtype !== 'float16') expectFloat32('MatMul B', b);
  expectFloat32('MatMul output', out);
  const transposeB = params.transposeB ?? false;
  const g = matmulGeometry(a.dims, b.dims, transposeB);
  expectDims('MatMul output', out, g.outDims);
  if (bias) {
    expectFloat32('MatMul bias', bias);
    const nb = bias.dims.reduce((x, y) => x * y, 1);
    if (nb !== g.n && nb !== 1) invalid(`MatMul bias has dims [${bias.dims}], expected [${g.n}] or a scalar`);
  }
  const batch = g.batchDims.reduce((x, y) => x * y, 1);
  if (g.m === 0 || g.n === 0 || batch === 0) return;
  if (batch > ctx.features.maxComputeWorkgroupsPerDimension) invalid(`MatMul: batch ${batch} too large`);
  const activation = params.activation ?? 'none';
  const biasLen = bias ? bias.dims.reduce((x, y) => x * y, 1) : 0;
  // vec4 staging when every row of A and B starts on a 16-byte boundary (views themselves are 256-aligned).
  const vec4 = g.k % 4 === 0 && (transposeB || g.n % 4 === 0);
  const variant = params.variant ?? chooseVariant(ctx, g, batch, vec4, biasLen);
  if (variant === 'direct') {
    matmulDirect(ctx, a, b, bias, out, g, transposeB, activation, params.alpha ?? 1);
    return;
  }
  let wgsl: string;
  let cacheKey: string;
  let workgroups: [number, number, number];
  if (variant === 'gemv') {
    // One output row: a matrix-vector product instead of 32×32 tiles that would be 31/32 idle.
    const gemvB = bAccess(b, false);
    wgsl = activationsWgsl + matmulIoWgsl + gemvWgsl + gemvB.wgsl;
    cacheKey = `matmul|gemv|${gemvB.key}`;
    workgroups = [Math.ceil(g.n / (transposeB ? GEMV_COLUMNS_TRANSPOSED : GEMV_COLUMNS)), 1, batch];
  } else if (variant === 'tile32') {
    const tiledB = bAccess(b, vec4);
    wgsl = activationsWgsl + matmulIoWgsl + matmulWgsl + tiledB.wgsl + (vec4 ? loadVec4Wgsl : loadScalarWgsl);
    cacheKey = `${vec4 ? 'matmul|vec4' : 'matmul|scalar'}|${tiledB.key}`;
    workgroups = [Math.ceil(g.n / TILE), Math.ceil(g.m / TILE), batch];
  } else {
    const half = variant.endsWith('-f16');
    if (!vec4) invalid(`MatMul: the ${variant} kernel needs K and N multiples of 4`);
    if (half && !ctx.features.shaderF16) invalid(`MatMul: ${variant} needs the shader-f16 feature`);
    const t = TILED[half ? (variant.slice(0, -4) as keyof typeof TILED) : (variant as keyof typeof TILED)];
    const tiledB = bAccess(b, true);
    wgsl =
      (half ? 'enable f16;\n' : '') +
      activationsWgsl +
      matmulIoWgsl +
      specialize(matmulTiledWgsl, {
        TM: t.tm,
        TN: t.tn,
        RM: t.rm,
        RN: t.rn,
        BK: t.bk,
        HALF: String(half),
        CT: half ? 'f16' : 'f32',
      }) +
      tiledB.wgsl;
    cacheKey = `matmul|${variant}|${tiledB.key}`;
    workgroups = [Math.ceil(g.n / t.tn), Math.ceil(g.m / t.tm), batch];
  }
  ctx.record({
    label: bias || activation !== 'none' ? 'Linear' : 'MatMul',
    wgsl,
    cacheKey,
    workgroups,
    bindings: [a, b, bias ?? a, out],
    uniforms: new UniformWriter()
      .u32s([g.m, g.n, g.k, g.batchDims.length])
      .f32s([params.alpha ?? 1])
      .u32s([transposeB ? 1 : 0, bias ? 1 : 0, ACTIVATION_CODE[activation], biasLen])
      .u32Array(g.batchDims, 2)
      .u32Array(g.aBatchStrides, 2)
      .u32Array(g.bBatchStrides, 2)
      .finish(),
  });
}

/**
 * The kernel for a product: barrier-free blocks on software adapters; on GPUs a matrix-vector kernel for one
 * row, large tiles where they still fill the GPU (f16 arithmetic when the session asked for it and the
 * adapter has shader-f16), else 32×32 tiles.
 */
function chooseVariant(
  ctx: KernelContext,
  g: MatmulGeometry,
  batch: number,
  vec4: boolean,
  biasLen: number,
): MatmulVariant {
  if (ctx.features.softwareAdapter === true && g.batchDims.length <= DIRECT_BATCH_RANK && biasLen !== 1)
    return 'direct';
  if (g.m === 1) return 'gemv';
  if (!vec4) return 'tile32';
  const half = ctx.features.shaderF16 && ctx.features.f16Compute === true;
  for (const name of ['tile128', 'tile64'] as const) {
    const t = TILED[name];
    const groups = Math.ceil(g.m / t.tm) * Math.ceil(g.n / t.tn) * batch;
    if (groups >= MIN_LARGE_TILE_WORKGROUPS) return half ? `${name}-f16` : name;
  }
  return 'tile32';
}

/** MatMul + Add (+ activation) fused: the same kernel, named for the pattern the engine lowers to it. */
export const linear = matmul;

/** Software adapters: 4×4 output blocks per invocation, no workgroup memory or barriers (matmul-direct*.wgsl). */
function matmulDirect(
  ctx: KernelContext,
  a: GpuView,
  b: GpuView,
  bias: GpuView | null,
  out: GpuView,
  g: MatmulGeometry,
  transposeB: boolean,
  activation: Activation,
  alpha: number,
): void {
  // vec4 loads: whole vec4s of A rows and B rows (K, N multiples of 4, B stored [K, N]).
  const vec4 = !transposeB && g.k % 4 === 0 && g.n % 4 === 0;
  const pad = DIRECT_BATCH_RANK - g.batchDims.length;
  const batch = g.batchDims.reduce((x, y) => x * y, 1);
  const blocksN = Math.ceil(g.n / 4);
  const blocksM = Math.ceil(g.m / 4);
  const bRead = bAccess(b, vec4);
  const wgsl =
    activationsWgsl +
    bRead.wgsl +
    specialize(matmulDirectWgsl + (vec4 ? matmulDirectVec4Wgsl : matmulDirectScalarWgsl), {
      ACT: DIRECT_ACTIVATION[activation],
      BIAS_DECL: bias
        ? `@group(0) @binding(3) var<storage, read> bias: array<${vec4 ? 'vec4<f32>' : 'f32'}>;\n@group(0) @binding(4) var<uniform> u: Params;`
        : '@group(0) @binding(3) var<uniform> u: Params;',
      BIAS_ADD: bias ? (vec4 ? 'v += bias[bn];' : 'v += bias[col];') : '',
      B_LOAD: transposeB ? 'b_at(boff + col * u.k + kk)' : 'b_at(boff + kk * u.n + col)',
    });
  ctx.record({
    label: bias || activation !== 'none' ? 'Linear' : 'MatMul',
    wgsl,
    cacheKey: `matmul|direct|${vec4 ? 'vec4' : 'scalar'}|${bRead.key}|${transposeB}|${bias !== null}|${activation}`,
    workgroups: grid1d(Math.ceil((blocksN * blocksM * batch) / DIRECT_GROUP)),
    bindings: bias ? [a, b, out, bias] : [a, b, out],
    uniforms: new UniformWriter()
      .u32s([g.m, g.n, g.k, batch])
      .u32s([...new Array<number>(pad).fill(1), ...g.batchDims])
      .u32s([...new Array<number>(pad).fill(0), ...g.aBatchStrides])
      .u32s([...new Array<number>(pad).fill(0), ...g.bBatchStrides])
      .f32s([alpha])
      .u32s([blocksN, blocksM, 0])
      .finish(),
  });
}
