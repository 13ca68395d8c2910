// What a lowering receives for one node, and the checks every lowering shares.
import { WebvlError } from '../../../errors';
import type { Values } from '../ir/const-eval';
import { type Node, opKey } from '../ir/ir';
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

/** Refuses an axis other than the last (the pre-opset-13 flattening forms equal ours only there). */
export function lastAxis(a: LowerArgs, axis: number): void {
  const rank = need(a, 0).dims.length;
  if (axis !== -1 && axis !== rank - 1) unsupported(a.node, `only the last axis is supported (axis=${axis})`);
}
