// CPU evaluation of the ops constant folding handles: shape arithmetic and small tensors whose inputs
// are all known at plan time. Values are held as float64 (int64 shapes fit exactly below 2^53).

import { WebvlError } from '../../../errors';
import { halfToFloat, roundToBfloat16, toHalfBits } from '../../half';
import type { DType, HostTensor, TensorData } from '../../tensor';
import { attrFloat, attrInt, attrInts, attrString, attrTensor, type Node } from './ir';

/** A constant in evaluation form. */
export interface Values {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export function size(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

export function toValues(t: HostTensor): Values {
  const n = t.data.length;
  const data = new Float64Array(n);
  if (t.dtype === 'float16') {
    const src = t.data as Uint16Array;
    for (let i = 0; i < n; i++) data[i] = halfToFloat(src[i]);
  } else if (t.data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) data[i] = Number(t.data[i]);
  } else {
    const src = t.data as Exclude<TensorData, BigInt64Array>;
    for (let i = 0; i < n; i++) data[i] = src[i];
  }
  return { dtype: t.dtype, dims: t.dims, data };
}

export function fromValues(v: Values): HostTensor {
  const n = v.data.length;
  let data: TensorData;
  switch (v.dtype) {
    case 'float32':
      data = Float32Array.from(v.data);
      break;
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.data[i];
        if (x >= 9.2e18) out[i] = INT64_MAX;
        else if (x <= -9.2e18) out[i] = INT64_MIN;
        else out[i] = BigInt(Math.trunc(x));
      }
      data = out;
      break;
    }
    case 'int32':
      data = Int32Array.from(v.data, (x) => Math.trunc(x));
      break;
    case 'int8':
      data = Int8Array.from(v.data, (x) => Math.trunc(x));
      break;
    case 'bool':
      data = Uint8Array.from(v.data, (x) => (x !== 0 ? 1 : 0));
      break;
    case 'uint8':
      data = Uint8Array.from(v.data, (x) => Math.trunc(x));
      break;
    case 'float16':
      // Rows of a float16 table kept half (a Gather of constant positions): exact, the values are halves.
      data = Uint16Array.from(v.data, toHalfBits);
      break;
    default:
      throw new WebvlError('UNSUPPORTED_MODEL', `constant folding does not produce ${v.dtype} tensors`);
  }
  return { location: 'cpu', dtype: v.dtype, dims: [...v.dims], data };
}

function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16';
}

/** Rounds a result the way its dtype would hold it (float32 rounding, integer truncation). */
function narrow(dtype: DType, x: number): number {
  if (dtype === 'float32' || dtype === 'float16') return Math.fround(x);
  if (dtype === 'bool') return x !== 0 ? 1 : 0;
  return Math.trunc(x);
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index into `dims` (right-aligned, broadcast) for each flat index of `target`. */
function broadcastIndex(dims: readonly number[], target: readonly number[]): Int32Array {
  const n = size(target);
  const own = strides(dims);
  const offset = target.length - dims.length;
  const idx = new Int32Array(n);
  const tStrides = strides(target);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < target.length; d++) {
      const j = d - offset;
      if (j < 0 || dims[j] === 1) continue;
      src += (Math.floor(i / tStrides[d]) % target[d]) * own[j];
    }
    idx[i] = src;
  }
  return idx;
}

function mapBroadcast(
  inputs: readonly Values[],
  outDtype: DType,
  f: (xs: number[]) => number,
): Values | undefined {
  let dims: readonly number[] = [];
  for (const v of inputs) {
    const b = broadcastShape(dims, v.dims);
    if (!b) return undefined;
    dims = b;
  }
  const maps = inputs.map((v) => broadcastIndex(v.dims, dims));
  const n = size(dims);
  const data = new Float64Array(n);
  const xs = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) xs[k] = inputs[k].data[maps[k][i]];
    data[i] = narrow(outDtype, f(xs));
  }
  return { dtype: outDtype, dims, data };
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for float32; use a series/continued-fraction split.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

