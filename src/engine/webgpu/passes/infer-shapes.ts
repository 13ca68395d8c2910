// Shape inference for concrete input shapes, interleaved with constant folding: once `Shape` of a value is
// known it folds, which makes the Reshape/Expand/Slice parameters downstream constant in turn.
import { WebvlError } from '../../../errors';
import { sizeOf } from '../../tensor';
import { toValues } from '../ir/const-eval';
import { type Graph, type Node, topologicalOrder } from '../ir/ir';
import { inferNodeShapes, type TypedShape } from '../ir/op-shapes';
import { tryFold } from './fold-constants';

/**
 * Gives every value of `graph` a concrete dtype and dims for the given input dims, folding what becomes
 * constant (folded nodes are removed from `graph.nodes`), but for nodes `keep` says to keep. Symbolic dims
 * of inputs must be bound consistently.
 */
export function inferShapes(
  graph: Graph,
  inputDims: Readonly<Record<string, readonly number[]>>,
  keep?: (node: Node) => boolean,
): Map<string, TypedShape> {
  const shapes = new Map<string, TypedShape>();
  const bound = new Map<string, number>();
  for (const input of graph.inputs) {
    const dims = inputDims[input.name];
    if (!dims) throw new WebvlError('INVALID_INPUT', `missing input '${input.name}'`);
    if (input.shape) {
      if (input.shape.length !== dims.length) {
        throw new WebvlError(
          'INVALID_INPUT',
          `input '${input.name}' has rank ${dims.length}, the model expects ${input.shape.length}`,
        );
      }
      input.shape.forEach((d, i) => {
        const want = typeof d === 'number' ? d : bound.get(d);
        if (want !== undefined && want !== dims[i]) {
          throw new WebvlError(
            'INVALID_INPUT',
            `input '${input.name}' dim ${i} is ${dims[i]}, expected ${want}${typeof d === 'string' ? ` ('${d}')` : ''}`,
          );
        }
        if (typeof d === 'string') bound.set(d, dims[i]);
      });
    }
    shapes.set(input.name, { dtype: input.dtype, dims: [...dims] });
  }
  for (const [name, t] of graph.initializers) shapes.set(name, { dtype: t.dtype, dims: t.dims });

  const kept: Node[] = [];
  for (const node of topologicalOrder(graph)) {
    if (!keep?.(node) && tryFold(graph, node, shapes)) {
      for (const o of node.outputs) {
        const t = graph.initializers.get(o);
        if (t) shapes.set(o, { dtype: t.dtype, dims: t.dims });
      }
      continue;
    }
    const outs = inferNodeShapes({
      node,
      opset: graph.opset,
      inputs: node.inputs.map((i) => (i ? shapes.get(i) : undefined)),
      constant: (i) => {
        const t = node.inputs[i] ? graph.initializers.get(node.inputs[i]) : undefined;
        return t && toValues(t);
      },
    });
    node.outputs.forEach((o, i) => {
      if (o && outs[i]) shapes.set(o, outs[i]);
    });
    kept.push(node);
  }
  graph.nodes = kept;
  for (const o of graph.outputs) {
    // A graph output may be a constant the folding made (e.g. Dropout's mask).
    const init = graph.initializers.get(o.name);
    if (!shapes.has(o.name) && init) shapes.set(o.name, { dtype: init.dtype, dims: init.dims });
    const s = shapes.get(o.name);
    if (!s) throw new WebvlError('INVALID_MODEL', `graph output '${o.name}' is never produced`);
    if (sizeOf(s.dims) < 0) throw new WebvlError('INVALID_MODEL', `graph output '${o.name}' has bad dims`);
  }
  return shapes;
}
