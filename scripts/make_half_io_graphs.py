#!/usr/bin/env python3
"""tests/corpus/llava-random/onnx/*_fp16.onnx: the llava-random graphs in the form of transformers.js VLM folders'
fp16 / q4f16 files: every float input and output is float16 (image_features, inputs_embeds, the past and present
keys and values, logits) but pixel_values, which the image processor gives as float32 (transformers.js feeds it
so), and the top-level float weights are stored as float16. Inside, each is cast back to float32, so onnxruntime's CPU
provider (which lacks float16 kernels for some ops) runs them as the reference. Run from the repository root:

  /usr/bin/python3 scripts/make_half_io_graphs.py
"""
import onnx
from onnx import TensorProto, helper, numpy_helper

DIR = 'tests/corpus/llava-random/onnx'
GRAPHS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged']
KEEP_FLOAT32 = {'pixel_values'}


def rename_uses(graph, old, new):
    """Points every use of value `old` (in this graph and in the subgraphs that see it) at `new`."""
    for node in graph.node:
        node.input[:] = [new if i == old else i for i in node.input]
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                rename_uses(attr.g, old, new)
            for g in attr.graphs:
                rename_uses(g, old, new)


def halve(model):
    graph = model.graph
    front = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init).astype('float16')
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values, f'{name}_fp16'))
        front.append(helper.make_node('Cast', [f'{name}_fp16'], [name], to=TensorProto.FLOAT,
                                      name=f'{name}_widen'))
    for value in graph.input:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT or value.name in KEEP_FLOAT32:
            continue
        value.type.tensor_type.elem_type = TensorProto.FLOAT16
        rename_uses(graph, value.name, f'{value.name}_f32')
        front.append(helper.make_node('Cast', [value.name], [f'{value.name}_f32'], to=TensorProto.FLOAT,
                                      name=f'{value.name}_widen'))
    back = []
    for value in graph.output:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        value.type.tensor_type.elem_type = TensorProto.FLOAT16
        for node in graph.node:
            node.output[:] = [f'{value.name}_f32' if o == value.name else o for o in node.output]
        back.append(helper.make_node('Cast', [f'{value.name}_f32'], [value.name], to=TensorProto.FLOAT16,
                                     name=f'{value.name}_narrow'))
    nodes = front + list(graph.node) + back
    del graph.node[:]
    graph.node.extend(nodes)
    # Shapes inferred for the float32 values no longer hold for the renamed ones.
    del graph.value_info[:]
    return model


def main():
    for name in GRAPHS:
        model = halve(onnx.load(f'{DIR}/{name}.onnx'))
        onnx.checker.check_model(model)
        onnx.save(model, f'{DIR}/{name}_fp16.onnx')
        io = [(v.name, TensorProto.DataType.Name(v.type.tensor_type.elem_type))
              for v in list(model.graph.input) + list(model.graph.output)]
        print(f'{name}_fp16.onnx: {io}')


if __name__ == '__main__':
    main()
