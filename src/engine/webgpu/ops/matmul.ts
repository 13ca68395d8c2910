import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { MatmulParams } from './types';

export function matmul(
  _ctx: KernelContext,
  _a: GpuView,
  _b: GpuView,
  _bias: GpuView | null,
  _out: GpuView,
  _params: MatmulParams = {},
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}

export const linear = matmul;
