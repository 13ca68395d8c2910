// The pass pipeline for one input-shape signature: shapes + folding, then fusions, then dead code.
import type { HostTensor } from '../tensor';
import { cloneGraph, type Graph } from './ir';
import type { TypedShape } from './op-shapes';
import { canonicalizeContrib } from './passes/canonicalize-contrib';
import { eliminateDeadCode } from './passes/dead-code';
import { fuseAttention } from './passes/fuse-attention';
import { fuseGelu } from './passes/fuse-gelu';
import { fuseLayerNorm } from './passes/fuse-layernorm';
import { fuseLinear } from './passes/fuse-linear';
import { fuseResidualLayerNorm } from './passes/fuse-residual-layernorm';
import { dropNoOpCasts, fuseRmsNorm } from './passes/fuse-rmsnorm';
import { fuseTransposeConcat } from './passes/fuse-transpose-concat';
import { inferShapes } from './passes/infer-shapes';
import { inlineIfs } from './passes/inline-if';
import { keepHalfWeights } from './passes/keep-half-weights';
import { mergeProjections } from './passes/merge-projections';
import { bindInputValues } from './run-time-values';

export interface PassCounts {
  attention: number;
  layerNorm: number;
  /** Residual adds computed inside a LayerNorm. */
  residualLayerNorm: number;
  gelu: number;
  linear: number;
  /** Linear nodes saved by merging Q/K/V projections that share their input. */
  mergedProjections: number;
  /** Transposes copied straight into a Concat's output (KV-cache appends). */
  transposeConcat: number;
  deadNodes: number;
  /** float16 weights kept in half precision for the matmul kernels (their widening Casts dropped). */
  halfWeights: number;
  /** onnxruntime contrib ops rewritten into standard and fused ops. */
  contrib: number;
}

export interface Specialized {
  readonly graph: Graph;
  readonly shapes: Map<string, TypedShape>;
  readonly counts: PassCounts;
  /** The model's own initializers (uploaded once per session), as opposed to ones folded for this plan. */
  readonly sourceInitializers: ReadonlySet<HostTensor>;
}

/**
 * Runs every pass on a copy of `source` for concrete input dims, and for the values of the inputs in
 * `inputValues` (shape-steering inputs read at run time: they become constants of this plan only).
 */
export function specialize(
  source: Graph,
  inputDims: Readonly<Record<string, readonly number[]>>,
  inputValues: ReadonlyMap<string, HostTensor> = new Map(),
): Specialized {
  const graph = cloneGraph(source);
  bindInputValues(graph, inputValues);
  inlineIfs(graph);
  const contrib = canonicalizeContrib(graph);
  const halfWeights = keepHalfWeights(graph);
  const shapes = inferShapes(graph, inputDims);
  dropNoOpCasts(graph, shapes);
  let deadNodes = eliminateDeadCode(graph);
  const gelu = fuseGelu(graph);
  const layerNorm = fuseLayerNorm(graph, shapes) + fuseRmsNorm(graph, shapes);
  const linear = fuseLinear(graph, shapes);
  const attention = fuseAttention(graph, shapes);
  const residualLayerNorm = fuseResidualLayerNorm(graph, shapes);
  const transposeConcat = fuseTransposeConcat(graph, shapes);
  // The head-split chains the attention pass bypassed are still there; drop them so the projections'
  // only readers are the attention nodes.
  deadNodes += eliminateDeadCode(graph);
  const mergedProjections = mergeProjections(graph, shapes);
  deadNodes += eliminateDeadCode(graph);
  return {
    graph,
    shapes,
    counts: {
      attention,
      layerNorm,
      residualLayerNorm,
      gelu,
      linear,
      mergedProjections,
      transposeConcat,
      deadNodes,
      halfWeights,
      contrib,
    },
    sourceInitializers: new Set(source.initializers.values()),
  };
}
