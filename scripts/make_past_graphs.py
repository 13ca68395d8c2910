#!/usr/bin/env python3
"""One-layer decoders whose positions come from the past's length, for tests/engine/webgpu/past-capacity.test.ts:
positions as Range(past, past + s) into a learned table (BART's form) and as a Slice of the table's rows
[past, past + s) (Whisper's form), which the engine plans at a fixed KV-cache capacity; and as sinusoids
computed from the Range (a float derived from the length: the engine cannot rewrite it and cuts the past to
its length instead).

  /usr/bin/python3 scripts/make_past_graphs.py     # writes tests/corpus/past/*.onnx
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "past")
VOCAB, WIDTH, HEADS, HEAD = 16, 16, 2, 8
MAX_POSITIONS = 40


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def decoder(form):
    sinusoid = form == "sinusoid"
    rng = np.random.default_rng(7)
    w = lambda *shape: (rng.standard_normal(shape) * 0.5).astype(np.float32)  # noqa: E731
    inits = [
        const("tok", w(VOCAB, WIDTH)), const("wq", w(WIDTH, WIDTH)), const("wk", w(WIDTH, WIDTH)),
        const("wv", w(WIDTH, WIDTH)), const("wo", w(WIDTH, VOCAB)),
        const("heads", np.array([0, 0, HEADS, HEAD], np.int64)), const("merged", np.array([0, 0, WIDTH], np.int64)),
        const("two", np.array(2, np.int64)), const("one_i", np.array(1, np.int64)),
        const("one", np.array(1, np.int64)), const("scale", np.array(HEAD ** -0.5, np.float32)),
    ]
    nodes = [
        helper.make_node("Gather", ["tok", "input_ids"], ["tok_emb"]),
        helper.make_node("Shape", ["past_key_values.0.key"], ["past_shape"]),
        helper.make_node("Gather", ["past_shape", "two"], ["past_len"], axis=0),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one_i"], ["seq_len"], axis=0),
        helper.make_node("Add", ["past_len", "seq_len"], ["end"]),
        helper.make_node("Range", ["past_len", "end", "one"], ["positions"]),
    ]
    if sinusoid:
        nodes += [
            helper.make_node("Cast", ["positions"], ["positions_f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["positions_f", "one_axis"], ["positions_col"]),
            helper.make_node("Mul", ["positions_col", "freq"], ["angles"]),
            helper.make_node("Sin", ["angles"], ["pos_emb"]),
        ]
        inits += [const("one_axis", np.array([1], np.int64)), const("freq", (0.3 ** np.arange(WIDTH)).astype(np.float32))]
    elif form == "slice":
        inits += [const("pos_table", w(MAX_POSITIONS, WIDTH)), const("zero_axis", np.array([0], np.int64))]
        nodes += [
            helper.make_node("Unsqueeze", ["past_len", "zero_axis"], ["start"]),
            helper.make_node("Unsqueeze", ["end", "zero_axis"], ["stop"]),
            helper.make_node("Slice", ["pos_table", "start", "stop", "zero_axis"], ["pos_emb"]),
        ]
    else:
        inits.append(const("pos_table", w(MAX_POSITIONS, WIDTH)))
        nodes.append(helper.make_node("Gather", ["pos_table", "positions"], ["pos_emb"]))
    nodes += [helper.make_node("Add", ["tok_emb", "pos_emb"], ["h"])]
    for p in "qkv":
        nodes += [
            helper.make_node("MatMul", ["h", f"w{p}"], [f"{p}_flat"]),
            helper.make_node("Reshape", [f"{p}_flat", "heads"], [f"{p}_split"]),
            helper.make_node("Transpose", [f"{p}_split"], [f"{p}_heads"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        helper.make_node("Concat", ["past_key_values.0.key", "k_heads"], ["present.0.key"], axis=2),
        helper.make_node("Concat", ["past_key_values.0.value", "v_heads"], ["present.0.value"], axis=2),
        helper.make_node("Transpose", ["present.0.key"], ["keys_t"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q_heads", "keys_t"], ["scores_raw"]),
        helper.make_node("Mul", ["scores_raw", "scale"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "present.0.value"], ["context"]),
        helper.make_node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["context_t", "merged"], ["context_flat"]),
        helper.make_node("MatMul", ["context_flat", "wo"], ["logits"]),
    ]
    past = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", HEADS, "past", HEAD])  # noqa: E731
    present = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", HEADS, "total", HEAD])  # noqa: E731
    graph = helper.make_graph(
        nodes, f"{form}_positions",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         past("past_key_values.0.key"), past("past_key_values.0.value")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB]),
         present("present.0.key"), present("present.0.value")],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    for form in ("range", "slice", "sinusoid"):
        onnx.save(decoder(form), os.path.join(OUT, f"{form}_positions.onnx"))
        print("wrote", form)


if __name__ == "__main__":
    main()
