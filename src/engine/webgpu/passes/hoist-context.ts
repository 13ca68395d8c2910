// Work that depends only on inputs which stay the same from run to run (a decoder's encoder_hidden_states
// while it generates one sequence) is done once, not every step: the plan's graph is split into a context
// graph (the nodes computed from context inputs and constants alone) and a step graph that takes the context
// graph's results as inputs. For BLIP-style decoders that is every layer's cross-attention keys and values,
// which the exported step graph recomputes from the image's features at each token.
// The session runs the context plan only when a context input is fed a different tensor (session.ts).
import { WebvlError } from '../../../errors';
import { type Graph, type Node, topologicalOrder, type ValueInfo } from '../ir/ir';
import type { Specialized } from './optimize';

export interface HoistedContext {
  /** Computes `results` from the context inputs. */
  readonly context: Specialized;
  /** The rest of the graph: the original inputs it still reads, then the context results. */
  readonly step: Specialized;
  /** Values the context graph outputs and the step graph takes as inputs. */
  readonly results: readonly string[];
}

/** The split of `s` at its context inputs, or undefined when no node depends on them alone. */
export function hoistContext(s: Specialized, contextInputs: ReadonlySet<string>): HoistedContext | undefined {
  const { graph, shapes } = s;
  const inputs = graph.inputs.filter((v) => contextInputs.has(v.name));
  if (inputs.length === 0) return undefined;
  const derived = new Set(inputs.map((v) => v.name));
  const constant = (name: string) => graph.initializers.has(name);
  const hoisted: Node[] = [];
  const rest: Node[] = [];
  for (const node of topologicalOrder(graph)) {
    const used = node.inputs.filter((n) => n);
    if (used.some((n) => derived.has(n)) && used.every((n) => derived.has(n) || constant(n))) {
      hoisted.push(node);
      for (const o of node.outputs) if (o) derived.add(o);
    } else rest.push(node);
  }
  if (hoisted.length === 0) return undefined;
  const produced = new Set(hoisted.flatMap((n) => n.outputs));
  // A graph output computed from the context alone would have to come back from the context plan: not worth it.
  if (graph.outputs.some((o) => produced.has(o.name))) return undefined;
  const results = [...new Set(rest.flatMap((n) => n.inputs.filter((i) => i && produced.has(i))))];
  if (results.length === 0) return undefined;
  const valueInfo = (name: string): ValueInfo => {
    const shape = shapes.get(name);
    if (!shape) throw new WebvlError('INTERNAL', `hoist-context: no shape for '${name}'`);
    return { name, dtype: shape.dtype, shape: shape.dims };
  };
  const readByRest = new Set(rest.flatMap((n) => n.inputs));
  const readByHoisted = new Set(hoisted.flatMap((n) => n.inputs));
  const part = (g: Partial<Graph>): Specialized => ({ ...s, graph: { ...graph, ...g } });
  return {
    context: part({
      nodes: hoisted,
      inputs: inputs.filter((v) => readByHoisted.has(v.name)),
      outputs: results.map(valueInfo),
    }),
    step: part({
      nodes: rest,
      inputs: [
        ...graph.inputs.filter((v) => !contextInputs.has(v.name) || readByRest.has(v.name)),
        ...results.map(valueInfo),
      ],
    }),
    results,
  };
}

/** Whether `feeds` bring the same tensor objects for `names` as `last` (the context plan's results still hold). */
export function sameContext(
  names: readonly string[],
  feeds: Readonly<Record<string, unknown>>,
  last: ReadonlyMap<string, unknown> | undefined,
): boolean {
  return last !== undefined && names.every((n) => last.get(n) === feeds[n]);
}
