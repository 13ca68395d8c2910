// ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp over any axes (shaders/reduce.wgsl); the ones
// that stay integers (Sum, Max, Min, Prod, L1, SumSquare) on int32/int64 too, wrapping as onnxruntime does.
import reduceWgsl from '../../../../shaders/reduce.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import { contiguousStrides, expectDims, grid1d, invalid, specialize, UniformWriter } from './common';
import type { ReduceOp, ReduceParams } from './types';

/** Outputs per workgroup of the one-thread-per-output variant (its workgroup size). */
const OUTPUTS_PER_GROUP = 64;

interface ReduceSpec {
  init: string;
  pre: string;
  combine: string;
  final: string;
}

const SPECS: Record<Exclude<ReduceOp, 'LogSumExp'>, ReduceSpec> = {
  Sum: { init: '0.0', pre: 'x[idx]', combine: 'a + b', final: 'total' },
  Mean: { init: '0.0', pre: 'x[idx]', combine: 'a + b', final: 'total / n' },
  Max: { init: '-3.402823e38', pre: 'x[idx]', combine: 'max(a, b)', final: 'total' },
  Min: { init: '3.402823e38', pre: 'x[idx]', combine: 'min(a, b)', final: 'total' },
  Prod: { init: '1.0', pre: 'x[idx]', combine: 'a * b', final: 'total' },
  L1: { init: '0.0', pre: 'abs(x[idx])', combine: 'a + b', final: 'total' },
  L2: { init: '0.0', pre: 'x[idx] * x[idx]', combine: 'a + b', final: 'sqrt(total)' },
  SumSquare: { init: '0.0', pre: 'x[idx] * x[idx]', combine: 'a + b', final: 'total' },
  LogSum: { init: '0.0', pre: 'x[idx]', combine: 'a + b', final: 'log(total)' },
};

/** Integer forms: the same combines on i32 (int64 is held as i32), with the integer identities. */
const INT_SPECS: Partial<Record<ReduceOp, ReduceSpec>> = {
  Sum: { ...SPECS.Sum, init: '0' },
  Max: { ...SPECS.Max, init: '-2147483647 - 1' },
  Min: { ...SPECS.Min, init: '2147483647' },
  Prod: { ...SPECS.Prod, init: '1' },
  L1: { ...SPECS.L1, init: '0' },
  SumSquare: { ...SPECS.SumSquare, init: '0' },
};

/** Output dims of a reduction (ONNX: no axes = all axes). */
export function reducedDims(dims: readonly number[], params: ReduceParams): number[] {
  const axes = normalizedAxes(dims.length, params.axes);
  const keep = params.keepdims ?? true;
  const out: number[] = [];
  dims.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function normalizedAxes(rank: number, axes?: readonly number[]): number[] {
  if (!axes || axes.length === 0) return Array.from({ length: rank }, (_, i) => i);
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  if (out.some((a) => a < 0 || a >= rank)) invalid(`Reduce: axes [${axes}] out of range for rank ${rank}`);
  return [...new Set(out)].sort((a, b) => a - b);
}

export function reduce(ctx: KernelContext, x: GpuView, out: GpuView, params: ReduceParams): void {
  const integer = x.dtype === 'int32' || x.dtype === 'int64';
  if (x.dtype !== 'float32' && !integer)
    invalid(`Reduce${params.op} input must be float32, int32 or int64, got ${x.dtype}`);
  if (out.dtype !== x.dtype) invalid(`Reduce${params.op} output is ${out.dtype}, its input ${x.dtype}`);
  const intSpec = integer ? INT_SPECS[params.op] : undefined;
  if (integer && !intSpec) invalid(`Reduce${params.op} is not defined for ${x.dtype} here`);
  const scalar = integer ? 'i32' : 'f32';
  if (x.dims.length > 8) invalid(`Reduce: rank ${x.dims.length} exceeds 8`);
  expectDims(`Reduce${params.op} output`, out, reducedDims(x.dims, params));
  const axes = normalizedAxes(x.dims.length, params.axes);
  const strides = contiguousStrides(x.dims);
  const kept = x.dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptDims = kept.map((i) => x.dims[i]);
  const redDims = axes.map((i) => x.dims[i]);
  const outputs = keptDims.reduce((a, b) => a * b, 1);
  const reduced = redDims.reduce((a, b) => a * b, 1);
  if (outputs === 0) return;
  const uniforms = new UniformWriter()
    .u32s([outputs, reduced, kept.length, axes.length])
    .u32Array(keptDims, 2)
    .u32Array(
      kept.map((i) => strides[i]),
      2,
    )
    .u32Array(redDims, 2)
    .u32Array(
      axes.map((i) => strides[i]),
      2,
    )
    .finish();
  // Software adapters: one thread per output, no barriers (main_rows in the shader).
  const rowPerThread = ctx.features.softwareAdapter === true;
  const entryPoint = rowPerThread ? 'main_rows' : 'main';
  const workgroups = grid1d(rowPerThread ? Math.ceil(outputs / OUTPUTS_PER_GROUP) : outputs);
  const record = (spec: ReduceSpec, input: GpuView, output: GpuView, label: string) =>
    ctx.record({
      label,
      wgsl: specialize(reduceWgsl, {
        T: scalar,
        INIT: spec.init,
        PRE: spec.pre,
        COMBINE: spec.combine,
        FINAL: spec.final,
      }),
      entryPoint,
      cacheKey: `reduce|${entryPoint}|${scalar}|${spec.init}|${spec.pre}|${spec.combine}|${spec.final}`,
      workgroups,
      bindings: [input, output],
      uniforms,
    });
  if (params.op !== 'LogSumExp') {
    record(intSpec ?? SPECS[params.op], x, out, `Reduce${params.op}`);
    return;
  }
  // LogSumExp = max + log Σ exp(x − max): a max pass into a scratch view, then a pass that reads those maxima
  // (bound read-only as `m`) and writes `out`.
  const maxes = ctx.scratch('float32', out.dims);
  record(SPECS.Max, x, maxes, 'ReduceLogSumExp(max)');
  const lse = specialize(reduceWgsl, {
    T: 'f32',
    INIT: '0.0',
    PRE: 'exp(x[idx] - m[o])',
    COMBINE: 'a + b',
    FINAL: 'm[o] + log(total)',
  }).replace(
    '@group(0) @binding(2) var<uniform> u: Params;',
    '@group(0) @binding(3) var<uniform> u: Params;\n@group(0) @binding(2) var<storage, read> m: array<f32>;',
  );
  ctx.record({
    label: 'ReduceLogSumExp',
    wgsl: lse,
    entryPoint,
    cacheKey: `reduce|${entryPoint}|logsumexp`,
    workgroups,
    bindings: [x, out, maxes],
    uniforms,
  });
}
