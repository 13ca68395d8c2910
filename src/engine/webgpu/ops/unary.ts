import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { UnaryParams } from './types';

export function unary(_ctx: KernelContext, _x: GpuView, _out: GpuView, _params: UnaryParams): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function gelu(
  _ctx: KernelContext,
  _x: GpuView,
  _out: GpuView,
  _approximate: 'none' | 'tanh' | 'quick' = 'none',
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function cast(_ctx: KernelContext, _x: GpuView, _out: GpuView): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
