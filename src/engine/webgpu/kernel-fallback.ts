// The kernels the lowering calls. The kernel library (./ops) is written in parallel with the engine; while one
// of its kernels still throws "not implemented yet", the engine's own `*-core` version records instead, so
// whole graphs run end to end today and switch to the library kernel the moment it lands.
import { isWebvlError } from '../../errors';
import type { KernelContext } from './kernel-context';
import * as ops from './ops';
import { attentionCore } from './ops/attention-core';
import { conv2dCore } from './ops/conv2d-core';
import { gatherCore } from './ops/gather-core';
import { layerNormCore } from './ops/layer-norm-core';
import { matmulCore } from './ops/matmul-core';
import { reduceCore } from './ops/reduce-core';

/** Which implementation each kernel name ended up using (for describePlan and tests). */
export const kernelSource = new Map<string, 'library' | 'core'>();

function isStub(e: unknown): boolean {
  return isWebvlError(e) && e.code === 'INTERNAL' && /not implemented yet/.test(e.message);
}

function withFallback<A extends unknown[]>(
  name: string,
  library: (ctx: KernelContext, ...args: A) => void,
  core: (ctx: KernelContext, ...args: A) => void,
): (ctx: KernelContext, ...args: A) => void {
  return (ctx, ...args) => {
    try {
      library(ctx, ...args);
      kernelSource.set(name, 'library');
    } catch (e) {
      if (!isStub(e)) throw e;
      core(ctx, ...args);
      kernelSource.set(name, 'core');
    }
  };
}

export const matmul = withFallback('matmul', ops.matmul, matmulCore);
export const linear = withFallback('linear', ops.linear, matmulCore);
export const layerNorm = withFallback('layerNorm', ops.layerNorm, layerNormCore);
export const attention = withFallback('attention', ops.attention, attentionCore);
export const conv2d = withFallback('conv2d', ops.conv2d, conv2dCore);
export const gather = withFallback('gather', ops.gather, gatherCore);
export const reduce = withFallback('reduce', ops.reduce, reduceCore);
export const { argmax, binary, cast, concat, expand, gelu, slice, softmax, topk, transpose, unary, where } =
  ops;
