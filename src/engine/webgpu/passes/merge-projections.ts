// Projection merging: Linear nodes that read the same input and feed only attention (Q, K, V; or K and V of
// cross-attention) become one Linear with concatenated weights, and the attention views read their slice of
// its output (a column offset and rescaled row strides). One wider matmul instead of two or three.
import type { HostTensor } from '../../tensor';
import { attrInt, attrInts, attrString, freshName, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { derivedConstant } from './derived-constants';
import { GraphView } from './pattern';

/** A constant [K, N] weight, float32 or float16 (kept half by keep-half-weights). */
function weight(v: GraphView, node: Node): HostTensor | undefined {
  const w = v.graph.initializers.get(node.inputs[1]);
  return w && (w.dtype === 'float32' || w.dtype === 'float16') && w.dims.length === 2 ? w : undefined;
}

/** Maps an element stride/start of a view on a [rows, n] tensor to the same element of [rows, total] at `offset`. */
function remap(
  view: { strides: readonly number[]; shape: readonly number[]; start: number },
  n: number,
  total: number,
  offset: number,
): { strides: number[]; start: number } | undefined {
  let colSpan = view.start % n;
  const strides = view.strides.map((s, i) => {
    if (s >= n) return s % n === 0 ? (s / n) * total : Number.NaN;
    colSpan += (view.shape[i] - 1) * s;
    return s;
  });
  if (strides.some(Number.isNaN) || colSpan >= n) return undefined;
  return { strides, start: Math.floor(view.start / n) * total + offset + (view.start % n) };
}

const SLOTS = ['q', 'k', 'v'] as const;

/** Returns the number of Linear nodes removed by merging. Needs shapes; updates them for the merged value. */
export function mergeProjections(graph: Graph, shapes: Map<string, TypedShape>): number {
  const v = new GraphView(graph);
  const groups = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    if (n.domain !== WEBVL_DOMAIN || n.opType !== 'Linear') continue;
    if (attrInt(n, 'transB', 0) !== 0 || attrString(n, 'activation', 'none') !== 'none' || !weight(v, n))
      continue;
    if (n.inputs[2] && !graph.initializers.has(n.inputs[2])) continue;
    const readers = v.consumers.get(n.outputs[0]) ?? [];
    const onlyAttention =
      !v.outputs.has(n.outputs[0]) &&
      readers.length > 0 &&
      readers.every(
        (r) => r.domain === WEBVL_DOMAIN && r.opType === 'Attention' && r.inputs.indexOf(n.outputs[0]) <= 2,
      );
    if (!onlyAttention) continue;
    const w = weight(v, n);
    const key = `${n.inputs[0]}|${n.inputs[2] ? 'bias' : 'nobias'}|${w?.dims[0]}|${w?.dtype}`;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  let removed = 0;
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const weights = group.map((n) => weight(v, n) as HostTensor);
    const k = weights[0].dims[0];
    const widths = weights.map((w) => w.dims[1]);
    const total = widths.reduce((a, b) => a + b, 0);
    const offsets = widths.map((_, i) => widths.slice(0, i).reduce((a, b) => a + b, 0));
    // Every attention view on a member must be expressible on the merged output, or nothing changes.
    const edits: { node: Node; slot: number; strides: number[]; start: number; source: string }[] = [];
    let ok = true;
    for (const [gi, member] of group.entries()) {
      for (const reader of v.consumers.get(member.outputs[0]) ?? []) {
        reader.inputs.forEach((input, slot) => {
          if (input !== member.outputs[0] || slot > 2) return;
          const p = SLOTS[slot];
          const mapped = remap(
            {
              strides: attrInts(reader, `${p}_strides`) ?? [],
              shape: attrInts(reader, `${p}_shape`) ?? [],
              start: attrInt(reader, `${p}_start`, 0),
            },
            widths[gi],
            total,
            offsets[gi],
          );
          if (!mapped) ok = false;
          else edits.push({ node: reader, slot, ...mapped, source: '' });
        });
      }
    }
    if (!ok) continue;
    const dtype = weights[0].dtype;
    const wName = freshName('merged_w');
    graph.initializers.set(
      wName,
      derivedConstant(weights, 'merged_w', () => {
        const mergedW = dtype === 'float16' ? new Uint16Array(k * total) : new Float32Array(k * total);
        weights.forEach((w, gi) => {
          const data = w.data as typeof mergedW;
          for (let r = 0; r < k; r++)
            mergedW.set(data.subarray(r * widths[gi], (r + 1) * widths[gi]), r * total + offsets[gi]);
        });
        return { location: 'cpu', dtype, dims: [k, total], data: mergedW };
      }),
    );
    let bName = '';
    if (group[0].inputs[2]) {
      const biases = group.map((n) => graph.initializers.get(n.inputs[2]) as HostTensor);
      bName = freshName('merged_b');
      graph.initializers.set(
        bName,
        derivedConstant(biases, 'merged_b', () => {
          const mergedB = new Float32Array(total);
          biases.forEach((b, gi) => {
            mergedB.set(b.data as Float32Array, offsets[gi]);
          });
          return { location: 'cpu', dtype: 'float32', dims: [total], data: mergedB };
        }),
      );
    }
    const out = freshName('merged_proj');
    const x = shapes.get(group[0].inputs[0]);
    if (!x) continue;
    shapes.set(out, { dtype: 'float32', dims: [...x.dims.slice(0, -1), total] });
    const merged: Node = {
      name: `${group[0].name}_merged`,
      opType: 'Linear',
      domain: WEBVL_DOMAIN,
      attrs: { transB: { type: 'int', value: 0 }, activation: { type: 'string', value: 'none' } },
      inputs: [group[0].inputs[0], wName, bName],
      outputs: [out],
    };
    for (const e of edits) {
      const p = SLOTS[e.slot];
      e.node.inputs[e.slot] = out;
      e.node.attrs[`${p}_strides`] = { type: 'ints', value: e.strides };
      e.node.attrs[`${p}_start`] = { type: 'int', value: e.start };
    }
    const first = graph.nodes.indexOf(group[0]);
    graph.nodes = graph.nodes.filter((n) => !group.includes(n));
    graph.nodes.splice(Math.min(first, graph.nodes.length), 0, merged);
    removed += group.length - 1;
  }
  return removed;
}
