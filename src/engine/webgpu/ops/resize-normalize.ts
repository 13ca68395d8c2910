import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { ResizeNormalizeParams } from './types';

export function resizeNormalize(
  _ctx: KernelContext,
  _image: GpuView,
  _out: GpuView,
  _params: ResizeNormalizeParams,
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
