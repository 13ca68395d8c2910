import { WebvlError } from '../errors';
import { floatsToHalfs, halfsToFloats } from './half';

export type DType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/** A tensor whose data lives in CPU memory. */
export interface HostTensor {
  readonly location: 'cpu';
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/**
 * A tensor that stays on the GPU between graphs (vision tokens → ITM/decoder, KV cache across steps).
 * `download()` reads it back; `dispose()` returns its buffer to the owner's pool.
 */
export interface DeviceTensor {
  readonly location: 'gpu';
  readonly dtype: DType;
  readonly dims: readonly number[];
  download(): Promise<HostTensor>;
  dispose(): void;
  /**
   * This tensor followed by `rest` along axis 1, as a new tensor on the same device (pieces [1, sᵢ, …] of one
   * sequence), or undefined where this backend cannot join them there.
   */
  joinSequence?(rest: readonly DeviceTensor[]): DeviceTensor | undefined;
  /**
   * Rows `rows` of this [B, …] tensor (repeats allowed) as a new tensor on the same device (beams reordered,
   * one image repeated per beam), or undefined where this backend cannot gather them there.
   */
  gatherRows?(rows: readonly number[]): DeviceTensor | undefined;
  /**
   * The same data as a tensor of other dims (as many elements), taking this one's place: this tensor is spent
   * (its buffer now the new one's). Undefined where this backend cannot do that.
   */
  reshaped?(dims: readonly number[]): DeviceTensor | undefined;
}

export type Tensor = HostTensor | DeviceTensor;

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

const CTORS = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
} as const;

export function hostTensor(
  dtype: DType,
  dims: readonly number[],
  data?: TensorData | ArrayLike<number>,
): HostTensor {
  const n = sizeOf(dims);
  let arr: TensorData;
  if (data === undefined) {
    arr = new CTORS[dtype](n);
  } else if (ArrayBuffer.isView(data)) {
    arr = data as TensorData;
  } else if (dtype === 'int64') {
    arr = BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v)));
  } else {
    arr = new CTORS[dtype](data as ArrayLike<number>);
  }
  if (arr.length !== n) {
    throw new WebvlError('INVALID_INPUT', `tensor data has ${arr.length} elements, dims [${dims}] need ${n}`);
  }
  return { location: 'cpu', dtype, dims: [...dims], data: arr };
}

export async function toHost(t: Tensor): Promise<HostTensor> {
  return t.location === 'cpu' ? t : t.download();
}

/**
 * `t` on the host with float16 values widened to float32: what the pipelines compute with, whichever float kind
 * a graph declares for its outputs (float16 exports without keep_io_types).
 */
export async function toHostFloats(t: Tensor): Promise<HostTensor> {
  const host = await toHost(t);
  if (host.dtype !== 'float16') return host;
  return {
    location: 'cpu',
    dtype: 'float32',
    dims: host.dims,
    data: halfsToFloats(host.data as Uint16Array),
  };
}

/** A float tensor on the host as the other float kind (float32 ↔ float16), rounding to nearest even. */
export function asFloatKind(t: HostTensor, dtype: 'float32' | 'float16'): HostTensor {
  if (t.dtype === dtype) return t;
  const data =
    dtype === 'float16' ? floatsToHalfs(t.data as Float32Array) : halfsToFloats(t.data as Uint16Array);
  return { location: 'cpu', dtype, dims: t.dims, data };
}

/**
 * Pieces [1, sᵢ, …] of one sequence joined along axis 1: on the host where all are host tensors, on the device
 * where their backend joins them there; undefined otherwise (the caller uses the pieces one by one).
 */
export function joinSequence(parts: readonly Tensor[]): Tensor | undefined {
  const [first, ...rest] = parts;
  if (first?.dims[0] !== 1) return undefined;
  const tail = first.dims.slice(2).join(',');
  if (rest.some((t) => t.dtype !== first.dtype || t.dims[0] !== 1 || t.dims.slice(2).join(',') !== tail))
    return undefined;
  const length = parts.reduce((n, t) => n + t.dims[1], 0);
  if (parts.every((t) => t.location === 'cpu')) {
    const out = hostTensor(first.dtype, [1, length, ...first.dims.slice(2)]);
    let at = 0;
    for (const t of parts as HostTensor[]) {
      (out.data as Float32Array).set(t.data as Float32Array, at); // any one typed-array kind: the copy is the same
      at += t.data.length;
    }
    return out;
  }
  if (first.location === 'gpu' && rest.every((t) => t.location === 'gpu'))
    return first.joinSequence?.(rest as DeviceTensor[]);
  return undefined;
}

/** The first `length` positions of a host [B, H, S, D] (a past or present): a copy, row by row. */
export function firstPositions(t: HostTensor, length: number): HostTensor {
  const [b, h, total, d] = t.dims;
  const out = hostTensor(t.dtype, [b, h, length, d]);
  const from = t.data as Float32Array; // or float16's Uint16Array: the copy is the same
  for (let row = 0; row < b * h; row++)
    (out.data as Float32Array).set(
      from.subarray(row * total * d, (row * total + length) * d),
      row * length * d,
    );
  return out;
}
