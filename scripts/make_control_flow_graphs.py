#!/usr/bin/env python3
"""If nodes whose condition is computed from run-time data, for tests/engine/webgpu/control-flow.test.ts:
the engine reads each condition back from a probe plan and plans on the branch taken.

  /usr/bin/python3 scripts/make_control_flow_graphs.py     # writes tests/corpus/control-flow/*.onnx
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "control-flow")
N = 128  # above MAX_STEERING_ELEMENTS, so x is data and the conditions are computed on the GPU


def vi(name, shape=(N,), elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, list(shape) if shape is not None else None)


def scalar(name, v):
    return numpy_helper.from_array(np.array(v, np.float32), name)


def main():
    os.makedirs(OUT, exist_ok=True)
    # then: 2x, and inside it a nested If on max(x) > 1 (x + 1 or x - 1); else: -x, then a second If on the
    # first one's output (chained: its condition depends on an If).
    inner_then = helper.make_graph([helper.make_node("Add", ["x2", "one"], ["yi"])], "inner_then", [], [vi("yi")])
    inner_else = helper.make_graph([helper.make_node("Sub", ["x2", "one"], ["ye"])], "inner_else", [], [vi("ye")])
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["x2"]),
         helper.make_node("ReduceMax", ["x"], ["mx"], keepdims=0),
         helper.make_node("Greater", ["mx", "one"], ["big"]),
         helper.make_node("If", ["big"], ["t"], then_branch=inner_then, else_branch=inner_else)],
        "then", [], [vi("t")])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [vi("e")])
    second_then = helper.make_graph([helper.make_node("Sqrt", ["h"], ["s"])], "second_then", [], [vi("s")])
    second_else = helper.make_graph([helper.make_node("Mul", ["h", "h"], ["q"])], "second_else", [], [vi("q")])
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["sum"], keepdims=0),
        helper.make_node("Greater", ["sum", "zero"], ["positive"]),
        helper.make_node("If", ["positive"], ["h0"], then_branch=then_g, else_branch=else_g),
        helper.make_node("Abs", ["h0"], ["h"]),
        helper.make_node("ReduceMean", ["h"], ["mean"], keepdims=0),
        helper.make_node("Less", ["mean", "one"], ["small"]),
        helper.make_node("If", ["small"], ["y"], then_branch=second_then, else_branch=second_else),
    ]
    g = helper.make_graph(nodes, "run_time_if", [vi("x")], [vi("y")],
                          [scalar("zero", 0.0), scalar("one", 1.0), scalar("two", 2.0)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "run_time_if.onnx"))
    print("wrote run_time_if")


if __name__ == "__main__":
    main()
