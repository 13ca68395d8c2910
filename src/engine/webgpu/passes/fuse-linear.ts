// Linear fusion: MatMul(x, W) + Add(bias) [+ Gelu/Relu/SiLU] and Gemm → one webvl Linear node, which the
// matmul kernel runs with the bias and activation in its epilogue (one dispatch instead of two or three).
// A product with no bias and no activation may instead take a Mul by a tensor of its output's dims (SwiGLU's
// up(x) · silu(gate(x))): the gate is multiplied in the epilogue (input 2, attribute gate = 1). Quantized
// products (webvl QMatMul, from pack-quantized) take the same bias, activation and gate.
import { attrFloat, attrInt, attrString, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import type { Activation } from '../ops/types';
import { type GraphView, replaceNodes, rewriteEach } from './pattern';

function linear(name: string, inputs: string[], out: string, transB: number): Node {
  return {
    name,
    opType: 'Linear',
    domain: WEBVL_DOMAIN,
    attrs: { transB: { type: 'int', value: transB }, activation: { type: 'string', value: 'none' } },
    inputs,
    outputs: [out],
  };
}

/** The bias value when `value` is a constant vector of length n (also [1, n], [1, 1, n]). */
function biasVector(v: GraphView, value: string, n: number): boolean {
  const t = v.graph.initializers.get(value);
  return !!t && t.data.length === n && t.dims.at(-1) === n && t.dtype === 'float32';
}

const GELU_ACTIVATION: Record<string, Activation> = {
  none: 'gelu-erf',
  tanh: 'gelu-tanh',
  quick: 'quick-gelu',
};

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/** x · Sigmoid(x), x read by nothing else: the SiLU torch exports for nn.SiLU / F.silu. */
function silu(v: GraphView, x: string): { sigmoid: Node; mul: Node } | undefined {
  const readers = v.consumers.get(x) ?? [];
  if (readers.length !== 2 || v.outputs.has(x)) return undefined;
  const sigmoid = readers.find((n) => n.opType === 'Sigmoid' && isDefault(n));
  const mul = readers.find((n) => n.opType === 'Mul' && isDefault(n));
  if (!sigmoid || !mul || v.other(mul, x) !== sigmoid.outputs[0]) return undefined;
  return v.onlyConsumer(sigmoid.outputs[0]) === mul ? { sigmoid, mul } : undefined;
}

/** The activation node(s) after `value` the epilogue can absorb, and what it becomes. */
function activationAfter(
  v: GraphView,
  value: string,
): { activation: Activation; nodes: Node[]; out: string } | undefined {
  const next = v.onlyConsumer(value);
  if (next?.domain === WEBVL_DOMAIN && next.opType === 'Gelu')
    return {
      activation: GELU_ACTIVATION[attrString(next, 'approximate', 'none')],
      nodes: [next],
      out: next.outputs[0],
    };
  if (next && next.opType === 'Relu' && isDefault(next))
    return { activation: 'relu', nodes: [next], out: next.outputs[0] };
  const s = silu(v, value);
  return s && { activation: 'silu', nodes: [s.sigmoid, s.mul], out: s.mul.outputs[0] };
}

/** The fused node a product starts as, with its weight's output width; undefined if it cannot be fused. */
function start(node: Node, v: GraphView, shapes: ReadonlyMap<string, TypedShape>) {
  if (node.domain === WEBVL_DOMAIN && node.opType === 'QMatMul') {
    if (node.inputs[2] || attrString(node, 'activation', 'none') !== 'none') return undefined;
    return {
      fused: { ...node, attrs: { ...node.attrs }, inputs: [...node.inputs] },
      n: attrInt(node, 'N', 0),
    };
  }
  if (!isDefault(node)) return undefined;
  if (node.opType === 'MatMul') {
    const w = shapes.get(node.inputs[1])?.dims;
    const x = shapes.get(node.inputs[0])?.dims;
    if (!w || !x || w.length !== 2 || x.length < 2 || shapes.get(node.inputs[0])?.dtype !== 'float32')
      return undefined;
    return {
      fused: linear(`${node.name}_linear`, [node.inputs[0], node.inputs[1]], node.outputs[0], 0),
      n: w[1],
    };
  }
  if (node.opType !== 'Gemm') return undefined;
  if (
    attrInt(node, 'transA', 0) !== 0 ||
    attrFloat(node, 'alpha', 1) !== 1 ||
    attrFloat(node, 'beta', 1) !== 1
  )
    return undefined;
  const transB = attrInt(node, 'transB', 0);
  const w = shapes.get(node.inputs[1])?.dims ?? [];
  const n = transB ? w[0] : w[1];
  const bias = node.inputs[2] ?? '';
  if (bias && !biasVector(v, bias, n)) return undefined;
  return {
    fused: linear(`${node.name}_linear`, [node.inputs[0], node.inputs[1], bias], node.outputs[0], transB),
    n,
  };
}

/** Returns the number of products rewritten. */
export function fuseLinear(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (node, view) => {
    if (!isDefault(node) && !(node.domain === WEBVL_DOMAIN && node.opType === 'QMatMul')) return false;
    const v = view();
    const s = start(node, v, shapes);
    if (!s) return false;
    const { fused } = s;
    const removed = [node];
    const add = node.opType !== 'Gemm' ? v.onlyConsumer(node.outputs[0], 'Add') : undefined;
    const bias = add && v.other(add, node.outputs[0]);
    if (add && bias && biasVector(v, bias, s.n)) {
      fused.inputs[2] = bias;
      fused.outputs = [...add.outputs];
      removed.push(add);
    }
    const act = activationAfter(v, fused.outputs[0]);
    if (act) {
      fused.attrs.activation = { type: 'string', value: act.activation };
      fused.outputs = [act.out];
      removed.push(...act.nodes);
    } else if (!fused.inputs[2] && !gate(v, fused, removed, shapes)) {
      // A bare product: nothing to fuse (Gemm still becomes a Linear).
      if (node.opType !== 'Gemm') return false;
    }
    // At the last removed node's place: a gate is computed by then.
    replaceNodes(graph, removed, fused);
    return true;
  });
}

/** Takes a Mul of the product's output by a same-shaped float tensor into the epilogue, if there is one. */
function gate(v: GraphView, fused: Node, removed: Node[], shapes: ReadonlyMap<string, TypedShape>): boolean {
  const y = fused.outputs[0];
  const mul = v.onlyConsumer(y, 'Mul');
  const g = mul && v.other(mul, y);
  const dims = shapes.get(y)?.dims.join();
  if (!mul || !g || v.isConstant(g) || shapes.get(g)?.dtype !== 'float32') return false;
  if (shapes.get(g)?.dims.join() !== dims || shapes.get(mul.outputs[0])?.dims.join() !== dims) return false;
  fused.inputs[2] = g;
  fused.attrs.gate = { type: 'int', value: 1 };
  fused.outputs = [...mul.outputs];
  removed.push(mul);
  return true;
}
