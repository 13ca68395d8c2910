import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { LayerNormParams } from './types';

export function layerNorm(
  _ctx: KernelContext,
  _x: GpuView,
  _gamma: GpuView,
  _beta: GpuView | null,
  _residual: GpuView | null,
  _out: GpuView,
  _sumOut: GpuView | null,
  _params: LayerNormParams = {},
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