const BINARY: Record<string, (a: number, b: number, int: boolean) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b, int) => (int ? Math.trunc(a / b) : a / b),
  Pow: (a, b) => a ** b,
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Mod: (a, b) => a - b * Math.floor(a / b),
};
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Less: (a, b) => a < b,
  LessOrEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterOrEqual: (a, b) => a >= b,
  And: (a, b) => a !== 0 && b !== 0,
  Or: (a, b) => a !== 0 || b !== 0,
  Xor: (a, b) => (a !== 0) !== (b !== 0),
};
const UNARY: Record<string, (x: number) => number> = {
  Identity: (x) => x,
  Neg: (x) => -x,
  Abs: (x) => Math.abs(x),
  Sqrt: (x) => Math.sqrt(x),
  Reciprocal: (x) => 1 / x,
  Floor: (x) => Math.floor(x),
  Ceil: (x) => Math.ceil(x),
  Exp: (x) => Math.exp(x),
  Log: (x) => Math.log(x),
  Erf: erf,
  Tanh: (x) => Math.tanh(x),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Relu: (x) => Math.max(x, 0),
  Not: (x) => (x === 0 ? 1 : 0),
  Sign: (x) => Math.sign(x),
  Round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; // round half to even
  },
};

/** The generalized cosine windows (ONNX's Hann, Hamming, Blackman) at phase t = 2πn / span. */
const WINDOWS: Record<string, (t: number) => number> = {
  HannWindow: (t) => 0.5 - 0.5 * Math.cos(t),
  HammingWindow: (t) => 25 / 46 - (21 / 46) * Math.cos(t),
  BlackmanWindow: (t) => 0.42 - 0.5 * Math.cos(t) + 0.08 * Math.cos(2 * t),
};

/** ONNX TensorProto element types (tensors', and Cast's `to`, EyeLike's `dtype`) → the dtype that holds them. */
export const ONNX_TO: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  // Held narrower (onnx-decode.ts NARROWED): double, bfloat16, int16, uint16, uint32, uint64.
  11: 'float32',
  16: 'float32',
  5: 'int32',
  4: 'int32',
  12: 'int32',
  13: 'int64',
};

/** Integer element types narrower than the i32 they are held in, by ONNX code: the bits a Cast keeps, signed or not. */
export const WRAPPED_INTS: Readonly<Record<number, { bits: 8 | 16; signed: boolean }>> = {
  2: { bits: 8, signed: false },
  3: { bits: 8, signed: true },
  4: { bits: 16, signed: false },
  5: { bits: 16, signed: true },
};

/**
 * One value Cast to ONNX element type `code`, as NumPy's astype and onnxruntime compute it: floats round to
 * their precision (float16 to half, bfloat16 to an 8-bit significand), integers truncate toward zero and wrap
 * to their width (two's complement).
 */
export function castValue(code: number, x: number): number {
  if (code === 10) return halfToFloat(toHalfBits(x));
  if (code === 16) return roundToBfloat16(x);
  const wrap = WRAPPED_INTS[code];
  if (!wrap || Number.isNaN(x)) return narrow(ONNX_TO[code] ?? 'float32', x);
  const span = 2 ** wrap.bits;
  const low = ((Math.trunc(x) % span) + span) % span;
  return wrap.signed && low >= span / 2 ? low - span : low;
}

/**
 * MelWeightMatrix as the ONNX reference computes it: num_mel_bins + 2 edges evenly spaced in mel (the step is
 * the span over their count), each mapped to a spectrogram bin floor((dft_length + 1) · hz / sample_rate), and a
 * triangle per mel bin from its left edge to its right one.
 */
function melWeights(bins: number, length: number, rate: number, low: number, high: number): Float64Array {
  const spectrogramBins = Math.floor(length / 2) + 1;
  const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const [lowMel, highMel] = [toMel(low), toMel(high)];
  const step = (highMel - lowMel) / (bins + 2);
  const edges = Array.from({ length: bins + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    return Math.trunc(Math.floor(((length + 1) * hz) / rate));
  });
  const out = new Float64Array(spectrogramBins * bins);
  for (let i = 0; i < bins; i++) {
    const [left, center, right] = [edges[i], edges[i + 1], edges[i + 2]];
    if (center === left) out[center * bins + i] = 1;
    else for (let j = left; j <= center; j++) out[j * bins + i] = (j - left) / (center - left);
    for (let j = center; j < right; j++) out[j * bins + i] = (right - j) / (right - center);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function ints(v: Values | undefined): number[] | undefined {
  return v ? Array.from(v.data) : undefined;
}

/** ONNX Reshape target dims (0 copies the input dim unless allowzero, -1 is inferred). */
export function reshapeDims(
  inDims: readonly number[],
  spec: readonly number[],
  allowZero: boolean,
): number[] | undefined {
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  const known = out.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    if (known === 0) return undefined;
    out[minus] = size(inDims) / known;
  }
  if (size(out) !== size(inDims) || out.some((d) => d === undefined || !Number.isInteger(d)))
    return undefined;
  return out;
}

export function squeezeDims(inDims: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes) return inDims.filter((d) => d !== 1);
  const set = new Set(axes.map((a) => normAxis(a, inDims.length)));
  return inDims.filter((_, i) => !set.has(i));
}

