// Helpers the fusion passes share for walking producer/consumer edges and reading constants.
import { toValues } from '../ir/const-eval';
import { consumers, type Graph, type Node, producers } from '../ir/ir';

export class GraphView {
  readonly producer: Map<string, Node>;
  readonly consumers: Map<string, Node[]>;
  readonly outputs: Set<string>;

  constructor(readonly graph: Graph) {
    this.producer = producers(graph);
    this.consumers = consumers(graph);
    this.outputs = new Set(graph.outputs.map((o) => o.name));
  }

  /** Brings the edge maps up to date after `removed` left the graph and `added` joined it. */
  update(removed: Iterable<Node>, added: Iterable<Node>): void {
    for (const n of removed) {
      for (const o of n.outputs) if (o && this.producer.get(o) === n) this.producer.delete(o);
      for (const i of n.inputs) {
        const list = i ? this.consumers.get(i) : undefined;
        if (list)
          this.consumers.set(
            i,
            list.filter((c) => c !== n),
          );
      }
    }
    for (const n of added) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }

  /** The node producing `value` if it has op type `op` (default domain). */
  producedBy(value: string, op: string): Node | undefined {
    const n = this.producer.get(value);
    return n && n.opType === op && (n.domain === '' || n.domain === 'ai.onnx') ? n : undefined;
  }

  /** The only consumer of `value`, if it has exactly one and is not a graph output. */
  onlyConsumer(value: string, op?: string): Node | undefined {
    const list = this.consumers.get(value);
    if (list?.length !== 1 || this.outputs.has(value)) return undefined;
    const n = list[0];
    if (op && (n.opType !== op || (n.domain !== '' && n.domain !== 'ai.onnx'))) return undefined;
    return n;
  }

  /** True when every reader of `value` is one of `allowed` and it is not a graph output. */
  usedOnlyBy(value: string, allowed: readonly Node[]): boolean {
    if (this.outputs.has(value)) return false;
    return (this.consumers.get(value) ?? []).every((n) => allowed.includes(n));
  }

  /** The scalar value of a constant (any shape with one element), else undefined. */
  scalar(value: string): number | undefined {
    const t = this.graph.initializers.get(value);
    if (t?.data.length !== 1) return undefined;
    return toValues(t).data[0];
  }

  isConstant(value: string): boolean {
    return this.graph.initializers.has(value);
  }

  /** For a binary node, the input that is not `value` (undefined when both or neither are). */
  other(node: Node, value: string): string | undefined {
    if (node.inputs.length !== 2) return undefined;
    if (node.inputs[0] === value && node.inputs[1] !== value) return node.inputs[1];
    if (node.inputs[1] === value && node.inputs[0] !== value) return node.inputs[0];
    return undefined;
  }
}

export function near(a: number | undefined, b: number, tol = 1e-4): boolean {
  return a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

/**
 * Walks the graph's nodes once, in order, offering each node still in the graph to `visit` with a view of the
 * graph, built on first use and then kept current edge by edge after each rewrite (a view per node made every
 * fusion pass quadratic: 10 ms a pass on a 400-node decoder step). `visit` returns whether it rewrote the
 * graph; the walk returns how many times one did.
 */
export function rewriteEach(graph: Graph, visit: (node: Node, view: () => GraphView) => boolean): number {
  let view: GraphView | undefined;
  let live = new Set(graph.nodes);
  let rewrites = 0;
  for (const node of [...graph.nodes]) {
    if (!live.has(node)) continue;
    if (visit(node, () => (view ??= new GraphView(graph)))) {
      rewrites++;
      const now = new Set(graph.nodes);
      // Passes replace nodes rather than edit them, so the removed and added ones are the whole change.
      if (view)
        view.update(
          [...live].filter((n) => !now.has(n)),
          [...now].filter((n) => !live.has(n)),
        );
      live = now;
    }
  }
  return rewrites;
}

/** Replaces `remove` with `add` in the graph's node list, placing `add` where the last removed node was. */
export function replaceNodes(graph: Graph, remove: readonly Node[], add: Node): void {
  replaceNodesWith(graph, remove, [add]);
}

/** replaceNodes() for several new nodes, kept in the given order. */
export function replaceNodesWith(graph: Graph, remove: readonly Node[], add: readonly Node[]): void {
  const drop = new Set(remove);
  let at = -1;
  graph.nodes.forEach((n, i) => {
    if (drop.has(n)) at = i;
  });
  const out: Node[] = [];
  graph.nodes.forEach((n, i) => {
    if (!drop.has(n)) out.push(n);
    if (i === at) out.push(...add);
  });
  graph.nodes = out;
}
