// The kernels the lowering calls: the kernel library (./ops), or the engine's own barrier-free `*-core`
// versions on software adapters, for the kernels where the core version measured faster there (SwiftShader,
// one dispatch each: matmul 2.4–3.7×, layer norm ~18×, last-axis ReduceSum ~12×; the library's flash attention,
// conv2d and gather were as fast or faster, so they have no core version). A library kernel that still throws
// "not implemented yet" also falls back to the core version where there is one.
import { isWebvlError } from '../../errors';
import type { KernelContext } from './kernel-context';
import * as ops from './ops';
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

function withCore<A extends unknown[]>(
  name: string,
  library: (ctx: KernelContext, ...args: A) => void,
  core: (ctx: KernelContext, ...args: A) => void,
  /** Whether the core version handles these arguments (e.g. dtype) and should run on software adapters. */
  coreOnSoftware: (...args: A) => boolean,
): (ctx: KernelContext, ...args: A) => void {
  return (ctx, ...args) => {
    if (ctx.features.softwareAdapter && coreOnSoftware(...args)) {
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

const always = () => true;

export const matmul = withCore('matmul', ops.matmul, matmulCore, always);
export const linear = withCore('linear', ops.linear, matmulCore, always);
export const layerNorm = withCore('layerNorm', ops.layerNorm, layerNormCore, always);
export const reduce = withCore('reduce', ops.reduce, reduceCore, (x) => x.dtype === 'float32');
export {
  argmax,
  attention,
  binary,
  cast,
  concat,
  conv2d,
  copyStrided,
  expand,
  gather,
  gelu,
  slice,
  softmax,
  topk,
  transpose,
  unary,
  where,
} from './ops';
