#!/usr/bin/env python3
"""Small graphs of onnxruntime's recurrent contrib ops, as hybrid decoders (Qwen3.5's Gated DeltaNet, Mamba-style
convolutions) use them, for tests/engine/webgpu/linear-attention.test.ts, which runs each graph on our engine and
on onnxruntime-node for a prompt and then a decoding step fed the prompt's present state.

- com.microsoft LinearAttention: every update rule (linear, gated, delta, gated_delta), decay per head and per key
  dimension, beta per head and shared, past state given or absent, grouped queries both ways (more query heads than
  state heads, and fewer), d_k ≠ d_v, an explicit scale.
- com.microsoft CausalConvWithState: SiLU or no activation, bias or none, past state or none, dilation,
  channels-last activations.

The graphs shape their raw inputs the way models do before the op, so that random feeds stay in the op's domain:
keys L2-normalised for the delta rules (torch's export of transformers' l2norm, which our engine fuses into one
RMS norm), decay = -softplus(x) (log-space, below 0), beta = sigmoid(x).

  /usr/bin/python3 scripts/make_linear_attention_graphs.py     # writes tests/corpus/linear-attention/*.onnx
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "linear-attention")
MS = "com.microsoft"
t = "steps"  # symbolic: the tests run a prompt, then one token
rng = np.random.default_rng(11)


def value(name, dims, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, dims)


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, f"{name}.onnx"))
    print("wrote", name)


def l2_normalized(raw, out, heads, dim):
    """raw [B, T, heads·dim] → out, each head's vector times 1/sqrt(sum(x²) + 1e-6), as torch exports transformers'
    l2norm (the delta rules expect unit keys)."""
    shape4 = numpy_helper.from_array(np.array([0, 0, heads, dim], np.int64), f"{out}_heads")
    shape3 = numpy_helper.from_array(np.array([0, 0, heads * dim], np.int64), f"{out}_packed")
    axes = numpy_helper.from_array(np.array([-1], np.int64), f"{out}_axes")
    eps = numpy_helper.from_array(np.array(1e-6, np.float32), f"{out}_eps")
    one = numpy_helper.from_array(np.array(1.0, np.float32), f"{out}_one")
    nodes = [
        helper.make_node("Reshape", [raw, shape4.name], [f"{out}_4d"]),
        helper.make_node("Mul", [f"{out}_4d", f"{out}_4d"], [f"{out}_squares"]),
        helper.make_node("ReduceSum", [f"{out}_squares", axes.name], [f"{out}_sum"], keepdims=1),
        helper.make_node("Add", [f"{out}_sum", eps.name], [f"{out}_sum_eps"]),
        helper.make_node("Sqrt", [f"{out}_sum_eps"], [f"{out}_norm"]),
        helper.make_node("Div", [one.name, f"{out}_norm"], [f"{out}_inverse"]),
        helper.make_node("Mul", [f"{out}_4d", f"{out}_inverse"], [f"{out}_unit"]),
        helper.make_node("Reshape", [f"{out}_unit", shape3.name], [out]),
    ]
    return nodes, [shape4, shape3, axes, eps, one]


def linear_attention(name, rule, hq, hkv, dk, dv, decay_width=None, beta_width=None, past=True, scale=None):
    """decay_width: None (no decay input), hkv (per head) or hkv·dk (per key dimension); beta_width likewise."""
    inputs = [value("q", ["batch", t, hq * dk]), value("k_raw", ["batch", t, hkv * dk]),
              value("v", ["batch", t, hkv * dv])]
    nodes, inits = [], []
    delta = rule in ("delta", "gated_delta")
    key = "k_raw"
    if delta:
        nodes, inits = l2_normalized("k_raw", "k", hkv, dk)
        key = "k"
    op_inputs = ["q", key, "v", "past_state" if past else ""]
    if past:
        inputs.append(value("past_state", ["batch", hkv, dk, dv]))
    if decay_width is not None:
        inputs.append(value("decay_raw", ["batch", t, decay_width]))
        nodes += [helper.make_node("Softplus", ["decay_raw"], ["decay_softplus"]),
                  helper.make_node("Neg", ["decay_softplus"], ["decay"])]
        op_inputs.append("decay")
    elif beta_width is not None:
        op_inputs.append("")
    if beta_width is not None:
        inputs.append(value("beta_raw", ["batch", t, beta_width]))
        nodes.append(helper.make_node("Sigmoid", ["beta_raw"], ["beta"]))
        op_inputs.append("beta")
    while op_inputs[-1] == "":
        op_inputs.pop()
    attrs = dict(update_rule=rule, q_num_heads=hq, kv_num_heads=hkv)
    if scale is not None:
        attrs["scale"] = scale
    nodes.append(helper.make_node("LinearAttention", op_inputs, ["output", "present_state"], domain=MS, **attrs))
    outputs = [value("output", ["batch", t, max(hq, hkv) * dv]), value("present_state", ["batch", hkv, dk, dv])]
    save(name, nodes, inputs, outputs, inits)


def causal_conv(name, channels, kernel, activation=None, bias=True, past=True, dilation=None, channels_last=False):
    state = (kernel - 1) * (dilation or 1)
    x_dims = ["batch", t, channels] if channels_last else ["batch", channels, t]
    state_dims = ["batch", state, channels] if channels_last else ["batch", channels, state]
    weight = numpy_helper.from_array((rng.standard_normal((channels, 1, kernel)) * 0.5).astype(np.float32), "weight")
    inits = [weight]
    op_inputs = ["x", "weight"]
    if bias:
        inits.append(numpy_helper.from_array((rng.standard_normal(channels) * 0.3).astype(np.float32), "bias"))
        op_inputs.append("bias")
    inputs = [value("x", x_dims)]
    if past:
        op_inputs += [""] * (3 - len(op_inputs)) + ["past_state"]
        inputs.append(value("past_state", state_dims))
    attrs = {}
    if activation is not None:
        attrs["activation"] = activation
    if dilation is not None:
        attrs["dilation"] = dilation
    if channels_last:
        attrs["channels_last"] = 1
    node = helper.make_node("CausalConvWithState", op_inputs, ["y", "present_state"], domain=MS, **attrs)
    save(name, [node], inputs, [value("y", x_dims), value("present_state", state_dims)], inits)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Qwen3.5's form: per-head decay and beta, the past state fed back.
    linear_attention("gated_delta", "gated_delta", 2, 2, 8, 8, decay_width=2, beta_width=2)
    linear_attention("gated_delta_no_past", "gated_delta", 2, 2, 8, 8, decay_width=2, beta_width=2, past=False)
    linear_attention("gated_delta_wide_values", "gated_delta", 2, 2, 8, 16, decay_width=2, beta_width=2,
                     scale=0.7)
    linear_attention("gated_key_decay", "gated", 2, 2, 8, 8, decay_width=16)
    linear_attention("gated_head_decay", "gated", 2, 2, 8, 8, decay_width=2)
    linear_attention("linear", "linear", 2, 2, 8, 8)
    linear_attention("delta_shared_beta", "delta", 2, 2, 8, 8, beta_width=1)
    linear_attention("gated_delta_gqa", "gated_delta", 4, 2, 8, 8, decay_width=2, beta_width=2)
    linear_attention("gated_delta_inverse_gqa", "gated_delta", 2, 4, 8, 8, decay_width=4, beta_width=4)
    causal_conv("conv_silu", 12, 4, activation="silu")
    causal_conv("conv_plain_no_state", 12, 4, bias=False, past=False)
    causal_conv("conv_swish_dilated", 12, 3, activation="swish", dilation=2)
    causal_conv("conv_channels_last", 12, 4, activation="silu", channels_last=True)


if __name__ == "__main__":
    main()
