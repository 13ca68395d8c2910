import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';

export function gather(
  _ctx: KernelContext,
  _data: GpuView,
  _indices: GpuView,
  _out: GpuView,
  _axis = 0,
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
