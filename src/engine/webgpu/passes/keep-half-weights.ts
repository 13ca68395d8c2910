// float16 weights stay float16 on the GPU: `Cast(to=float32)` of a float16 initializer whose every reader takes
// it as the B operand of MatMul/Gemm or as a Gather's table (an embedding) is dropped, and the readers see the
// float16 tensor itself. The matmul kernels widen B on load (shaders/matmul-b-f16*.wgsl), the gather kernel each
// element it copies (shaders/gather-table-f16.wgsl), so the values are exactly what the Cast would give, at half
// the memory and bandwidth. Any other use (biases, norms) is widened once at load (widen-half-constants.ts).
import type { HostTensor } from '../../tensor';
import { attrInt, type Graph, type Node } from '../ir/ir';

const FLOAT = 1;

/** A `Cast(to=float32)` of a float16 initializer, and whether its readers can all take the float16 tensor. */
export interface HalfCast {
  readonly cast: Node;
  readonly source: HostTensor;
  /** Every reader is a product's B (then the tensor must be 2-D) or a Gather's table. */
  readonly readersTakeHalf: boolean;
}

/** Whether `u` can read float16 `name` itself: as a MatMul/Gemm B of a 2-D weight, or as a Gather's table. */
function takesHalf(u: Node, name: string, rank: number): boolean {
  if (u.domain !== '' && u.domain !== 'ai.onnx') return false;
  const slots = u.inputs.flatMap((input, slot) => (input === name ? [slot] : []));
  if (u.opType === 'MatMul' || u.opType === 'Gemm') return rank === 2 && slots.every((slot) => slot === 1);
  return u.opType === 'Gather' && slots.every((slot) => slot === 0);
}

/** The graph's widening Casts of float16 initializers. */
export function halfCasts(graph: Graph): HalfCast[] {
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes)
    for (const name of new Set(n.inputs)) if (name) readers.set(name, [...(readers.get(name) ?? []), n]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const onnx = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';
  const found: HalfCast[] = [];
  for (const n of graph.nodes) {
    if (n.opType !== 'Cast' || !onnx(n) || attrInt(n, 'to', 0) !== FLOAT) continue;
    const source = graph.initializers.get(n.inputs[0]);
    if (source?.dtype !== 'float16') continue;
    const out = n.outputs[0];
    const uses = readers.get(out) ?? [];
    const readersTakeHalf =
      !outputs.has(out) && uses.length > 0 && uses.every((u) => takesHalf(u, out, source.dims.length));
    found.push({ cast: n, source, readersTakeHalf });
  }
  return found;
}

/** Drops the Casts of float16 product weights and Gather tables; returns how many. Run before shape inference. */
export function keepHalfWeights(graph: Graph): number {
  const dropped = new Set<Node>();
  for (const { cast, source, readersTakeHalf } of halfCasts(graph)) {
    if (!readersTakeHalf) continue;
    graph.initializers.set(cast.outputs[0], source);
    dropped.add(cast);
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
  return dropped.size;
}
