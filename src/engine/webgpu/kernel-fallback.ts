// The kernels the lowering calls: the kernel library (./ops), or the engine's own barrier-free `*-core`
// versions (a) on software adapters for the kernels where the core version measured faster there
// (SwiftShader, Node `webgpu`: matmul 2.4–3.7×, layer norm ~18×; the library's flash attention was faster,
// so it keeps it), and (b) wherever a library kernel still throws "not implemented yet".
import { isWebvlError } from '../../errors';
import type { KernelContext } from './kernel-context';
import * as ops from './ops';
import { attentionCore } from './ops/attention-core';
import { conv2dCore } from './ops/conv2d-core';
import { gatherCore } from './ops/gather-core';
import { layerNormCore } from './ops/layer-norm-core';
import { matmulCore } from './ops/matmul-core';
import { reduceCore } from './ops/reduce-core';

export type KernelSource = 'library' | 'core';

const choices = new WeakMap<KernelContext, Map<string, KernelSource>>();

/** Which implementation each kernel recorded through `ctx` used (for describePlan and tests). */
export function kernelChoices(ctx: KernelContext): Record<string, KernelSource> {
  return Object.fromEntries(choices.get(ctx) ?? []);
}

function choose(ctx: KernelContext, name: string, source: KernelSource): void {
  let map = choices.get(ctx);
  if (!map) {
    map = new Map();
    choices.set(ctx, map);
  }
  map.set(name, source);
}

function isStub(e: unknown): boolean {
  return isWebvlError(e) && e.code === 'INTERNAL' && /not implemented yet/.test(e.message);
}

function withFallback<A extends unknown[]>(
  name: string,
  library: (ctx: KernelContext, ...args: A) => void,
  core: (ctx: KernelContext, ...args: A) => void,
  coreOnSoftware = false,
): (ctx: KernelContext, ...args: A) => void {
  return (ctx, ...args) => {
    if (coreOnSoftware && ctx.features.softwareAdapter) {
      core(ctx, ...args);
      choose(ctx, name, 'core');
      return;
    }
    try {
      library(ctx, ...args);
      choose(ctx, name, 'library');
    } catch (e) {
      if (!isStub(e)) throw e;
      core(ctx, ...args);
      choose(ctx, name, 'core');
    }
  };
}

export const matmul = withFallback('matmul', ops.matmul, matmulCore, true);
export const linear = withFallback('linear', ops.linear, matmulCore, true);
export const layerNorm = withFallback('layerNorm', ops.layerNorm, layerNormCore, true);
export const attention = withFallback('attention', ops.attention, attentionCore);
export const conv2d = withFallback('conv2d', ops.conv2d, conv2dCore);
export const gather = withFallback('gather', ops.gather, gatherCore);
export const reduce = withFallback('reduce', ops.reduce, reduceCore);
export const { argmax, binary, cast, concat, expand, gelu, slice, softmax, topk, transpose, unary, where } =
  ops;
