// At load: a float16 initializer widened by `Cast(to=float32)` for a reader other than a product's B (an
// embedding table, a tied LM head's Gather side, norms, biases) becomes a float32 initializer once, instead of
// a Cast that each input-shape signature's specialization would evaluate again (too large to fold, it ran on
// the GPU every run: 31M elements for a 30k × 1024 table). Casts whose every reader is a MatMul/Gemm B stay:
// keep-half-weights keeps those weights float16 on the GPU.
import { halfsToFloats } from '../../half';
import { hostTensor } from '../../tensor';
import { attrInt, type Graph } from '../ir/ir';

const FLOAT = 1;

/** Returns the number of Casts replaced by widened initializers. */
export function widenHalfConstants(graph: Graph): number {
  const readers = new Map<string, { op: string; slot: number }[]>();
  for (const n of graph.nodes)
    n.inputs.forEach((name, slot) => {
      if (name) readers.set(name, [...(readers.get(name) ?? []), { op: n.opType, slot }]);
    });
  const outputs = new Set(graph.outputs.map((o) => o.name));
  let widened = 0;
  graph.nodes = graph.nodes.filter((n) => {
    if (n.opType !== 'Cast' || (n.domain !== '' && n.domain !== 'ai.onnx') || attrInt(n, 'to', 0) !== FLOAT)
      return true;
    const source = graph.initializers.get(n.inputs[0]);
    const out = n.outputs[0];
    const uses = readers.get(out) ?? [];
    const productWeightOnly =
      !outputs.has(out) &&
      uses.length > 0 &&
      uses.every((u) => (u.op === 'MatMul' || u.op === 'Gemm') && u.slot === 1);
    if (source?.dtype !== 'float16' || productWeightOnly) return true;
    graph.initializers.set(
      out,
      hostTensor('float32', source.dims, halfsToFloats(source.data as Uint16Array)),
    );
    widened++;
    return false;
  });
  return widened;
}
