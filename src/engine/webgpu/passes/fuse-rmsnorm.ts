// RMSNorm as torch exports it (LLaMA-style decoders): x · 1/sqrt(mean(x²) + eps) · γ, written as
// Pow(x, 2) | Mul(x, x) → ReduceMean(last axis) → Add(eps) → Sqrt → Reciprocal | Div(1, ·) → Mul(x, ·) → Mul(γ),
// or with Div(x, sqrt) in place of the last two. One LayerNorm node with rms=1 (one dispatch, no mean pass).
// The L2 normalization of Gated DeltaNet's queries and keys (transformers' l2norm: x · 1/sqrt(sum(x²) + eps)) is
// the same chain with ReduceSum: over n values it is the RMS norm with eps / n and γ / sqrt(n).
// Float-to-float Casts (the export's upcasts of f32 values) are dropped first, as they copy for nothing.
import { attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { type GraphView, near, replaceNodes, rewriteEach } from './pattern';

const CAST_TO_FLOAT = 1;

/** Casts whose input already has the target type: readers take the input instead. */
export function dropNoOpCasts(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  const alias = new Map<string, string>();
  const outputs = new Set(graph.outputs.map((o) => o.name));
  graph.nodes = graph.nodes.filter((n) => {
    const noop =
      n.opType === 'Cast' &&
      (n.domain === '' || n.domain === 'ai.onnx') &&
      attrInt(n, 'to', 0) === CAST_TO_FLOAT &&
      shapes.get(n.inputs[0])?.dtype === 'float32' &&
      !outputs.has(n.outputs[0]);
    if (noop) alias.set(n.outputs[0], alias.get(n.inputs[0]) ?? n.inputs[0]);
    return !noop;
  });
  for (const n of graph.nodes) n.inputs = n.inputs.map((i) => alias.get(i) ?? i);
  return alias.size;
}

function isLastAxisMean(v: GraphView, node: Node, shapes: ReadonlyMap<string, TypedShape>): boolean {
  const rank = shapes.get(node.inputs[0])?.dims.length;
  if (rank === undefined || attrInt(node, 'keepdims', 1) !== 1) return false;
  const t = node.inputs[1] ? v.graph.initializers.get(node.inputs[1]) : undefined;
  const axes = t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : node.attrs.axes?.value;
  return Array.isArray(axes) && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1);
}

interface RmsMatch {
  x: string;
  nodes: Node[];
  /** The normalized value (before any γ). */
  normalized: string;
  eps: number;
  /** A sum of squares (an L2 norm) rather than their mean. */
  sum: boolean;
}

/** From the Sqrt of mean(x²) + eps to the normalized output. */
function matchRms(v: GraphView, sqrt: Node, shapes: ReadonlyMap<string, TypedShape>): RmsMatch | undefined {
  const addEps = v.producedBy(sqrt.inputs[0], 'Add');
  if (!addEps) return undefined;
  const meanName = addEps.inputs.find((i) => !v.isConstant(i)) ?? '';
  const eps = v.scalar(v.other(addEps, meanName) ?? '');
  const reduced = v.producedBy(meanName, 'ReduceMean');
  const summed = reduced ? undefined : v.producedBy(meanName, 'ReduceSum');
  const mean = reduced ?? summed;
  if (eps === undefined || !mean || !isLastAxisMean(v, mean, shapes)) return undefined;
  const sum = summed !== undefined;
  const pow = v.producedBy(mean.inputs[0], 'Pow');
  const square = v.producedBy(mean.inputs[0], 'Mul');
  let x: string | undefined;
  if (pow && near(v.scalar(pow.inputs[1]), 2)) x = pow.inputs[0];
  else if (square && square.inputs[0] === square.inputs[1]) x = square.inputs[0];
  const squared = pow ?? square;
  if (!x || !squared) return undefined;
  const head = [squared, mean, addEps, sqrt];
  // x / sqrt(…)
  const div = v.onlyConsumer(sqrt.outputs[0], 'Div');
  if (div && div.inputs[0] === x && div.inputs[1] === sqrt.outputs[0])
    return { x, nodes: [...head, div], normalized: div.outputs[0], eps, sum };
  // x · (1 / sqrt(…)) with Reciprocal or Div(1, ·)
  const inv =
    v.onlyConsumer(sqrt.outputs[0], 'Reciprocal') ??
    (div && near(v.scalar(div.inputs[0]), 1) ? div : undefined);
  const mul = inv && v.onlyConsumer(inv.outputs[0], 'Mul');
  if (!inv || !mul || v.other(mul, inv.outputs[0]) !== x) return undefined;
  return { x, nodes: [...head, inv, mul], normalized: mul.outputs[0], eps, sum };
}

/** Returns the number of RMSNorms fused. Needs inferred shapes. */
export function fuseRmsNorm(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (node, view) => {
    if (node.opType !== 'Sqrt' || (node.domain !== '' && node.domain !== 'ai.onnx')) return false;
    const v = view();
    const m = matchRms(v, node, shapes);
    if (!m) return false;
    const channels = shapes.get(m.x)?.dims.at(-1);
    // Fold a following Mul by a constant [C] vector in as γ; otherwise γ is a vector of ones.
    const scale = v.onlyConsumer(m.normalized, 'Mul');
    const gammaName = scale && v.other(scale, m.normalized);
    const gamma = gammaName ? graph.initializers.get(gammaName) : undefined;
    const withGamma = !!gamma && gamma.data.length === channels && gamma.dtype === 'float32';
    if (!m.nodes.slice(0, -1).every((n) => v.usedOnlyBy(n.outputs[0], m.nodes))) return false;
    if (channels === undefined && (m.sum || !withGamma)) return false;
    // An L2 norm is the RMS norm with γ / sqrt(n) (a γ of its own, as the model's may be shared).
    const own = !withGamma || m.sum;
    const gammaInput = own ? `${node.name}_rms_gamma` : (gammaName as string);
    if (own) {
      const n = channels as number;
      const factor = m.sum ? 1 / Math.sqrt(n) : 1;
      const data = withGamma
        ? Float32Array.from(gamma.data as Float32Array, (g) => g * factor)
        : new Float32Array(n).fill(factor);
      graph.initializers.set(gammaInput, { location: 'cpu', dtype: 'float32', dims: [n], data });
    }
    const out = withGamma ? (scale as Node).outputs[0] : m.normalized;
    const nodes = withGamma ? [...m.nodes, scale as Node] : m.nodes;
    replaceNodes(graph, nodes, {
      name: `${node.name}_rmsnorm`,
      opType: 'LayerNorm',
      domain: WEBVL_DOMAIN,
      attrs: {
        epsilon: { type: 'float', value: m.sum ? m.eps / (channels as number) : m.eps },
        rms: { type: 'int', value: 1 },
      },
      inputs: [m.x, gammaInput, ''],
      outputs: [out],
    });
    return true;
  });
}
