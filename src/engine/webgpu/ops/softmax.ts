import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';

export function softmax(_ctx: KernelContext, _x: GpuView, _out: GpuView, _axis = -1): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
