// Constants larger than one storage binding, split at load into pieces that each fit. Every kernel binds a
// whole tensor, and a 49,408 × 768 float32 embedding table is 152 MB, above WebGPU's 128 MiB default. In
// vision-language models such constants are the token embedding table and the LM head that shares it:
// - Gather on axis 0 of a table → webvl GatherRows over pieces of consecutive rows (one dispatch per piece,
//   each writing the output rows whose ids fall in it);
// - MatMul or Gemm by a weight (given directly, through a Transpose, as tied heads are, or through a Cast) →
//   one product per piece of output columns, then a Concat.
// Pieces are made in the layout the product reads, on the host, once. A constant that another op reads
// stays whole, and load() refuses it with OUT_OF_MEMORY (so 'auto' falls back).
import type { HostTensor, TensorData } from '../../tensor';
import { attrInt, attrInts, freshName, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';

interface Scope {
  readonly graph: Graph;
  readonly parent?: Scope;
}

/** The graph that holds constant `name` as seen from `scope` (If branches read their enclosing graphs). */
function ownerOf(scope: Scope | undefined, name: string): Graph | undefined {
  for (let s = scope; s; s = s.parent) if (s.graph.initializers.has(name)) return s.graph;
  return undefined;
}

function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A typed array like `data` with `length` elements, filled by `at(j)` = index into `data`. */
function gathered(data: TensorData, length: number, at: (j: number) => number): TensorData {
  const out = data.slice(0, length);
  const src = data as unknown as { [i: number]: number };
  const dst = out as unknown as { [i: number]: number };
  for (let j = 0; j < length; j++) dst[j] = src[at(j)];
  return out;
}

function tensor(like: HostTensor, dims: number[], data: TensorData): HostTensor {
  return { location: 'cpu', dtype: like.dtype, dims, data };
}

/** Rows [r0, r1) of a tensor viewed as [rows, inner]. */
function rowsOf(t: HostTensor, r0: number, r1: number): HostTensor {
  const inner = count(t.dims.slice(1));
  return tensor(t, [r1 - r0, ...t.dims.slice(1)], t.data.slice(r0 * inner, r1 * inner));
}

/** Columns [c0, c1) of a [K, N] matrix, as [K, c1 − c0]. */
function columnsOf(t: HostTensor, c0: number, c1: number): HostTensor {
  const [k, n] = t.dims;
  const w = c1 - c0;
  return tensor(
    t,
    [k, w],
    gathered(t.data, k * w, (j) => Math.floor(j / w) * n + c0 + (j % w)),
  );
}

/** Rows [r0, r1) of an [N, K] matrix, transposed: [K, r1 − r0]. */
function transposedRowsOf(t: HostTensor, r0: number, r1: number): HostTensor {
  const k = t.dims[1];
  const w = r1 - r0;
  return tensor(
    t,
    [k, w],
    gathered(t.data, k * w, (j) => (r0 + (j % w)) * k + Math.floor(j / w)),
  );
}

/**
 * [start, end) ranges of `total` rows or columns with at most `perPieceBytes`-byte pieces. Bytes count 4 per
 * element whatever the dtype (float16 constants may be widened on upload); piece widths are multiples of 64
 * where they can be, which the matmul tiles prefer.
 */
function ranges(total: number, bytesPerUnit: number, limit: number): [number, number][] {
  let per = Math.max(1, Math.floor(limit / bytesPerUnit));
  if (per >= 64) per -= per % 64;
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += per) out.push([s, Math.min(total, s + per)]);
  return out;
}

class Splitter {
  private readonly bypassed = new Set<Node>();
  splits = 0;

  constructor(
    private readonly limit: number,
    private readonly packed: ReadonlySet<string>,
  ) {}

  private oversized(scope: Scope, name: string): HostTensor | undefined {
    if (!name || this.packed.has(name)) return undefined;
    const t = ownerOf(scope, name)?.initializers.get(name);
    return t && count(t.dims) * 4 > this.limit ? t : undefined;
  }