export function unsqueezeDims(inDims: readonly number[], axes: readonly number[]): number[] {
  const rank = inDims.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : inDims[j++]);
  return out;
}

/** Resolved ONNX Slice parameters for one tensor: start/step/count per axis. */
export function sliceRanges(
  dims: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[] | undefined,
  steps: readonly number[] | undefined,
): { start: number[]; step: number[]; count: number[] } {
  const start = dims.map(() => 0);
  const step = dims.map(() => 1);
  const count = [...dims];
  starts.forEach((s0, i) => {
    const axis = normAxis(axes ? axes[i] : i, dims.length);
    const d = dims[axis];
    const st = steps ? steps[i] : 1;
    let s = s0 < 0 ? s0 + d : s0;
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[axis] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[axis] = Math.max(0, Math.ceil((e - s) / st));
    }
    start[axis] = s;
    step[axis] = st;
  });
  return { start, step, count };
}

function gatherValues(data: Values, indices: Values, axisAttr: number): Values {
  const axis = normAxis(axisAttr, data.dims.length);
  const outer = size(data.dims.slice(0, axis));
  const inner = size(data.dims.slice(axis + 1));
  const d = data.dims[axis];
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const out = new Float64Array(size(dims));
  const ni = indices.data.length;
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (let k = 0; k < ni; k++) {
      let idx = indices.data[k];
      if (idx < 0) idx += d;
      if (idx < 0 || idx >= d)
        throw new WebvlError('INVALID_INPUT', `Gather index ${indices.data[k]} out of range [0, ${d})`);
      const base = (a * d + idx) * inner;
      for (let j = 0; j < inner; j++) out[o++] = data.data[base + j];
    }
  }
  return { dtype: data.dtype, dims, data: out };
}

function transposeValues(x: Values, perm: readonly number[]): Values {
  const dims = perm.map((p) => x.dims[p]);
  const inStrides = strides(x.dims);
  const outStrides = strides(dims);
  const n = size(dims);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < dims.length; d++)
      src += (Math.floor(i / outStrides[d]) % dims[d]) * inStrides[perm[d]];
    out[i] = x.data[src];
  }
  return { dtype: x.dtype, dims, data: out };
}

/**
 * Evaluates `node` on constant inputs. Returns undefined when the op is not one we fold (the node then
 * runs on the GPU). `inputs[i]` is undefined for omitted optional inputs.
 */
/**
 * Split's output lengths along its axis: the `split` input (opset 13+) or attribute, else equal parts, one per
 * output (opset 18: `num_outputs`, the last part shorter when the axis does not divide evenly).
 */
export function splitSizes(
  c: { readonly node: Node; readonly opset: number; constant(i: number): Values | undefined },
  length: number,
): number[] {
  const given = c.opset >= 13 ? (c.node.inputs[1] ? c.constant(1) : undefined) : undefined;
  const sizes: readonly number[] | undefined = given ? Array.from(given.data) : attrInts(c.node, 'split');
  if (sizes && sizes.length > 0) {
    if (sizes.reduce((a, b) => a + b, 0) !== length)
      throw new WebvlError(
        'INVALID_MODEL',
        `Split node '${c.node.name}': parts [${sizes}] do not sum to ${length}`,
      );
    return [...sizes];
  }
  if (c.opset >= 13 && c.node.inputs[1] && !given) {
    throw new WebvlError('UNSUPPORTED_OP', `Split node '${c.node.name}': split must be known at plan time`, {
      ops: ['Split'],
    });
  }
  const parts = attrInt(c.node, 'num_outputs', c.node.outputs.length);
  const each = Math.ceil(length / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(each, length - i * each)));
}

