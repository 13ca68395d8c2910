// ONNX Gather along any axis (shaders/gather.wgsl): embeddings, token selection, index lookups; and rows of a
// packed quantized table (shaders/gather-quant.wgsl over matmul-b-quant.wgsl's dequantizing reader).
import gatherWgsl from '../../../../shaders/gather.wgsl?raw';
import gatherQuantWgsl from '../../../../shaders/gather-quant.wgsl?raw';
import tableF16Wgsl from '../../../../shaders/gather-table-f16.wgsl?raw';
import tableWordsWgsl from '../../../../shaders/gather-table-words.wgsl?raw';
import type { QuantLayout } from '../passes/pack-quantized';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  grid1d,
  invalid,
  isFloat,
  UniformWriter,
} from './common';
import { quantizedB } from './matmul';

/**
 * The checks every Gather makes of its indices and table dtype. A float16 table is one kept half
 * (keep-half-weights.ts); its output, like every float16 value, is held as f32.
 */
function checkGather(data: GpuView, indices: GpuView, out: GpuView): void {
  if (isFloat(indices.dtype)) invalid(`Gather: indices must be integers, got ${indices.dtype}`);
  const held = data.dtype === 'float16' ? 'float32' : data.dtype;
  if (out.dtype !== held) invalid(`Gather: output dtype ${out.dtype} differs from data ${data.dtype}`);
}

/**
 * One gather.wgsl dispatch: `out` (n elements) from `data` viewed as [outer, len, inner], holding rows
 * [lo, lo + len) of an axis of `rows` rows (a whole table: lo = 0, len = rows).
 */
function recordGather(
  ctx: KernelContext,
  data: GpuView,
  indices: GpuView,
  out: GpuView,
  axis: { len: number; inner: number; lo: number; rows: number },
): void {
  const n = elementCount(out.dims);
  const half = data.dtype === 'float16';
  ctx.record({
    label: 'Gather',
    wgsl: (half ? tableF16Wgsl : tableWordsWgsl) + gatherWgsl,
    cacheKey: half ? 'gather|f16' : 'gather',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [data, indices, out],
    uniforms: new UniformWriter()
      .u32s([n, axis.rows, axis.inner, elementCount(indices.dims), axis.lo, axis.len])
      .finish(),
  });
}

export function gather(ctx: KernelContext, data: GpuView, indices: GpuView, out: GpuView, axis = 0): void {
  const rank = data.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) invalid(`Gather: axis ${axis} out of range for rank ${rank}`);
  checkGather(data, indices, out);
  const outDims = [...data.dims.slice(0, ax), ...indices.dims, ...data.dims.slice(ax + 1)];
  expectDims('Gather output', out, outDims);
  if (elementCount(outDims) === 0) return;
  if (data.dims[ax] === 0) invalid('Gather: indexing an empty axis');
  const rows = data.dims[ax];
  recordGather(ctx, data, indices, out, {
    rows,
    len: rows,
    lo: 0,
    inner: elementCount(data.dims.slice(ax + 1)),
  });
}

/**
 * Gather along axis 0 of a table held in pieces of consecutive rows (passes/split-oversized.ts: a table larger
 * than one binding): one dispatch per piece, each writing the output rows whose ids fall in it.
 * `rowStarts[p]` is the first row of `pieces[p]`; together they cover [0, rows).
 */
export function gatherRows(
  ctx: KernelContext,
  pieces: readonly GpuView[],
  rowStarts: readonly number[],
  indices: GpuView,
  out: GpuView,
): void {
  if (pieces.length === 0 || pieces.length !== rowStarts.length)
    invalid(`Gather: ${pieces.length} table pieces for ${rowStarts.length} row starts`);
  const first = pieces[0];
  checkGather(first, indices, out);
  const inner = elementCount(first.dims.slice(1));
  let rows = 0;
  pieces.forEach((p, i) => {
    if (p.dtype !== first.dtype || elementCount(p.dims.slice(1)) !== inner || rowStarts[i] !== rows)
      invalid(`Gather: table piece ${i} [${p.dims}] at row ${rowStarts[i]} does not continue the table`);
    rows += p.dims[0];
  });
  expectDims('Gather output', out, [...indices.dims, ...first.dims.slice(1)]);
  if (elementCount(out.dims) === 0) return;
  pieces.forEach((piece, i) => {
    recordGather(ctx, piece, indices, out, { rows, len: piece.dims[0], lo: rowStarts[i], inner });
  });
}

/**
 * Rows of a packed quantized table along axis 0: out [...indices, ...rowDims.slice(1)] (float32) from `table`,
 * the bytes pack-quantized.ts laid out for `layout` (its [N, K] being the table as [rows · inner / K, K]).
 */
export function gatherQuantized(
  ctx: KernelContext,
  table: GpuView,
  layout: QuantLayout,
  rowDims: readonly number[],
  indices: GpuView,
  out: GpuView,
): void {
  if (isFloat(indices.dtype)) invalid(`GatherBlockQuantized: indices must be integers, got ${indices.dtype}`);
  if (out.dtype !== 'float32') invalid(`GatherBlockQuantized: output must be float32, got ${out.dtype}`);
  const rows = rowDims[0];
  const inner = elementCount(rowDims.slice(1));
  if (rows * inner !== layout.n * layout.k)
    invalid(`GatherBlockQuantized: table [${rowDims}] is not the packed [${layout.n}, ${layout.k}]`);
  expectDims('GatherBlockQuantized output', out, [...indices.dims, ...rowDims.slice(1)]);
  const n = elementCount(out.dims);
  if (n === 0) return;
  const reader = quantizedB(layout);
  ctx.record({
    label: 'GatherBlockQuantized',
    wgsl: reader.wgsl + gatherQuantWgsl,
    cacheKey: `gather-quant|${reader.key}`,
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    // The packed table is bound whole (quant set: its dims are not its words).
    bindings: [indices, { ...table, dims: [layout.n, layout.k], quant: layout }, out],
    uniforms: new UniformWriter().u32s([n, rows, inner]).finish(),
  });
}
