// The engine's barrier-free matmul/linear (shaders/matmul-core.wgsl), chosen on software adapters and while
// ./matmul.ts is a stub (see ../kernel-fallback.ts). Same signature and semantics as ./matmul.ts.
import wgsl from '../../../../shaders/matmul-core.wgsl?raw';
import wgslVec4 from '../../../../shaders/matmul-core-vec4.wgsl?raw';
import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { Activation, MatmulParams } from './types';

const ACT: Record<Activation, string> = {
  none: 'return x;',
  relu: 'return max(x, 0.0);',
  'gelu-erf': 'return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476));',
  'gelu-tanh':
    'return 0.5 * x * (1.0 + tanh(clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0)));',
  'quick-gelu': 'return x / (1.0 + exp(-1.702 * x));',
};

function fail(message: string): never {
  throw new WebvlError('INVALID_INPUT', `matmul: ${message}`);
}

function contiguousBatchStrides(batch: readonly number[], matrix: number): number[] {
  const s = new Array<number>(batch.length);
  let acc = matrix;
  for (let i = batch.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= batch[i];
  }
  return s;
}

export function matmulCore(
  ctx: KernelContext,
  a: GpuView,
  b: GpuView,
  bias: GpuView | null,
  out: GpuView,
  params: MatmulParams = {},
): void {
  const transB = params.transposeB === true;
  const aDims = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bDims = b.dims.length === 1 ? (transB ? [1, b.dims[0]] : [b.dims[0], 1]) : b.dims;
  const m = aDims[aDims.length - 2];
  const k = aDims[aDims.length - 1];
  const n = transB ? bDims[bDims.length - 2] : bDims[bDims.length - 1];
  const kb = transB ? bDims[bDims.length - 1] : bDims[bDims.length - 2];
  if (k !== kb) fail(`inner dims differ: [${a.dims}] × [${b.dims}]`);
  const aBatch = aDims.slice(0, -2);
  const bBatch = bDims.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  if (rank > 4) fail('more than 4 batch dims');
  const batch: number[] = [];
  const aStr: number[] = [];
  const bStr: number[] = [];
  const aOwn = contiguousBatchStrides(aBatch, m * k);
  const bOwn = contiguousBatchStrides(bBatch, k * n);
  for (let i = 0; i < rank; i++) {
    const ia = i - (rank - aBatch.length);
    const ib = i - (rank - bBatch.length);
    const da = ia >= 0 ? aBatch[ia] : 1;
    const db = ib >= 0 ? bBatch[ib] : 1;
    if (da !== db && da !== 1 && db !== 1) fail(`batch dims do not broadcast: [${a.dims}] × [${b.dims}]`);
    batch.push(Math.max(da, db));
    aStr.push(da === 1 ? 0 : aOwn[ia]);
    bStr.push(db === 1 ? 0 : bOwn[ib]);
  }
  while (batch.length < 4) {
    batch.unshift(1);
    aStr.unshift(0);
    bStr.unshift(0);
  }
  const batchCount = batch.reduce((x, y) => x * y, 1);
  if (out.dims.reduce((x, y) => x * y, 1) !== batchCount * m * n)
    fail(`output [${out.dims}] has the wrong size`);
  if (bias && bias.dims.reduce((x, y) => x * y, 1) !== n) fail(`bias must have ${n} elements`);
  const activation = params.activation ?? 'none';
  // vec4 variant: whole vec4s of A rows and B rows (K, N multiples of 4, B not transposed).
  const vec4 = !transB && k % 4 === 0 && n % 4 === 0;
  const source = (vec4 ? wgslVec4 : wgsl)
    .replaceAll(
      '{{BIAS_DECL}}',
      bias
        ? `@group(0) @binding(3) var<storage, read> bias: array<${vec4 ? 'vec4<f32>' : 'f32'}>;\n@group(0) @binding(4) var<uniform> u: Params;`
        : '@group(0) @binding(3) var<uniform> u: Params;',
    )
    .replaceAll('{{BIAS_ADD}}', bias ? (vec4 ? 'v += bias[bn];' : 'v += bias[col];') : '')
    .replaceAll('{{B_LOAD}}', transB ? 'b[boff + col * u.k + kk]' : 'b[boff + kk * u.n + col]')
    .replaceAll('{{ACT}}', ACT[activation]);
  const uniforms = new ArrayBuffer(80);
  const u32 = new Uint32Array(uniforms);
  u32.set([m, n, k, batchCount], 0);
  u32.set(batch, 4);
  u32.set(aStr, 8);
  u32.set(bStr, 12);
  new Float32Array(uniforms)[16] = params.alpha ?? 1;
  const blocksN = Math.ceil(n / 4);
  const blocksM = Math.ceil(m / 4);
  u32.set([blocksN, blocksM], 17);
  const groups = Math.ceil((blocksN * blocksM * batchCount) / 64);
  const gx = Math.min(Math.max(groups, 1), 65535);
  ctx.record({
    label: 'matmul-core',
    wgsl: source,
    cacheKey: `matmul-core:${vec4 ? 'vec4' : 'scalar'}:${transB}:${bias !== null}:${activation}`,
    workgroups: [gx, Math.ceil(groups / gx) || 1],
    bindings: bias ? [a, b, out, bias] : [a, b, out],
    uniforms,
  });
}
