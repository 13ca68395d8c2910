import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { TopKParams } from './types';

export function argmax(_ctx: KernelContext, _x: GpuView, _out: GpuView): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function topk(
  _ctx: KernelContext,
  _x: GpuView,
  _values: GpuView,
  _indices: GpuView,
  _params: TopKParams,
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
