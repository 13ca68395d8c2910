// ONNX Resize (shaders/resize.wgsl): nearest / linear / cubic over any axes, every coordinate transformation
// mode, one dispatch. The parameters come from ir/resize-params.ts (scales or sizes already resolved). Where
// each output coordinate samples is decided here, once per axis, in onnxruntime's f32 arithmetic (Math.fround
// after every operation): GPU division is not correctly rounded, and a nearest index on a .5 boundary, or an
// interpolation weight, would otherwise differ from the reference by a whole pixel.
import resizeWgsl from '../../../../shaders/resize.wgsl?raw';
import type { ResizeParams } from '../ir/resize-params';
import type { GpuView, KernelContext } from '../plan/kernel-context';
import {
  contiguousStrides,
  ELEMENTWISE_WORKGROUP,
  elementCount,
  expectDims,
  expectFloat32,
  grid1d,
  invalid,
  UniformWriter,
} from './common';

const MAX_RANK = 8;
/** Words per table entry: first index, tap count, four weights (shaders/resize.wgsl). */
const ENTRY = 6;
const f = Math.fround;

/** The input coordinate output coordinate `x` of axis `a` samples, in f32 as onnxruntime computes it. */
function original(p: ResizeParams, a: number, x: number, lenIn: number): number {
  const s = p.scales[a];
  const len = p.lengths[a];
  switch (p.coordinate) {
    case 'half_pixel':
      return f(f(f(x + 0.5) / s) - 0.5);
    case 'pytorch_half_pixel':
      return len > 1 ? f(f(f(x + 0.5) / s) - 0.5) : 0;
    case 'align_corners':
      return len === 1 ? 0 : f(f(x * (lenIn - 1)) / f(len - 1));
    case 'asymmetric':
      return f(x / s);
    case 'tf_half_pixel_for_nn':
      return f(f(x + 0.5) / s);
    case 'tf_crop_and_resize': {
      const start = f(p.roiStart[a]);
      const end = f(p.roiEnd[a]);
      if (len <= 1) return f(f(f(0.5 * f(start + end))) * (lenIn - 1));
      return f(f(start * (lenIn - 1)) + f(f(f(x * f(end - start)) * (lenIn - 1)) / f(len - 1)));
    }
    case 'half_pixel_symmetric': {
      const adjustment = f(p.outDims[a] / len);
      const offset = f(f(lenIn / 2) * f(1 - adjustment));
      return f(offset + f(f(f(x + 0.5) / s) - 0.5));
    }
  }
}

