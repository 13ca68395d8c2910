// Transpose → Concat fusion: inputs of a Concat that are transposes (the new keys/values a decoder step appends
// to its KV cache: Reshape → Transpose → Concat(past, new)) are copied into the output straight from the
// untransposed tensor with strided copies, so the transposed copy is never materialized. Transpose → Split the
// same way: each part is one strided copy from the untransposed tensor (a vision attention's fused projection
// split into q, k and v: Reshape → Transpose(1, 0, 2, 3) → Split on axis 0, as Qwen2-VL's `unbind(0)` exports).
import { strides as contiguous } from '../ir/const-eval';
import { attrInt, attrInts, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';
import { replaceNodes, replaceNodesWith, rewriteEach } from './pattern';

/** Returns the number of transposes absorbed. */
export function fuseTransposeConcat(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  let absorbed = 0;
  rewriteEach(graph, (concat, view) => {
    if (concat.domain !== '' || concat.opType !== 'Concat') return false;
    const v = view();
    const outDims = shapes.get(concat.outputs[0])?.dims;
    if (!outDims || concat.inputs.some((i) => !i || v.isConstant(i))) return false;
    const removed: Node[] = [];
    const attrs: Node['attrs'] = {
      axis: { type: 'int', value: attrInt(concat, 'axis', 0) },
      out_dims: { type: 'ints', value: [...outDims] },
    };
    const sources = concat.inputs.map((input, i) => {
      const dims = shapes.get(input)?.dims ?? [];
      const tr = v.producedBy(input, 'Transpose');
      const srcDims = tr ? shapes.get(tr.inputs[0])?.dims : undefined;
      if (tr && srcDims && v.onlyConsumer(input) === concat && !v.isConstant(tr.inputs[0])) {
        const perm = attrInts(tr, 'perm') ?? srcDims.map((_, d) => srcDims.length - 1 - d);
        const own = contiguous(srcDims);
        attrs[`strides_${i}`] = { type: 'ints', value: perm.map((p) => own[p]) };
        removed.push(tr);
        return tr.inputs[0];
      }
      attrs[`strides_${i}`] = { type: 'ints', value: contiguous(dims) };
      return input;
    });
    if (removed.length === 0) return false;
    const fused: Node = {
      name: `${concat.name}_strided`,
      opType: 'StridedConcat',
      domain: WEBVL_DOMAIN,
      attrs,
      inputs: sources,
      outputs: [...concat.outputs],
    };
    // Each input's logical dims are the Concat input's dims; keep them for the lowering.
    concat.inputs.forEach((input, i) => {
      fused.attrs[`dims_${i}`] = { type: 'ints', value: [...(shapes.get(input)?.dims ?? [])] };
    });
    replaceNodes(graph, [...removed, concat], fused);
    absorbed += removed.length;
    return true;
  });
  return absorbed;
}

/** Returns the number of transposes absorbed into the Splits that read them. */
export function fuseTransposeSplit(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): number {
  return rewriteEach(graph, (split, view) => {
    if (split.domain !== '' || split.opType !== 'Split') return false;
    const v = view();
    const tr = v.producedBy(split.inputs[0], 'Transpose');
    const srcDims = tr ? shapes.get(tr.inputs[0])?.dims : undefined;
    const dims = shapes.get(split.inputs[0])?.dims;
    if (!tr || !srcDims || !dims || v.onlyConsumer(split.inputs[0]) !== split || v.isConstant(tr.inputs[0]))
      return false;
    const outs = split.outputs.map((o) => shapes.get(o)?.dims);
    if (outs.some((d) => !d)) return false;
    const rank = dims.length;
    const axis = (attrInt(split, 'axis', 0) + rank) % rank;
    const perm = attrInts(tr, 'perm') ?? srcDims.map((_, d) => srcDims.length - 1 - d);
    const own = contiguous(srcDims);
    const strides = perm.map((p) => own[p]);
    let offset = 0;
    const parts = split.outputs.map((out, i): Node => {
      const outDims = outs[i] as readonly number[];
      const part: Node = {
        name: `${split.name}_strided_${i}`,
        opType: 'StridedConcat',
        domain: WEBVL_DOMAIN,
        attrs: {
          axis: { type: 'int', value: axis },
          out_dims: { type: 'ints', value: [...outDims] },
          dims_0: { type: 'ints', value: [...outDims] },
          strides_0: { type: 'ints', value: strides },
          start_0: { type: 'int', value: offset * strides[axis] },
        },
        inputs: [tr.inputs[0]],
        outputs: [out],
      };
      offset += outDims[axis];
      return part;
    });
    replaceNodesWith(graph, [tr, split], parts);
    return true;
  });
}
