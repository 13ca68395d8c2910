// Rotary fusion: x·cos + rotate_half(x)·sin, where rotate_half(x) = Concat(Neg(Slice(x, d/2:)), Slice(x, :d/2))
// over the last axis (transformers' apply_rotary_pos_emb, as both torch exporters write it) → one webvl
// Rotary node (ops/rotary.ts). Seven nodes and six intermediate tensors per query or key become one dispatch.
import { toValues } from '../ir/const-eval';
import { attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { type GraphView, replaceNodes, rewriteEach } from './pattern';

/** Slice(x, start, end) over the last axis with step 1: [start, end) clamped to d, else undefined. */
function lastAxisSlice(v: GraphView, node: Node, rank: number, d: number): [number, number] | undefined {
  if (node.opType !== 'Slice' || node.domain !== '') return undefined;
  const value = (i: number) => {
    const t = node.inputs[i] ? v.graph.initializers.get(node.inputs[i]) : undefined;
    return t && t.data.length === 1 ? Number(toValues(t).data[0]) : undefined;
  };
  const start = value(1);
  const end = value(2);
  const axis = node.inputs[3] ? value(3) : 0;
  const step = node.inputs[4] ? value(4) : 1;
  if (start === undefined || end === undefined || axis === undefined || step !== 1) return undefined;
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) return undefined;
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + d : i, 0), d);
  return [clamp(start), clamp(end)];
}

/** Whether `value` is rotate_half(x): Concat(Neg(x[h:]), x[:h]) on the last axis, h = d / 2. */
function rotateHalf(v: GraphView, value: string, shapes: ReadonlyMap<string, TypedShape>) {
  const cat = v.producedBy(value, 'Concat');
  if (cat?.inputs.length !== 2) return undefined;
  const neg = v.producedBy(cat.inputs[0], 'Neg');
  const upper = neg && v.producer.get(neg.inputs[0]);
  const lower = v.producer.get(cat.inputs[1]);
  if (!neg || !upper || !lower || upper.inputs[0] !== lower.inputs[0]) return undefined;
  const x = upper.inputs[0];
  const dims = shapes.get(x)?.dims;
  if (!dims || dims.length === 0) return undefined;
  const rank = dims.length;
  const d = dims[rank - 1];
  const axis = attrInt(cat, 'axis', 0);
  if ((axis < 0 ? axis + rank : axis) !== rank - 1 || d % 2 !== 0) return undefined;
  const hi = lastAxisSlice(v, upper, rank, d);
  const lo = lastAxisSlice(v, lower, rank, d);
  if (hi?.join() !== `${d / 2},${d}` || lo?.join() !== `0,${d / 2}`) return undefined;
  return { x, nodes: [cat, neg, upper, lower] };
}

function broadcastsTo(dims: readonly number[], target: readonly number[]): boolean {
  const off = target.length - dims.length;
  return off >= 0 && dims.at(-1) === target.at(-1) && dims.every((d, i) => d === 1 || d === target[off + i]);
}

/** Returns the number of Rotary nodes created. */
export function fuseRotary(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (add, view) => {
    if (add.opType !== 'Add' || add.domain !== '') return false;
    const v = view();
    const [m0, m1] = add.inputs.map((i) => v.producedBy(i, 'Mul'));
    if (!m0 || !m1) return false;
    for (const [plain, rotated] of [
      [m0, m1],
      [m1, m0],
    ]) {
      for (const side of [0, 1]) {
        const rot = rotateHalf(v, rotated.inputs[side], shapes);
        const sin = rotated.inputs[1 - side];
        const x = rot?.x;
        const cos = x !== undefined ? v.other(plain, x) : undefined;
        if (!rot || !cos || shapes.get(x as string)?.dtype !== 'float32') continue;
        const xd = shapes.get(x as string)?.dims ?? [];
        const cd = shapes.get(cos)?.dims;
        const sd = shapes.get(sin)?.dims;
        if (!cd || cd.join() !== sd?.join() || !broadcastsTo(cd, xd)) continue;
        if (shapes.get(add.outputs[0])?.dims.join() !== xd.join()) continue;
        const inner = [plain, rotated, ...rot.nodes];
        const innerOut = inner.filter((n) => n !== plain && n !== rotated).map((n) => n.outputs[0]);
        const private_ = [plain.outputs[0], rotated.outputs[0], ...innerOut].every((o) =>
          v.usedOnlyBy(o, [...inner, add]),
        );
        if (!private_) continue;
        replaceNodes(graph, [...inner, add], {
          name: `${add.name}_rotary`,
          opType: 'Rotary',
          domain: WEBVL_DOMAIN,
          attrs: {},
          inputs: [x as string, cos, sin],
          outputs: [add.outputs[0]],
        });
        return true;
      }
    }
    return false;
  });
}
