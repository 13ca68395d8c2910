import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { ReduceParams } from './types';

export function reduce(_ctx: KernelContext, _x: GpuView, _out: GpuView, _params: ReduceParams): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
