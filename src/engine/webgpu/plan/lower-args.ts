// What a lowering receives for one node, and the checks every lowering shares.
import { WebvlError } from '../../../errors';
import type { Values } from '../ir/const-eval';
import { type Node, opKey } from '../ir/ir';
import * as ops from '../ops';
import type { GpuView, KernelContext } from './kernel-context';

export interface LowerArgs {
  readonly ctx: KernelContext;
  readonly node: Node;
  /** Input views; null for omitted optional inputs. */
  readonly inputs: readonly (GpuView | null)[];
  readonly outputs: readonly GpuView[];
  /** Constant value of input i, when known at plan time. */
  constant(i: number): Values | undefined;
  readonly opset: number;
}

export type Lowering = (a: LowerArgs) => void;

/** UNSUPPORTED_OP for a form of a claimed op the kernels cannot run, naming the node. */
export function unsupported(node: Node, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `${opKey(node)} node '${node.name}': ${why}`, {
    ops: [opKey(node)],
  });
}

/** Input i, which the op requires. */
export function need(a: LowerArgs, i: number): GpuView {
  const v = a.inputs[i];
  if (!v) return unsupported(a.node, `input ${i} is missing`);
  return v;
}

/** A float32 scalar constant (dims [], so it broadcasts to any shape, scalars included). */
export function floatScalar(a: LowerArgs, value: number): GpuView {
  return a.ctx.constant('float32', [], new Float32Array([value]));
}

/** Input i's values, when they are known when planning. */
export function constInts(a: LowerArgs, i: number): number[] | undefined {
  const v = a.constant(i);
  return v ? Array.from(v.data) : undefined;
}

/** Where one input sits in a buffer that packInputs() made. */
export interface PackedInputs {
  readonly view: GpuView;
  readonly slices: readonly { readonly at: number; readonly length: number }[];
}

/**
 * Small inputs (zero points, scales, biases) as consecutive slices of one 32-bit buffer of `dtype`, so a kernel
 * binds one buffer for them all. A piece is an input index, or absent (null, or an omitted optional input): then
 * zeros, `absentLength` of them (one by default). Built at plan time when every present input is a constant,
 * else by one copy per piece.
 */
export function packInputs(
  a: LowerArgs,
  dtype: 'int32' | 'float32',
  pieces: readonly (number | null | { readonly index: number; readonly absentLength: number })[],
): PackedInputs {
  const index = (p: (typeof pieces)[number]) => (p !== null && typeof p === 'object' ? p.index : p);
  const present = (p: (typeof pieces)[number]) => {
    const i = index(p);
    return i !== null && a.inputs[i] != null ? i : undefined;
  };
  const lengths = pieces.map((p) => {
    const i = present(p);
    if (i !== undefined) return need(a, i).dims.reduce((n, d) => n * d, 1);
    return p !== null && typeof p === 'object' ? p.absentLength : 1;
  });
  const slices = lengths.map((length, j) => ({ at: lengths.slice(0, j).reduce((n, l) => n + l, 0), length }));
  const total = lengths.reduce((n, l) => n + l, 0);
  const Data = dtype === 'int32' ? Int32Array : Float32Array;
  const values = pieces.map((p, j) => {
    const i = present(p);
    return i === undefined ? { data: new Float64Array(lengths[j]) } : a.constant(i);
  });
  if (values.every((v) => v !== undefined)) {
    const data = new Data(total);
    values.forEach((v, j) => {
      data.set(Array.from(v?.data ?? [], Number), slices[j].at);
    });
    return { view: a.ctx.constant(dtype, [total], data), slices };
  }
  const view = a.ctx.scratch(dtype, [total]);
  const parts = pieces.map((p, j) => {
    const i = present(p);
    const source = i === undefined ? a.ctx.constant(dtype, [lengths[j]], new Data(lengths[j])) : need(a, i);
    return { ...source, dtype, dims: [lengths[j]] };
  });
  ops.concat(a.ctx, parts, view, 0);
  return { view, slices };
}
