// Batched matmul / linear with bias and fused activation: tiled (shaders/matmul.wgsl), one output row
// (shaders/gemv.wgsl), and on software adapters the barrier-free 4×4-block variant (shaders/matmul-direct*.wgsl,
// measured 1.3–1.7× faster than the earlier barrier-free tiled-grid variant at M = 32–256 and 6× faster than
// gemv at M = 1 on SwiftShader at CLIP/BLIP shapes; 6–13× faster than the tiled kernel there: see
// tests/kernels/software-variants.bench.ts).
import activationsWgsl from '../../../../shaders/activations.wgsl?raw';
import gemvWgsl from '../../../../shaders/gemv.wgsl?raw';
import gemvSplitKWgsl from '../../../../shaders/gemv-splitk.wgsl?raw';
import matmulWgsl from '../../../../shaders/matmul.wgsl?raw';
import bF16Wgsl from '../../../../shaders/matmul-b-f16.wgsl?raw';
import bF16x4Wgsl from '../../../../shaders/matmul-b-f16x4.wgsl?raw';
import bF32Wgsl from '../../../../shaders/matmul-b-f32.wgsl?raw';
import bF32x4Wgsl from '../../../../shaders/matmul-b-f32x4.wgsl?raw';
import bQuantWgsl from '../../../../shaders/matmul-b-quant.wgsl?raw';
import matmulDirectWgsl from '../../../../shaders/matmul-direct.wgsl?raw';
import matmulDirectScalarWgsl from '../../../../shaders/matmul-direct-scalar.wgsl?raw';
import matmulDirectVec4Wgsl from '../../../../shaders/matmul-direct-vec4.wgsl?raw';
import matmulIoWgsl from '../../../../shaders/matmul-io.wgsl?raw';
import loadScalarWgsl from '../../../../shaders/matmul-load-scalar.wgsl?raw';
import loadVec4Wgsl from '../../../../shaders/matmul-load-vec4.wgsl?raw';
import matmulTiledWgsl from '../../../../shaders/matmul-tiled.wgsl?raw';
import type { QuantLayout } from '../passes/pack-quantized';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  broadcastDims,
  broadcastStrides,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  sameDims,
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
 * Below this many rows the 64×64 tile leaves most of a tile empty; the 32×32 kernel serves them. On an H200
 * (bench/results/2026-11-28-node-nvidia-h200.md) tile64 beat tile32 at every measured shape (256³: 0.035 vs
 * 0.043 ms; ViT-B MLP at 197 rows: 0.092 vs 0.136; 4096³: 22.3 vs 7.3 TFLOP/s), and tile128 lost to both by
 * 10× (its 8×8 register block does not stay in registers there), so it is never chosen by default.
 */
const MIN_TILE64_ROWS = 32;

/** The body of matmul-direct.wgsl's activate() for each fused activation (functions of activations.wgsl). */
const DIRECT_ACTIVATION: Record<Activation, string> = {
  none: 'return x;',
  relu: 'return max(x, 0.0);',
  'gelu-erf': 'return gelu_erf(x);',
  'gelu-tanh': 'return gelu_tanh(x);',
  'quick-gelu': 'return quick_gelu(x);',
  silu: 'return silu(x);',
};

/** The reader of a packed quantized B (matmul-b-quant.wgsl's b_at / b4_at) for `q`, and its cache key. */
export function quantizedB(q: QuantLayout): { wgsl: string; key: string } {
  const constants = {
    K: q.k,
    BLOCK: q.blockSize,
    BLOCKS_PER_ROW: q.blocksPerRow,
    ZERO_POINT_WORD: q.zeroPointWord,
    CODE_WORD: q.codeWord,
    BITS: q.bits,
    HALF_SCALES: Number(q.halfScales),
    // 256: a zero point per block, read from the tensor.
    UNIFORM_ZERO_POINT: q.uniformZeroPoint ?? 256,
  };
  return { wgsl: specialize(bQuantWgsl, constants), key: `q${Object.values(constants).join('|')}` };
}

/**
 * B's storage (float32, float16 weights widened on load, or packed quantized weights dequantized on load) for
 * element-wise and vec4 reads.
 */