export function evaluate(
  node: Node,
  inputs: readonly (Values | undefined)[],
  opset: number,
): Values[] | undefined {
  const op = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : undefined;
  if (!op) return undefined;
  const [x, y] = inputs;
  if (op in BINARY && x && y) {
    const int = !isFloat(x.dtype);
    const f = BINARY[op];
    const r = mapBroadcast([x, y], x.dtype, ([a, b]) => f(a, b, int));
    return r && [r];
  }
  if (op in COMPARE && x && y) {
    const f = COMPARE[op];
    const r = mapBroadcast([x, y], 'bool', ([a, b]) => (f(a, b) ? 1 : 0));
    return r && [r];
  }
  if (op in UNARY && x) {
    const f = UNARY[op];
    return [{ dtype: x.dtype, dims: x.dims, data: x.data.map((v) => narrow(x.dtype, f(v))) }];
  }
  switch (op) {
    case 'Cast': {
      if (!x) return undefined;
      const code = attrInt(node, 'to', 1);
      const to = ONNX_TO[code];
      if (!to) return undefined;
      return [{ dtype: to, dims: x.dims, data: x.data.map((v) => castValue(code, v)) }];
    }
    case 'Where': {
      const [c, a, b] = inputs;
      if (!c || !a || !b) return undefined;
      const r = mapBroadcast([c, a, b], a.dtype, ([cv, av, bv]) => (cv !== 0 ? av : bv));
      return r && [r];
    }
    case 'Reshape': {
      if (!x || !y) return undefined;
      const dims = reshapeDims(x.dims, Array.from(y.data), attrInt(node, 'allowzero', 0) === 1);
      return dims && [{ ...x, dims }];
    }
    case 'Flatten': {
      if (!x) return undefined;
      const axis = normAxis(attrInt(node, 'axis', 1), x.dims.length);
      return [{ ...x, dims: [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))] }];
    }
    case 'Squeeze': {
      if (!x) return undefined;
      const axes = opset >= 13 ? ints(y) : attrInts(node, 'axes');
      return [{ ...x, dims: squeezeDims(x.dims, axes) }];
    }
    case 'Unsqueeze': {
      if (!x) return undefined;
      const axes = opset >= 13 ? ints(y) : attrInts(node, 'axes');
      if (!axes) return undefined;
      return [{ ...x, dims: unsqueezeDims(x.dims, axes) }];
    }
    case 'Concat': {
      if (inputs.some((v) => !v)) return undefined;
      const vs = inputs as Values[];
      const rank = vs[0].dims.length;
      const axis = normAxis(attrInt(node, 'axis', 0), rank);
      const outer = size(vs[0].dims.slice(0, axis));
      const dims = [...vs[0].dims];
      dims[axis] = vs.reduce((a, v) => a + v.dims[axis], 0);
      const out = new Float64Array(size(dims));
      let o = 0;
      for (let a = 0; a < outer; a++) {
        for (const v of vs) {
          const chunk = size(v.dims.slice(axis));
          out.set(v.data.subarray(a * chunk, (a + 1) * chunk), o);
          o += chunk;
        }
      }
      return [{ dtype: vs[0].dtype, dims, data: out }];
    }
    case 'Gather':
      return x && y ? [gatherValues(x, y, attrInt(node, 'axis', 0))] : undefined;
    case 'Slice': {
      if (!x) return undefined;
      let starts: number[] | undefined;
      let ends: number[] | undefined;
      let axes: number[] | undefined;
      let steps: number[] | undefined;
      if (opset >= 10) {
        starts = ints(inputs[1]);
        ends = ints(inputs[2]);
        axes = ints(inputs[3]);
        steps = ints(inputs[4]);
      } else {
        starts = attrInts(node, 'starts') as number[] | undefined;
        ends = attrInts(node, 'ends') as number[] | undefined;
        axes = attrInts(node, 'axes') as number[] | undefined;
      }
      if (!starts || !ends) return undefined;
      const r = sliceRanges(x.dims, starts, ends, axes, steps);
      const inStrides = strides(x.dims);
      const outStrides = strides(r.count);
      const n = size(r.count);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let src = 0;
        for (let d = 0; d < r.count.length; d++) {
          src += (r.start[d] + (Math.floor(i / outStrides[d]) % r.count[d]) * r.step[d]) * inStrides[d];
        }
        out[i] = x.data[src];
      }
      return [{ dtype: x.dtype, dims: r.count, data: out }];
    }
    case 'HannWindow':
    case 'HammingWindow':
    case 'BlackmanWindow': {
      if (!x) return undefined;
      const dtype = ONNX_TO[attrInt(node, 'output_datatype', 1)];
      if (!dtype) return undefined;
      const size = Math.max(0, Math.trunc(Number(x.data[0])));
      // Periodic windows repeat after `size` samples, symmetric ones end where they start.
      const span = attrInt(node, 'periodic', 1) === 1 ? size : size - 1;
      const data = Float64Array.from({ length: size }, (_, i) =>
        narrow(dtype, WINDOWS[op]((2 * Math.PI * i) / span)),
      );
      return [{ dtype, dims: [size], data }];
    }
    case 'MelWeightMatrix': {
      const dtype = ONNX_TO[attrInt(node, 'output_datatype', 1)];
      if (!dtype || inputs.slice(0, 5).some((v) => !v)) return undefined;
      const [bins, length, rate, low, high] = inputs.map((v) => Number(v?.data[0]));
      return [
        { dtype, dims: [Math.floor(length / 2) + 1, bins], data: melWeights(bins, length, rate, low, high) },
      ];
    }
    case 'Range': {
      const [s, l, d] = inputs;
      if (!s || !l || !d) return undefined;
      const start = s.data[0];
      const delta = d.data[0];
      const n = Math.max(Math.ceil((l.data[0] - start) / delta), 0);
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = narrow(s.dtype, start + i * delta);
      return [{ dtype: s.dtype, dims: [n], data }];
    }
    case 'ConstantOfShape': {
      if (!x) return undefined;
      const value = attrTensor(node, 'value');
      const fill = value
        ? toValues(value)
        : { dtype: 'float32' as DType, dims: [1], data: Float64Array.of(0) };
      const dims = Array.from(x.data);
      return [{ dtype: fill.dtype, dims, data: new Float64Array(size(dims)).fill(fill.data[0] ?? 0) }];
    }
    case 'Expand': {
      if (!x || !y) return undefined;
      const target = broadcastShape(x.dims, Array.from(y.data));
      if (!target) return undefined;
      const idx = broadcastIndex(x.dims, target);
      return [{ dtype: x.dtype, dims: target, data: Float64Array.from(idx, (i) => x.data[i]) }];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
      return [transposeValues(x, perm)];
    }
    case 'Trilu': {
      if (!x) return undefined;
      const k = y ? y.data[0] : 0;
      const upper = attrInt(node, 'upper', 1) === 1;
      const rows = x.dims[x.dims.length - 2];
      const cols = x.dims[x.dims.length - 1];
      const data = x.data.map((v, i) => {
        const c = i % cols;
        const r = Math.floor(i / cols) % rows;
        const keep = upper ? c - r >= k : c - r <= k;
        return keep ? v : 0;
      });
      return [{ dtype: x.dtype, dims: x.dims, data }];
    }
    case 'ReduceProd':
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin': {
      // Shape arithmetic (number of elements, positions from a mask of ones) over any axes.
      if (!x) return undefined;
      const fromInput = opset >= 18 || (op === 'ReduceSum' && opset >= 13);
      const listed = fromInput ? ints(y) : attrInts(node, 'axes');
      if (listed && listed.length === 0 && attrInt(node, 'noop_with_empty_axes', 0) === 1) return [x];
      const rank = x.dims.length;
      const axes = new Set(
        (listed && listed.length > 0 ? listed : x.dims.map((_, i) => i)).map((a) => normAxis(a, rank)),
      );
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const outDims = x.dims.map((d, i) => (axes.has(i) ? 1 : d));
      const n = size(outDims);
      const init =
        op === 'ReduceProd' ? 1 : op === 'ReduceMax' ? -Infinity : op === 'ReduceMin' ? Infinity : 0;
      const out = new Float64Array(n).fill(init);
      const inStrides = strides(x.dims);
      const outStrides = strides(outDims);
      for (let i = 0; i < x.data.length; i++) {
        let o = 0;
        for (let d = 0; d < rank; d++) {
          if (!axes.has(d)) o += (Math.floor(i / inStrides[d]) % x.dims[d]) * outStrides[d];
        }
        const v = x.data[i];
        if (op === 'ReduceProd') out[o] *= v;
        else if (op === 'ReduceMax') out[o] = Math.max(out[o], v);
        else if (op === 'ReduceMin') out[o] = Math.min(out[o], v);
        else out[o] += v;
      }
      const count = x.data.length / Math.max(n, 1);
      const data = out.map((v) => narrow(x.dtype, op === 'ReduceMean' ? v / count : v));
      return [{ dtype: x.dtype, dims: keep ? outDims : x.dims.filter((_, i) => !axes.has(i)), data }];
    }
    case 'CumSum': {
      const axisValue = inputs[1];
      if (!x || !axisValue) return undefined;
      const axis = normAxis(axisValue.data[0], x.dims.length);
      const exclusive = attrInt(node, 'exclusive', 0) === 1;
      const reverse = attrInt(node, 'reverse', 0) === 1;
      const inner = size(x.dims.slice(axis + 1));
      const d = x.dims[axis];
      const outer = size(x.dims.slice(0, axis));
      const data = new Float64Array(x.data.length);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let acc = 0;
          for (let step = 0; step < d; step++) {
            const j = reverse ? d - 1 - step : step;
            const at = (o * d + j) * inner + i;
            if (exclusive) {
              data[at] = acc;
              acc += x.data[at];
            } else {
              acc += x.data[at];
              data[at] = acc;
            }
          }
        }
      return [{ ...x, data }];
    }
    case 'IsNaN':
      return x && [{ dtype: 'bool', dims: x.dims, data: x.data.map((v) => (Number.isNaN(v) ? 1 : 0)) }];
    case 'IsInf': {
      if (!x) return undefined;
      const pos = attrInt(node, 'detect_positive', 1) === 1;
      const neg = attrInt(node, 'detect_negative', 1) === 1;
      const hit = (v: number) => (v === Infinity && pos) || (v === -Infinity && neg);
      return [{ dtype: 'bool', dims: x.dims, data: x.data.map((v) => (hit(v) ? 1 : 0)) }];
    }
    case 'Tile': {
      const reps = ints(y);
      if (!x || !reps || reps.length !== x.dims.length) return undefined;
      const dims = x.dims.map((d, i) => d * reps[i]);
      const own = strides(x.dims);
      const outStrides = strides(dims);
      const data = new Float64Array(size(dims));
      for (let i = 0; i < data.length; i++) {
        let at = 0;
        for (let d = 0; d < dims.length; d++)
          at += ((Math.floor(i / outStrides[d]) % dims[d]) % x.dims[d]) * own[d];
        data[i] = x.data[at];
      }
      return [{ dtype: x.dtype, dims, data }];
    }
    case 'Split': {
      if (!x) return undefined;
      const axis = normAxis(attrInt(node, 'axis', 0), x.dims.length);
      const sizes = splitSizes({ node, opset, constant: (i) => inputs[i] }, x.dims[axis]);
      const outer = size(x.dims.slice(0, axis));
      const inner = size(x.dims.slice(axis + 1));
      let start = 0;
      return sizes.map((n) => {
        const dims = x.dims.map((d, i) => (i === axis ? n : d));
        const data = new Float64Array(size(dims));
        for (let o = 0; o < outer; o++)
          data.set(
            x.data.subarray((o * x.dims[axis] + start) * inner, (o * x.dims[axis] + start + n) * inner),
            o * n * inner,
          );
        start += n;
        return { dtype: x.dtype, dims, data };
      });
    }
    case 'GatherND': {
      if (!x || !y) return undefined;
      const b = attrInt(node, 'batch_dims', 0);
      const k = y.dims[y.dims.length - 1];
      if (k === undefined || b + k > x.dims.length) return undefined;
      const dims = [...y.dims.slice(0, -1), ...x.dims.slice(b + k)];
      const inner = size(x.dims.slice(b + k));
      const own = strides(x.dims);
      const tuples = size(y.dims.slice(0, -1));
      const perBatch = tuples / Math.max(1, size(y.dims.slice(0, b)));
      const batchStride = b > 0 ? own[b - 1] : 0;
      const data = new Float64Array(size(dims));
      for (let t = 0; t < tuples; t++) {
        let at = Math.floor(t / perBatch) * batchStride;
        for (let m = 0; m < k; m++) {
          const dim = x.dims[b + m];
          const idx = y.data[t * k + m];
          at += (idx < 0 ? idx + dim : idx) * own[b + m];
        }
        data.set(x.data.subarray(at, at + inner), t * inner);
      }
      return [{ dtype: x.dtype, dims, data }];
    }
    case 'Pad':
      return x && padValues(node, inputs, opset);
    case 'NonZero': {
      // [rank, n]: the coordinates of each nonzero element, in row-major order.
      if (!x) return undefined;
      const own = strides(x.dims);
      const hits: number[] = [];
      x.data.forEach((v, i) => {
        if (v !== 0) hits.push(i);
      });
      const data = new Float64Array(x.dims.length * hits.length);
      hits.forEach((at, j) => {
        x.dims.forEach((d, axis) => {
          data[axis * hits.length + j] = Math.floor(at / own[axis]) % d;
        });
      });
      return [{ dtype: 'int64', dims: [x.dims.length, hits.length], data }];
    }
    case 'TopK':
      return x && topKValues(node, inputs, opset);
    case 'Clip': {
      if (!x) return undefined;
      const lo = opset >= 11 ? (inputs[1]?.data[0] ?? -Infinity) : attrFloat(node, 'min', -Infinity);
      const hi = opset >= 11 ? (inputs[2]?.data[0] ?? Infinity) : attrFloat(node, 'max', Infinity);
      return [{ ...x, data: x.data.map((v) => Math.min(Math.max(v, lo), hi)) }];
    }
    default:
      return undefined;
  }
}