  /** New constants `pieces` next to the original `name`; returns their names. */
  private addPieces(scope: Scope, name: string, pieces: readonly HostTensor[]): string[] {
    const owner = ownerOf(scope, name) as Graph;
    return pieces.map((p) => {
      const pieceName = freshName(`${name}_piece`);
      owner.initializers.set(pieceName, p);
      return pieceName;
    });
  }

  visit(scope: Scope): void {
    const { graph } = scope;
    const made = new Map<string, Node>();
    for (const n of graph.nodes) for (const o of n.outputs) made.set(o, n);
    for (const node of [...graph.nodes]) {
      for (const a of Object.values(node.attrs))
        if (a.type === 'graph') this.visit({ graph: a.value, parent: scope });
      if (node.domain !== '') continue;
      const replacement =
        node.opType === 'Gather'
          ? this.gather(scope, node)
          : node.opType === 'MatMul'
            ? this.matmul(scope, node, made)
            : node.opType === 'Gemm'
              ? this.gemm(scope, node)
              : undefined;
      if (!replacement) continue;
      graph.nodes.splice(graph.nodes.indexOf(node), 1, ...replacement);
      this.splits++;
    }
  }

  private gather(scope: Scope, node: Node): Node[] | undefined {
    const table = this.oversized(scope, node.inputs[0]);
    if (!table || table.dims.length < 1) return undefined;
    const axis = attrInt(node, 'axis', 0);
    if (axis !== 0 && axis !== -table.dims.length) return undefined;
    const parts = ranges(table.dims[0], count(table.dims.slice(1)) * 4, this.limit);
    const names = this.addPieces(
      scope,
      node.inputs[0],
      parts.map(([a, b]) => rowsOf(table, a, b)),
    );
    return [
      {
        name: node.name,
        opType: 'GatherRows',
        domain: WEBVL_DOMAIN,
        attrs: { row_starts: { type: 'ints', value: parts.map(([a]) => a) } },
        inputs: [node.inputs[1], ...names],
        outputs: [...node.outputs],
      },
    ];
  }

  /** The [K, N] weight of a MatMul, in pieces of columns, with the node that fed it when there was one. */
  private matmulWeight(
    scope: Scope,
    name: string,
    made: ReadonlyMap<string, Node>,
  ): { pieces: HostTensor[]; via?: Node; source: string } | undefined {
    const direct = this.oversized(scope, name);
    if (direct?.dims.length === 2) {
      const parts = ranges(direct.dims[1], direct.dims[0] * 4, this.limit);
      return { pieces: parts.map(([a, b]) => columnsOf(direct, a, b)), source: name };
    }
    const via = made.get(name);
    if (via?.domain !== '' || !via.inputs[0]) return undefined;
    const t = this.oversized(scope, via.inputs[0]);
    if (t?.dims.length !== 2) return undefined;
    if (via.opType === 'Transpose' && [undefined, '1,0'].includes(attrInts(via, 'perm')?.join())) {
      const parts = ranges(t.dims[0], t.dims[1] * 4, this.limit);
      return { pieces: parts.map(([a, b]) => transposedRowsOf(t, a, b)), source: via.inputs[0] };
    }
    if (via.opType === 'Cast') {
      const parts = ranges(t.dims[1], t.dims[0] * 4, this.limit);
      return { pieces: parts.map(([a, b]) => columnsOf(t, a, b)), via, source: via.inputs[0] };
    }
    return undefined;
  }

  private matmul(scope: Scope, node: Node, made: ReadonlyMap<string, Node>): Node[] | undefined {
    const weight = this.matmulWeight(scope, node.inputs[1], made);
    if (!weight) return undefined;
    const producer = made.get(node.inputs[1]);
    if (producer) this.bypassed.add(producer);
    const names = this.addPieces(scope, weight.source, weight.pieces);
    const nodes: Node[] = [];
    const products = names.map((piece) => {
      let b = piece;
      if (weight.via) {
        b = freshName(`${node.name}_cast`);
        nodes.push({ ...weight.via, name: freshName(weight.via.name), inputs: [piece], outputs: [b] });
      }
      const y = freshName(`${node.name}_piece`);
      nodes.push({ ...node, name: freshName(node.name), inputs: [node.inputs[0], b], outputs: [y] });
      return y;
    });
    nodes.push(concat(node, products, -1));
    return nodes;
  }

