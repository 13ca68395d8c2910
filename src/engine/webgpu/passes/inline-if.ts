// If with a condition known at plan time: the branch taken is spliced into the graph, so a plan runs one
// branch's kernels with no control flow. The merged decoders Optimum writes (decoder_model_merged.onnx: an If
// on the `use_cache_branch` input) get one plan per branch, since run-time-values.ts reads that input on the
// host and plans on its value. A condition computed from constants is folded here first. What stays an If
// (a condition from large run-time data) has no kernel: such a plan is refused and the graph falls back.
import { evaluate, toValues, type Values } from '../ir/const-eval';
import { type Graph, type Node, producers } from '../ir/ir';

/** Folds the value of `name` from constants, following its producers (a few nodes deep at most). */
function constantValue(graph: Graph, made: Map<string, Node>, name: string, depth = 0): Values | undefined {
  const t = graph.initializers.get(name);
  if (t) return toValues(t);
  const node = made.get(name);
  if (!node || depth > 16) return undefined;
  const inputs = node.inputs.map((i) => (i ? constantValue(graph, made, i, depth + 1) : undefined));
  if (node.inputs.some((i, k) => i && !inputs[k])) return undefined;
  return evaluate(node, inputs, graph.opset)?.[node.outputs.indexOf(name)];
}

/** The branch's nodes and constants under fresh names, its outputs copied to the If's by Identity. */
function splice(graph: Graph, ifNode: Node, branch: Graph): Node[] {
  const prefix = `${ifNode.name}/`;
  const local = new Set([...branch.initializers.keys(), ...branch.nodes.flatMap((n) => n.outputs)]);
  const rename = (v: string) => (v && local.has(v) ? prefix + v : v);
  for (const [name, t] of branch.initializers) graph.initializers.set(prefix + name, t);
  const nodes: Node[] = branch.nodes.map((n) => ({
    ...n,
    name: prefix + n.name,
    attrs: { ...n.attrs },
    inputs: n.inputs.map(rename),
    outputs: n.outputs.map(rename),
  }));
  branch.outputs.forEach((o, i) => {
    if (!ifNode.outputs[i]) return;
    nodes.push({
      name: `${prefix}output_${i}`,
      opType: 'Identity',
      domain: '',
      attrs: {},
      inputs: [rename(o.name)],
      outputs: [ifNode.outputs[i]],
    });
  });
  return nodes;
}

/** Returns the number of If nodes replaced by their branch (nested ones included). */
export function inlineIfs(graph: Graph): number {
  let inlined = 0;
  for (let changed = true; changed; ) {
    changed = false;
    const made = producers(graph);
    const next: Node[] = [];
    for (const node of graph.nodes) {
      const cond =
        node.opType === 'If' && (node.domain === '' || node.domain === 'ai.onnx')
          ? constantValue(graph, made, node.inputs[0])
          : undefined;
      const branch = cond && node.attrs[cond.data[0] !== 0 ? 'then_branch' : 'else_branch'];
      if (branch?.type !== 'graph' || branch.value.outputs.length !== node.outputs.length) {
        next.push(node);
        continue;
      }
      next.push(...splice(graph, node, branch.value));
      inlined++;
      changed = true;
    }
    graph.nodes = next;
  }
  return inlined;
}
