// float16 weights stay float16 on the GPU: `Cast(to=float32)` of a float16 initializer whose every reader takes
// it as the B operand of MatMul/Gemm is dropped, and the readers see the float16 tensor itself. The matmul
// kernels widen B on load (shaders/matmul-b-f16*.wgsl), so the values are exactly what the Cast would give, at
// half the memory and bandwidth. Any other use (biases, norms, embeddings) keeps the Cast, which folds to f32.
import { attrInt, type Graph } from '../ir/ir';

const FLOAT = 1;

/** Returns the number of Casts removed. Run before shape inference (which would fold the Casts). */
export function keepHalfWeights(graph: Graph): number {
  const readers = new Map<string, { op: string; domain: string; slot: number }[]>();
  for (const n of graph.nodes) {
    n.inputs.forEach((name, slot) => {
      if (!name) return;
      readers.set(name, [...(readers.get(name) ?? []), { op: n.opType, domain: n.domain, slot }]);
    });
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  let kept = 0;
  graph.nodes = graph.nodes.filter((n) => {
    if (n.opType !== 'Cast' || (n.domain !== '' && n.domain !== 'ai.onnx') || attrInt(n, 'to', 0) !== FLOAT)
      return true;
    const source = graph.initializers.get(n.inputs[0]);
    const out = n.outputs[0];
    const uses = readers.get(out) ?? [];
    const onlyWeights =
      uses.length > 0 &&
      !outputs.has(out) &&
      uses.every(
        (u) =>
          (u.op === 'MatMul' || u.op === 'Gemm') &&
          (u.domain === '' || u.domain === 'ai.onnx') &&
          u.slot === 1,
      );
    if (source?.dtype !== 'float16' || source.dims.length !== 2 || !onlyWeights) return true;
    graph.initializers.set(out, source);
    kept++;
    return false;
  });
  return kept;
}
