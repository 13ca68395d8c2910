#!/usr/bin/env python3
"""float32 graphs of op forms the ONNX node tests only cover in float64 (Einsum) or not at all (Resize's opset
18-19 forms and modes the node tests skip, GroupNormalization), for the engine tests against onnxruntime-node
(tests/engine/webgpu/op-forms.test.ts), and the tiled pools our engine claims. Every graph reads float inputs and
writes `y`.

  /usr/bin/python3 scripts/make_op_graphs.py      # writes tests/corpus/ops/*.onnx
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

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

# Resize: (attributes, input dims, roi, scales, sizes, opset). Coordinate modes, nearest roundings and cubic
# options; align_corners and the other length-dependent modes with sizes or whole products scale · in, where
# onnxruntime and the ONNX reference agree (ir/resize-params.ts).
RESIZE = {
    "resize_linear_half_pixel": (dict(mode="linear"), [1, 2, 5, 6], None, [1, 1, 1.6, 0.5], None, 13),
    "resize_linear_pytorch_sizes": (dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
                                    [2, 3, 4, 4], None, None, [2, 3, 7, 1], 13),
    "resize_linear_align_corners": (dict(mode="linear", coordinate_transformation_mode="align_corners"),
                                    [1, 1, 4, 6], None, None, [1, 1, 7, 3], 13),
    "resize_linear_3d": (dict(mode="linear"), [3, 4, 5], None, [1, 2, 0.6], None, 13),
    "resize_cubic_exclude_outside": (dict(mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1),
                                     [1, 2, 5, 5], None, None, [1, 2, 8, 3], 13),
    "resize_cubic_asymmetric": (dict(mode="cubic", coordinate_transformation_mode="asymmetric"),
                                [1, 1, 4, 6], None, [1, 1, 1.5, 0.5], None, 13),
    "resize_cubic_align_corners": (dict(mode="cubic", coordinate_transformation_mode="align_corners"),
                                   [1, 1, 5, 4], None, None, [1, 1, 3, 9], 13),
    "resize_nearest_prefer_ceil_asymmetric": (dict(mode="nearest", nearest_mode="round_prefer_ceil",
                                                   coordinate_transformation_mode="asymmetric"),
                                              [1, 2, 3, 5], None, [1, 1, 2.5, 1.4], None, 13),
    "resize_nearest_floor_align_corners": (dict(mode="nearest", nearest_mode="floor",
                                                coordinate_transformation_mode="align_corners"),
                                           [1, 1, 6, 5], None, None, [1, 1, 4, 8], 13),
    "resize_nearest_ceil_half_pixel": (dict(mode="nearest", nearest_mode="ceil"), [2, 1, 7, 3], None,
                                       [1, 1, 0.5, 3], None, 13),
    "resize_nearest_tf_half_pixel_for_nn": (dict(mode="nearest",
                                                 coordinate_transformation_mode="tf_half_pixel_for_nn"),
                                            [1, 1, 4, 6], None, [1, 1, 1.5, 0.5], None, 11),
    "resize_tf_crop_and_resize": (dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize",
                                       extrapolation_value=-3.0),
                                  [1, 1, 6, 5], [0, 0, -0.1, 0.2, 1, 1, 0.9, 1.3], None, [1, 1, 4, 7], 13),
    "resize_axes_not_larger": (dict(mode="linear", axes=[2, 3], keep_aspect_ratio_policy="not_larger"),
                               [1, 2, 4, 6], None, None, [6, 6], 18),
    "resize_axes_not_smaller_nearest": (dict(mode="nearest", axes=[3, 2], keep_aspect_ratio_policy="not_smaller"),
                                        [1, 2, 4, 6], None, None, [5, 3], 18),
    "resize_half_pixel_symmetric": (dict(mode="linear", coordinate_transformation_mode="half_pixel_symmetric"),
                                    [1, 1, 4, 5], None, [1, 1, 2.5, 0.75], None, 19),
}

# GroupNormalization: (input dims, groups, opset): per-group scale and bias at 18, per channel at 21.
GROUP_NORM = {
    "group_norm_18": ([2, 6, 3, 4], 3, 18),
    "group_norm_21": ([2, 8, 5], 4, 21),
    "group_norm_21_one_group": ([1, 4, 2, 3, 2], 1, 21),
}


def save(name, nodes, inputs, inits, opset):
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, name, inputs, [out], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    print("wrote", name)


def resize_graphs():
    for name, (attrs, dims, roi, scales, sizes, opset) in RESIZE.items():
        inits = []
        names = ["x", "", "", ""]
        if opset < 13 and roi is None:
            roi = []  # opset 11's roi is not optional
        for i, (key, values, dtype) in enumerate([("roi", roi, np.float32), ("scales", scales, np.float32),
                                                   ("sizes", sizes, np.int64)]):
            if values is not None:
                inits.append(numpy_helper.from_array(np.array(values, dtype), key))
                names[i + 1] = key
        while names[-1] == "":
            names.pop()
        node = helper.make_node("Resize", names, ["y"], **attrs)
        save(name, [node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)], inits, opset)


def group_norm_graphs():
    rng = np.random.default_rng(5)
    for name, (dims, groups, opset) in GROUP_NORM.items():
        affine = groups if opset < 21 else dims[1]
        scale = numpy_helper.from_array((rng.standard_normal(affine) * 0.5 + 1).astype(np.float32), "scale")
        bias = numpy_helper.from_array((rng.standard_normal(affine) * 0.5).astype(np.float32), "bias")
        node = helper.make_node("GroupNormalization", ["x", "scale", "bias"], ["y"], num_groups=groups,
                                epsilon=1e-5)
        save(name, [node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)], [scale, bias], opset)


# Pools whose windows tile the input (kernel = strides, no pads): what our engine claims of AveragePool/MaxPool.
POOLS = {
    "average_pool_2d_tiled": ("AveragePool", [1, 3, 16, 12], [4, 4]),
    "average_pool_2d_rect": ("AveragePool", [2, 2, 6, 8], [3, 2]),
    "average_pool_1d_tiled": ("AveragePool", [2, 3, 10], [2]),
    "average_pool_3d_tiled": ("AveragePool", [1, 2, 4, 6, 4], [2, 3, 2]),
    "max_pool_2d_tiled": ("MaxPool", [1, 3, 8, 8], [2, 2]),
}


def pool_graphs():
    for name, (op, dims, kernel) in POOLS.items():
        node = helper.make_node(op, ["x"], ["y"], kernel_shape=kernel, strides=kernel)
        save(name, [node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)], [], 17)


def main():
    os.makedirs(OUT, exist_ok=True)
    resize_graphs()
    group_norm_graphs()
    pool_graphs()
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
