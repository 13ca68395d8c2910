// Data movement as one strided-copy program (shaders/copy.wgsl): transpose, slice, expand, concat and the
// general copyStrided (e.g. appending new keys/values into a preallocated KV cache).
import copyWgsl from '../../../../shaders/copy.wgsl?raw';
import triluWgsl from '../../../../shaders/trilu.wgsl?raw';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  broadcastStrides,
  contiguousStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  UniformWriter,
} from './common';
import type { SliceParams } from './types';

const MAX_RANK = 8;

function checkWordSized(op: string, view: GpuView): void {
  if (view.dtype === 'float16') invalid(`${op}: float16 views are not supported by the copy kernel yet`);
}

export function copyStrided(
  ctx: KernelContext,
  src: GpuView,
  srcStrides: readonly number[],
  srcStart: number,
  dst: GpuView,
  dstStrides: readonly number[],
  dstStart: number,
  dims: readonly number[],
  label = 'CopyStrided',
): void {
  checkWordSized(label, src);
  checkWordSized(label, dst);
  if (src.dtype !== dst.dtype) invalid(`${label}: dtypes differ (${src.dtype}, ${dst.dtype})`);
  if (dims.length > MAX_RANK) invalid(`${label}: rank ${dims.length} exceeds ${MAX_RANK}`);
  if (srcStrides.length !== dims.length || dstStrides.length !== dims.length) {
    invalid(`${label}: strides must have one entry per dim`);
  }
  const n = elementCount(dims);
  if (n === 0) return;
  // Bounds: the last element each side touches must lie inside its view.
  const reach = (start: number, strides: readonly number[]): [number, number] => {
    let lo = start;
    let hi = start;
    dims.forEach((d, i) => {
      const span = (d - 1) * strides[i];
      if (span < 0) lo += span;
      else hi += span;
    });
    return [lo, hi];
  };
  const [slo, shi] = reach(srcStart, srcStrides);
  const [dlo, dhi] = reach(dstStart, dstStrides);
  if (slo < 0 || shi >= elementCount(src.dims))
    invalid(`${label}: source range [${slo}, ${shi}] out of bounds`);
  if (dlo < 0 || dhi >= elementCount(dst.dims))
    invalid(`${label}: destination range [${dlo}, ${dhi}] out of bounds`);
  if (dstStrides.some((s) => s < 0)) invalid(`${label}: destination strides must be non-negative`);
  ctx.record({
    label,
    wgsl: copyWgsl,
    cacheKey: 'copy',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [src, dst],
    uniforms: new UniformWriter()
      .u32s([n, dims.length])
      .i32s([srcStart])
      .u32s([dstStart])
      .u32Array(dims, 2)
      .u32Array(
        srcStrides.map((s) => s | 0),
        2,
      )
      .u32Array(dstStrides, 2)
      .finish(),
  });
}

export function transpose(ctx: KernelContext, x: GpuView, out: GpuView, perm?: readonly number[]): void {
  const rank = x.dims.length;
  const p = perm ?? x.dims.map((_, i) => rank - 1 - i);
  if (p.length !== rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    invalid(`Transpose: perm [${p}] is not a permutation of rank ${rank}`);
  }
  const outDims = p.map((a) => x.dims[a]);
  expectDims('Transpose output', out, outDims);
  const inStrides = contiguousStrides(x.dims);
  copyStrided(
    ctx,
    x,
    p.map((a) => inStrides[a]),
    0,
    out,
    contiguousStrides(outDims),
    0,
    outDims,
    'Transpose',
  );
}

/** ONNX Slice semantics: negative indices count from the end; starts/ends are clamped per step direction. */
export function sliceGeometry(
  dims: readonly number[],
  params: SliceParams,
): { outDims: number[]; start: number; strides: number[] } {
  const rank = dims.length;
  const starts = dims.map(() => 0);
  const steps = dims.map(() => 1);
  const outDims = [...dims];
  const axes = params.axes ?? params.starts.map((_, i) => i);
  if (params.starts.length !== axes.length || params.ends.length !== axes.length) {
    invalid('Slice: starts, ends and axes must have the same length');
  }
  axes.forEach((rawAxis, i) => {
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    if (axis < 0 || axis >= rank) invalid(`Slice: axis ${rawAxis} out of range for rank ${rank}`);
    const d = dims[axis];
    const step = params.steps?.[i] ?? 1;
    if (step === 0) invalid('Slice: step 0');
    let s = params.starts[i];
    let e = params.ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      outDims[axis] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      outDims[axis] = Math.max(0, Math.ceil((s - e) / -step));
    }
    starts[axis] = s;
    steps[axis] = step;
  });
  const own = contiguousStrides(dims);
  let start = 0;
  for (let a = 0; a < rank; a++) if (outDims[a] > 0) start += starts[a] * own[a];
  return { outDims, start, strides: own.map((s, a) => s * steps[a]) };
}

