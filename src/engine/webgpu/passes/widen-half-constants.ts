// At load: a float16 initializer widened by `Cast(to=float32)` for a reader other than a product's B (an
// embedding table, a tied LM head's Gather side, norms, biases) becomes a float32 initializer once, instead of
// a Cast that each input-shape signature's specialization would evaluate again (too large to fold, it ran on
// the GPU every run: 31M elements for a 30k × 1024 table). Casts whose every reader is a MatMul/Gemm B stay:
// keep-half-weights keeps those weights float16 on the GPU.
import { halfsToFloats } from '../../half';
import { hostTensor } from '../../tensor';
import type { Graph, Node } from '../ir/ir';
import { halfCasts } from './keep-half-weights';

/** Returns the number of Casts replaced by widened initializers. */
export function widenHalfConstants(graph: Graph): number {
  const widened = new Set<Node>();
  for (const { cast, source, productWeightOnly } of halfCasts(graph)) {
    if (productWeightOnly) continue;
    graph.initializers.set(
      cast.outputs[0],
      hostTensor('float32', source.dims, halfsToFloats(source.data as Uint16Array)),
    );
    widened.add(cast);
  }
  graph.nodes = graph.nodes.filter((n) => !widened.has(n));
  return widened.size;
}
