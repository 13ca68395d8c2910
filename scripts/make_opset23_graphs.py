#!/usr/bin/env python3
"""Small graphs of the transformer ops ONNX added at opset 23 (RMSNormalization, RotaryEmbedding, Attention), which
torch's newer exporters and onnxruntime-genai's model builder write in place of the contrib ops, for
tests/engine/webgpu/contrib-ops.test.ts (our engine against onnxruntime-node on the same random inputs).

Debian's onnx (1.12) predates opset 23, so the nodes are written without its checker; onnxruntime-node checks them.

  /usr/bin/python3 scripts/make_opset23_graphs.py     # writes tests/corpus/opset23/*.onnx
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "opset23")
B, S, C = 2, 5, 32
rng = np.random.default_rng(23)


def value(name, dims, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, list(dims))


def const(name, shape, scale=0.5, offset=0.0):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale + offset).astype(np.float32), name)


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
    m.ir_version = 10
    onnx.save(m, os.path.join(OUT, f"{name}.onnx"))
    print("wrote", name)


def rotary_caches(rows, half, name_suffix=""):
    angles = np.arange(rows)[:, None] * (10000.0 ** (-np.arange(half) / half))[None, :]
    return [numpy_helper.from_array(np.cos(angles).astype(np.float32), "cos_cache" + name_suffix),
            numpy_helper.from_array(np.sin(angles).astype(np.float32), "sin_cache" + name_suffix)]


def rms_normalization():
    save("rms_norm_last_axis", [helper.make_node("RMSNormalization", ["x", "scale"], ["y"], epsilon=1e-6)],
         [value("x", (B, S, C))], [value("y", (B, S, C))], [const("scale", [C], 0.2, 1.0)])
    save("rms_norm_axis_1", [helper.make_node("RMSNormalization", ["x", "scale"], ["y"], axis=1)],
         [value("x", (B, S, C))], [value("y", (B, S, C))], [const("scale", [S, C], 0.2, 1.0)])
    save("rms_norm_broadcast_scale", [helper.make_node("RMSNormalization", ["x", "scale"], ["y"], axis=-2)],
         [value("x", (B, S, C))], [value("y", (B, S, C))], [const("scale", [1, C], 0.2, 1.0)])


def rotary_embedding():
    """3-D [B, S, H·D] with num_heads and 4-D [B, H, S, D] inputs, rotate-half and interleaved, a partial rotary
    dimension, position ids [B, S] into a cache, or caches given per token [B, S, rotary / 2]."""
    heads, d, rows = 4, 8, 16
    pos = value("position_ids", (B, S), TensorProto.INT64)
    for name, shape, attrs, half in [
        ("rotary_3d", (B, S, heads * d), dict(num_heads=heads), d // 2),
        ("rotary_4d_interleaved", (B, heads, S, d), dict(interleaved=1), d // 2),
        ("rotary_3d_partial", (B, S, heads * d), dict(num_heads=heads, rotary_embedding_dim=4), 2),
    ]:
        node = helper.make_node("RotaryEmbedding", ["x", "cos_cache", "sin_cache", "position_ids"], ["y"], **attrs)
        save(name, [node], [value("x", shape), pos], [value("y", shape)], rotary_caches(rows, half))
    # Caches per token: the angles of random positions, given as inputs.
    node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin"], ["y"])
    shape = (B, heads, S, d)
    save("rotary_4d_token_caches", [node], [value("x", shape), value("cos", (B, S, d // 2)), value("sin", (B, S, d // 2))],
         [value("y", shape)])


def attention():
    """Attention: 4-D and 3-D inputs, grouped key/value heads, a past with presents out, causal (bottom-right with
    a past), float masks of lower rank, a bool mask over past and new keys, softcap, a scale."""
    n, kv, h, past = 4, 2, 8, 3
    q4, kv4 = value("q", (B, n, S, h)), (value("k", (B, kv, S, h)), value("v", (B, kv, S, h)))
    save("attention_4d_causal", [helper.make_node("Attention", ["q", "k", "v"], ["y"], is_causal=1)],
         [value("q", (B, n, S, h)), value("k", (B, n, S, h)), value("v", (B, n, S, h))], [value("y", (B, n, S, h))])
    save("attention_3d_gqa", [helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=n, kv_num_heads=kv)],
         [value("q", (B, S, n * h)), value("k", (B, S, kv * h)), value("v", (B, S, kv * h))],
         [value("y", (B, S, n * h))])
    save("attention_past_causal_gqa",
         [helper.make_node("Attention", ["q", "k", "v", "", "past_key", "past_value"],
                           ["y", "present_key", "present_value"], is_causal=1)],
         [q4, *kv4, value("past_key", (B, kv, past, h)), value("past_value", (B, kv, past, h))],
         [value("y", (B, n, S, h)), value("present_key", (B, kv, past + S, h)),
          value("present_value", (B, kv, past + S, h))])
    save("attention_float_mask_2d", [helper.make_node("Attention", ["q", "k", "v", "mask"], ["y"], scale=0.3)],
         [q4, *kv4, value("mask", (S, S))], [value("y", (B, n, S, h))])
    keep = rng.random((B, 1, S, past + S)) > 0.3
    keep[..., 0] = True  # every query sees a key
    save("attention_bool_mask_past",
         [helper.make_node("Attention", ["q", "k", "v", "mask", "past_key", "past_value"],
                           ["y", "present_key", "present_value"])],
         [q4, *kv4, value("past_key", (B, kv, past, h)), value("past_value", (B, kv, past, h))],
         [value("y", (B, n, S, h)), value("present_key", (B, kv, past + S, h)),
          value("present_value", (B, kv, past + S, h))],
         [numpy_helper.from_array(keep, "mask")])
    save("attention_softcap_causal_3d",
         [helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=n, kv_num_heads=n, is_causal=1,
                           softcap=2.0)],
         [value("q", (B, S, n * h)), value("k", (B, S, n * h)), value("v", (B, S, n * h))],
         [value("y", (B, S, n * h))])


def main():
    os.makedirs(OUT, exist_ok=True)
    rms_normalization()
    rotary_embedding()
    attention()


if __name__ == "__main__":
    main()
