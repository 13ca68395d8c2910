import { WebvlError } from '../../../errors';
import type { GpuView, KernelContext } from '../kernel-context';
import type { AttentionParams } from './types';

export function attention(
  _ctx: KernelContext,
  _q: GpuView,
  _k: GpuView,
  _v: GpuView,
  _mask: GpuView | null,
  _out: GpuView,
  _params: AttentionParams = {},
): void {
  throw new WebvlError('INTERNAL', 'kernel not implemented yet');
}
