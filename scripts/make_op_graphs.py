#!/usr/bin/env python3
"""float32 graphs of op forms the ONNX node tests cover only in float64 (Einsum), thinly or not at all (Resize's
opset 18-19 forms and modes, GroupNormalization, pool forms, attributes of elementwise ops, BatchNormalization,
DepthToSpace, Size, ConvTranspose, ScatterElements, OneHot, GridSample, (Dynamic)QuantizeLinear, LRN,
MeanVarianceNormalization, EyeLike, the two losses, windows), for the engine tests against onnxruntime-node
(tests/engine/webgpu/op-forms.test.ts). Every graph reads float inputs and writes `y` (and any other outputs the
op has).

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
    # Ellipses broadcast from the right (a size-1 axis against a larger one), diagonals, three operands.
    "einsum_ellipsis_broadcast": ("...ij,...jk->...ik", [[2, 1, 3, 4], [1, 5, 4, 2]]),
    "einsum_ellipsis_implicit": ("...ij,...jk", [[3, 2, 4], [3, 4, 5]]),
    # An ellipsis against none (onnxruntime refuses ellipses of two different non-zero ranks), and a diagonal
    # under an ellipsis.
    "einsum_ellipsis_against_none": ("...ij,jk->...ik", [[2, 2, 3, 4], [4, 5]]),
    "einsum_ellipsis_diagonal": ("...ii->...i", [[2, 3, 4, 4]]),
    "einsum_batch_diagonal": ("bii->bi", [[2, 4, 4]]),
    "einsum_trace": ("ii", [[5, 5]]),
    "einsum_diagonal_times_vector": ("iij,j->i", [[3, 3, 4], [4]]),
    "einsum_three_operands": ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]]),
    "einsum_size_one_broadcast": ("ij,ij->ij", [[1, 3], [2, 3]]),
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


def save(name, nodes, inputs, inits, opset, extra_outputs=(), folder=OUT):
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, name, inputs, [out, *extra_outputs], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.onnx"), "wb") as f:
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


# Pools: (op, input dims, attributes, with MaxPool's Indices). The tiled forms (kernel = strides) and the forms
# the node tests skip or cover thinly: uneven pads, ceil_mode with padding counted, dilations, SAME on 1-D and 3-D,
# column-major indices, global pools.
POOLS = {
    "average_pool_2d_tiled": ("AveragePool", [1, 3, 16, 12], dict(kernel_shape=[4, 4], strides=[4, 4]), False),
    "average_pool_2d_rect": ("AveragePool", [2, 2, 6, 8], dict(kernel_shape=[3, 2], strides=[3, 2]), False),
    "average_pool_1d_tiled": ("AveragePool", [2, 3, 10], dict(kernel_shape=[2], strides=[2]), False),
    "average_pool_3d_tiled": ("AveragePool", [1, 2, 4, 6, 4], dict(kernel_shape=[2, 3, 2], strides=[2, 3, 2]), False),
    "max_pool_2d_tiled": ("MaxPool", [1, 3, 8, 8], dict(kernel_shape=[2, 2], strides=[2, 2]), False),
    "max_pool_resnet_stem": ("MaxPool", [1, 4, 16, 16], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                             True),
    "max_pool_column_major_indices": ("MaxPool", [2, 2, 5, 7], dict(kernel_shape=[2, 3], strides=[1, 2],
                                                                    pads=[1, 0, 0, 1], storage_order=1), True),
    "max_pool_dilated_ceil": ("MaxPool", [1, 2, 9, 8], dict(kernel_shape=[2, 3], strides=[2, 2], dilations=[2, 1],
                                                             ceil_mode=1), True),
    "max_pool_3d_pads": ("MaxPool", [1, 2, 4, 5, 6], dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2],
                                                         pads=[1, 0, 1, 0, 1, 1]), True),
    "average_pool_uneven_pads_counted": ("AveragePool", [1, 2, 6, 5], dict(kernel_shape=[3, 2], pads=[2, 0, 1, 1],
                                                                         count_include_pad=1), False),
    "average_pool_ceil_counted": ("AveragePool", [1, 2, 5, 7], dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1,
                                                                    count_include_pad=1, pads=[1, 0, 0, 0]), False),
    "average_pool_ceil_excluded": ("AveragePool", [1, 2, 5, 7], dict(kernel_shape=[3, 3], strides=[2, 2],
                                                                     ceil_mode=1, pads=[1, 0, 0, 0]), False),
    "average_pool_1d_same_upper": ("AveragePool", [2, 3, 11], dict(kernel_shape=[4], strides=[3],
                                                                   auto_pad="SAME_UPPER"), False),
    "max_pool_1d_same_lower": ("MaxPool", [2, 3, 11], dict(kernel_shape=[4], strides=[3], auto_pad="SAME_LOWER"),
                               False),
    "average_pool_3d_same_upper": ("AveragePool", [1, 2, 5, 4, 6], dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2],
                                                                        auto_pad="SAME_UPPER"), False),
    "global_average_pool": ("GlobalAveragePool", [2, 3, 5, 7], {}, False),
    "global_max_pool": ("GlobalMaxPool", [2, 3, 4, 6, 2], {}, False),
}


def pool_graphs():
    for name, (op, dims, attrs, indices) in POOLS.items():
        outputs = ["y", "indices"] if indices else ["y"]
        node = helper.make_node(op, ["x"], outputs, **attrs)
        extra = [helper.make_tensor_value_info("indices", TensorProto.INT64, None)] if indices else []
        save(name, [node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)], [], 19, extra)


def torch_cnn_graph():
    """A ResNet-style stem and head as torch exports it: Conv, BatchNorm (folded), ReLU, MaxPool2d(3, 2, 1), an
    AvgPool2d with ceil_mode that leaves the padding out (CLIP ResNet's anti-aliased downsampling is an AvgPool2d),
    AdaptiveAvgPool2d(1) (GlobalAveragePool), then a Linear."""
    import torch
    from torch import nn

    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    ).eval()
    torch.onnx.export(model, torch.randn(1, 3, 29, 29), os.path.join(OUT, "torch_cnn_pools.onnx"),
                      input_names=["x"], output_names=["y"], opset_version=17)
    print("wrote torch_cnn_pools")


# Elementwise ops with attributes the node tests leave at one value, on inputs in [-1, 1] (the test's feeds).
UNARY = {
    "elu_alpha": ("Elu", dict(alpha=0.4)),
    "selu_custom": ("Selu", dict(alpha=1.2, gamma=0.9)),
    "celu_alpha": ("Celu", dict(alpha=0.6)),
    "thresholded_relu": ("ThresholdedRelu", dict(alpha=0.25)),
    "shrink_soft": ("Shrink", dict(lambd=0.3, bias=0.1)),
    "hard_swish": ("HardSwish", {}),
    "softsign": ("Softsign", {}),
    "atan": ("Atan", {}),
    "tan": ("Tan", {}),
    "asinh": ("Asinh", {}),
    "log_softmax_axis1": ("LogSoftmax", dict(axis=1)),
    "hardmax_axis1": ("Hardmax", dict(axis=1)),
}


def misc_graphs():
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    for name, (op, attrs) in UNARY.items():
        save(name, [helper.make_node(op, ["x"], ["y"], **attrs)], [f("x", [2, 5, 3])], [], 17)
    rng = np.random.default_rng(9)
    slope = numpy_helper.from_array(rng.uniform(0.05, 0.5, (4, 1, 1)).astype(np.float32), "slope")
    save("prelu_per_channel", [helper.make_node("PRelu", ["x", "slope"], ["y"])], [f("x", [2, 4, 3, 5])], [slope], 17)
    save("sum_three_broadcast", [helper.make_node("Sum", ["a", "b", "c"], ["y"])],
         [f("a", [2, 3, 4]), f("b", [3, 1]), f("c", [4])], [], 17)
    save("mean_three_broadcast", [helper.make_node("Mean", ["a", "b", "c"], ["y"])],
         [f("a", [2, 3, 4]), f("b", [1, 4]), f("c", [2, 1, 1])], [], 17)
    stats = lambda n, lo, hi: numpy_helper.from_array(rng.uniform(lo, hi, 3).astype(np.float32), n)
    save("batch_norm_constant_stats", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                                        epsilon=1e-3)],
         [f("x", [2, 3, 4, 5])], [stats("s", 0.5, 1.5), stats("b", -1, 1), stats("m", -1, 1), stats("v", 0.2, 2)], 15)
    # The mean arrives at run time: the statistics are worked out on the GPU.
    save("batch_norm_mean_input", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
         [f("x", [2, 3, 6]), f("m", [3])], [stats("s", 0.5, 1.5), stats("b", -1, 1), stats("v", 0.2, 2)], 15)
    # Training mode: the batch's statistics, and the running ones as outputs.
    running = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("running_mean", "running_var")]
    save("batch_norm_training", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                                                  ["y", "running_mean", "running_var"], training_mode=1, momentum=0.8)],
         [f("x", [4, 3, 2, 5])], [stats("s", 0.5, 1.5), stats("b", -1, 1), stats("m", -1, 1), stats("v", 0.2, 2)], 15,
         running)
    save("depth_to_space_dcr", [helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)],
         [f("x", [1, 8, 2, 3])], [], 13)
    save("depth_to_space_crd", [helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode="CRD")],
         [f("x", [2, 8, 3, 2])], [], 13)
    save("space_to_depth", [helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=3)], [f("x", [1, 2, 6, 9])],
         [], 13)
    save("reduce_log_sum_of_abs", [helper.make_node("Abs", ["x"], ["a"]),
                                   helper.make_node("ReduceLogSum", ["a"], ["y"], axes=[1], keepdims=0)],
         [f("x", [2, 5, 3])], [], 13)
    # ConvTranspose: (input dims, weight dims, attributes, bias).
    deconvs = {
        "conv_transpose_upsample_bias": ([1, 8, 5, 6], [8, 4, 2, 2], dict(strides=[2, 2]), True),
        "conv_transpose_pads_output_padding": ([2, 3, 4, 5], [3, 2, 3, 3],
                                               dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]), False),
        "conv_transpose_groups_dilations": ([1, 4, 5, 4], [4, 3, 2, 3],
                                            dict(group=2, dilations=[2, 1], strides=[1, 2]), True),
        "conv_transpose_1d_same_upper": ([2, 3, 7], [3, 2, 4], dict(strides=[3], auto_pad="SAME_UPPER"), False),
        "conv_transpose_3d_output_shape": ([1, 2, 3, 2, 3], [2, 3, 2, 3, 2],
                                           dict(strides=[2, 1, 2], output_shape=[6, 3, 5]), False),
    }
    for name, (xd, wd, attrs, bias) in deconvs.items():
        inits = [numpy_helper.from_array(rng.uniform(-1, 1, wd).astype(np.float32), "w")]
        if bias:
            inits.append(numpy_helper.from_array(rng.uniform(-1, 1, wd[1] * attrs.get("group", 1)).astype(np.float32), "b"))
        node = helper.make_node("ConvTranspose", ["x", "w", "b"] if bias else ["x", "w"], ["y"], **attrs)
        save(name, [node], [f("x", xd)], inits, 17)
    # ScatterElements into x: indices with repeats and negatives, as constants.
    for name, axis, reduction, opset in [("scatter_elements_add", 1, "add", 16), ("scatter_elements_max", 0, "max", 18),
                                         ("scatter_elements_none", -1, "none", 13)]:
        shape = [3, 4, 5]
        ishape = [2, 3, 4] if axis != -1 else [3, 2, 6]
        length = shape[axis]
        idx = numpy_helper.from_array(rng.integers(-length, length, ishape).astype(np.int64), "i")
        upd = numpy_helper.from_array(rng.uniform(-1, 1, ishape).astype(np.float32), "u")
        attrs = dict(axis=axis) if reduction == "none" else dict(axis=axis, reduction=reduction)
        save(name, [helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], **attrs)], [f("x", shape)], [idx, upd],
             opset)
    # OneHot of float indices (x · 5: truncated, negative ones wrap, out-of-range ones match nothing), axis 1.
    depth = numpy_helper.from_array(np.array(4.0, np.float32), "depth")
    values = numpy_helper.from_array(np.array([-0.5, 2.0], np.float32), "values")
    five = numpy_helper.from_array(np.array(5.0, np.float32), "five")
    save("one_hot_float_indices", [helper.make_node("Mul", ["x", "five"], ["k"]),
                                   helper.make_node("OneHot", ["k", "depth", "values"], ["y"], axis=1)],
         [f("x", [3, 7])], [five, depth, values], 11)
    # GridSample: the grid is the second input, its points up to 2× past the image's edges.
    for mode, padding, align, opset in [("bilinear", "zeros", 0, 16), ("bicubic", "reflection", 1, 16),
                                        ("nearest", "border", 0, 16), ("cubic", "border", 0, 20),
                                        ("linear", "reflection", 0, 20)]:
        twice = numpy_helper.from_array(np.array(2.0, np.float32), "two")
        save(f"grid_sample_{mode}_{padding}_{'aligned' if align else 'edges'}",
             [helper.make_node("Mul", ["g", "two"], ["g2"]),
              helper.make_node("GridSample", ["x", "g2"], ["y"], mode=mode, padding_mode=padding,
                               align_corners=align)],
             [f("x", [2, 3, 5, 6]), f("g", [2, 4, 7, 2])], [twice], opset)
    # QuantizeLinear: one scale (uint8), per channel (int8 zero points); DynamicQuantizeLinear on its own.
    three = numpy_helper.from_array(np.array(3.0, np.float32), "three")
    scale = numpy_helper.from_array(np.array(0.02, np.float32), "scale")
    # The codes come back as floats (Cast), as `y` is declared float.
    save("quantize_linear_uint8", [helper.make_node("Mul", ["x", "three"], ["x3"]),
                                   helper.make_node("QuantizeLinear", ["x3", "scale"], ["q"]),
                                   helper.make_node("Cast", ["q"], ["y"], to=1)],
         [f("x", [2, 3, 4])], [three, scale], 13)
    scales = numpy_helper.from_array(rng.uniform(0.005, 0.02, 3).astype(np.float32), "scales")
    zeros = numpy_helper.from_array(np.array([-5, 0, 12], np.int8), "zeros")
    save("quantize_linear_per_axis_int8", [helper.make_node("QuantizeLinear", ["x", "scales", "zeros"], ["q"], axis=1),
                                           helper.make_node("Cast", ["q"], ["y"], to=1)],
         [f("x", [2, 3, 4])], [scales, zeros], 13)
    codes = helper.make_tensor_value_info("codes", TensorProto.UINT8, None)
    zp = helper.make_tensor_value_info("zp", TensorProto.UINT8, None)
    m = helper.make_model(helper.make_graph([helper.make_node("DynamicQuantizeLinear", ["x"], ["codes", "y", "zp"])],
                                            "dql", [f("x", [3, 5])],
                                            [codes, helper.make_tensor_value_info("y", TensorProto.FLOAT, None), zp]),
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(OUT, "dynamic_quantize_linear.onnx"), "wb") as fh:
        fh.write(m.SerializeToString())
    # LRN (onnxruntime runs odd windows on 4-D inputs only), MeanVarianceNormalization on chosen axes, EyeLike off
    # the diagonal.
    save("lrn_size_5", [helper.make_node("LRN", ["x"], ["y"], size=5, alpha=0.3, beta=0.6, bias=1.5)],
         [f("x", [2, 7, 3, 2])], [], 13)
    # LayerNormalization asked for one statistic only (Mean, or InvStdDev), on the last axis and on axis 1.
    ln_rng = np.random.default_rng(37)  # its own, so the graphs after keep their values
    ln_stats = [numpy_helper.from_array(ln_rng.standard_normal(s).astype(np.float32), n) for n, s in
                [("gamma", [3, 4]), ("beta", [3, 4]), ("gamma_last", [4]), ("beta_last", [4])]]
    save("layer_norm_mean_only", [helper.make_node("LayerNormalization", ["x", "gamma_last", "beta_last"],
                                                   ["y", "mean"], axis=-1)],
         [f("x", [2, 3, 4])], ln_stats[2:], 17, [helper.make_tensor_value_info("mean", TensorProto.FLOAT, None)])
    save("layer_norm_inv_std_dev_only_axis1", [helper.make_node("LayerNormalization", ["x", "gamma", "beta"],
                                                                ["y", "", "inv_std_dev"], axis=1)],
         [f("x", [2, 3, 4])], ln_stats[:2], 17,
         [helper.make_tensor_value_info("inv_std_dev", TensorProto.FLOAT, None)])
    save("mvn_axes", [helper.make_node("MeanVarianceNormalization", ["x"], ["y"], axes=[1, 2])],
         [f("x", [2, 3, 4, 5])], [], 13)
    save("eye_like_k", [helper.make_node("EyeLike", ["x"], ["e"], k=-1),
                        helper.make_node("Add", ["x", "e"], ["y"])], [f("x", [4, 5])], [], 13)
    # The losses: NegativeLogLikelihoodLoss with class weights and an ignored class (mean over the counted weights),
    # SoftmaxCrossEntropyLoss unreduced with its log-probabilities; targets are constants with the ignored value.
    targets = numpy_helper.from_array(np.array([[0, 2, -1], [1, -1, 3]], np.int64), "t")
    weights = numpy_helper.from_array(rng.uniform(0.2, 2, 4).astype(np.float32), "w")
    save("nll_loss_weighted_ignored", [helper.make_node("NegativeLogLikelihoodLoss", ["x", "t", "w"], ["y"],
                                                        ignore_index=-1)], [f("x", [2, 4, 3])], [targets, weights], 13)
    log_prob = [helper.make_tensor_value_info("log_prob", TensorProto.FLOAT, None)]
    save("softmax_cross_entropy_none", [helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t"], ["y", "log_prob"],
                                                         reduction="none", ignore_index=-1)],
         [f("x", [2, 4, 3])], [targets], 13, log_prob)
    # Windows (folded when planning): x weighted by a periodic Hann and a symmetric Blackman window of 7.
    seven = numpy_helper.from_array(np.array(7, np.int64), "seven")
    save("windows_hann_blackman", [helper.make_node("HannWindow", ["seven"], ["hann"]),
                                   helper.make_node("BlackmanWindow", ["seven"], ["blackman"], periodic=0),
                                   helper.make_node("Mul", ["x", "hann"], ["xh"]),
                                   helper.make_node("Add", ["xh", "blackman"], ["y"])], [f("x", [2, 7])], [seven], 17)
    # CastLike: to int32 (truncating) and to float16 (rounding) by the dtype of a second input, back to float.
    like_int = numpy_helper.from_array(np.array([0], np.int32), "like_int")
    like_half = numpy_helper.from_array(np.array([0], np.float16), "like_half")
    save("cast_like", [helper.make_node("Mul", ["x", "ten"], ["x10"]),
                       helper.make_node("CastLike", ["x10", "like_int"], ["i"]),
                       helper.make_node("CastLike", ["x", "like_half"], ["h"]),
                       helper.make_node("Cast", ["i"], ["fi"], to=1), helper.make_node("Cast", ["h"], ["fh"], to=1),
                       helper.make_node("Add", ["fi", "fh"], ["y"])],
         [f("x", [3, 4])], [numpy_helper.from_array(np.array(10.0, np.float32), "ten"), like_int, like_half], 15)
    # Size feeds arithmetic: y = x · size(x).
    save("size_scales", [helper.make_node("Size", ["x"], ["n"]), helper.make_node("Cast", ["n"], ["nf"], to=1),
                         helper.make_node("Mul", ["x", "nf"], ["y"])], [f("x", [2, 3, 4])], [], 13)


def legacy_resize_graphs():
    """Upsample (attribute scales at opset 7, input at 9) and Resize-10: asymmetric coordinates, onnxruntime's
    nearest pixel for these opsets (floor enlarging, ceil shrinking)."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    scales = lambda v: numpy_helper.from_array(np.array(v, np.float32), "s")
    save("upsample_7_nearest", [helper.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 3.0, 2.0])],
         [f("x", [1, 2, 3, 4])], [], 7)
    save("upsample_9_linear", [helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear")],
         [f("x", [2, 1, 4, 5])], [scales([1, 1, 2, 1.5])], 9)
    save("resize_10_nearest_shrink", [helper.make_node("Resize", ["x", "s"], ["y"])],
         [f("x", [1, 2, 7, 9])], [scales([1, 1, 0.5, 0.6])], 10)
    save("resize_10_linear", [helper.make_node("Resize", ["x", "s"], ["y"], mode="linear")],
         [f("x", [1, 1, 5, 4])], [scales([1, 1, 1.7, 2.5])], 10)


def indexing_graphs():
    """ReverseSequence on either axis order, MaxUnpool of a MaxPool's values and indices (with and without
    output_shape), Det of a batch of matrices."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    lens = lambda v: numpy_helper.from_array(np.array(v, np.int64), "lens")
    save("reverse_sequence_time_major", [helper.make_node("ReverseSequence", ["x", "lens"], ["y"], time_axis=0,
                                                          batch_axis=1)], [f("x", [5, 4, 3])], [lens([5, 1, 3, 0])], 10)
    save("reverse_sequence_batch_major", [helper.make_node("ReverseSequence", ["x", "lens"], ["y"], time_axis=1,
                                                           batch_axis=0)], [f("x", [3, 6, 2, 2])], [lens([2, 6, 4])], 10)
    pool = helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2])
    save("max_unpool", [pool, helper.make_node("MaxUnpool", ["p", "i"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
         [f("x", [2, 3, 6, 4])], [], 11)
    shape = numpy_helper.from_array(np.array([1, 2, 7, 5], np.int64), "shape")
    save("max_unpool_output_shape", [pool, helper.make_node("MaxUnpool", ["p", "i", "shape"], ["y"], kernel_shape=[2, 2],
                                                            strides=[2, 2])], [f("x", [1, 2, 7, 5])], [shape], 11)
    save("det_batch", [helper.make_node("Det", ["x"], ["y"])], [f("x", [2, 3, 4, 4])], [], 11)
    # RoiAlign: rois inside, straddling and beyond the edges, two images; avg with a fixed sampling ratio and a
    # scale (half_pixel), max adaptive (output_half_pixel).
    rois = numpy_helper.from_array(np.array([[0, 0, 9, 9], [2.5, 1, 7.2, 8.8], [-1, 3, 4, 11], [6, 6, 30, 20]],
                                            np.float32), "rois")
    images = numpy_helper.from_array(np.array([0, 1, 1, 0], np.int64), "images")
    save("roi_align_avg_half_pixel", [helper.make_node("RoiAlign", ["x", "rois", "images"], ["y"], output_height=3,
                                                       output_width=2, sampling_ratio=2, spatial_scale=0.8)],
         [f("x", [2, 3, 10, 12])], [rois, images], 16)
    save("roi_align_max_output_half_pixel",
         [helper.make_node("RoiAlign", ["x", "rois", "images"], ["y"], mode="max", output_height=2, output_width=4,
                           coordinate_transformation_mode="output_half_pixel")],
         [f("x", [2, 3, 10, 12])], [rois, images], 16)
    # CumSum on run-time data: float, exclusive and reversed along a middle axis; int32 along the last.
    axis = lambda v: numpy_helper.from_array(np.array(v, np.int32), "axis")
    save("cumsum_exclusive_reverse", [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=1, reverse=1)],
         [f("x", [2, 5, 3])], [axis(1)], 14)
    ten = numpy_helper.from_array(np.array(10.0, np.float32), "ten")
    save("cumsum_int32", [helper.make_node("Mul", ["x", "ten"], ["x10"]),
                          helper.make_node("Cast", ["x10"], ["xi"], to=6),
                          helper.make_node("CumSum", ["xi", "axis"], ["c"]),
                          helper.make_node("Cast", ["c"], ["y"], to=1)], [f("x", [3, 7])], [ten, axis(-1)], 14)


def recurrent_graphs():
    """RNN, GRU and LSTM: both directions with per-entry sequence lengths (one of 0) and initial states, reverse
    with a clip, linear_before_reset, peepholes, other activations, and Y left out."""
    rng = np.random.default_rng(17)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    const = lambda name, value: numpy_helper.from_array(np.asarray(value), name)
    weights = lambda dirs, gates, hidden, size: [
        const("W", (rng.standard_normal([dirs, gates * hidden, size]) * 0.4).astype(np.float32)),
        const("R", (rng.standard_normal([dirs, gates * hidden, hidden]) * 0.4).astype(np.float32)),
        const("B", (rng.standard_normal([dirs, 2 * gates * hidden]) * 0.2).astype(np.float32))]
    lens = const("lens", np.array([5, 2, 0, 4], np.int32))
    state = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
    save("lstm_bidirectional_lengths_peepholes",
         [helper.make_node("LSTM", ["x", "W", "R", "B", "lens", "h0", "c0", "P"], ["y", "yh", "yc"],
                           direction="bidirectional", hidden_size=6)],
         [f("x", [5, 4, 3]), f("h0", [2, 4, 6]), f("c0", [2, 4, 6])],
         [*weights(2, 4, 6, 3), lens, const("P", (rng.standard_normal([2, 18]) * 0.3).astype(np.float32))], 14,
         [state("yh"), state("yc")])
    save("lstm_reverse_clip_only_final_state",
         [helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "y"], direction="reverse", hidden_size=5, clip=0.7)],
         [f("x", [6, 2, 4])], weights(1, 4, 5, 4), 14)
    save("gru_linear_before_reset_reverse",
         [helper.make_node("GRU", ["x", "W", "R", "B", "lens", "h0"], ["y", "yh"], direction="reverse", hidden_size=7,
                           linear_before_reset=1)],
         [f("x", [5, 4, 3]), f("h0", [1, 4, 7])], [*weights(1, 3, 7, 3), lens], 14, [state("yh")])
    # onnxruntime's CPU kernels refuse batch-first layouts: the node tests check those (*_batchwise).
    save("gru_bidirectional_initial_state",
         [helper.make_node("GRU", ["x", "W", "R", "B", "", "h0"], ["y", "yh"], direction="bidirectional",
                           hidden_size=4)],
         [f("x", [5, 3, 2]), f("h0", [2, 3, 4])], weights(2, 3, 4, 2), 14, [state("yh")])
    save("rnn_relu_softsign_bidirectional",
         [helper.make_node("RNN", ["x", "W", "R", "B", "lens"], ["y", "yh"], direction="bidirectional", hidden_size=5,
                           activations=["Relu", "Softsign"])],
         [f("x", [5, 4, 3])], [*weights(2, 1, 5, 3), lens], 14, [state("yh")])


def host_op_graphs():
    """Ops whose output shape depends on the data, computed on the host between plans: NonZero feeding a
    GatherND, Compress by a computed condition, Unique (all four outputs) feeding arithmetic, NonMaxSuppression
    of computed boxes."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    out = lambda name, t: helper.make_tensor_value_info(name, t, None)
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    save("nonzero_gather", [helper.make_node("Greater", ["x", "zero"], ["positive"]),
                            helper.make_node("NonZero", ["positive"], ["at"]),
                            helper.make_node("Transpose", ["at"], ["at_t"]),
                            helper.make_node("GatherND", ["x", "at_t"], ["y"])],
         [f("x", [3, 4])], [zero], 13, [out("at", TensorProto.INT64)])
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    save("compress_rows", [helper.make_node("ReduceSum", ["x", "axes"], ["sums"], keepdims=0),
                           helper.make_node("Greater", ["sums", "zero"], ["keep"]),
                           helper.make_node("Compress", ["x", "keep"], ["y"], axis=0)],
         [f("x", [6, 3])], [zero, axes], 13)
    three = numpy_helper.from_array(np.array(3.0, np.float32), "three")
    save("unique_sorted", [helper.make_node("Mul", ["x", "three"], ["x3"]),
                           helper.make_node("Round", ["x3"], ["r"]),
                           helper.make_node("Unique", ["r"], ["u", "first", "inverse", "counts"]),
                           helper.make_node("Mul", ["u", "three"], ["y"])],
         [f("x", [4, 5])], [three], 13,
         [out("first", TensorProto.INT64), out("inverse", TensorProto.INT64), out("counts", TensorProto.INT64)])
    limits = [numpy_helper.from_array(np.array([3], np.int64), "max_boxes"),
              numpy_helper.from_array(np.array([0.3], np.float32), "iou"),
              numpy_helper.from_array(np.array([-0.5], np.float32), "score_min")]
    save("non_max_suppression", [helper.make_node("Abs", ["b"], ["boxes"]),
                                 helper.make_node("NonMaxSuppression", ["boxes", "s", "max_boxes", "iou", "score_min"],
                                                  ["selected"]),
                                 helper.make_node("Cast", ["selected"], ["y"], to=1)],
         [f("b", [2, 8, 4]), f("s", [2, 3, 8])], limits, 11)


def steered_host_op_graphs():
    """Host ops whose inputs derive from a small int input that steers shapes (a grid, as Qwen2.5-VL's window
    order derives from image_grid_thw): Range → Reshape → Pad (by computed amounts) → NonZero of the unpadded
    positions → GatherND, then TopK ascending of that order (its argsort). Once the grid is bound they fold."""
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    n = helper.make_node
    nodes = [
        n("Gather", ["grid", "zero"], ["h"], axis=0), n("Gather", ["grid", "one"], ["w"], axis=0),
        n("Mul", ["h", "w"], ["hw"]), n("Range", ["zero", "hw", "one"], ["index"]),
        n("Reshape", ["index", "grid"], ["plane"]),
        n("Mod", ["h", "two"], ["h_odd"]), n("Sub", ["two", "h_odd"], ["pad_h"]),
        n("Mod", ["w", "two"], ["w_odd"]), n("Sub", ["two", "w_odd"], ["pad_w"]),
        n("Unsqueeze", ["pad_h", "zero_axis"], ["pad_h1"]), n("Unsqueeze", ["pad_w", "zero_axis"], ["pad_w1"]),
        n("Concat", ["zeros2", "pad_h1", "pad_w1"], ["pads"], axis=0),
        n("Pad", ["plane", "pads", "minus100"], ["padded"], mode="constant"),
        n("Equal", ["padded", "minus100"], ["is_pad"]), n("Not", ["is_pad"], ["kept"]),
        n("Reshape", ["padded", "flat"], ["padded_flat"]), n("Reshape", ["kept", "flat"], ["kept_flat"]),
        n("NonZero", ["kept_flat"], ["at"]), n("Transpose", ["at"], ["at_t"]),
        n("GatherND", ["padded_flat", "at_t"], ["order"]),
        n("Gather", ["x", "order"], ["y"], axis=0),
        n("Unsqueeze", ["hw", "zero_axis"], ["k"]),
        n("TopK", ["order", "k"], ["sorted", "reverse"], largest=0),
    ]
    inits = [i64("zero", 0), i64("one", 1), i64("two", 2), i64("zero_axis", [0]), i64("zeros2", [0, 0]),
             i64("minus100", -100), i64("flat", [-1])]
    save("steered_window_order", nodes,
         [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3]),
          helper.make_tensor_value_info("grid", TensorProto.INT64, [2])], inits, 13,
         [helper.make_tensor_value_info("reverse", TensorProto.INT64, None)],
         # Not with the op forms: its inputs are an int grid and rows to match it, not random floats.
         folder=os.path.join(OUT, "..", "steered"))


