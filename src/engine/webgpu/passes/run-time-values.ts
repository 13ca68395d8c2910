// Graph inputs whose values steer shapes (a Reshape target, Slice starts, Tile repeats, Split sizes, Clip
// bounds…) cannot be planned from their dims alone. Such small inputs are read on the host at run() and the
// plan is specialized on their values, as it is on input dims: they become constants of that plan.
import type { HostTensor } from '../../tensor';
import { type Graph, type Node, opKey, producers } from '../ir/ir';
import { SHAPE_ONLY_OPS } from './fold-constants';

/**
 * Input positions, per op (lowering-table keys: 'Op', or 'domain:Op' outside the default domain), whose values
 * (not just dims) decide output shapes or a kernel's parameters.
 */
const STEERING_INPUTS: Record<string, readonly number[]> = {
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  Split: [1],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  Range: [0, 1, 2],
  ConstantOfShape: [0],
  TopK: [1],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Upsample: [1],
  MaxUnpool: [2],
  Clip: [1, 2],
  ReduceSum: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceProd: [1],
  ReduceL1: [1],
  ReduceL2: [1],
  ReduceSumSquare: [1],
  ReduceLogSumExp: [1],
  ReduceLogSum: [1],
  OneHot: [1],
  HannWindow: [0],
  MelWeightMatrix: [0, 1, 2, 3, 4],
  DFT: [1, 2],
  STFT: [1, 3],
  HammingWindow: [0],
  BlackmanWindow: [0],
  CumSum: [1],
  Trilu: [1],
  // The branch an If takes (passes/inline-if.ts); whether a Dropout drops.
  If: [0],
  Dropout: [1, 2],
  // total_sequence_length: the presents' length, and whether a step is a first prompt.
  'com.microsoft:GroupQueryAttention': [6],
};

/** Whether input `slot` of `node` is a shape parameter (its value steers shapes), not data. */
export function isSteeringSlot(node: Node, slot: number): boolean {
  return STEERING_INPUTS[opKey(node)]?.includes(slot) ?? false;
}

/** More elements than this and an input is data, not a shape parameter: it stays on the GPU path. */
export const MAX_STEERING_ELEMENTS = 64;

/** Graph inputs that reach a steering position, directly or through the ops that compute it. */
export function steeringInputs(graph: Graph): Set<string> {
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const made = producers(graph);
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const node of graph.nodes) {
    for (const i of STEERING_INPUTS[opKey(node)] ?? []) if (node.inputs[i]) stack.push(node.inputs[i]);
  }
  while (stack.length > 0) {
    const value = stack.pop() as string;
    if (seen.has(value)) continue;
    seen.add(value);
    if (inputs.has(value)) found.add(value);
    const node: Node | undefined = made.get(value);
    // Shape-only ops are where a value's dims, not its data, flow on: stop there.
    if (node && !SHAPE_ONLY_OPS.has(node.opType)) stack.push(...node.inputs.filter(Boolean));
  }
  return found;
}

/** Turns the given inputs of a graph (a plan's own copy) into constants. */
export function bindInputValues(graph: Graph, values: ReadonlyMap<string, HostTensor>): void {
  if (values.size === 0) return;
  graph.inputs = graph.inputs.filter((v) => !values.has(v.name));
  for (const [name, t] of values) graph.initializers.set(name, t);
}

/** The part of a plan signature that the values contribute. */
export function valuesSignature(values: ReadonlyMap<string, HostTensor>): string {
  return [...values]
    .map(([name, t]) => `${name}=${Array.from(t.data as ArrayLike<number | bigint>).join(',')}`)
    .join(';');
}
