#!/usr/bin/env python3
"""Graphs whose constants outgrow a small storage-binding limit, for tests/engine/webgpu/oversized.test.ts:
the engine loads them with maxBindingBytes = 8192 and must split the 300 x 24 tables (28.8 KB) into pieces,
matching onnxruntime-node.

  /usr/bin/python3 scripts/make_oversized_graphs.py     # writes tests/corpus/oversized/*.onnx
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "oversized")
V, D, B, S, M = 300, 24, 2, 5, 3
rng = np.random.default_rng(11)


def const(name, shape, dtype=np.float32):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, list(shape))


def save(name, nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, f"{name}.onnx"))
    print("wrote", name)


def main():
    os.makedirs(OUT, exist_ok=True)
    ids = vi("ids", TensorProto.INT64, (B, S))
    a = vi("a", TensorProto.FLOAT, (M, D))
    # Tied embeddings: the table read by Gather and, transposed, as the LM head.
    save("tied_lm_head",
         [helper.make_node("Gather", ["table", "ids"], ["emb"]),
          helper.make_node("Mul", ["emb", "half"], ["h"]),
          helper.make_node("Transpose", ["table"], ["head"], perm=[1, 0]),
          helper.make_node("MatMul", ["h", "head"], ["logits"])],
         [ids], [vi("emb", TensorProto.FLOAT, (B, S, D)), vi("logits", TensorProto.FLOAT, (B, S, V))],
         [const("table", [V, D]), numpy_helper.from_array(np.array(0.5, np.float32), "half")])
    save("gemm_trans_b_bias",
         [helper.make_node("Gemm", ["a", "w", "c"], ["y"], transB=1, alpha=0.7, beta=1.3)],
         [a], [vi("y", TensorProto.FLOAT, (M, V))], [const("w", [V, D]), const("c", [V])])
    save("gemm_scalar_c",
         [helper.make_node("Gemm", ["a", "w", "c"], ["y"], alpha=0.5, beta=2.0)],
         [a], [vi("y", TensorProto.FLOAT, (M, V))], [const("w", [D, V]), const("c", [1])])
    save("matmul_cast_f16",
         [helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT),
          helper.make_node("MatMul", ["a", "w"], ["y"])],
         [a], [vi("y", TensorProto.FLOAT, (M, V))], [const("w16", [D, V], np.float16)])
    # A merged decoder's pattern: the table read inside both branches of an If on an input.
    then_g = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["y_then"])], "then", [],
                               [vi("y_then", TensorProto.FLOAT, (B, S, D))])
    else_g = helper.make_graph([helper.make_node("Gather", ["table", "ids"], ["g"]),
                                helper.make_node("Mul", ["g", "two"], ["y_else"])], "else", [],
                               [vi("y_else", TensorProto.FLOAT, (B, S, D))],
                               [numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    save("table_in_if_branches",
         [helper.make_node("If", ["use_cache_branch"], ["y"], then_branch=then_g, else_branch=else_g)],
         [ids, vi("use_cache_branch", TensorProto.BOOL, (1,))], [vi("y", TensorProto.FLOAT, (B, S, D))],
         [const("table", [V, D])])
    # A reader that cannot be split: the table stays whole and load() refuses it.
    save("refused_add",
         [helper.make_node("Add", ["x", "table"], ["y"])],
         [vi("x", TensorProto.FLOAT, (V, D))], [vi("y", TensorProto.FLOAT, (V, D))], [const("table", [V, D])])


if __name__ == "__main__":
    main()