  private gemm(scope: Scope, node: Node): Node[] | undefined {
    const b = this.oversized(scope, node.inputs[1]);
    if (b?.dims.length !== 2) return undefined;
    const transB = attrInt(node, 'transB', 0) === 1;
    const n = transB ? b.dims[0] : b.dims[1];
    const k = transB ? b.dims[1] : b.dims[0];
    // C broadcasts to [M, N]: split along N when it has that axis, shared when it is a scalar.
    const cName = node.inputs[2] ?? '';
    const c = cName ? ownerOf(scope, cName)?.initializers.get(cName) : undefined;
    const cSplit = c !== undefined && c.dims.length > 0 && c.dims[c.dims.length - 1] === n && n > 1;
    if (cName && !(c && (cSplit || count(c.dims) === 1))) return undefined;
    const parts = ranges(n, k * 4, this.limit);
    const bNames = this.addPieces(
      scope,
      node.inputs[1],
      parts.map(([s, e]) => (transB ? rowsOf(b, s, e) : columnsOf(b, s, e))),
    );
    const cNames =
      c && cSplit
        ? this.addPieces(
            scope,
            cName,
            parts.map(([s, e]) => {
              const rows = count(c.dims.slice(0, -1));
              return tensor(
                c,
                [...c.dims.slice(0, -1), e - s],
                columnsOf(tensor(c, [rows, n], c.data), s, e).data,
              );
            }),
          )
        : parts.map(() => cName);
    const products: Node[] = bNames.map((piece, i) => ({
      ...node,
      name: freshName(node.name),
      inputs: cName ? [node.inputs[0], piece, cNames[i]] : [node.inputs[0], piece],
      outputs: [freshName(`${node.name}_piece`)],
    }));
    return [
      ...products,
      concat(
        node,
        products.map((p) => p.outputs[0]),
        1,
      ),
    ];
  }

  /** Drops the nodes bypassed above that nothing reads any more, then the oversized constants left unread. */
  prune(root: Graph): void {
    const graphs = withBranches(root);
    const reads = (): Set<string> => {
      const read = new Set<string>();
      for (const g of graphs) {
        for (const o of g.outputs) read.add(o.name);
        for (const n of g.nodes) if (!this.bypassed.has(n)) for (const i of n.inputs) read.add(i);
      }
      return read;
    };
    const read = reads();
    for (const g of graphs)
      g.nodes = g.nodes.filter((n) => !this.bypassed.has(n) || n.outputs.some((o) => read.has(o)));
    this.bypassed.clear();
    const stillRead = reads();
    for (const g of graphs)
      for (const [name, t] of [...g.initializers])
        if (!stillRead.has(name) && count(t.dims) * 4 > this.limit) g.initializers.delete(name);
  }
}

/** `g` and the If branches nested in it, at any depth. */
function withBranches(g: Graph): Graph[] {
  return [
    g,
    ...g.nodes.flatMap((n) =>
      Object.values(n.attrs).flatMap((a) => (a.type === 'graph' ? withBranches(a.value) : [])),
    ),
  ];
}

function concat(like: Node, inputs: readonly string[], axis: number): Node {
  return {
    name: freshName(`${like.name}_concat`),
    opType: 'Concat',
    domain: '',
    attrs: { axis: { type: 'int', value: axis } },
    inputs: [...inputs],
    outputs: [...like.outputs],
  };
}

/**
 * Splits the constants of `graph` (and of its If branches) that take more than `limitBytes` once uploaded,
 * where their readers allow (see above); `packed` names the packed quantized weights, which are left alone.
 * Returns the number of nodes rewritten.
 */
export function splitOversizedConstants(
  graph: Graph,
  limitBytes: number,
  packed: ReadonlySet<string>,
): number {
  const splitter = new Splitter(limitBytes, packed);
  splitter.visit({ graph });
  if (splitter.splits > 0) splitter.prune(graph);
  return splitter.splits;
}
