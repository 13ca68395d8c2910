"""onnx/model.onnx for a CLIP-layout folder from its two towers: what transformers.js' CLIPModel (and so its
zero-shot-image-classification pipeline) loads. The towers' nodes unchanged, side by side, then CLIPModel.forward's
head: normalized embeddings, logits_per_text = text · imageᵀ · exp(logit_scale), logits_per_image its transpose.

  /usr/bin/python3 models/train/combine_towers.py models/clip-tiny   (then npx tsx src/models/make-manifest.ts)
"""
import json
import sys

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper

INPUTS = ('pixel_values', 'input_ids', 'attention_mask')


def prefixed(model, prefix):
    """The tower with every internal name prefixed; its graph inputs keep their names (shared by both towers)."""
    names = {n for node in model.graph.node for n in (*node.input, *node.output)}
    names |= {i.name for i in model.graph.initializer} | {o.name for o in model.graph.output}
    mapping = {n: f'{prefix}{n}' for n in names if n and n not in INPUTS}
    return compose.add_prefix(model, prefix, rename_nodes=True, rename_edges=False, rename_inputs=False,
                              rename_outputs=False, rename_initializers=False, rename_value_infos=False), mapping


def rename(graph, mapping):
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for t in graph.initializer:
        t.name = mapping.get(t.name, t.name)
    for o in graph.output:
        o.name = mapping.get(o.name, o.name)
    del graph.value_info[:]


def combine(folder):
    config = json.load(open(f'{folder}/config.json'))
    vision = onnx.load(f'{folder}/onnx/vision_model.onnx')
    text = onnx.load(f'{folder}/onnx/text_model.onnx')
    vision, vmap = prefixed(vision, 'vision/')
    text, tmap = prefixed(text, 'text/')
    rename(vision.graph, vmap)
    rename(text.graph, tmap)
    scale = np.array(np.exp(config['logit_scale']), dtype=np.float32)
    head = [
        helper.make_node('ReduceL2', ['vision/image_embeds'], ['image_norm'], axes=[-1], keepdims=1),
        helper.make_node('Div', ['vision/image_embeds', 'image_norm'], ['image_embeds']),
        helper.make_node('ReduceL2', ['text/text_embeds'], ['text_norm'], axes=[-1], keepdims=1),
        helper.make_node('Div', ['text/text_embeds', 'text_norm'], ['text_embeds']),
        helper.make_node('Transpose', ['image_embeds'], ['image_embeds_t'], perm=[1, 0]),
        helper.make_node('MatMul', ['text_embeds', 'image_embeds_t'], ['text_image_cosine']),
        helper.make_node('Mul', ['text_image_cosine', 'logit_scale_exp'], ['logits_per_text']),
        helper.make_node('Transpose', ['logits_per_text'], ['logits_per_image'], perm=[1, 0]),
    ]
    dims = lambda *d: d  # noqa: E731
    outputs = [
        helper.make_tensor_value_info('logits_per_image', onnx.TensorProto.FLOAT, dims('image_batch_size', 'text_batch_size')),
        helper.make_tensor_value_info('logits_per_text', onnx.TensorProto.FLOAT, dims('text_batch_size', 'image_batch_size')),
        helper.make_tensor_value_info('text_embeds', onnx.TensorProto.FLOAT, dims('text_batch_size', None)),
        helper.make_tensor_value_info('image_embeds', onnx.TensorProto.FLOAT, dims('image_batch_size', None)),
    ]
    inputs = [*text.graph.input, *vision.graph.input]
    graph = helper.make_graph(
        [*vision.graph.node, *text.graph.node, *head], 'clip_combined', inputs, outputs,
        [*vision.graph.initializer, *text.graph.initializer, numpy_helper.from_array(scale, 'logit_scale_exp')])
    model = helper.make_model(graph, opset_imports=list(vision.opset_import), producer_name='webvl combine_towers')
    model.ir_version = vision.ir_version
    onnx.checker.check_model(model)
    onnx.save(model, f'{folder}/onnx/model.onnx')
    print(f'{folder}/onnx/model.onnx: inputs {[i.name for i in inputs]}, outputs {[o.name for o in outputs]}')


if __name__ == '__main__':
    combine(sys.argv[1])
