// For passes that lower one node into several after shapes are known: each node added gets its outputs' types
// and dims inferred at once (the plan reads them from the shapes map), and constants become initializers of
// the plan's graph copy.
import type { DType, HostTensor } from '../../tensor';
import { toValues } from '../ir/const-eval';
import { type Attr, freshName, type Graph, type Node } from '../ir/ir';
import { inferNodeShapes, type TypedShape } from '../ir/op-shapes';

const ARRAYS = {
  float32: Float32Array,
  int32: Int32Array,
  int64: BigInt64Array,
} as const;

export class NodeBuilder {
  readonly nodes: Node[] = [];

  constructor(
    private readonly graph: Graph,
    private readonly shapes: Map<string, TypedShape>,
    private readonly prefix: string,
  ) {}

  shape(value: string): TypedShape | undefined {
    return this.shapes.get(value);
  }

  /** A constant of this plan (a fresh initializer). */
  constant(dtype: 'float32' | 'int32' | 'int64', dims: readonly number[], values: readonly number[]): string {
    const name = freshName(`${this.prefix}_const`);
    const data =
      dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : ARRAYS[dtype].from(values);
    const t: HostTensor = { location: 'cpu', dtype: dtype as DType, dims: [...dims], data };
    this.graph.initializers.set(name, t);
    this.shapes.set(name, { dtype: t.dtype, dims: t.dims });
    return name;
  }

  /**
   * Adds a node; returns its outputs (fresh names unless given). Shapes come from the op's shape function, with
   * constant inputs read from the graph's initializers.
   */
  add(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    options: { domain?: string; outputs?: readonly string[]; count?: number } = {},
  ): string[] {
    const outputs: string[] = options.outputs
      ? [...options.outputs]
      : Array.from({ length: options.count ?? 1 }, () => freshName(`${this.prefix}_${opType}`));
    const node: Node = {
      name: freshName(`${this.prefix}_${opType}`),
      opType,
      domain: options.domain ?? '',
      attrs,
      inputs: [...inputs],
      outputs: [...outputs],
    };
    const inferred = inferNodeShapes({
      node,
      opset: this.graph.opset,
      inputs: node.inputs.map((i) => (i ? this.shapes.get(i) : undefined)),
      constant: (i) => {
        const t = node.inputs[i] ? this.graph.initializers.get(node.inputs[i]) : undefined;
        return t && toValues(t);
      },
    });
    outputs.forEach((o, i) => {
      if (o && inferred[i]) this.shapes.set(o, inferred[i]);
    });
    this.nodes.push(node);
    return outputs;
  }
}

export const ints = (value: readonly number[]): Attr => ({ type: 'ints', value: [...value] });
export const int = (value: number): Attr => ({ type: 'int', value });
