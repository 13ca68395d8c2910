// A graph as a float16 export without keep_io_types presents itself: every float32 input and output declared
// float16, cast to and from float32 at the edges (the weights and the arithmetic inside stay float32). For tests
// of the float16 interface; scripts/make_half_io_graphs.py does the same for the committed llava-random files.
import type * as protoModule from 'onnx-proto';
import { onnx } from './onnx-proto';

const FLOAT = 1;
const FLOAT16 = 10;

export function withHalfIo(model: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph;
  if (!graph) throw new Error('no graph');
  const nodes = graph.node ?? [];
  const front: protoModule.onnx.INodeProto[] = [];
  const back: protoModule.onnx.INodeProto[] = [];
  const cast = (from: string, to: string, type: number): protoModule.onnx.INodeProto => ({
    opType: 'Cast',
    name: `${to}_cast`,
    input: [from],
    output: [to],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: type }],
  });
  for (const v of graph.input ?? []) {
    const tensor = v.type?.tensorType;
    if (!tensor || tensor.elemType !== FLOAT || !v.name) continue;
    tensor.elemType = FLOAT16;
    const widened = `${v.name}_f32`;
    for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === v.name ? widened : i));
    front.push(cast(v.name, widened, FLOAT));
  }
  for (const v of graph.output ?? []) {
    const tensor = v.type?.tensorType;
    if (!tensor || tensor.elemType !== FLOAT || !v.name) continue;
    tensor.elemType = FLOAT16;
    const full = `${v.name}_f32`;
    for (const n of nodes) {
      n.output = (n.output ?? []).map((o) => (o === v.name ? full : o));
      n.input = (n.input ?? []).map((i) => (i === v.name ? full : i));
    }
    back.push(cast(full, v.name, FLOAT16));
  }
  graph.node = [...front, ...nodes, ...back];
  graph.valueInfo = [];
  return onnx.ModelProto.encode(m).finish();
}
