"""decoder_model_merged.onnx as Optimum writes it: one If on `use_cache_branch` whose branches are two torch exports
of the same decoder (first step without a cache / a step with past key/values), reading the outer graph's inputs and
sharing its weights (initializers de-duplicated by content). The engine's test graphs (scripts/make_merged_decoder.py,
scripts/llama_lm.py) are merged here too."""
from __future__ import annotations

import hashlib

import onnx
from onnx import TensorProto, helper


def branch(model: onnx.ModelProto, prefix: str, shared: dict) -> onnx.GraphProto:
    """The export's graph as an If branch: no inputs, local names prefixed, weights moved to `shared`."""
    g = model.graph
    outer = {i.name for i in g.input}
    local = {o for n in g.node for o in n.output}
    rename = {}
    for t in g.initializer:
        digest = hashlib.sha1(t.raw_data or t.SerializeToString()).hexdigest()[:16]
        name = f"w_{digest}_{'x'.join(map(str, t.dims))}_{t.data_type}"
        rename[t.name] = name
        if name not in shared:
            t.name = name
            shared[name] = t
    for name in local:
        rename[name] = prefix + name
    for n in g.node:
        n.input[:] = [i if i in outer else rename.get(i, i) for i in n.input]
        n.output[:] = [rename.get(o, o) for o in n.output]
        n.name = prefix + (n.name or n.op_type)
    outputs = [helper.make_tensor_value_info(rename.get(o.name, o.name), o.type.tensor_type.elem_type, None)
               for o in g.output]
    return helper.make_graph(list(g.node), prefix.strip("/"), [], outputs)


def merged(first_path: str, cached_path: str, inputs: list, outputs: list) -> onnx.ModelProto:
    """The merged model of two exports. inputs/outputs: value infos of the merged graph (the If's condition
    `use_cache_branch` is appended)."""
    shared: dict = {}
    then_branch = branch(onnx.load(cached_path), "with_past/", shared)
    else_branch = branch(onnx.load(first_path), "first/", shared)
    for br in (then_branch, else_branch):  # both branches must give the outer outputs in order
        if len(br.output) != len(outputs):
            raise RuntimeError(f"branch {br.name}: {len(br.output)} outputs, expected {len(outputs)}")
    cond = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    node = helper.make_node("If", ["use_cache_branch"], [o.name for o in outputs], name="optimum::if",
                            then_branch=then_branch, else_branch=else_branch)
    graph = helper.make_graph([node], "merged", [*inputs, cond], outputs, list(shared.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def merge(first_path: str, cached_path: str, out_path: str, inputs: list, outputs: list) -> onnx.ModelProto:
    """merged(), saved to out_path."""
    model = merged(first_path, cached_path, inputs, outputs)
    onnx.save(model, out_path)
    return model
