// The engine's intermediate representation: an ONNX graph decoded into plain objects that passes
// can rewrite freely (no protobuf classes past the decoder).
import { WebvlError } from '../../../errors';
import type { DType, HostTensor } from '../../tensor';

/** A dimension: a concrete size, or a symbolic name ("batch", "seq") until input shapes are known. */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  /** Undefined when even the rank is unknown. */
  readonly shape?: readonly Dim[];
}

export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: HostTensor }
  /** A subgraph (If branches); it may read values of the enclosing graph by name. */
  | { readonly type: 'graph'; readonly value: Graph };

export interface Node {
  name: string;
  opType: string;
  /** '' for the default ONNX domain, 'com.microsoft', or 'webvl' for our fused ops. */
  domain: string;
  attrs: Record<string, Attr>;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
}

export interface Graph {
  nodes: Node[];
  /** Constant tensors by value name (initializers and folded Constant nodes). */
  initializers: Map<string, HostTensor>;
  /** Runtime inputs (initializers that ONNX also lists as inputs are not included). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Whatever dtype/shape information the file carries for intermediate values. */
  valueInfo: Map<string, ValueInfo>;
  /** Opset version of the default domain. */
  opset: number;
}

/** Domain of the fused ops our passes create. */
export const WEBVL_DOMAIN = 'webvl';

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int') throw badAttr(node, name, 'int', a.type);
  return a.value;
}

export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'float' && a.type !== 'int') throw badAttr(node, name, 'float', a.type);
  return a.value;
}

export function attrInts(node: Node, name: string): readonly number[] | undefined {
  const a = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints') throw badAttr(node, name, 'ints', a.type);
  return a.value;
}

export function attrFloats(node: Node, name: string): readonly number[] | undefined {
  const a = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'floats') throw badAttr(node, name, 'floats', a.type);
  return a.value;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'string') throw badAttr(node, name, 'string', a.type);
  return a.value;
}

export function attrTensor(node: Node, name: string): HostTensor | undefined {
  const a = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'tensor') throw badAttr(node, name, 'tensor', a.type);
  return a.value;
}

function badAttr(node: Node, name: string, want: string, got: string): WebvlError {
  return new WebvlError(
    'INVALID_MODEL',
    `${node.opType} node '${node.name}': attribute '${name}' should be ${want}, is ${got}`,
  );
}

/** Map from value name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) map.set(o, n);
  return map;
}

/** Map from value name to the nodes that read it (a node appears once per input slot). */
export function consumers(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = map.get(i);
      if (list) list.push(n);
      else map.set(i, [n]);
    }
  }
  return map;
}

/**
 * Orders nodes so every value is produced before it is read (Kahn's algorithm, stable: ties keep
 * file order). Rejects cycles and reads of values nothing produces with INVALID_MODEL.
 */
export function topologicalOrder(graph: Graph): Node[] {
  const available = new Set<string>([...graph.initializers.keys(), ...graph.inputs.map((v) => v.name)]);
  const producer = producers(graph);
  const pending = new Map<Node, number>();
  const waiting = new Map<string, Node[]>();
  const ready: Node[] = [];
  for (const n of graph.nodes) {
    let missing = 0;
    for (const i of new Set(n.inputs)) {
      if (!i || available.has(i)) continue;
      if (!producer.has(i)) {
        throw new WebvlError(
          'INVALID_MODEL',
          `${n.opType} node '${n.name}' reads '${i}', which no node, input or initializer provides`,
        );
      }
      missing++;
      const list = waiting.get(i);
      if (list) list.push(n);
      else waiting.set(i, [n]);
    }
    pending.set(n, missing);
    if (missing === 0) ready.push(n);
  }
  const order: Node[] = [];
  const index = new Map(graph.nodes.map((n, i) => [n, i]));
  while (ready.length > 0) {
    // Keep file order among ready nodes, so the result is deterministic and close to the exporter's.
    ready.sort((a, b) => (index.get(b) ?? 0) - (index.get(a) ?? 0));
    const n = ready.pop() as Node;
    order.push(n);
    for (const o of n.outputs) {
      for (const m of waiting.get(o) ?? []) {
        const left = (pending.get(m) ?? 0) - 1;
        pending.set(m, left);
        if (left === 0) ready.push(m);
      }
      waiting.delete(o);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.filter((n) => (pending.get(n) ?? 0) > 0).map((n) => n.name || n.opType);
    throw new WebvlError('INVALID_MODEL', `graph has a cycle through ${stuck.slice(0, 5).join(', ')}`, {
      nodes: stuck,
    });
  }
  return order;
}

/** A shallow structural copy: passes may then replace nodes/maps without touching the original. */
export function cloneGraph(graph: Graph): Graph {
  return {
    nodes: graph.nodes.map((n) => ({
      ...n,
      attrs: { ...n.attrs },
      inputs: [...n.inputs],
      outputs: [...n.outputs],
    })),
    initializers: new Map(graph.initializers),
    inputs: [...graph.inputs],
    outputs: [...graph.outputs],
    valueInfo: new Map(graph.valueInfo),
    opset: graph.opset,
  };
}

/** Op key used by lowering tables: 'Op' in the default domain, 'domain:Op' elsewhere. */
export function opKey(node: Pick<Node, 'opType' | 'domain'>): string {
  return node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}:${node.opType}`;
}

let uniqueCounter = 0;
/** A fresh value/node name for pass-created values (never collides with exporter names in practice). */
export function freshName(prefix: string): string {
  uniqueCounter++;
  return `__webvl_${prefix}_${uniqueCounter}`;
}
