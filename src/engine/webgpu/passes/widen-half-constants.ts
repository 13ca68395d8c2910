// At load: a float16 initializer widened by `Cast(to=float32)` for a reader that cannot take it half (norms,
// biases, anything but a product's B or a Gather's table) becomes a float32 initializer once, instead of a Cast
// that each input-shape signature's specialization would evaluate again (too large to fold, it ran on the GPU
// every run: 31M elements for a 30k × 1024 table). Casts whose every reader takes half stay, unless the tensor is
// larger than one GPU binding: keep-half-weights keeps those tensors float16 on the GPU.
import { halfsToFloats } from '../../half';
import { hostTensor } from '../../tensor';
import type { Graph, Node } from '../ir/ir';
import { halfCasts } from './keep-half-weights';

/**
 * Returns the number of Casts replaced by widened initializers. `maxHalfBytes`: the largest tensor that may stay
 * half (one GPU binding); a larger one is widened, so that passes/split-oversized.ts can split it.
 */
export function widenHalfConstants(graph: Graph, maxHalfBytes = Number.POSITIVE_INFINITY): number {
  const widened = new Set<Node>();
  for (const { cast, source, readersTakeHalf } of halfCasts(graph)) {
    if (readersTakeHalf && source.data.byteLength <= maxHalfBytes) continue;
    graph.initializers.set(
      cast.outputs[0],
      hostTensor('float32', source.dims, halfsToFloats(source.data as Uint16Array)),
    );
    widened.add(cast);
  }
  graph.nodes = graph.nodes.filter((n) => !widened.has(n));
  return widened.size;
}