function bAccess(b: GpuView, vec4: boolean): { wgsl: string; key: string } {
  if (b.quant) return quantizedB(b.quant);
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
  silu: 5,
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
  // B may hold float16 weights (two per u32 word), read through matmul-b-f16*.wgsl, or packed quantized ones.
  if (b.quant) {
    if (!params.transposeB || b.dims[0] !== b.quant.n || b.dims[1] !== b.quant.k)
      invalid('MatMul: a quantized B is read as [N, K] (transposed)');
    if (b.quant.k % 4 !== 0 || b.quant.blockSize % 4 !== 0)
      invalid('MatMul: quantized B needs K and its block size to be multiples of 4');
  } else if (b.dtype !== 'float16') expectFloat32('MatMul B', b);
  expectFloat32('MatMul output', out);
  const transposeB = params.transposeB ?? false;
  const g = matmulGeometry(a.dims, b.dims, transposeB);
  expectDims('MatMul output', out, g.outDims);
  if (bias) expectFloat32(params.gate ? 'MatMul gate' : 'MatMul bias', bias);
  if (params.gate && (!bias || !sameDims(bias.dims, g.outDims)))
    invalid(`MatMul: a gate must have the output's dims [${g.outDims}]`);
  const biasAt = bias ? biasLayout(bias, g.m, g.n, params.gate) : null;
  const batch = g.batchDims.reduce((x, y) => x * y, 1);
  if (g.m === 0 || g.n === 0 || batch === 0) return;
  if (batch > ctx.features.maxComputeWorkgroupsPerDimension) invalid(`MatMul: batch ${batch} too large`);
  const activation = params.activation ?? 'none';
  // vec4 staging when every row of A and B starts on a 16-byte boundary (views themselves are 256-aligned).
  const vec4 = g.k % 4 === 0 && (transposeB || g.n % 4 === 0);
  // The software kernel's epilogue adds a bias per column or per row (a convolution's, ops/conv2d.ts).
  const biasAlong = directBiasAxis(biasAt, params);
  const directBias = !biasAt || params.gate === true || biasAlong !== null;
  const variant = params.variant ?? chooseVariant(ctx, g, transposeB, vec4, directBias);
  if (variant === 'direct') {
    if (!directBias) invalid('MatMul: the direct kernel adds a bias per column or per row only');
    const epilogue = params.gate === true ? 'gate' : (biasAlong ?? 'column');
    matmulDirect(ctx, a, b, bias, out, g, transposeB, activation, params.alpha ?? 1, epilogue);
    return;
  }
  if (variant === 'gemv-splitk') {
    if (g.m !== 1 || transposeB || g.n % 4 !== 0)
      invalid('MatMul: the gemv-splitk kernel needs one row, B stored [K, N] and N a multiple of 4');
    gemvSplitK(ctx, a, b, bias, out, g, params, biasAt, batch);
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
    uniforms: matmulUniforms(g, params, transposeB, biasAt),
  });
}

/** matmul-io.wgsl's Params for a product (gemv-splitk also sets its K chunks). */
function matmulUniforms(
  g: MatmulGeometry,
  params: MatmulParams,
  transposeB: boolean,
  bias: BiasLayout | null,
  split: { splits: number; chunk: number } = { splits: 0, chunk: 0 },
): ArrayBuffer {
  return new UniformWriter()
    .u32s([g.m, g.n, g.k, g.batchDims.length])
    .f32s([params.alpha ?? 1])
    .u32s([
      transposeB ? 1 : 0,
      bias ? (params.gate ? 2 : 1) : 0,
      ACTIVATION_CODE[params.activation ?? 'none'],
      bias?.length ?? 0,
    ])
    .u32s([split.splits, split.chunk])
    .f32s([params.beta ?? 1])
    .u32Array(g.batchDims, 2)
    .u32Array(g.aBatchStrides, 2)
    .u32Array(g.bBatchStrides, 2)
    .u32Array(bias ? [bias.rowStride, bias.colStride] : [0, 0], 1)
    .finish();
}

/** How the bias broadcasts over the [M, N] output (ONNX Gemm's C: scalar, [N], [1, N], [M, 1] or [M, N]). */
interface BiasLayout {
  length: number;
  rowStride: number;
  colStride: number;
}

function biasLayout(bias: GpuView, m: number, n: number, gate = false): BiasLayout {
  const d = bias.dims;
  const length = d.reduce((x, y) => x * y, 1);
  // A gate is read at the output's flat index; its strides go unused.
  if (gate) return { length, rowStride: n, colStride: 1 };
  const rows = d.length >= 2 ? d[d.length - 2] : 1;
  const cols = d.length >= 1 ? d[d.length - 1] : 1;
  if (length !== rows * cols || (rows !== 1 && rows !== m) || (cols !== 1 && cols !== n))
    invalid(`MatMul bias has dims [${d}], which do not broadcast to [${m}, ${n}]`);
  return { length, rowStride: rows === 1 ? 0 : cols, colStride: cols === 1 ? 0 : 1 };
}

/** Workgroups gemv-splitk aims for: enough to occupy a large GPU many times over. */
const SPLITK_TARGET_WORKGROUPS = 256;
/** Columns per gemv-splitk workgroup, and the fewest k a chunk gets. */
const SPLITK_COLUMNS = 256;
const SPLITK_MIN_CHUNK = 64;