/** std::round: halves away from zero. */
function roundAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function nearestIndex(p: ResizeParams, x: number): number {
  switch (p.nearest) {
    case 'round_prefer_floor':
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : roundAway(x);
    case 'round_prefer_ceil':
      return roundAway(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
  }
}

function cubicWeights(t: number, A: number): number[] {
  const t0 = t + 1;
  const t2 = 1 - t;
  const t3 = 2 - t;
  return [
    ((A * t0 - 5 * A) * t0 + 8 * A) * t0 - 4 * A,
    ((A + 2) * t - (A + 3)) * t * t + 1,
    ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1,
    ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A,
  ];
}

/** First input index and weights for output coordinate `x` of axis `a`; null outside a crop window. */
function axisTaps(
  p: ResizeParams,
  a: number,
  x: number,
  lenIn: number,
): { first: number; weights: number[] } | null {
  const last = lenIn - 1;
  const xo = original(p, a, x, lenIn);
  if (p.coordinate === 'tf_crop_and_resize' && (xo < 0 || xo > last)) return null;
  if (p.mode === 'nearest') return { first: Math.min(Math.max(nearestIndex(p, xo), 0), last), weights: [1] };
  if (p.mode === 'linear') {
    const xc = Math.min(Math.max(xo, 0), last);
    const x1 = Math.min(Math.trunc(xc), last);
    const x2 = Math.min(x1 + 1, last);
    if (x1 === x2) return { first: x1, weights: [1] };
    return { first: x1, weights: [f(Math.abs(xc - x2)), f(Math.abs(xc - x1))] };
  }
  const floor = Math.floor(xo);
  const w = cubicWeights(f(xo - floor), p.cubicA);
  if (p.excludeOutside) {
    for (let j = 0; j < 4; j++) if (floor - 1 + j < 0 || floor - 1 + j > last) w[j] = 0;
    const total = w.reduce((s, v) => s + v, 0);
    for (let j = 0; j < 4; j++) w[j] /= total;
  }
  return { first: floor - 1, weights: w };
}

/** Whether axis `a` keeps its coordinates: same length, scale 1, and a mode that is the identity there. */
function passesThrough(p: ResizeParams, inDims: readonly number[], a: number): boolean {
  if (p.outDims[a] !== inDims[a] || p.scales[a] !== 1) return false;
  if (p.coordinate === 'tf_half_pixel_for_nn') return false;
  return p.coordinate !== 'tf_crop_and_resize' || (p.roiStart[a] === 0 && p.roiEnd[a] === 1);
}

/** The tap table (entries of ENTRY words per axis and output coordinate) and each axis' first entry. */
function tapTable(p: ResizeParams, inDims: readonly number[]): { words: Int32Array; firstEntry: number[] } {
  const firstEntry: number[] = [];
  let entries = 0;
  for (const d of p.outDims) {
    firstEntry.push(entries);
    entries += d;
  }
  const words = new Int32Array(entries * ENTRY);
  const asFloat = new Float32Array(words.buffer);
  inDims.forEach((lenIn, a) => {
    const keep = passesThrough(p, inDims, a);
    for (let x = 0; x < p.outDims[a]; x++) {
      const e = (firstEntry[a] + x) * ENTRY;
      const t = keep ? { first: x, weights: [1] } : axisTaps(p, a, x, lenIn);
      if (!t) continue; // zero taps: extrapolate
      words[e] = t.first;
      words[e + 1] = t.weights.length;
      t.weights.forEach((w, j) => {
        asFloat[e + 2 + j] = w;
      });
    }
  });
  return { words, firstEntry };
}

export function resize(ctx: KernelContext, x: GpuView, out: GpuView, p: ResizeParams): void {
  const rank = x.dims.length;
  if (rank > MAX_RANK) invalid(`Resize: rank ${rank} exceeds ${MAX_RANK}`);
  if (p.outDims.length !== rank) invalid(`Resize: ${p.outDims.length} output dims for rank ${rank}`);
  if (x.dtype === 'float16') invalid('Resize: float16 views are not supported');
  if (p.mode !== 'nearest') {
    // Interpolation reads and writes f32 bit patterns; nearest only copies words.
    expectFloat32('Resize input', x);
    expectFloat32('Resize output', out);
  } else if (out.dtype !== x.dtype) invalid(`Resize: output dtype ${out.dtype} differs from ${x.dtype}`);
  expectDims('Resize output', out, p.outDims);
  const n = elementCount(p.outDims);
  if (n === 0) return;
  if (x.dims.some((d) => d === 0)) invalid('Resize: an empty input cannot fill a non-empty output');
  const table = tapTable(p, x.dims);
  const extrapolation = new Uint32Array(
    new (out.dtype === 'float32' ? Float32Array : Int32Array)([p.extrapolation]).buffer,
  )[0];
  ctx.record({
    label: 'Resize',
    wgsl: resizeWgsl,
    cacheKey: 'resize',
    workgroups: grid1d(Math.ceil(n / ELEMENTWISE_WORKGROUP)),
    bindings: [x, ctx.constant('int32', [table.words.length], table.words), out],
    uniforms: new UniformWriter()
      .u32s([n, rank, p.mode === 'nearest' ? 0 : 1, extrapolation])
      .u32Array(x.dims, 2)
      .u32Array(p.outDims, 2)
      .u32Array(contiguousStrides(x.dims), 2)
      .u32Array(table.firstEntry, 2)
      .finish(),
  });
}