def signal_graphs():
    """DFT of a real signal along a middle axis (opset 17), of a complex one with dft_length padding and inverse,
    one-sided (opset 20, axis input); STFT framed with a Hann window; MelWeightMatrix times a power spectrum."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    save("dft_real_middle_axis", [helper.make_node("DFT", ["x"], ["y"], axis=1)], [f("x", [2, 7, 3, 1])], [], 17)
    save("dft_complex_padded_inverse", [helper.make_node("DFT", ["x", "n"], ["y"], axis=1, inverse=1)],
         [f("x", [2, 6, 2])], [i64("n", 8)], 17)
    save("dft_onesided_axis_input", [helper.make_node("DFT", ["x", "", "axis"], ["y"], onesided=1)],
         [f("x", [3, 10, 1])], [i64("axis", -2)], 20)
    save("stft_hann", [helper.make_node("HannWindow", ["fl"], ["w"]),
                       helper.make_node("STFT", ["x", "step", "w"], ["y"])],
         [f("x", [2, 40, 1])], [i64("step", 6), numpy_helper.from_array(np.array(16, np.int32), "fl")], 17)


def quantized_graphs():
    """Integer quantized ops fed by QuantizeLinear of the float input, read back through Cast or DequantizeLinear:
    MatMulInteger and ConvInteger (onnxruntime quantize_dynamic's ops, standalone), QLinearMatMul and QLinearConv
    (its QOperator format)."""
    rng = np.random.default_rng(11)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    const = lambda name, value: numpy_helper.from_array(np.asarray(value), name)
    codes = lambda name, dtype, shape: const(name, rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max + 1,
                                                                shape).astype(dtype))
    # x in [-1, 1) to uint8 codes around 128.
    quantize = helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["q"])
    x_quant = [const("xs", np.float32(1 / 127)), const("xz", np.uint8(128))]
    to_float = helper.make_node("Cast", ["acc"], ["y"], to=1)
    save("matmul_integer_per_column", [quantize, helper.make_node("MatMulInteger", ["q", "w", "xz", "wz"], ["acc"]),
                                       to_float],
         [f("x", [4, 6])], [*x_quant, codes("w", np.int8, [6, 5]), codes("wz", np.int8, [5])], 13)
    save("matmul_integer_batched", [quantize, helper.make_node("MatMulInteger", ["q", "w", "xz", "wz"], ["acc"]),
                                    to_float],
         [f("x", [2, 3, 40])], [*x_quant, codes("w", np.uint8, [40, 4]), const("wz", np.uint8(3))], 13)
    save("conv_integer_pads_stride", [quantize, helper.make_node("ConvInteger", ["q", "w", "xz", "wz"], ["acc"],
                                                                 pads=[1, 1, 1, 1], strides=[2, 2]), to_float],
         [f("x", [1, 3, 7, 7])], [*x_quant, codes("w", np.uint8, [4, 3, 3, 3]), const("wz", np.uint8(120))], 13)
    # QOperator: symmetric int8 weights (zero points 0, as onnxruntime's quantizer makes them), per output
    # channel scales, an int32 bias; y read back through DequantizeLinear.
    dequantize = helper.make_node("DequantizeLinear", ["qy", "ys", "yz"], ["y"])
    y_quant = [const("ys", np.float32(0.05)), const("yz", np.uint8(100))]
    w_scales = lambda n: const("ws", rng.uniform(0.002, 0.01, n).astype(np.float32))
    save("qlinear_matmul_per_column", [quantize, helper.make_node("QLinearMatMul", ["q", "xs", "xz", "w", "ws", "wz",
                                                                                  "ys", "yz"], ["qy"]), dequantize],
         [f("x", [3, 5, 16])], [*x_quant, *y_quant, codes("w", np.int8, [16, 6]), w_scales(6),
                                const("wz", np.zeros(6, np.int8))], 13)
    save("qlinear_conv_bias_groups", [quantize, helper.make_node("QLinearConv", ["q", "xs", "xz", "w", "ws", "wz",
                                                                                "ys", "yz", "b"], ["qy"],
                                                                 group=2, pads=[0, 1, 2, 1], dilations=[1, 2]),
                                      dequantize],
         [f("x", [2, 4, 6, 5])], [*x_quant, *y_quant, codes("w", np.int8, [6, 2, 3, 2]), w_scales(6),
                                  const("wz", np.zeros(6, np.int8)),
                                  const("b", rng.integers(-3000, 3000, 6).astype(np.int32))], 13)
    save("qlinear_conv_1d", [quantize, helper.make_node("QLinearConv", ["q", "xs", "xz", "w", "ws", "wz", "ys", "yz"],
                                                        ["qy"], strides=[2], auto_pad="SAME_UPPER"), dequantize],
         [f("x", [1, 3, 11])], [*x_quant, *y_quant, codes("w", np.int8, [4, 3, 3]), w_scales(4),
                                const("wz", np.zeros(4, np.int8))], 13)
    # A float 1-D Conv (viewed as 2-D of height 1 by the lowering), grouped, with SAME_LOWER padding.
    save("conv_1d_groups_same_lower", [helper.make_node("Conv", ["x", "w", "b"], ["y"], group=3, strides=[2],
                                                        auto_pad="SAME_LOWER")],
         [f("x", [2, 6, 9])], [const("w", rng.standard_normal([9, 2, 4]).astype(np.float32)),
                               const("b", rng.standard_normal(9).astype(np.float32))], 13)


def q4f16_graphs():
    """transformers.js q4f16 forms: MatMulNBits and GatherBlockQuantized with float16 scales (kept half on the GPU),
    in a float16 region between Casts (op-forms checks names with f16 at the output's float16 rounding)."""
    rng = np.random.default_rng(12)
    const = lambda name, value: numpy_helper.from_array(np.asarray(value), name)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    k, n, block = 80, 12, 32  # 3 blocks a column, the last one partial
    blocks = -(-k // block)
    matmul = [
        helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16),
        helper.make_node("MatMulNBits", ["xh", "w", "ws", "wz"], ["yh"], domain="com.microsoft", K=k, N=n, bits=4,
                         block_size=block),
        helper.make_node("Cast", ["yh"], ["y"], to=TensorProto.FLOAT),
    ]
    matmul_inits = [const("w", rng.integers(0, 256, [n, blocks, block // 2]).astype(np.uint8)),
                    const("ws", rng.uniform(0.01, 0.1, n * blocks).astype(np.float16)),
                    const("wz", rng.integers(0, 256, n * -(-blocks // 2)).astype(np.uint8))]
    rows, cols = 9, 64
    gather = [
        helper.make_node("GatherBlockQuantized", ["table", "ids", "ts"], ["rows"], domain="com.microsoft",
                         block_size=16, quantize_axis=1),
        helper.make_node("Cast", ["rows"], ["rowsf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["rowsf", "x"], ["y"]),
    ]
    gather_inits = [const("table", rng.integers(0, 256, [rows, cols // 2]).astype(np.uint8)),
                    const("ids", np.array([[3, 0], [8, 3]], np.int64)),
                    const("ts", rng.uniform(0.01, 0.1, [rows, cols // 16]).astype(np.float16))]
    for name, nodes, dims, inits in [("matmul_nbits_f16_scales", matmul, [3, 5, k], matmul_inits),
                                     ("gather_block_quantized_f16_scales", gather, [2, 2, cols], gather_inits)]:
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        m = helper.make_model(helper.make_graph(nodes, name, inputs, [out], inits), opset_imports=opsets)
        m.ir_version = 8
        with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
            f.write(m.SerializeToString())
        print("wrote", name)


def cast_graphs():
    """Casts to integer types narrower than the i32 the GPU holds them in wrap to their width: from int32 run-time
    values (x scaled past every range, truncated) and from constants (folded at load)."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    targets = [("u8", TensorProto.UINT8), ("i8", TensorProto.INT8), ("u16", TensorProto.UINT16),
               ("i16", TensorProto.INT16)]
    nodes = [helper.make_node("Mul", ["x", "big"], ["scaled"]),
             helper.make_node("Cast", ["scaled"], ["whole"], to=TensorProto.INT32)]
    outputs = []
    for i, (label, code) in enumerate(targets):
        nodes += [helper.make_node("Cast", ["whole"], [label], to=code),
                  helper.make_node("Cast", [label], ["y" if i == 0 else f"{label}_f"], to=TensorProto.FLOAT)]
        if i:
            outputs.append(helper.make_tensor_value_info(f"{label}_f", TensorProto.FLOAT, None))
    save("cast_wraps_narrow_ints", nodes, [f("x", [4, 8])],
         [numpy_helper.from_array(np.float32(90000), "big")], 17, outputs)
    constants = numpy_helper.from_array(np.array([300, -1, 70000, -40000, 128, 255, -129, 65535], np.int32), "c")
    nodes = [helper.make_node("Cast", ["c"], ["c8"], to=TensorProto.INT8),
             helper.make_node("Cast", ["c"], ["c16"], to=TensorProto.UINT16),
             helper.make_node("Cast", ["c8"], ["c8f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["c16"], ["c16f"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["c8f", "c16f"], ["sum"]),
             helper.make_node("Add", ["sum", "x"], ["y"])]
    save("cast_wraps_folded_constants", nodes, [f("x", [8])], [constants], 17)


def matmul_nbits_graphs():
    """MatMulNBits forms beyond transformers.js' q4: 2- and 8-bit codes, packed zero points at those widths, float
    zero points (whole codes: packed; fractional: dequantized at load), a bias, a K with a partial last block."""
    rng = np.random.default_rng(19)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)

    def nbits(name, bits, k, n, a_dims, zeros=None, bias=False, block=32):
        blocks = -(-k // block)
        inits = [numpy_helper.from_array(rng.integers(0, 256, (n, blocks, block * bits // 8), dtype=np.uint8), "w"),
                 numpy_helper.from_array((rng.standard_normal((n, blocks)) * 0.1).astype(np.float32), "ws")]
        inputs = ["x", "w", "ws"]
        if zeros == "packed":
            inits.append(numpy_helper.from_array(
                rng.integers(0, 256, (n, -(-blocks * bits // 8)), dtype=np.uint8), "wz"))
        elif zeros == "whole":
            inits.append(numpy_helper.from_array(rng.integers(0, 2 ** bits, (n, blocks)).astype(np.float32), "wz"))
        elif zeros == "fractional":
            inits.append(numpy_helper.from_array(
                (rng.standard_normal((n, blocks)) * 2 + 2 ** (bits - 1)).astype(np.float32), "wz"))
        inputs.append("wz" if zeros else "")
        if bias:
            inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "b"))
            inputs += ["", "b"]
        node = helper.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", K=k, N=n, bits=bits,
                                block_size=block)
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        m = helper.make_model(helper.make_graph([node], name, [f("x", a_dims)], [out], inits),
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        m.ir_version = 8
        with open(os.path.join(OUT, f"{name}.onnx"), "wb") as fh:
            fh.write(m.SerializeToString())
        print("wrote", name)

    nbits("matmul_nbits_2bit_packed_zeros", 2, 80, 6, [3, 80], zeros="packed")
    nbits("matmul_nbits_2bit_whole_float_zeros", 2, 64, 5, [2, 3, 64], zeros="whole")
    nbits("matmul_nbits_8bit_bias", 8, 96, 7, [4, 96], bias=True)
    nbits("matmul_nbits_8bit_packed_zeros_tail", 8, 72, 6, [2, 72], zeros="packed", block=16)
    nbits("matmul_nbits_4bit_fractional_zeros_bias", 4, 64, 6, [3, 64], zeros="fractional", bias=True)


def int4_tensor(name, dims, values, signed):
    """An INT4 (22) / UINT4 (21) initializer: two values a byte, low nibble first (this onnx predates the types)."""
    v = np.asarray(values).flatten().astype(np.int64) & 15
    if len(v) % 2:
        v = np.append(v, 0)
    t = TensorProto()
    t.name = name
    t.dims.extend(dims)
    t.data_type = 22 if signed else 21
    t.raw_data = (v[0::2] | (v[1::2] << 4)).astype(np.uint8).tobytes()
    return t


def qdq_blocked_graphs():
    """Opset 21 QDQ weights as onnxruntime's quantizers write them: int4 / uint4 / int8 codes with scales per block
    along K, dequantized into a MatMul (packed for the quantized matmul kernels), and blocked along another axis
    (folded to float32 at load)."""
    rng = np.random.default_rng(23)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    scales = lambda dims: numpy_helper.from_array((rng.standard_normal(dims) * 0.1).astype(np.float32), "s")

    def qdq(name, w, inits, a_dims, axis, block, zero=True, extra=()):
        node = helper.make_node("DequantizeLinear", ["w", "s", "z"] if zero else ["w", "s"], ["wf"], axis=axis,
                                block_size=block)
        save(name, [node, *extra] if extra else [node, helper.make_node("MatMul", ["x", "wf"], ["y"])],
             [f("x", a_dims)], [w, *inits], 21)

    qdq("dq_int4_blocked_matmul", int4_tensor("w", [40, 6], rng.integers(-8, 8, (40, 6)), True),
        [scales([3, 6]), int4_tensor("z", [3, 6], rng.integers(-8, 8, (3, 6)), True)], [3, 40], 0, 16)
    qdq("dq_uint4_blocked_matmul_no_zero", int4_tensor("w", [64, 5], rng.integers(0, 16, (64, 5)), False),
        [scales([2, 5])], [2, 3, 64], 0, 32, zero=False)
    qdq("dq_int8_blocked_matmul", numpy_helper.from_array(rng.integers(-128, 128, (48, 4)).astype(np.int8), "w"),
        [scales([3, 4]), numpy_helper.from_array(rng.integers(-20, 20, (3, 4)).astype(np.int8), "z")], [2, 48], 0, 16)
    # Codes computed at run time: the blocked scales and zero points are expanded along the axis on the GPU.
    ten = numpy_helper.from_array(np.float32(50), "ten")
    save("dq_blocked_run_time_codes", [helper.make_node("Mul", ["x", "ten"], ["x10"]),
                                       helper.make_node("Cast", ["x10"], ["q"], to=TensorProto.INT8),
                                       helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1,
                                                        block_size=4)],
         [f("x", [4, 6])], [scales([4, 2]), numpy_helper.from_array(rng.integers(-5, 5, (4, 2)).astype(np.int8), "z"),
                            ten], 21)
    save("quantize_blocked_round_trip", [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=0,
                                                          block_size=2),
                                         helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=0,
                                                          block_size=2)],
         [f("x", [5, 3])], [numpy_helper.from_array(np.abs(rng.standard_normal((3, 3)) * 0.01).astype(np.float32), "s"),
                            numpy_helper.from_array(rng.integers(-5, 5, (3, 3)).astype(np.int8), "z")], 21)
    qdq("dq_uint4_blocked_axis1_folded", int4_tensor("w", [24, 40], rng.integers(0, 16, (24, 40)), False),
        [scales([24, 3]), int4_tensor("z", [24, 3], rng.integers(0, 16, (24, 3)), False)], [2, 24], 1, 16)


def bfloat16_graphs():
    """bfloat16, held as float32: weights stored in it (widened exactly at load), Casts to it from run-time values
    and from constants (rounded to nearest even, ties included), and CastLike to a bfloat16 initializer."""
    rng = np.random.default_rng(17)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    weights = rng.standard_normal([8, 5]).astype(np.float32)
    bits = (weights.view(np.uint32) >> 16).astype(np.uint16)  # truncated: any bfloat16 values will do
    w = helper.make_tensor("w", TensorProto.BFLOAT16, [8, 5], bits.tobytes(), raw=True)
    # 1 + k/256: odd k are ties between two bfloat16 neighbours, rounded to the even one; float32's largest value
    # rounds to infinity.
    ties = np.array([1 + 1 / 256, 1 + 3 / 256, -(1 + 5 / 256), 1 + 1 / 512, np.finfo(np.float32).max, 1e-3, 7.0,
                     -0.0], np.float32)
    nodes = [helper.make_node("Mul", ["x", "spread"], ["wide"]),
             helper.make_node("Cast", ["wide"], ["wide_bf16"], to=TensorProto.BFLOAT16),
             helper.make_node("Cast", ["wide_bf16"], ["rounded"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["w"], ["wf"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["rounded", "wf"], ["y"]),
             helper.make_node("Mul", ["x", "zero"], ["nothing"]),
             helper.make_node("Add", ["nothing", "ties"], ["ties_at_run_time"]),
             helper.make_node("CastLike", ["ties_at_run_time", "w"], ["ties_bf16"]),
             helper.make_node("Cast", ["ties_bf16"], ["ties_rounded"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["ties"], ["ties_folded_bf16"], to=TensorProto.BFLOAT16),
             helper.make_node("Cast", ["ties_folded_bf16"], ["ties_folded"], to=TensorProto.FLOAT)]
    outputs = [f("ties_rounded", None), f("ties_folded", None)]
    constants = [w, numpy_helper.from_array(ties, "ties"), numpy_helper.from_array(np.float32(0), "zero"),
                 numpy_helper.from_array(np.float32(1000), "spread")]
    save("cast_bfloat16", nodes, [f("x", [3, 8])], constants, 17, outputs)


def axis_form_graphs():
    """Opset 11 (Log)Softmax and Hardmax over a non-last axis (x coerced to 2-D there), and TopK off the last axis."""
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    for name, op, axis in [("softmax_opset11_axis1", "Softmax", 1), ("log_softmax_opset11_axis0", "LogSoftmax", 0),
                           ("hardmax_opset11_axis1", "Hardmax", 1)]:
        save(name, [helper.make_node(op, ["x"], ["y"], axis=axis)], [f("x", [2, 3, 4])], [], 11)
    indices = helper.make_tensor_value_info("i", TensorProto.INT64, None)
    for name, axis, largest in [("topk_axis0", 0, 1), ("topk_middle_axis_smallest", 1, 0)]:
        save(name, [helper.make_node("TopK", ["x", "k"], ["y", "i"], axis=axis, largest=largest)], [f("x", [4, 5, 3])],
             [numpy_helper.from_array(np.array([2], np.int64), "k")], 13, [indices])


def conv3d_patch_graphs():
    """3-D Conv in its patch-embedding form (strides = kernel: a video VLM's Conv3d over frames and patches),
    with a bias, with tails shorter than the kernel dropped, and one patch per input as Qwen2-VL feeds it."""
    rng = np.random.default_rng(13)
    f = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    w = lambda dims: numpy_helper.from_array(rng.standard_normal(dims).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b")
    save("conv3d_patch_embed", [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[2, 3, 3],
                                                 strides=[2, 3, 3])], [f("x", [2, 3, 4, 6, 6])],
         [w([5, 3, 2, 3, 3]), bias], 13)
    save("conv3d_patch_tails", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[2, 2, 2], strides=[2, 2, 2])],
         [f("x", [1, 2, 5, 7, 4])], [w([4, 2, 2, 2, 2])], 13)
    save("conv3d_one_patch_per_input", [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[2, 4, 4],
                                                         strides=[2, 4, 4])], [f("x", [6, 3, 2, 4, 4])],
         [w([16, 3, 2, 4, 4])], 13)


def main():
    os.makedirs(OUT, exist_ok=True)
    quantized_graphs()
    conv3d_patch_graphs()
    axis_form_graphs()
    cast_graphs()
    bfloat16_graphs()
    matmul_nbits_graphs()
    qdq_blocked_graphs()
    q4f16_graphs()
    legacy_resize_graphs()
    indexing_graphs()
    recurrent_graphs()
    host_op_graphs()
    steered_host_op_graphs()
    signal_graphs()
    misc_graphs()
    resize_graphs()
    group_norm_graphs()
    pool_graphs()
    torch_cnn_graph()
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