/** Pad in constant mode (other modes: not folded): pads [begins…, ends…] on `axes` (all by default). */
function padValues(node: Node, inputs: readonly (Values | undefined)[], opset: number): Values[] | undefined {
  const x = inputs[0] as Values;
  const rank = x.dims.length;
  if (attrString(node, 'mode', 'constant') !== 'constant') return undefined;
  const given = opset >= 11 ? ints(inputs[1]) : attrInts(node, 'pads');
  if (!given) return undefined;
  const axes = opset >= 18 && node.inputs[3] ? ints(inputs[3]) : Array.from({ length: rank }, (_, i) => i);
  if (!axes || given.length !== 2 * axes.length) return undefined;
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    begin[normAxis(a, rank)] = given[i];
    end[normAxis(a, rank)] = given[i + axes.length];
  });
  const fill = opset >= 11 ? (node.inputs[2] ? inputs[2]?.data[0] : 0) : attrFloat(node, 'value', 0);
  if (fill === undefined) return undefined;
  const dims = x.dims.map((d, i) => d + begin[i] + end[i]);
  if (dims.some((d) => d < 0)) return undefined;
  const own = strides(x.dims);
  const outStrides = strides(dims);
  const data = new Float64Array(size(dims)).fill(fill);
  for (let o = 0; o < data.length; o++) {
    let at = 0;
    let inside = true;
    for (let d = 0; d < rank && inside; d++) {
      const src = (Math.floor(o / outStrides[d]) % dims[d]) - begin[d];
      inside = src >= 0 && src < x.dims[d];
      at += src * own[d];
    }
    if (inside) data[o] = x.data[at];
  }
  return [{ dtype: x.dtype, dims, data }];
}

