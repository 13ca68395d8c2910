// Dead-code elimination: drops nodes whose outputs no graph output depends on, and unused initializers.
import type { Graph, Node } from '../ir/ir';
import { producers } from '../ir/ir';

/** Returns the number of nodes removed. */
export function eliminateDeadCode(graph: Graph): number {
  const producer = producers(graph);
  const live = new Set<Node>();
  const needed = new Set<string>();
  const stack = graph.outputs.map((o) => o.name);
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (needed.has(name)) continue;
    needed.add(name);
    const node = producer.get(name);
    if (!node || live.has(node)) continue;
    live.add(node);
    for (const i of node.inputs) if (i) stack.push(i);
  }
  const before = graph.nodes.length;
  graph.nodes = graph.nodes.filter((n) => live.has(n));
  for (const name of [...graph.initializers.keys()]) if (!needed.has(name)) graph.initializers.delete(name);
  return before - graph.nodes.length;
}
