// Helpers the fusion passes share for walking producer/consumer edges and reading constants.
import { toValues } from '../const-eval';
import { consumers, type Graph, type Node, producers } from '../ir';

export class GraphView {
  readonly producer: Map<string, Node>;
  readonly consumers: Map<string, Node[]>;
  readonly outputs: Set<string>;

  constructor(readonly graph: Graph) {
    this.producer = producers(graph);
    this.consumers = consumers(graph);
    this.outputs = new Set(graph.outputs.map((o) => o.name));
  }

  /** The node producing `value` if it has op type `op` (default domain). */
  producedBy(value: string, op: string): Node | undefined {
    const n = this.producer.get(value);
    return n && n.opType === op && (n.domain === '' || n.domain === 'ai.onnx') ? n : undefined;
  }

  /** The only consumer of `value`, if it has exactly one and is not a graph output. */
  onlyConsumer(value: string, op?: string): Node | undefined {
    const list = this.consumers.get(value);
    if (!list || list.length !== 1 || this.outputs.has(value)) return undefined;
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
    if (!t || t.data.length !== 1) return undefined;
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
 * graph that is built on first use and again only after a rewrite (building one is linear in the graph, so a
 * view per node made every fusion pass quadratic: 10 ms a pass on a 400-node decoder step). `visit` returns
 * whether it rewrote the graph; the walk returns how many times one did.
 */
export function rewriteEach(graph: Graph, visit: (node: Node, view: () => GraphView) => boolean): number {
  let view: GraphView | undefined;
  let live: Set<Node> | undefined; // undefined until the first rewrite: every node is still there
  let rewrites = 0;
  for (const node of [...graph.nodes]) {
    if (live && !live.has(node)) continue;
    if (visit(node, () => (view ??= new GraphView(graph)))) {
      rewrites++;
      view = undefined;
      live = new Set(graph.nodes);
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
