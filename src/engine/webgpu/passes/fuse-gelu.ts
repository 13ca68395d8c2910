// GELU fusion: the Erf form 0.5·x·(1+erf(x/√2)), the Tanh form 0.5·x·(1+tanh(√(2/π)(x+0.044715x³))),
// QuickGELU x·sigmoid(1.702x) and the opset-20 Gelu op → one webvl Gelu node (one dispatch, or an
// epilogue of the Linear in front of it).
import { attrString, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import { type GraphView, near, replaceNodes, rewriteEach } from './pattern';

type Approximate = 'none' | 'tanh' | 'quick';

function gelu(name: string, x: string, y: string, approximate: Approximate): Node {
  return {
    name,
    opType: 'Gelu',
    domain: WEBVL_DOMAIN,
    attrs: { approximate: { type: 'string', value: approximate } },
    inputs: [x],
    outputs: [y],
  };
}

/**
 * Matches the shared tail `0.5 · x · (1 + f)` starting at `f`'s output. Returns the nodes and final output.
 * Accepted orders: ((1+f)·x)·0.5, (x·(1+f))·0.5, (0.5·x)·(1+f), ((1+f)·0.5)·x.
 */
function matchTail(v: GraphView, x: string, f: string): { nodes: Node[]; out: string } | undefined {
  const add = v.onlyConsumer(f, 'Add');
  if (!add || !near(v.scalar(v.other(add, f) ?? ''), 1)) return undefined;
  const a = add.outputs[0];
  const m1 = v.onlyConsumer(a, 'Mul');
  if (!m1) return undefined;
  const o = v.other(m1, a);
  if (o === undefined) return undefined;
  if (o === x) {
    const m2 = v.onlyConsumer(m1.outputs[0], 'Mul');
    if (!m2 || !near(v.scalar(v.other(m2, m1.outputs[0]) ?? ''), 0.5)) return undefined;
    return { nodes: [add, m1, m2], out: m2.outputs[0] };
  }
  if (near(v.scalar(o), 0.5)) {
    const m2 = v.onlyConsumer(m1.outputs[0], 'Mul');
    if (!m2 || v.other(m2, m1.outputs[0]) !== x) return undefined;
    return { nodes: [add, m1, m2], out: m2.outputs[0] };
  }
  const half = v.producedBy(o, 'Mul');
  if (half && v.other(half, x) !== undefined && near(v.scalar(v.other(half, x) ?? ''), 0.5)) {
    if (!v.usedOnlyBy(o, [m1])) return undefined;
    return { nodes: [half, add, m1], out: m1.outputs[0] };
  }
  return undefined;
}

function matchErf(v: GraphView, erf: Node): { x: string; nodes: Node[]; out: string } | undefined {
  const div = v.producedBy(erf.inputs[0], 'Div');
  const mul = v.producedBy(erf.inputs[0], 'Mul');
  let x: string | undefined;
  let pre: Node | undefined;
  if (div && near(v.scalar(div.inputs[1]), Math.SQRT2)) [x, pre] = [div.inputs[0], div];
  else if (mul) {
    for (const i of mul.inputs) {
      if (near(v.scalar(i), Math.SQRT1_2)) [x, pre] = [v.other(mul, i), mul];
    }
  }
  if (!x || !pre || !v.usedOnlyBy(pre.outputs[0], [erf])) return undefined;
  const tail = matchTail(v, x, erf.outputs[0]);
  return tail && { x, nodes: [pre, erf, ...tail.nodes], out: tail.out };
}

/** x + 0.044715·x³ with x³ as Pow(x, 3) or x·x·x; returns x and the nodes. */
function matchCubicInner(v: GraphView, value: string): { x: string; nodes: Node[] } | undefined {
  const add = v.producedBy(value, 'Add');
  if (!add) return undefined;
  for (const x of add.inputs) {
    const cubicTerm = v.producedBy(v.other(add, x) ?? '', 'Mul');
    if (!cubicTerm) continue;
    for (const c of cubicTerm.inputs) {
      if (!near(v.scalar(c), 0.044715)) continue;
      const cube = v.other(cubicTerm, c) ?? '';
      const pow = v.producedBy(cube, 'Pow');
      if (pow && pow.inputs[0] === x && near(v.scalar(pow.inputs[1]), 3)) {
        return { x, nodes: [pow, cubicTerm, add] };
      }
      const m = v.producedBy(cube, 'Mul');
      const sq = m && v.producedBy(v.other(m, x) ?? '', 'Mul');
      if (m && sq && sq.inputs[0] === x && sq.inputs[1] === x) return { x, nodes: [sq, m, cubicTerm, add] };
    }
  }
  return undefined;
}

function matchTanh(v: GraphView, tanh: Node): { x: string; nodes: Node[]; out: string } | undefined {
  const scale = v.producedBy(tanh.inputs[0], 'Mul');
  if (!scale) return undefined;
  for (const c of scale.inputs) {
    if (!near(v.scalar(c), Math.sqrt(2 / Math.PI))) continue;
    const inner = matchCubicInner(v, v.other(scale, c) ?? '');
    if (!inner) continue;
    const tail = matchTail(v, inner.x, tanh.outputs[0]);
    if (!tail) continue;
    const nodes = [...inner.nodes, scale, tanh, ...tail.nodes];
    // Intermediates (everything but x and the output) must not be read outside the pattern.
    if (!nodes.every((n) => n.outputs[0] === tail.out || v.usedOnlyBy(n.outputs[0], nodes))) continue;
    return { x: inner.x, nodes, out: tail.out };
  }
  return undefined;
}

function matchQuick(v: GraphView, sigmoid: Node): { x: string; nodes: Node[]; out: string } | undefined {
  const scale = v.producedBy(sigmoid.inputs[0], 'Mul');
  if (!scale || !v.usedOnlyBy(scale.outputs[0], [sigmoid])) return undefined;
  for (const c of scale.inputs) {
    if (!near(v.scalar(c), 1.702)) continue;
    const x = v.other(scale, c) ?? '';
    const mul = v.onlyConsumer(sigmoid.outputs[0], 'Mul');
    if (mul && v.other(mul, sigmoid.outputs[0]) === x)
      return { x, nodes: [scale, sigmoid, mul], out: mul.outputs[0] };
  }
  return undefined;
}

/** Returns the number of GELUs fused. */
export function fuseGelu(graph: Graph): number {
  return rewriteEach(graph, (node, view) => {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
    if (node.opType === 'Gelu') {
      const approximate = attrString(node, 'approximate', 'none') === 'tanh' ? 'tanh' : 'none';
      replaceNodes(graph, [node], gelu(node.name, node.inputs[0], node.outputs[0], approximate));
      return true;
    }
    const matcher = { Erf: matchErf, Tanh: matchTanh, Sigmoid: matchQuick }[node.opType];
    const match = matcher?.(view(), node);
    if (!match) return false;
    const approximate: Approximate =
      node.opType === 'Erf' ? 'none' : node.opType === 'Tanh' ? 'tanh' : 'quick';
    replaceNodes(graph, match.nodes, gelu(`${node.name}_gelu`, match.x, match.out, approximate));
    return true;
  });
}
