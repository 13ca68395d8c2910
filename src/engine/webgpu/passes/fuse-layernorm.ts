// LayerNorm fusion over the last axis: the opset-17 LayerNormalization op, and the decomposed form older
// exporters write: ReduceMean → Sub → Pow(2)|Mul(self) → ReduceMean → Add(eps) → Sqrt → Div → Mul(γ) → Add(β).
import { attrFloat, attrInt, attrInts, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { type GraphView, near, replaceNodes, rewriteEach } from './pattern';

/** `stats`: LayerNormalization's Mean and InvStdDev outputs (outputs 1 and 2, with attribute stats=1). */
function layerNorm(name: string, inputs: string[], out: string, epsilon: number, stats?: string[]): Node {
  return {
    name,
    opType: 'LayerNorm',
    domain: WEBVL_DOMAIN,
    attrs: stats
      ? { epsilon: { type: 'float', value: epsilon }, stats: { type: 'int', value: 1 } }
      : { epsilon: { type: 'float', value: epsilon } },
    inputs,
    outputs: stats ? [out, ...stats] : [out],
  };
}

/** A ReduceMean over exactly the last axis of a value of known rank. */
function isLastAxisMean(
  v: GraphView,
  node: Node | undefined,
  shapes: ReadonlyMap<string, TypedShape>,
): boolean {
  if (!node || attrInt(node, 'keepdims', 1) !== 1) return false;
  const rank = shapes.get(node.inputs[0])?.dims.length;
  if (rank === undefined) return false;
  let axes = attrInts(node, 'axes');
  if (!axes && node.inputs[1]) {
    const t = v.graph.initializers.get(node.inputs[1]);
    axes = t ? Array.from(t.data as BigInt64Array, Number) : undefined;
  }
  return axes !== undefined && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1);
}

function isVector(v: GraphView, value: string, c: number): boolean {
  const t = v.graph.initializers.get(value);
  return !!t && t.data.length === c && t.dims[t.dims.length - 1] === c;
}

function matchDecomposed(
  v: GraphView,
  div: Node,
  shapes: ReadonlyMap<string, TypedShape>,
): { nodes: Node[]; x: string; gamma: string; beta: string; eps: number; out: string } | undefined {
  const [xc, std] = div.inputs;
  const sub = v.producedBy(xc, 'Sub');
  const sqrt = v.producedBy(std, 'Sqrt');
  if (!sub || !sqrt) return undefined;
  const x = sub.inputs[0];
  const mean1 = v.producedBy(sub.inputs[1], 'ReduceMean');
  if (!mean1 || mean1.inputs[0] !== x || !isLastAxisMean(v, mean1, shapes)) return undefined;
  const addEps = v.producedBy(sqrt.inputs[0], 'Add');
  if (!addEps) return undefined;
  const varName = addEps.inputs.find((i) => !v.isConstant(i)) ?? '';
  const eps = v.scalar(v.other(addEps, varName) ?? '');
  const mean2 = v.producedBy(varName, 'ReduceMean');
  if (eps === undefined || !mean2 || !isLastAxisMean(v, mean2, shapes)) return undefined;
  const sq = v.producedBy(mean2.inputs[0], 'Pow') ?? v.producedBy(mean2.inputs[0], 'Mul');
  if (!sq) return undefined;
  const squares =
    sq.opType === 'Pow'
      ? sq.inputs[0] === xc && near(v.scalar(sq.inputs[1]), 2)
      : sq.inputs[0] === xc && sq.inputs[1] === xc;
  if (!squares) return undefined;
  const c = shapes.get(x)?.dims.at(-1) ?? -1;
  const mul = v.onlyConsumer(div.outputs[0], 'Mul');
  const gamma = mul && v.other(mul, div.outputs[0]);
  const add = mul && v.onlyConsumer(mul.outputs[0], 'Add');
  const beta = add && v.other(add, mul?.outputs[0] ?? '');
  if (!mul || !gamma || !add || !beta || !isVector(v, gamma, c) || !isVector(v, beta, c)) return undefined;
  const nodes = [mean1, sub, sq, mean2, addEps, sqrt, div, mul, add];
  for (const n of nodes.slice(0, -1)) if (!v.usedOnlyBy(n.outputs[0], nodes)) return undefined;
  return { nodes, x, gamma, beta, eps, out: add.outputs[0] };
}

/** Returns the number of layer norms fused. `shapes` must hold the (inferred) shapes of the graph's values. */
export function fuseLayerNorm(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (node, view) => {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
    if (node.opType === 'LayerNormalization') {
      const rank = shapes.get(node.inputs[0])?.dims.length ?? 0;
      const axis = attrInt(node, 'axis', -1);
      // Only the normalized-over-last-axis form with Mean and InvStdDev both or neither; the plain lowering
      // (plan/lowering.ts) takes the others, one statistic written into scratch.
      if (axis !== -1 && axis !== rank - 1) return false;
      if (!!node.outputs[1] !== !!node.outputs[2]) return false;
      const stats = node.outputs[1] && node.outputs[2] ? [node.outputs[1], node.outputs[2]] : undefined;
      const inputs = [node.inputs[0], node.inputs[1], node.inputs[2] ?? ''];
      replaceNodes(
        graph,
        [node],
        layerNorm(node.name, inputs, node.outputs[0], attrFloat(node, 'epsilon', 1e-5), stats),
      );
      return true;
    }
    if (node.opType !== 'Div') return false;
    const m = matchDecomposed(view(), node, shapes);
    if (!m) return false;
    replaceNodes(graph, m.nodes, layerNorm(`${node.name}_layernorm`, [m.x, m.gamma, m.beta], m.out, m.eps));
    return true;
  });
}
