// If with a condition known at plan time: the branch taken is spliced into the graph, so a plan runs one
// branch's kernels with no control flow. The merged decoders Optimum writes (decoder_model_merged.onnx: an If
// on the `use_cache_branch` input) get one plan per branch, since run-time-values.ts reads that input on the
// host and plans on its value. A condition computed from constants is folded here first. A condition computed
// from run-time data is given in `known` once the session has computed it (session.ts: a probe plan runs the
// nodes the condition needs and reads it back), so such graphs also run as one plan per branch taken.
import type { HostTensor } from '../../tensor';
import { evaluate, toValues, type Values } from '../ir/const-eval';
import { type Graph, type Node, producers } from '../ir/ir';

/** Folds the value of `name` from constants, following its producers (a few nodes deep at most). */
function constantValue(
  graph: Graph,
  made: Map<string, Node>,
  known: ReadonlyMap<string, HostTensor>,
  name: string,
  depth = 0,
): Values | undefined {
  const t = known.get(name) ?? graph.initializers.get(name);
  if (t) return toValues(t);
  const node = made.get(name);
  if (!node || depth > 16) return undefined;
  const inputs = node.inputs.map((i) => (i ? constantValue(graph, made, known, i, depth + 1) : undefined));
  if (node.inputs.some((i, k) => i && !inputs[k])) return undefined;
  return evaluate(node, inputs, graph.opset)?.[node.outputs.indexOf(name)];
}

/**
 * `attrs` with each nested branch's reads of enclosing values renamed by `rename` (a nested If reads values
 * of the branch being spliced, which get fresh names); names a nested branch defines itself are kept.
 */
function withOuterNames(attrs: Node['attrs'], rename: (v: string) => string): Node['attrs'] {
  const out: Node['attrs'] = {};
  for (const [key, a] of Object.entries(attrs)) {
    if (a.type !== 'graph') {
      out[key] = a;
      continue;
    }
    const g = a.value;
    const own = new Set([
      ...g.initializers.keys(),
      ...g.inputs.map((v) => v.name),
      ...g.nodes.flatMap((n) => n.outputs),
    ]);
    const outer = (v: string) => (v && !own.has(v) ? rename(v) : v);
    const value: Graph = {
      ...g,
      nodes: g.nodes.map((n) => ({
        ...n,
        attrs: withOuterNames(n.attrs, outer),
        inputs: n.inputs.map(outer),
      })),
      outputs: g.outputs.map((o) => ({ ...o, name: outer(o.name) })),
    };
    out[key] = { type: 'graph', value };
  }
  return out;
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
    attrs: withOuterNames(n.attrs, rename),
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

/**
 * Returns the number of If nodes replaced by their branch (nested ones included). `known`: values of
 * conditions computed from run-time data, by value name (names inside branches as splice() renames them).
 */
export function inlineIfs(graph: Graph, known: ReadonlyMap<string, HostTensor> = new Map()): number {
  let inlined = 0;
  for (let changed = true; changed; ) {
    changed = false;
    const made = producers(graph);
    const next: Node[] = [];
    for (const node of graph.nodes) {
      const cond =
        node.opType === 'If' && (node.domain === '' || node.domain === 'ai.onnx')
          ? constantValue(graph, made, known, node.inputs[0])
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
