#!/usr/bin/env python3
"""Small graphs of onnxruntime's contrib ops (com.microsoft), as its transformer optimizer writes them, for the
engine tests against onnxruntime-node (tests/engine/webgpu/contrib-ops.test.ts).

  /usr/bin/python3 scripts/make_contrib_graphs.py     # writes tests/corpus/contrib/*.onnx

Attention ops (GroupQueryAttention, MultiHeadAttention, Attention with past/present) go to
tests/corpus/contrib-attention with symbolic dims, for tests/engine/webgpu/contrib-attention.test.ts, which
runs each graph on several steps (prompt, decode, padded batches).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from make_op_graphs import int4_tensor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "contrib")
OUT_ATTENTION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "contrib-attention")
B, S, C = 2, 5, 32
rng = np.random.default_rng(3)


def const(name, shape, scale=0.5, offset=0.0):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale + offset).astype(np.float32), name)


def save(name, nodes, inputs, outputs, inits, out=OUT):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(out, f"{name}.onnx"))
    print("wrote", name)


def x(name="x", shape=(B, S, C)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def main():
    os.makedirs(OUT, exist_ok=True)
    ms = "com.microsoft"
    gamma, beta, bias = const("gamma", [C], 0.2, 1.0), const("beta", [C], 0.1), const("bias", [C], 0.3)
    save("skip_layer_norm", [helper.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"],
                                              ["y", "", "", "sum"], domain=ms, epsilon=1e-5)],
         [x(), x("skip")], [x("y"), x("sum")], [gamma, beta, bias])
    save("skip_simplified_layer_norm",
         [helper.make_node("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma"], ["y"], domain=ms, epsilon=1e-6)],
         [x(), x("skip")], [x("y")], [gamma])
    save("simplified_layer_norm",
         [helper.make_node("SimplifiedLayerNormalization", ["x", "gamma"], ["y"], axis=-1, epsilon=1e-6)],
         [x()], [x("y")], [gamma])
    w = const("w", [C, 48], 0.2)
    b48 = const("b48", [48], 0.2)
    save("matmul_bias_gelu", [helper.make_node("MatMul", ["x", "w"], ["h"]),
                              helper.make_node("BiasGelu", ["h", "b48"], ["y"], domain=ms)],
         [x()], [x("y", (B, S, 48))], [w, b48])
    save("fast_gelu", [helper.make_node("FastGelu", ["x", "bias"], ["y"], domain=ms)], [x()], [x("y")], [bias])
    save("quick_gelu", [helper.make_node("QuickGelu", ["x"], ["y"], domain=ms, alpha=1.702)], [x()], [x("y")], [])
    save("ms_gelu", [helper.make_node("Gelu", ["x"], ["y"], domain=ms)], [x()], [x("y")], [])
    gather_block_quantized()
    matmul_bnb4()
    rotary_embedding()
    os.makedirs(OUT_ATTENTION, exist_ok=True)
    group_query_attention()
    multi_head_attention()
    packed_attention()
    # Last, so that the random draws of the graphs above stay as they were.
    mrotary_embedding()
    hybrid_decoder_gates()


def matmul_bnb4():
    """MatMulBnb4 (transformers.js bnb4) with random codes and block absmax, FP4 (quant_type 0) and NF4 (1)."""
    k, n, block = C, 48, 16
    rng = np.random.default_rng(17)  # its own stream: the graphs made after these stay as they were
    for quant_type, name in ((0, "matmul_bnb4_fp4"), (1, "matmul_bnb4_nf4")):
        codes = numpy_helper.from_array(rng.integers(0, 256, (n * k) // 2, dtype=np.uint8), "codes")
        absmax = numpy_helper.from_array(rng.uniform(0.1, 1.0, (n * k) // block).astype(np.float32), "absmax")
        node = helper.make_node("MatMulBnb4", ["x", "codes", "absmax"], ["y"], domain="com.microsoft", K=k, N=n,
                                block_size=block, quant_type=quant_type)
        save(name, [node], [x()], [x("y", (B, S, n))], [codes, absmax])


def gather_block_quantized():
    """GatherBlockQuantized as transformers.js q4 files hold embeddings: uint8 data (4-bit: two codes a byte,
    low nibble first), scales [vocab, K / block], optional zero points. Indices are an int64 input [B, S]."""
    vocab, k = 16, 64
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [B, S])
    for name, bits, block, zero_points, lead in [
        ("gather_block_quantized_q4", 4, 16, True, []),
        ("gather_block_quantized_q4_default_zero", 4, 32, False, []),
        ("gather_block_quantized_q8", 8, 16, True, []),
        ("gather_block_quantized_q4_rank3", 4, 16, False, [3]),
    ]:
        per_byte = 8 // bits
        blocks = k // block
        data = rng.integers(0, 256, [vocab, *lead, k // per_byte]).astype(np.uint8)
        scales = (rng.random([vocab, *lead, blocks]) * 0.2 + 0.01).astype(np.float32)
        inits = [numpy_helper.from_array(data, "table"), numpy_helper.from_array(scales, "scales")]
        inputs = ["table", "ids", "scales"]
        if zero_points:
            zp = rng.integers(0, 256, [vocab, *lead, (blocks + per_byte - 1) // per_byte]).astype(np.uint8)
            inits.append(numpy_helper.from_array(zp, "zero_points"))
            inputs.append("zero_points")
        node = helper.make_node("GatherBlockQuantized", inputs, ["y"], domain="com.microsoft", bits=bits,
                                block_size=block, gather_axis=0, quantize_axis=len(lead) + 1)
        save(name, [node], [ids], [x("y", (B, S, *lead, k))], inits)
    # int4 / uint4 data: one logical code per element (two a byte in the file), zero points of the same type
    # (default 0). Their own generator, so the graphs above keep their values.
    nibbles = np.random.default_rng(29)
    for name, signed, zero_points in [("gather_block_quantized_int4", True, True),
                                      ("gather_block_quantized_uint4_default_zero", False, False)]:
        low, high = (-8, 8) if signed else (0, 16)
        blocks = k // 16
        inits = [int4_tensor("table", [vocab, k], nibbles.integers(low, high, [vocab, k]), signed),
                 numpy_helper.from_array((nibbles.random([vocab, blocks]) * 0.2 + 0.01).astype(np.float32), "scales")]
        inputs = ["table", "ids", "scales"]
        if zero_points:
            inits.append(int4_tensor("zero_points", [vocab, blocks], nibbles.integers(low, high, [vocab, blocks]),
                                     signed))
            inputs.append("zero_points")
        node = helper.make_node("GatherBlockQuantized", inputs, ["y"], domain="com.microsoft", block_size=16,
                                gather_axis=0, quantize_axis=1)
        save(name, [node], [ids], [x("y", (B, S, k))], inits)



def rotary_caches(positions, half):
    angles = np.arange(positions)[:, None] * (10000.0 ** (-np.arange(half) / half))[None, :]
    return [numpy_helper.from_array(np.cos(angles).astype(np.float32), "cos_cache"),
            numpy_helper.from_array(np.sin(angles).astype(np.float32), "sin_cache")]


def rotary_embedding():
    """RotaryEmbedding: 3-D [B, S, H·D] and 4-D [B, H, S, D] inputs, rotate-half and interleaved, a partial
    rotary_embedding_dim, position ids per token [B, S] or one offset [1]; caches of real angles."""
    heads, d, positions = 4, 8, 16

    for name, shape, attrs, half, pos_shape in [
        ("rotary_embedding_3d", (B, S, heads * d), dict(num_heads=heads), d // 2, [B, S]),
        ("rotary_embedding_3d_interleaved", (B, S, heads * d), dict(num_heads=heads, interleaved=1), d // 2,
         [B, S]),
        ("rotary_embedding_4d", (B, heads, S, d), dict(), d // 2, [B, S]),
        ("rotary_embedding_4d_interleaved_offset", (B, heads, S, d), dict(interleaved=1), d // 2, [1]),
        ("rotary_embedding_partial", (B, S, heads * d), dict(num_heads=heads, rotary_embedding_dim=4), 2, [B, S]),
        ("rotary_embedding_no_heads", (B, S, heads * d), dict(), d // 2, [B, S]),
    ]:
        node = helper.make_node("RotaryEmbedding", ["x", "position_ids", "cos_cache", "sin_cache"], ["y"],
                                domain="com.microsoft", **attrs)
        pos = helper.make_tensor_value_info("position_ids", TensorProto.INT64, pos_shape)
        save(name, [node], [x("x", shape), pos], [x("y", shape)], rotary_caches(positions, half))



def mrotary_embedding():
    """MRotaryEmbedding (Qwen2-VL to Qwen3.5's multimodal rotary): position ids [3, B, S] (temporal, height,
    width), the angles split among them in turn (mrope_layout 0) or interleaved (1), 3-D and 4-D inputs, a partial
    rotary dimension."""
    heads, d, positions = 4, 16, 16
    for name, shape, attrs, half in [
        ("mrotary_embedding_sections", (B, S, heads * d), dict(num_heads=heads, mrope_section=[4, 2, 2]), d // 2),
        ("mrotary_embedding_interleaved_4d", (B, heads, S, d), dict(mrope_section=[3, 1, 4], mrope_layout=1),
         d // 2),
        ("mrotary_embedding_partial_interleaved", (B, S, heads * d),
         dict(num_heads=heads, rotary_embedding_dim=8, mrope_section=[2, 1, 1], mrope_layout=1), 4),
    ]:
        node = helper.make_node("MRotaryEmbedding", ["x", "position_ids", "cos_cache", "sin_cache"], ["y"],
                                domain="com.microsoft", **attrs)
        pos = helper.make_tensor_value_info("position_ids", TensorProto.INT64, [3, B, S])
        save(name, [node], [x("x", shape), pos], [x("y", shape)], rotary_caches(positions, half))


def hybrid_decoder_gates():
    """The ops a Gated DeltaNet layer wraps LinearAttention in: LinearAttentionGate (decay = -exp(A_log) ·
    softplus(a + dt_bias), beta = sigmoid(b)), GatedRMSNorm over each head of a packed output, times SiLU(gate),
    and the L2 normalization of queries and keys (LpNormalization)."""
    heads, width = 4, 8
    dt_bias = const("dt_bias", [heads], 0.5)
    decay_scale = numpy_helper.from_array(-np.exp(rng.standard_normal(heads) * 0.5).astype(np.float32),
                                          "decay_scale")
    save("linear_attention_gate",
         [helper.make_node("LinearAttentionGate", ["a", "dt_bias", "decay_scale", "b"], ["decay", "beta"],
                           domain="com.microsoft")],
         [x("a", (B, S, heads)), x("b", (B, S, heads))], [x("decay", (B, S, heads)), x("beta", (B, S, heads))],
         [dt_bias, decay_scale])
    save("linear_attention_gate_decay_only",
         [helper.make_node("LinearAttentionGate", ["a", "dt_bias", "decay_scale"], ["decay"], domain="com.microsoft")],
         [x("a", (B, S, heads))], [x("decay", (B, S, heads))], [dt_bias, decay_scale])
    scale = const("scale", [width], 0.2, 1.0)
    save("gated_rms_norm",
         [helper.make_node("GatedRMSNorm", ["x", "scale", "gate"], ["y"], domain="com.microsoft", epsilon=1e-6)],
         [x("x", (B, S, heads * width)), x("gate", (B, S, heads * width))], [x("y", (B, S, heads * width))], [scale])
    save("lp_normalization_l2", [helper.make_node("LpNormalization", ["x"], ["y"], axis=-1, p=2)], [x()], [x("y")], [])
    save("lp_normalization_l1_axis1", [helper.make_node("LpNormalization", ["x"], ["y"], axis=1, p=1)], [x()],
         [x("y")], [])


def group_query_attention():
    """GroupQueryAttention with symbolic batch, sequence and past lengths: separate or packed QKV, with and
    without rotary (rotate-half, interleaved, partial), a sliding window, a softcap, attention sinks, seqlens_k [B]
    and total_sequence_length as inputs."""
    ms = "com.microsoft"
    f32 = TensorProto.FLOAT
    for name, heads, kv_heads, d, packed, rotary, extra in [
        ("gqa", 4, 2, 16, False, None, {}),
        ("gqa_rotary", 4, 2, 16, False, (0, 8), {}),
        ("gqa_packed_rotary_interleaved", 4, 1, 32, True, (1, 8), dict(scale=0.3)),
        ("gqa_local_window", 4, 2, 16, False, (0, 8), dict(local_window_size=2)),
        ("gqa_softcap", 4, 2, 16, False, None, dict(softcap=0.5, scale=1.0)),
        # Attention sinks: a virtual key of score 0 (smooth softmax) or of a learned score per head (head_sink),
        # with no value, in every row's softmax.
        ("gqa_smooth_softmax", 4, 2, 16, False, None, dict(smooth_softmax=1)),
        ("gqa_head_sink", 4, 2, 16, False, (0, 8), dict(smooth_softmax=1)),
        # An additive attention_bias [B, 1, S, T].
        ("gqa_attention_bias", 4, 2, 16, False, (0, 8), {}),
    ]:
        inputs = []
        if packed:
            inputs.append(helper.make_tensor_value_info("query", f32, ["B", "S", (heads + 2 * kv_heads) * d]))
        else:
            inputs += [helper.make_tensor_value_info("query", f32, ["B", "S", heads * d]),
                       helper.make_tensor_value_info("key", f32, ["B", "S", kv_heads * d]),
                       helper.make_tensor_value_info("value", f32, ["B", "S", kv_heads * d])]
        inputs += [helper.make_tensor_value_info("past_key", f32, ["B", kv_heads, "P", d]),
                   helper.make_tensor_value_info("past_value", f32, ["B", kv_heads, "P", d]),
                   helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["B"]),
                   helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
        inits = []
        attrs = dict(num_heads=heads, kv_num_heads=kv_heads, **extra)
        names = ["query", "" if packed else "key", "" if packed else "value", "past_key", "past_value",
                 "seqlens_k", "total_sequence_length"]
        if rotary:
            interleaved, half = rotary
            inits += rotary_caches(32, half)
            names += ["cos_cache", "sin_cache"]
            attrs.update(do_rotary=1, rotary_interleaved=interleaved)
        if name == "gqa_attention_bias":
            inputs.append(helper.make_tensor_value_info("attention_bias", f32, ["B", 1, "S", "T"]))
            names += ["", "attention_bias"]
        if name == "gqa_head_sink":
            # Drawn from their own generator, so the graphs above keep their values.
            sinks = np.random.default_rng(31).standard_normal(heads).astype(np.float32) * 2
            inits.append(numpy_helper.from_array(sinks, "head_sink"))
            names += ["", "", "head_sink"]
        node = helper.make_node("GroupQueryAttention", names, ["output", "present_key", "present_value"],
                                domain=ms, **attrs)
        outputs = [helper.make_tensor_value_info("output", f32, ["B", "S", heads * d]),
                   helper.make_tensor_value_info("present_key", f32, None),
                   helper.make_tensor_value_info("present_value", f32, None)]
        save(name, [node], inputs, outputs, inits, OUT_ATTENTION)


def multi_head_attention():
    """MultiHeadAttention (N = 4 heads of 8): bias with a past and presents, causal; cross attention with a key
    padding mask ([B, L] 0/1 or [B] lengths) and an attention bias; keys and values already split into heads."""
    ms = "com.microsoft"
    f32 = TensorProto.FLOAT
    heads, d = 4, 8
    hidden = heads * d

    def tensor(name, shape, elem=f32):
        return helper.make_tensor_value_info(name, elem, shape)

    bias = numpy_helper.from_array((rng.standard_normal(3 * hidden) * 0.3).astype(np.float32), "bias")
    outputs = [tensor("output", ["B", "S", hidden]), tensor("present_key", None), tensor("present_value", None)]
    for name, inputs, names, inits, outs, attrs in [
        ("mha_bias_past_causal",
         [tensor("query", ["B", "S", hidden]), tensor("key", ["B", "S", hidden]), tensor("value", ["B", "S", hidden]),
          tensor("past_key", ["B", heads, "P", d]), tensor("past_value", ["B", heads, "P", d])],
         ["query", "key", "value", "bias", "", "", "past_key", "past_value"], [bias], outputs, dict(unidirectional=1)),
        ("mha_presents_bias",
         [tensor("query", ["B", "S", hidden]), tensor("key", ["B", "L", hidden]), tensor("value", ["B", "L", hidden])],
         ["query", "key", "value", "bias"], [bias], outputs, dict(scale=0.25)),
        ("mha_padding_mask_attention_bias",
         [tensor("query", ["B", "S", hidden]), tensor("key", ["B", "L", hidden]), tensor("value", ["B", "L", hidden]),
          tensor("key_padding_mask", ["B", "L"], TensorProto.INT32), tensor("attention_bias", [1, heads, "S", "L"])],
         ["query", "key", "value", "", "key_padding_mask", "attention_bias"], [], outputs[:1], {}),
        ("mha_key_lengths",
         [tensor("query", ["B", "S", hidden]), tensor("key", ["B", "L", hidden]), tensor("value", ["B", "L", hidden]),
          tensor("key_padding_mask", ["B"], TensorProto.INT32)],
         ["query", "key", "value", "", "key_padding_mask"], [], outputs[:1], {}),
        ("mha_split_kv",
         [tensor("query", ["B", "S", hidden]), tensor("key", ["B", heads, "L", d]), tensor("value", ["B", heads, "L", d])],
         ["query", "key", "value"], [], outputs[:1], {}),
    ]:
        node = helper.make_node("MultiHeadAttention", names, [o.name for o in outs], domain=ms, num_heads=heads, **attrs)
        save(name, [node], inputs, outs, inits, OUT_ATTENTION)


def packed_attention():
    """com.microsoft Attention (packed QKV projection, N = 4 heads of 8): GPT-2 style with past/present and
    causal masking; BERT style with an attention bias and a present but no past."""
    ms = "com.microsoft"
    f32 = TensorProto.FLOAT
    heads, d = 4, 8
    hidden = heads * d
    weights = numpy_helper.from_array((rng.standard_normal([hidden, 3 * hidden]) * 0.2).astype(np.float32), "weights")
    bias = numpy_helper.from_array((rng.standard_normal(3 * hidden) * 0.2).astype(np.float32), "bias")
    x = helper.make_tensor_value_info("input", f32, ["B", "S", hidden])
    out = helper.make_tensor_value_info("output", f32, ["B", "S", hidden])
    present = helper.make_tensor_value_info("present", f32, None)
    past = helper.make_tensor_value_info("past", f32, [2, "B", heads, "P", d])
    node = helper.make_node("Attention", ["input", "weights", "bias", "", "past"], ["output", "present"], domain=ms,
                            num_heads=heads, unidirectional=1)
    save("attention_past_causal", [node], [x, past], [out, present], [weights, bias], OUT_ATTENTION)
    attn_bias = helper.make_tensor_value_info("attention_bias", f32, [1, heads, "S", "S"])
    node = helper.make_node("Attention", ["input", "weights", "bias", "", "", "attention_bias"], ["output", "present"],
                            domain=ms, num_heads=heads)
    save("attention_present_bias", [node], [x, attn_bias], [out, present], [weights, bias], OUT_ATTENTION)
    # mask_index as onnxruntime's optimizer leaves BERT's attention mask ([B, S] 0/1), as key lengths [B], lengths
    # and starts [2B], per query [B, S, S], and GPT-2's [B, P + S] over a past.
    for name, dims in [("attention_mask_index_2d", ["B", "S"]), ("attention_mask_index_lengths", ["B"]),
                       ("attention_mask_index_lengths_starts", ["2B"]), ("attention_mask_index_3d", ["B", "S", "S"])]:
        mask = helper.make_tensor_value_info("key_padding_mask", TensorProto.INT32, dims)
        node = helper.make_node("Attention", ["input", "weights", "bias", "key_padding_mask"], ["output"], domain=ms,
                                num_heads=heads)
        save(name, [node], [x, mask], [out], [weights, bias], OUT_ATTENTION)
    mask = helper.make_tensor_value_info("key_padding_mask", TensorProto.INT32, ["B", "T"])
    node = helper.make_node("Attention", ["input", "weights", "bias", "key_padding_mask", "past"], ["output", "present"],
                            domain=ms, num_heads=heads, unidirectional=1)
    save("attention_mask_index_past_causal", [node], [x, mask, past], [out, present], [weights, bias], OUT_ATTENTION)


if __name__ == "__main__":
    main()
