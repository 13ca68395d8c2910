// The pass pipeline for one input-shape signature: shapes + folding, then fusions, then dead code.
import type { HostTensor } from '../../tensor';
import { cloneGraph, type Graph, type Node } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { canonicalizeContrib } from './canonicalize-contrib';
import { castLikeTargets } from './cast-like';
import { eliminateDeadCode } from './dead-code';
import { fuseAttention } from './fuse-attention';
import { fuseGelu } from './fuse-gelu';
import { fuseLayerNorm } from './fuse-layernorm';
import { fuseLinear } from './fuse-linear';
import { fuseResidualLayerNorm } from './fuse-residual-layernorm';
import { dropNoOpCasts, fuseRmsNorm } from './fuse-rmsnorm';
import { fuseRotary } from './fuse-rotary';
import { fuseTransposeConcat, fuseTransposeSplit } from './fuse-transpose-concat';
import { inferShapes } from './infer-shapes';
import { inlineIfs } from './inline-if';
import { keepHalfWeights } from './keep-half-weights';
import { lowerGroupQueryAttention } from './lower-gqa';
import { lowerMultiHeadAttention } from './lower-mha';
import { lowerMsAttention } from './lower-ms-attention';
import { lowerOnnxAttention } from './lower-onnx-attention';
import { mergeProjections } from './merge-projections';
import { bindInputValues } from './run-time-values';

export interface PassCounts {
  attention: number;
  layerNorm: number;
  /** Residual adds computed inside a LayerNorm. */
  residualLayerNorm: number;
  gelu: number;
  /** Products with a bias, activation or gate (SwiGLU) in their epilogue, and Gemms, as webvl Linear. */
  linear: number;
  /** Rotary position embeddings (rotate-half form) as one webvl Rotary dispatch. */
  rotary: number;
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

export interface SpecializeOptions {
  /**
   * Leave a Gather or Slice of a model constant by a computed index unfolded (a position embedding looked up
   * at a position derived from a shape), so the index stays a constant of its own: passes/past-capacity.ts.
   */
  readonly keepLookups?: boolean;
}

/**
 * An output of a standard op left out ('') before one the node does produce (LSTM's Y when only Y_h is wanted,
 * TopK's values when only its indices are) gets a name of its own, so the plan gives it storage like any value
 * nobody reads; the kernels write every output they have. Contrib ops keep theirs: their rewrites read what
 * is left out (SkipLayerNormalization's statistics).
 */
function nameSkippedOutputs(graph: Graph): void {
  graph.nodes.forEach((node, n) => {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return;
    const last = node.outputs.findLastIndex((o) => o !== '');
    node.outputs = node.outputs.map((o, i) => (o === '' && i < last ? `webvl:skipped_${n}_${i}` : o));
  });
}

/**
 * Runs every pass on a copy of `source` for concrete input dims, and for the values of the inputs in
 * `inputValues` (shape-steering inputs read at run time: they become constants of this plan only) and of the
 * If conditions in `conditions` (computed from run-time data by a probe plan; see session.ts).
 */
export function specialize(
  source: Graph,
  inputDims: Readonly<Record<string, readonly number[]>>,
  inputValues: ReadonlyMap<string, HostTensor> = new Map(),
  conditions: ReadonlyMap<string, HostTensor> = new Map(),
  options: SpecializeOptions = {},
): Specialized {
  const graph = cloneGraph(source);
  nameSkippedOutputs(graph);
  bindInputValues(graph, inputValues);
  inlineIfs(graph, conditions);
  const contrib = canonicalizeContrib(graph);
  const halfWeights = keepHalfWeights(graph);
  // By tensor: a Cast of a float16 weight that keep-half-weights dropped names the model's tensor itself.
  const sourceInitializers = new Set(source.initializers.values());
  const isModelConstant = (name: string) => {
    const t = graph.initializers.get(name);
    return t !== undefined && sourceInitializers.has(t);
  };
  const lookup = (node: Node) =>
    (node.opType === 'Gather' || node.opType === 'Slice') &&
    node.domain === '' &&
    isModelConstant(node.inputs[0]) &&
    node.inputs.slice(1).some((i) => i && !isModelConstant(i));
  const shapes = inferShapes(graph, inputDims, options.keepLookups ? lookup : undefined);
  castLikeTargets(graph, shapes);
  dropNoOpCasts(graph, shapes);
  // Contrib attention, and opset 23's, whose lowering depends on shapes (and on total_sequence_length's value).
  const contribAttention =
    lowerGroupQueryAttention(graph, shapes) +
    lowerMultiHeadAttention(graph, shapes) +
    lowerMsAttention(graph, shapes) +
    lowerOnnxAttention(graph, shapes);
  let deadNodes = eliminateDeadCode(graph);
  const gelu = fuseGelu(graph);
  const layerNorm = fuseLayerNorm(graph, shapes) + fuseRmsNorm(graph, shapes);
  const rotary = fuseRotary(graph, shapes);
  const linear = fuseLinear(graph, shapes);
  const attention = fuseAttention(graph, shapes);
  const residualLayerNorm = fuseResidualLayerNorm(graph, shapes);
  // Transposes that Concats and Splits read in place.
  const transposeConcat = fuseTransposeConcat(graph, shapes) + fuseTransposeSplit(graph, shapes);
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
      rotary,
      mergedProjections,
      transposeConcat,
      deadNodes,
      halfWeights,
      contrib: contrib + contribAttention,
    },
    sourceInitializers,
  };
}
