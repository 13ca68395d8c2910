// float16 weights stay float16 on the GPU: `Cast(to=float32)` of a float16 initializer whose every reader takes
// it as the B operand of MatMul/Gemm is dropped, and the readers see the float16 tensor itself. The matmul
// kernels widen B on load (shaders/matmul-b-f16*.wgsl), so the values are exactly what the Cast would give, at
// half the memory and bandwidth. Any other use (biases, norms, embeddings) is widened once at load
// (widen-half-constants.ts).
import type { HostTensor } from '../../tensor';
import { attrInt, type Graph, type Node } from '../ir/ir';

const FLOAT = 1;

/** A `Cast(to=float32)` of a float16 initializer, and whether only products read it, as their B. */
export interface HalfCast {
  readonly cast: Node;
  readonly source: HostTensor;
  readonly productWeightOnly: boolean;
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
    const productWeightOnly =
      !outputs.has(out) &&
      uses.length > 0 &&
      uses.every(
        (u) =>
          (u.opType === 'MatMul' || u.opType === 'Gemm') &&
          onnx(u) &&
          u.inputs.every((name, slot) => name !== out || slot === 1),
      );
    found.push({ cast: n, source, productWeightOnly });
  }
  return found;
}

/** Drops the Casts of 2-D float16 product weights; returns how many. Run before shape inference. */
export function keepHalfWeights(graph: Graph): number {
  const dropped = new Set<Node>();
  for (const { cast, source, productWeightOnly } of halfCasts(graph)) {
    if (!productWeightOnly || source.dims.length !== 2) continue;
    graph.initializers.set(cast.outputs[0], source);
    dropped.add(cast);
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
  return dropped.size;
}
