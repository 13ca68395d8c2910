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

/**
 * Drops the initializers no node reads, in this graph or in any subgraph (which may read the outer scope's), and
 * no graph output names: what load-time rewrites left behind (a quantized weight's codes, scales and zero points
 * once packed), so the session does not hold their host memory. Returns the names dropped.
 */
export function dropUnreadInitializers(graph: Graph): string[] {
  const read = new Set<string>();
  const subgraphs = (g: Graph): Graph[] =>
    g.nodes.flatMap((n) => Object.values(n.attrs).flatMap((a) => (a.type === 'graph' ? [a.value] : [])));
  const visit = (g: Graph): void => {
    for (const o of g.outputs) read.add(o.name);
    for (const n of g.nodes) for (const i of n.inputs) if (i) read.add(i);
    for (const s of subgraphs(g)) visit(s);
  };
  visit(graph);
  const dropped: string[] = [];
  const sweep = (g: Graph): void => {
    for (const name of [...g.initializers.keys()])
      if (!read.has(name)) {
        g.initializers.delete(name);
        dropped.push(name);
      }
    for (const s of subgraphs(g)) sweep(s);
  };
  sweep(graph);
  return dropped;
}
