// Constant folding: a node whose inputs are all known at plan time is evaluated on the CPU and becomes an
// initializer (shape arithmetic: Shape → Gather → Concat → Reshape …, masks built from constants).
import { WebvlError } from '../../../errors';
import type { HostTensor } from '../../tensor';
import { evaluate, fromValues, ONNX_TO, size, toValues, type Values } from '../ir/const-eval';
import { attrInt, type Graph, type Node, topologicalOrder } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';

/** Larger results stay on the GPU: folding is for shape arithmetic and small masks, not weights. */
export const MAX_FOLDED_ELEMENTS = 1 << 20;

/**
 * The node's inputs as values when all are constants no larger than MAX_FOLDED_ELEMENTS. A larger input (a
 * weight, an embedding table) is not read on the host: evaluating a Cast of a 31M-element float16 table took
 * 2 s of every specialization, only for the result to be dropped as too large.
 */
function constantInputs(graph: Graph, node: Node): (Values | undefined)[] | undefined {
  const tensors: (HostTensor | undefined)[] = [];
  for (const name of node.inputs) {
    const t = name ? graph.initializers.get(name) : undefined;
    if (name && (!t || size(t.dims) > MAX_FOLDED_ELEMENTS)) return undefined;
    tensors.push(t);
  }
  return tensors.map((t) => t && toValues(t));
}

function shapeOf(node: Node, dims: readonly number[]): HostTensor {
  const rank = dims.length;
  const norm = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
  const part = dims.slice(norm(attrInt(node, 'start', 0)), norm(attrInt(node, 'end', rank)));
  return { location: 'cpu', dtype: 'int64', dims: [part.length], data: BigInt64Array.from(part, BigInt) };
}

/** Ops whose output depends on their input's shape alone, folded once shapes are known. */
export const SHAPE_ONLY_OPS: ReadonlySet<string> = new Set(['Shape', 'Size', 'EyeLike']);

/**
 * Folds one node if it can: `Shape` whenever its input's shape is known (from `shapes`), anything else when
 * all its inputs are constants and const-eval handles the op. The node's outputs become initializers; the
 * caller drops the node. Returns whether it folded.
 */
export function tryFold(graph: Graph, node: Node, shapes?: ReadonlyMap<string, TypedShape>): boolean {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
  if (node.opType === 'EyeLike') {
    // Ones on diagonal k of a 2-D tensor shaped like the input: a constant once that shape is known.
    const s = shapes?.get(node.inputs[0]) ?? graph.initializers.get(node.inputs[0]);
    const dtype = node.attrs.dtype ? ONNX_TO[attrInt(node, 'dtype', 1)] : s?.dtype;
    if (!s || !dtype || s.dims.length !== 2) return false;
    const [rows, cols] = s.dims;
    const k = attrInt(node, 'k', 0);
    const data = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) if (r + k >= 0 && r + k < cols) data[r * cols + r + k] = 1;
    graph.initializers.set(node.outputs[0], fromValues({ dtype, dims: s.dims, data }));
    return true;
  }
  if (node.opType === 'Shape' || node.opType === 'Size') {
    const s = shapes?.get(node.inputs[0]) ?? graph.initializers.get(node.inputs[0]);
    if (!s) return false;
    graph.initializers.set(
      node.outputs[0],
      node.opType === 'Shape'
        ? shapeOf(node, s.dims)
        : { location: 'cpu', dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(size(s.dims))) },
    );
    return true;
  }
  if (node.opType === 'Dropout') {
    // Training mode with a ratio above 0 drops at random: nothing here can reproduce that.
    const training = node.inputs[2] ? graph.initializers.get(node.inputs[2]) : undefined;
    const ratio = node.inputs[1] ? graph.initializers.get(node.inputs[1]) : undefined;
    const random =
      (node.inputs[2] && !training) ||
      (training && toValues(training).data[0] !== 0 && (!ratio || toValues(ratio).data[0] !== 0));
    if (random) {
      throw new WebvlError(
        'UNSUPPORTED_OP',
        `Dropout node '${node.name}': training mode with a ratio above 0 is random`,
        {
          ops: ['Dropout'],
        },
      );
    }
  }
  if (node.opType === 'Dropout' && node.outputs[1]) {
    // Inference Dropout (or training with ratio 0): y = x, and the mask output is all true, a constant once
    // x's dims are known. The node stays, as the view op y = x.
    const x = shapes?.get(node.inputs[0]) ?? graph.initializers.get(node.inputs[0]);
    if (!x) return false;
    graph.initializers.set(
      node.outputs[1],
      fromValues({ dtype: 'bool', dims: x.dims, data: new Float64Array(size(x.dims)).fill(1) }),
    );
    node.outputs = [node.outputs[0]];
    return false;
  }
  const inputs = constantInputs(graph, node);
  if (!inputs) return false;
  const results = evaluate(node, inputs, graph.opset);
  if (!results || results.some((r) => size(r.dims) > MAX_FOLDED_ELEMENTS)) return false;
  results.forEach((r, i) => {
    if (node.outputs[i]) graph.initializers.set(node.outputs[i], fromValues(r));
  });
  return true;
}

/** Folds every node whose inputs are constants (no input shapes needed). Returns the number folded. */
export function foldConstants(graph: Graph): number {
  const kept: Node[] = [];
  let folded = 0;
  for (const node of topologicalOrder(graph)) {
    if (!SHAPE_ONLY_OPS.has(node.opType) && tryFold(graph, node)) folded++;
    else kept.push(node);
  }
  graph.nodes = kept;
  return folded;
}