/** TopK: the k largest (or smallest) along an axis and their indices; ties keep the lower index first. */
function topKValues(
  node: Node,
  inputs: readonly (Values | undefined)[],
  opset: number,
): Values[] | undefined {
  const x = inputs[0] as Values;
  const k = opset >= 10 ? ints(inputs[1])?.[0] : attrInt(node, 'k', -1);
  const axis = normAxis(attrInt(node, 'axis', -1), x.dims.length);
  const n = x.dims[axis];
  if (k === undefined || k < 0 || k > n) return undefined;
  const largest = attrInt(node, 'largest', 1) === 1;
  const inner = size(x.dims.slice(axis + 1));
  const outer = size(x.dims.slice(0, axis));
  const dims = x.dims.map((d, i) => (i === axis ? k : d));
  const values = new Float64Array(size(dims));
  const indices = new Float64Array(size(dims));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => x.data[(o * n + j) * inner + i];
      const order = Array.from({ length: n }, (_, j) => j).sort((a, b) =>
        at(a) === at(b) ? a - b : largest ? at(b) - at(a) : at(a) - at(b),
      );
      for (let j = 0; j < k; j++) {
        values[(o * k + j) * inner + i] = at(order[j]);
        indices[(o * k + j) * inner + i] = order[j];
      }
    }
  return [
    { dtype: x.dtype, dims, data: values },
    { dtype: 'int64', dims, data: indices },
  ];
}
