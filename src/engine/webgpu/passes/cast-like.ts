// CastLike casts to the dtype of its second input. Once shapes are known, that dtype is written on the node as
// Cast's `to`, so the lowering casts exactly as Cast does (a float16 target rounds to half precision, although
// float16 values are held as f32 views on the GPU and the view's dtype would not tell).
import { ONNX_TO } from '../ir/const-eval';
import type { Graph } from '../ir/ir';
import type { TypedShape } from '../ir/op-shapes';

/** The ONNX element type of each dtype: its own code (6 for int32), not one of the types it holds (uint16's 4). */
const ONNX_CODE = new Map<string, number>();
for (const code of [1, 2, 3, 6, 7, 9, 10]) ONNX_CODE.set(ONNX_TO[code], code);

export function castLikeTargets(graph: Graph, shapes: ReadonlyMap<string, TypedShape>): void {
  for (const node of graph.nodes) {
    if (node.opType !== 'CastLike' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    if (node.attrs.to) continue; // a narrowed declared type, written at decode (onnx-decode.ts)
    const dtype = shapes.get(node.inputs[1])?.dtype;
    const code = dtype && ONNX_CODE.get(dtype);
    if (code) node.attrs.to = { type: 'int', value: code };
  }
}
