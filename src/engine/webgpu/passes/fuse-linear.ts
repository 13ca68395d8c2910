// Linear fusion: MatMul(x, W) + Add(bias) [+ Gelu/Relu] and Gemm → one webvl Linear node, which the
// matmul kernel runs with the bias and activation in its epilogue (one dispatch instead of two or three).
import { attrFloat, attrInt, attrString, type Graph, type Node, WEBVL_DOMAIN } from '../ir';
import type { TypedShape } from '../op-shapes';
import { type GraphView, replaceNodes, rewriteEach } from './pattern';

export type LinearActivation = 'none' | 'relu' | 'gelu-erf' | 'gelu-tanh' | 'quick-gelu';

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

const GELU_ACTIVATION: Record<string, LinearActivation> = {
  none: 'gelu-erf',
  tanh: 'gelu-tanh',
  quick: 'quick-gelu',
};

/** Returns the number of Linear nodes created. */
export function fuseLinear(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (node, view) => {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') return false;
    const v = view();
    let created: Node | undefined;
    let removed: Node[] = [];
    if (node.opType === 'MatMul') {
      const w = shapes.get(node.inputs[1])?.dims;
      const x = shapes.get(node.inputs[0])?.dims;
      if (!w || !x || w.length !== 2 || x.length < 2 || shapes.get(node.inputs[0])?.dtype !== 'float32')
        return false;
      const add = v.onlyConsumer(node.outputs[0], 'Add');
      const bias = add && v.other(add, node.outputs[0]);
      if (!add || !bias || !biasVector(v, bias, w[1])) return false;
      created = linear(`${node.name}_linear`, [node.inputs[0], node.inputs[1], bias], add.outputs[0], 0);
      removed = [node, add];
    } else if (node.opType === 'Gemm') {
      if (
        attrInt(node, 'transA', 0) !== 0 ||
        attrFloat(node, 'alpha', 1) !== 1 ||
        attrFloat(node, 'beta', 1) !== 1
      )
        return false;
      const transB = attrInt(node, 'transB', 0);
      const w = shapes.get(node.inputs[1])?.dims ?? [];
      const n = transB ? w[0] : w[1];
      const bias = node.inputs[2] ?? '';
      if (bias && !biasVector(v, bias, n)) return false;
      created = linear(
        `${node.name}_linear`,
        [node.inputs[0], node.inputs[1], bias],
        node.outputs[0],
        transB,
      );
      removed = [node];
    }
    if (!created) return false;
    // Absorb a following activation into the epilogue.
    const next = v.onlyConsumer(created.outputs[0]);
    if (next?.domain === WEBVL_DOMAIN && next.opType === 'Gelu') {
      created.attrs.activation = {
        type: 'string',
        value: GELU_ACTIVATION[attrString(next, 'approximate', 'none')],
      };
      created.outputs = [...next.outputs];
      removed.push(next);
    } else if (next && next.opType === 'Relu' && next.domain === '') {
      created.attrs.activation = { type: 'string', value: 'relu' };
      created.outputs = [...next.outputs];
      removed.push(next);
    }
    replaceNodes(graph, removed, created);
    return true;
  });
}
