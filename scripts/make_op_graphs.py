#!/usr/bin/env python3
"""float32 graphs of op forms the ONNX node tests only cover in float64 (Einsum) or not at all, for the engine
tests against onnxruntime-node (tests/engine/webgpu/op-forms.test.ts).

  /usr/bin/python3 scripts/make_op_graphs.py      # writes tests/corpus/ops/*.onnx
"""
import os

from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "ops")

EINSUM = {
    "einsum_batch_matmul": ("bij,bjk->bik", [[2, 3, 5], [2, 5, 4]]),
    "einsum_attention_scores": ("bhid,bhjd->bhij", [[1, 2, 3, 8], [1, 2, 5, 8]]),
    "einsum_shared_weight": ("bij,jk->bik", [[2, 3, 5], [5, 6]]),
    "einsum_inner_product": ("i,i", [[7], [7]]),
    "einsum_transpose": ("ij->ji", [[3, 4]]),
    "einsum_row_sum": ("ij->i", [[3, 4]]),
    "einsum_outer_sum": ("ij,k->ik", [[3, 4], [5]]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (eq, shapes) in EINSUM.items():
        inputs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, s) for i, s in enumerate(shapes)]
        node = helper.make_node("Einsum", [f"x{i}" for i in range(len(shapes))], ["y"], equation=eq)
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        m = helper.make_model(helper.make_graph([node], name, inputs, [out]), opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
            f.write(m.SerializeToString())
        print("wrote", name, eq)


if __name__ == "__main__":
    main()
