import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { Conv2dParams } from './types';

export function conv2d(
  _ctx: KernelContext,
  _x: GpuView,
  _w: GpuView,
  _bias: GpuView | null,
  _out: GpuView,
  _params: Conv2dParams = {},
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
