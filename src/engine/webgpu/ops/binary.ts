import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { BinaryOp } from './types';

export function binary(_ctx: KernelContext, _a: GpuView, _b: GpuView, _out: GpuView, _op: BinaryOp): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export function where(_ctx: KernelContext, _cond: GpuView, _x: GpuView, _y: GpuView, _out: GpuView): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