export function slice(ctx: KernelContext, x: GpuView, out: GpuView, params: SliceParams): void {
  const { outDims, start, strides } = sliceGeometry(x.dims, params);
  expectDims('Slice output', out, outDims);
  copyStrided(ctx, x, strides, start, out, contiguousStrides(outDims), 0, outDims, 'Slice');
}

export function expand(ctx: KernelContext, x: GpuView, out: GpuView): void {
  const strides = broadcastStrides(x.dims, out.dims);
  copyStrided(ctx, x, strides, 0, out, contiguousStrides(out.dims), 0, out.dims, 'Expand');
}

export function concat(ctx: KernelContext, inputs: readonly GpuView[], out: GpuView, axis: number): void {
  if (inputs.length === 0) invalid('Concat: no inputs');
  const rank = out.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) invalid(`Concat: axis ${axis} out of range for rank ${rank}`);
  const outStrides = contiguousStrides(out.dims);
  let offset = 0;
  for (const input of inputs) {
    if (input.dims.length !== rank || input.dims.some((d, i) => i !== ax && d !== out.dims[i])) {
      invalid(`Concat: input [${input.dims}] does not fit output [${out.dims}] on axis ${ax}`);
    }
    copyStrided(
      ctx,
      input,
      contiguousStrides(input.dims),
      0,
      out,
      outStrides,
      offset * outStrides[ax],
      input.dims,
      'Concat',
    );
    offset += input.dims[ax];
  }
  if (offset !== out.dims[ax])
    invalid(`Concat: inputs sum to ${offset} on axis ${ax}, output has ${out.dims[ax]}`);
}

/**
 * ONNX Tile as one strided copy: the output [r0·d0, r1·d1, …] is the input viewed as [r0, d0, r1, d1, …] with
 * stride 0 on each repeat axis (so at most MAX_RANK / 2 input axes).
 */
export function tile(ctx: KernelContext, x: GpuView, out: GpuView, repeats: readonly number[]): void {
  const rank = x.dims.length;
  if (repeats.length !== rank) invalid(`Tile: ${repeats.length} repeats for rank ${rank}`);
  if (repeats.some((r) => !Number.isInteger(r) || r < 0))
    invalid('Tile: repeats must be non-negative integers');
  if (2 * rank > MAX_RANK) invalid(`Tile: rank ${rank} exceeds ${MAX_RANK / 2}`);
  expectDims(
    'Tile output',
    out,
    x.dims.map((d, i) => d * repeats[i]),
  );
  const own = contiguousStrides(x.dims);
  const dims = x.dims.flatMap((d, i) => [repeats[i], d]);
  copyStrided(
    ctx,
    x,
    own.flatMap((s) => [0, s]),
    0,
    out,
    contiguousStrides(dims),
    0,
    dims,
    'Tile',
  );
}

/** ONNX Trilu (shaders/trilu.wgsl): the upper or lower triangle from diagonal k of the last two axes. */
export function trilu(ctx: KernelContext, x: GpuView, out: GpuView, upper: boolean, k: number): void {
  if (x.dims.length < 2) invalid('Trilu: input must have at least 2 axes');
  if (x.dtype === 'float16') invalid('Trilu: float16 is not supported');
  expectDims('Trilu output', out, x.dims);
  const n = elementCount(x.dims);
  if (n === 0) return;
  const [rows, cols] = x.dims.slice(-2);
  // Diagonals beyond the matrix behave like its edge (keeps every int32 uniform in range).
  const kk = Math.max(-rows - 1, Math.min(cols + 1, k));
  ctx.record({
    label: 'Trilu',
    wgsl: triluWgsl,
    cacheKey: 'trilu',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, out],
    uniforms: new UniformWriter()
      .u32s([n, rows, cols, upper ? 1 : 0])
      .i32s([kk])
      .finish(),
  });
}
