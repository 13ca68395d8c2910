import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { SliceParams } from './types';

export function copyStrided(
  _ctx: KernelContext,
  _src: GpuView,
  _srcStrides: readonly number[],
  _srcStart: number,
  _dst: GpuView,
  _dstStrides: readonly number[],
  _dstStart: number,
  _dims: readonly number[],
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function transpose(_ctx: KernelContext, _x: GpuView, _out: GpuView, _perm?: readonly number[]): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function slice(_ctx: KernelContext, _x: GpuView, _out: GpuView, _params: SliceParams): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function expand(_ctx: KernelContext, _x: GpuView, _out: GpuView): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function concat(_ctx: KernelContext, _inputs: readonly GpuView[], _out: GpuView, _axis: number): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