/** One output row, B [K, N] with N % 4 == 0: K split into chunks over many workgroups, then summed. */
function gemvSplitK(
  ctx: KernelContext,
  a: GpuView,
  b: GpuView,
  bias: GpuView | null,
  out: GpuView,
  g: MatmulGeometry,
  params: MatmulParams,
  biasAt: BiasLayout | null,
  batch: number,
): void {
  const columnGroups = Math.ceil(g.n / SPLITK_COLUMNS);
  const wanted = Math.ceil(SPLITK_TARGET_WORKGROUPS / (columnGroups * batch));
  const maxSplits = Math.max(1, Math.floor(g.k / SPLITK_MIN_CHUNK));
  const chunk = Math.ceil(g.k / Math.min(wanted, maxSplits) / 4) * 4;
  const splits = Math.ceil(g.k / chunk);
  const bRead = bAccess(b, true);
  const wgsl = activationsWgsl + matmulIoWgsl + gemvSplitKWgsl + bRead.wgsl;
  const label = bias || (params.activation ?? 'none') !== 'none' ? 'Linear' : 'MatMul';
  const uniforms = matmulUniforms(g, params, false, biasAt, { splits, chunk });
  if (splits === 1) {
    ctx.record({
      label,
      wgsl,
      cacheKey: `matmul|gemv-splitk|${bRead.key}`,
      // The module has two entry points (main, reduce): each program names its own.
      entryPoint: 'main',
      workgroups: [columnGroups, 1, batch],
      bindings: [a, b, bias ?? a, out],
      uniforms,
    });
    return;
  }
  const partials = ctx.scratch('float32', [batch * splits * g.n]);
  ctx.record({
    label,
    wgsl,
    cacheKey: `matmul|gemv-splitk|${bRead.key}`,
    entryPoint: 'main',
    workgroups: [columnGroups, splits, batch],
    bindings: [a, b, bias ?? a, partials],
    uniforms,
  });
  ctx.record({
    label: `${label} (sum of K chunks)`,
    wgsl,
    cacheKey: `matmul|gemv-splitk|${bRead.key}`,
    entryPoint: 'reduce',
    workgroups: [Math.ceil(g.n / 256), 1, batch],
    bindings: [partials, b, bias ?? partials, out],
    uniforms,
  });
}

/**
 * The kernel for a product: barrier-free blocks on software adapters; on GPUs a matrix-vector kernel for one
 * row, 64×64 tiles for vec4-aligned products (f16 arithmetic when the session asked for it and the adapter
 * has shader-f16), else 32×32 tiles.
 */
function chooseVariant(
  ctx: KernelContext,
  g: MatmulGeometry,
  transposeB: boolean,
  vec4: boolean,
  directBias: boolean,
): MatmulVariant {
  if (ctx.features.softwareAdapter === true && g.batchDims.length <= DIRECT_BATCH_RANK && directBias)
    return 'direct';
  // One row: split K over many workgroups (B [K, N], vec4 columns), else the 256-column kernel.
  if (g.m === 1) return !transposeB && g.n % 4 === 0 ? 'gemv-splitk' : 'gemv';
  if (!vec4 || g.m < MIN_TILE64_ROWS) return 'tile32';
  return ctx.features.shaderF16 && ctx.features.f16Compute === true ? 'tile64-f16' : 'tile64';
}

/** MatMul + Add (+ activation) fused: the same kernel, named for the pattern the engine lowers to it. */
export const linear = matmul;

/** The direct kernel's bias: one per column (a linear layer's), one per row (a convolution's), or neither. */
function directBiasAxis(bias: BiasLayout | null, params: MatmulParams): 'column' | 'row' | null {
  if (!bias || params.gate === true || (params.beta ?? 1) !== 1) return null;
  if (bias.rowStride === 0 && bias.colStride === 1) return 'column';
  if (bias.rowStride === 1 && bias.colStride === 0) return 'row';
  return null;
}

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
  epilogue: 'column' | 'row' | 'gate',
): void {
  const gate = epilogue === 'gate';
  // vec4 loads: whole vec4s of A rows and B rows (K, N multiples of 4, B stored [K, N]).
  const vec4 = !transposeB && g.k % 4 === 0 && g.n % 4 === 0;
  // A row bias is one float per row; column biases and gates are vec4s of columns in the vec4 layout.
  const biasType = vec4 && epilogue !== 'row' ? 'vec4<f32>' : 'f32';
  const biasAdd = epilogue === 'row' ? 'v += bias[row];' : vec4 ? 'v += bias[bn];' : 'v += bias[col];';
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
        ? `@group(0) @binding(3) var<storage, read> bias: array<${biasType}>;\n@group(0) @binding(4) var<uniform> u: Params;`
        : '@group(0) @binding(3) var<uniform> u: Params;',
      BIAS_ADD: bias && !gate ? biasAdd : '',
      GATE: gate ? ' * bias[o]' : '',
      B_LOAD: transposeB ? 'b_at(boff + col * u.k + kk)' : 'b_at(boff + kk * u.n + col)',
    });
  ctx.record({
    label: bias || activation !== 'none' ? 'Linear' : 'MatMul',
    wgsl,
    cacheKey: `matmul|direct|${vec4 ? 'vec4' : 'scalar'}|${bRead.key}|${transposeB}|${bias === null ? 'none' : epilogue}|${activation}`,
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
