// Helpers shared by the kernels: validation, dtype mapping, uniform packing, dispatch sizing.
import { WebvlError } from '../../../errors';
import type { DType } from '../../tensor';
import type { GpuView } from '../plan/kernel-context';

/** Invocations per workgroup for 1-D elementwise programs (SwiftShader allows 256). */
export const ELEMENTWISE_WORKGROUP = 256;
/** WebGPU's default maxComputeWorkgroupsPerDimension; larger grids spill into y. */
const MAX_GROUPS_PER_DIM = 65535;

export function invalid(message: string, details?: Record<string, unknown>): never {
  throw new WebvlError('INVALID_INPUT', message, details);
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function contiguousStrides(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  return strides;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function expectDims(name: string, view: GpuView, dims: readonly number[]): void {
  if (!sameDims(view.dims, dims)) invalid(`${name} has dims [${view.dims}], expected [${dims}]`);
}

/** The WGSL scalar a dtype is stored as on the GPU (see ./index.ts for the convention). */
export type WgslScalar = 'f32' | 'f16' | 'i32';

export function wgslScalar(dtype: DType): WgslScalar {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'float16') return 'f16';
  return 'i32';
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16';
}

export function expectFloat32(name: string, view: GpuView): void {
  if (view.dtype !== 'float32') invalid(`${name} must be float32, got ${view.dtype}`);
}

/** NumPy broadcast of two shapes; throws INVALID_INPUT when incompatible. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) invalid(`cannot broadcast [${a}] with [${b}]`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides of `dims` when broadcast (right-aligned) to `target`: 0 on broadcast dims. */
export function broadcastStrides(dims: readonly number[], target: readonly number[]): number[] {
  const own = contiguousStrides(dims);
  const offset = target.length - dims.length;
  if (offset < 0) invalid(`cannot broadcast [${dims}] to lower rank [${target}]`);
  return target.map((t, i) => {
    const j = i - offset;
    if (j < 0) return 0;
    const d = dims[j];
    if (d === t) return own[j];
    if (d === 1) return 0;
    return invalid(`cannot broadcast [${dims}] to [${target}]`);
  });
}

/** Workgroup grid for `groups` workgroups, spilling into y past the per-dimension limit. */
export function grid1d(groups: number): [number, number] {
  if (groups <= MAX_GROUPS_PER_DIM) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / MAX_GROUPS_PER_DIM);
  return [Math.ceil(groups / y), y];
}

/**
 * Packs uniforms into 16-byte slots so WGSL can read them as `array<vec4<u32>, N>` (uniform arrays need a
 * 16-byte stride). Each field starts a new slot unless it is a scalar that fits; floats are bit-cast.
 */
export class UniformWriter {
  private readonly words: number[] = [];
  private readonly f32 = new Float32Array(1);
  private readonly u32 = new Uint32Array(this.f32.buffer);

  u32s(values: readonly number[]): this {
    for (const v of values) this.words.push(v >>> 0);
    return this;
  }

  i32s(values: readonly number[]): this {
    for (const v of values) this.words.push(v | 0);
    return this;
  }

  f32s(values: readonly number[]): this {
    for (const v of values) {
      this.f32[0] = v;
      this.words.push(this.u32[0]);
    }
    return this;
  }

  /** Pads to the next 16-byte boundary (start of a new vec4 slot). */
  align(): this {
    while (this.words.length % 4 !== 0) this.words.push(0);
    return this;
  }

  /** Appends `values` padded to `slots` vec4 slots (for fixed-size arrays of rank-dependent length). */
  u32Array(values: readonly number[], slots: number): this {
    this.align();
    const n = slots * 4;
    if (values.length > n) invalid(`too many values (${values.length} > ${n})`);
    for (let i = 0; i < n; i++) this.words.push((values[i] ?? 0) >>> 0);
    return this;
  }

  finish(): ArrayBuffer {
    this.align();
    if (this.words.length === 0) this.words.push(0, 0, 0, 0);
    const out = new Uint32Array(this.words.length);
    for (let i = 0; i < this.words.length; i++) out[i] = this.words[i] >>> 0;
    return out.buffer;
  }
}

/** Up to four per-axis values as one vec4 uniform slot, absent axes given `fill` (1-3 spatial axes as three). */
export function vec4Slot(values: readonly number[], fill: number): number[] {
  return Array.from({ length: 4 }, (_, i) => values[i] ?? fill);
}

/** WGSL text of a float literal that always parses as f32 (e.g. `1.0`, not `1`). */
export function f32Literal(x: number): string {
  // WGSL has no constant NaN/Inf; the largest finite f32 stands in for ±Inf.
  if (Number.isNaN(x)) invalid('NaN cannot be a WGSL constant');
  if (x >= 3.4028234663852886e38) return '3.4028234663852886e38';
  if (x <= -3.4028234663852886e38) return '-3.4028234663852886e38';
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Replaces every `{{NAME}}` in a WGSL template; fails loudly when a placeholder is left over. */
export function specialize(template: string, values: Readonly<Record<string, string | number>>): string {
  const out = template.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new WebvlError('INTERNAL', `WGSL template value ${key} missing`);
    return String(v);
  });
  return out;
}
