#!/usr/bin/env python3
"""A random-weight Qwen3.5 folder (model_type qwen3_5, Qwen3_5ForConditionalGeneration) in transformers.js' layout,
which transformers.js 4.x runs with Qwen3-VL's classes (Qwen3_5ForConditionalGeneration extends
Qwen3VLForConditionalGeneration): Qwen3-VL's folder (scripts/make_qwen3vl_random.py) with Qwen3.5's hybrid language
model, whose linear-attention layers the decoder graph expresses with onnxruntime's contrib ops, as real exports do
(onnxruntime-genai's model builder, the community WebGPU ports).

- onnx/vision_encoder.onnx: Qwen3-VL's (make_qwen3vl_random.Qwen3VLVisionModel: Conv3d patches with a bias, the learned
  4 × 4 position grid resampled per image, LayerNorm blocks with GELU-tanh MLPs, the patch merger). Qwen3.5's vision
  model is Qwen3-VL's without DeepStack: its state dict is Qwen3VLVisionModel's for deepstack_visual_indexes [].
- onnx/embed_tokens.onnx: input_ids → inputs_embeds.
- onnx/decoder_model_merged.onnx: transformers' Qwen3_5TextModel with its tied lm_head, layer_types [linear_attention,
  full_attention, linear_attention, full_attention] (full_attention_interval 2); ONE graph for the first step and the
  cached ones, no If: the first step is fed zero states and 0 past positions (what transformers.js' addPastKeyValues
  feeds at the declared shapes). Every norm is Qwen3_5RMSNorm (zero-centred: x · rsqrt(mean(x²) + eps) · (1 + w)).
  * full_attention (Qwen3_5Attention): q_proj gives each head's query and output gate side by side ([…, heads,
    2 · head_dim], chunked), q_norm / k_norm over head_dim, partial rotary (partial_rotary_factor 0.5: the first 8 of
    16 dims rotate) with Qwen3-VL's interleaved M-RoPE over position_ids [3, batch, seq], grouped-query attention,
    attn · sigmoid(gate) before o_proj. Inputs past_key_values.{i}.key / .value [batch, kv heads, past, head_dim],
    outputs present.{i}.key / .value.
  * linear_attention (Qwen3_5GatedDeltaNet): in_proj_qkv → com.microsoft::CausalConvWithState (depthwise causal conv
    of kernel linear_conv_kernel_dim 4 over the q, k, v channels, no bias, SiLU; past_conv.{i} / present_conv.{i}
    [batch, conv channels, kernel - 1]: the last kernel - 1 inputs) → q and k L2-normalised per head (transformers'
    l2norm, eps 1e-6) and repeated (repeat_interleave) from linear_num_key_heads 2 up to linear_num_value_heads 4 →
    com.microsoft::LinearAttention (update_rule gated_delta, q_num_heads = kv_num_heads = 4, scale 1/sqrt(d_k)
    written out; decay g = -exp(A_log) · softplus(a + dt_bias), beta = sigmoid(b); past_recurrent.{i} /
    present_recurrent.{i} [batch, 4, d_k 8, d_v 16]) → Qwen3_5RMSNormGated (per value head; NOT zero-centred:
    norm(o) · w · silu(z)) → out_proj. Both ops are torch.autograd.Functions whose forward computes what the op does,
    so the module traced is the graph's arithmetic.
- config.json (Qwen3.5's fields: text_config qwen3_5_text with layer_types, full_attention_interval, linear_*,
  head_dim, rope_parameters {mrope_interleaved, mrope_section, partial_rotary_factor, rope_theta, rope_type};
  vision_config with model_type qwen3_5 as Qwen's own config.json has it), preprocessor_config.json (Qwen3-VL's, as
  Qwen3.5's is), chat_template.jinja (Qwen3.5-0.8B's template, see CHAT_TEMPLATE; the same string in
  tokenizer_config.json's chat_template, where transformers.js reads it), generation_config.json and the Qwen2
  scripts' word-level tokenizer with Qwen's special tokens plus <think> and </think> (added, not special).

reference.json holds what PyTorch computes, with make_qwen3vl_random's keys (image, patches, features at two grids,
prompt ids and 3-D positions, the greedy answers of a two-turn chat, max_pixels=256, two images, a system message, a
repetition penalty). Each prompt ends with the template's generation prompt: <|im_start|>assistant, a line break,
then an empty <think></think> block (<think>, two line breaks, </think>, two line breaks), thinking being off unless
enable_thinking is true; earlier answers go back into a prompt as their words, with no <think> block, as the template
writes them. The answers come from transformers' semantics with its cache (prefill: causal_conv1d_fn and
torch_chunk_gated_delta_rule, the conv state the input zero-padded on the left to the kernel size; decode:
causal_conv1d_update and torch_recurrent_gated_delta_rule; keys and values appended), and again from the exported
decoder's module step by step (zero states and no past at the first step), which agree; for each answer a forward over
prompt and answer at once without a cache (the chunked rule, two chunks of 64 for the longer ones) gives the cached
steps' logits.

Checks made here (printed): the chat template is Qwen3.5-35B-A3B's (its SHA-256) but for the small models'
generation prompt; the state-dict names are transformers' Qwen3_5Model's (visual.*, language_model.*); the rotary
tables equal transformers' Qwen3_5TextRotaryEmbedding (partial, interleaved); transformers' torch_chunk_gated_delta_rule
(chunk sizes 64 and 4) and torch_recurrent_gated_delta_rule, from a nonzero initial state, equal the LinearAttention
op's semantics (S_t = exp(g_t) S_{t-1} + β_t k_t ⊗ (v_t - exp(g_t) S_{t-1}ᵀ k_t), o_t = scale · q_tᵀ S_t) and its state;
causal_conv1d_fn / causal_conv1d_update equal CausalConvWithState's; cached answers equal uncached logits (< 1e-4);
the graph's module answers as transformers does; each answer depends on the image, and the answers that go back into
a prompt are words; every graph passes onnx.checker (full_check), the decoder with only plain ops (no If, no Loop) and
the two contrib ops, opset 17 and com.microsoft 1.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/make_qwen35_random.py     # writes tests/corpus/qwen35-random/
  ... make_qwen35_random.py --dump /tmp/qwen35_steps.json   # also the decoder's first two steps, inputs and outputs
"""
import argparse
import hashlib
import json
import math
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import onnxutil  # noqa: E402
import make_qwen2vl_random as q2  # noqa: E402
import make_qwen3vl_random as q3  # noqa: E402
from make_llava_random import Embed, word_ids, word_tokenizer  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "qwen35-random")

# --- the language model ------------------------------------------------------------------------------------------
D, FF = q2.D, 64  # hidden size, intermediate size
FULL_EVERY = 2  # full_attention_interval
LAYER_TYPES = ["linear_attention" if (i + 1) % FULL_EVERY else "full_attention" for i in range(4)]
H, KVH, HD = 4, 2, 16  # full attention: query heads, key/value heads, head_dim
PARTIAL = 0.5  # partial_rotary_factor: the first ROT dims of each head rotate
ROT = int(HD * PARTIAL)
# Interleaved over ROT / 2 = 4 frequencies: T H W T (Qwen3.5's [11, 11, 10] over 32 at a small size).
MROPE = (2, 1, 1)
THETA = 10000.0
K_HEADS, V_HEADS, DK, DV, CONV_K = 2, 4, 8, 16, 4  # linear_num_key/value_heads, key/value head dims, conv kernel
KEY_DIM, VALUE_DIM = K_HEADS * DK, V_HEADS * DV
CONV_DIM = 2 * KEY_DIM + VALUE_DIM
EPS = 1e-6  # rms_norm_eps
SPREAD = 4.0  # the projections' weights scaled up from nn.Linear's init, so that greedy answers wander
STEPS = 8

# --- the tokenizer: the Qwen2 scripts' vocabulary with <think> and </think> (added tokens, not special) -------------
THINK = ["<think>", "</think>"]
VOCAB = q2.SPECIALS + THINK + [q2.NEWLINE] + q2.WORDS
V = len(VOCAB)
ID = {w: i for i, w in enumerate(VOCAB)}
EOS, IM_END, IMAGE = q2.EOS, q2.IM_END, q2.IMAGE
assert all(ID[t] == q2.ID[t] for t in q2.SPECIALS)  # the special ids are the Qwen2 scripts' (rope_index, answer)
GENERATION_PROMPT = "<think>\n\n</think>\n\n"  # after "<|im_start|>assistant\n": thinking off

# Qwen3.5's chat template as its small models have it (Qwen3.5-0.8B "operates in non-thinking mode by default"):
# Qwen3.5-35B-A3B's chat_template.jinja (7756 bytes, SHA-256 LARGE_SHA256), whose generation prompt opens a <think>
# block unless enable_thinking is false, with the small models' branch in its place (an empty <think></think> unless
# enable_thinking is true). Only that branch differs (checked: putting the large models' back gives LARGE_SHA256).
CHAT_TEMPLATE = r"""{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- macro render_content(content, do_vision_count, is_system_content=false) %}
    {%- if content is string %}
        {{- content }}
    {%- elif content is iterable and content is not mapping %}
        {%- for item in content %}
            {%- if 'image' in item or 'image_url' in item or item.type == 'image' %}
                {%- if is_system_content %}
                    {{- raise_exception('System message cannot contain images.') }}
                {%- endif %}
                {%- if do_vision_count %}
                    {%- set image_count.value = image_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}
                    {{- 'Picture ' ~ image_count.value ~ ': ' }}
                {%- endif %}
                {{- '<|vision_start|><|image_pad|><|vision_end|>' }}
            {%- elif 'video' in item or item.type == 'video' %}
                {%- if is_system_content %}
                    {{- raise_exception('System message cannot contain videos.') }}
                {%- endif %}
                {%- if do_vision_count %}
                    {%- set video_count.value = video_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}
                    {{- 'Video ' ~ video_count.value ~ ': ' }}
                {%- endif %}
                {{- '<|vision_start|><|video_pad|><|vision_end|>' }}
            {%- elif 'text' in item %}
                {{- item.text }}
            {%- else %}
                {{- raise_exception('Unexpected item type in content.') }}
            {%- endif %}
        {%- endfor %}
    {%- elif content is none or content is undefined %}
        {{- '' }}
    {%- else %}
        {{- raise_exception('Unexpected content type.') }}
    {%- endif %}
{%- endmacro %}
{%- if not messages %}
    {{- raise_exception('No messages provided.') }}
{%- endif %}
{%- if tools and tools is iterable and tools is not mapping %}
    {{- '<|im_start|>system\n' }}
    {{- "# Tools\n\nYou have access to the following functions:\n\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>" }}
    {{- '\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>' }}
    {%- if messages[0].role == 'system' %}
        {%- set content = render_content(messages[0].content, false, true)|trim %}
        {%- if content %}
            {{- '\n\n' + content }}
        {%- endif %}
    {%- endif %}
    {{- '<|im_end|>\n' }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {%- set content = render_content(messages[0].content, false, true)|trim %}
        {{- '<|im_start|>system\n' + content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" %}
        {%- set content = render_content(message.content, false)|trim %}
        {%- if not(content.startswith('<tool_response>') and content.endswith('</tool_response>')) %}
            {%- set ns.multi_step_tool = false %}
            {%- set ns.last_query_index = index %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if ns.multi_step_tool %}
    {{- raise_exception('No user query found in messages.') }}
{%- endif %}
{%- for message in messages %}
    {%- set content = render_content(message.content, true)|trim %}
    {%- if message.role == "system" %}
        {%- if not loop.first %}
            {{- raise_exception('System message must be at the beginning.') }}
        {%- endif %}
    {%- elif message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- set reasoning_content = reasoning_content|trim %}
        {%- if loop.index0 > ns.last_query_index %}
            {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content + '\n</think>\n\n' + content }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls and message.tool_calls is iterable and message.tool_calls is not mapping %}
            {%- for tool_call in message.tool_calls %}
                {%- if tool_call.function is defined %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {%- if loop.first %}
                    {%- if content|trim %}
                        {{- '\n\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
                    {%- else %}
                        {{- '<tool_call>\n<function=' + tool_call.name + '>\n' }}
                    {%- endif %}
                {%- else %}
                    {{- '\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
                {%- endif %}
                {%- if tool_call.arguments is defined %}
                    {%- for args_name, args_value in tool_call.arguments|items %}
                        {{- '<parameter=' + args_name + '>\n' }}
                        {%- set args_value = args_value | tojson | safe if args_value is mapping or (args_value is sequence and args_value is not string) else args_value | string %}
                        {{- args_value }}
                        {{- '\n</parameter>\n' }}
                    {%- endfor %}
                {%- endif %}
                {{- '</function>\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.previtem and loop.previtem.role != "tool" %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if not loop.last and loop.nextitem.role != "tool" %}
            {{- '<|im_end|>\n' }}
        {%- elif loop.last %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- raise_exception('Unexpected message role.') }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is true %}
        {{- '<think>\n' }}
    {%- else %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"""
SMALL_BRANCH = r"""    {%- if enable_thinking is defined and enable_thinking is true %}
        {{- '<think>\n' }}
    {%- else %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}"""
LARGE_BRANCH = r"""    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- else %}
        {{- '<think>\n' }}
    {%- endif %}"""
LARGE_SHA256 = "a4aee8afcf2e0711942cf848899be66016f8d14a889ff9ede07bca099c28f715"


# ============================================== the language model ================================================

class Qwen3_5RMSNorm(nn.Module):
    """Zero-centred: x · rsqrt(mean(x²) + eps) · (1 + weight), in float32 (the model's dtype here)."""

    def __init__(self, dim):
        super().__init__()
        self.eps = EPS
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * (1.0 + self.weight)


class Qwen3_5RMSNormGated(nn.Module):
    """norm(x) · weight · silu(gate): its weight starts at ones (not zero-centred)."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.variance_epsilon = EPS

    def forward(self, x, gate):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * x * F.silu(gate)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary(position_ids):
    """Qwen3_5TextRotaryEmbedding: [3, batch, seq] → cos, sin [batch, seq, ROT]; frequency j (of ROT / 2) from the
    height axis where j % 3 == 1 and j < 3 · MROPE[1], from the width where j % 3 == 2 and j < 3 · MROPE[2], else
    temporal."""
    inv = 1.0 / THETA ** (torch.arange(0, ROT, 2, dtype=torch.int64).float() / ROT)
    freqs = position_ids[..., None].float() * inv
    _, sh, sw = MROPE
    pick = torch.tensor([1 if j % 3 == 1 and j < 3 * sh else 2 if j % 3 == 2 and j < 3 * sw else 0
                         for j in range(ROT // 2)])
    freqs = torch.where(pick == 1, freqs[1], torch.where(pick == 2, freqs[2], freqs[0]))
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rotary(q, k, cos, sin):
    """transformers' apply_rotary_pos_emb with partial rotary: the first ROT dims rotate, the rest pass."""
    cos, sin = cos[:, None], sin[:, None]
    q_rot, q_pass = q[..., :ROT], q[..., ROT:]
    k_rot, k_pass = k[..., :ROT], k[..., ROT:]
    q = torch.cat([q_rot * cos + rotate_half(q_rot) * sin, q_pass], dim=-1)
    k = torch.cat([k_rot * cos + rotate_half(k_rot) * sin, k_pass], dim=-1)
    return q, k


class Qwen3_5Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(D, H * HD * 2, bias=False)
        self.k_proj = nn.Linear(D, KVH * HD, bias=False)
        self.v_proj = nn.Linear(D, KVH * HD, bias=False)
        self.o_proj = nn.Linear(H * HD, D, bias=False)
        self.q_norm = Qwen3_5RMSNorm(HD)
        self.k_norm = Qwen3_5RMSNorm(HD)

    def forward(self, x, cos, sin, mask, past):
        """transformers' Qwen3_5Attention with eager_attention_forward; past: (key, value) before this step, or None →
        (output, (key, value) after it)."""
        b, s, _ = x.shape
        q, gate = torch.chunk(self.q_proj(x).view(b, s, H, HD * 2), 2, dim=-1)
        gate = gate.reshape(b, s, H * HD)
        q = self.q_norm(q).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, s, KVH, HD)).transpose(1, 2)
        v = self.v_proj(x).view(b, s, KVH, HD).transpose(1, 2)
        q, k = apply_rotary(q, k, cos, sin)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        rep = H // KVH  # repeat_kv
        kr = k[:, :, None].expand(b, KVH, rep, k.shape[2], HD).reshape(b, H, k.shape[2], HD)
        vr = v[:, :, None].expand(b, KVH, rep, v.shape[2], HD).reshape(b, H, v.shape[2], HD)
        att = torch.softmax(torch.matmul(q, kr.transpose(2, 3)) * HD ** -0.5 + mask, dim=-1)
        out = torch.matmul(att, vr).transpose(1, 2).reshape(b, s, H * HD)
        return self.o_proj(out * torch.sigmoid(gate)), (k, v)


def l2norm(x, dim=-1, eps=1e-6):
    """transformers' l2norm (FLA's)."""
    return x * torch.rsqrt((x * x).sum(dim=dim, keepdim=True) + eps)


class CausalConvWithState(torch.autograd.Function):
    """com.microsoft::CausalConvWithState, activation silu, no bias: input [b, C, T], weight [C, 1, K], past_state
    [b, C, K - 1] → output [b, C, T], present_state: the last K - 1 of past_state and input."""

    @staticmethod
    def forward(ctx, x, weight, past):
        full = torch.cat([past, x], dim=-1)
        out = F.silu(F.conv1d(full, weight, groups=weight.shape[0]))
        return out, full[..., full.shape[-1] - (weight.shape[-1] - 1):]

    @staticmethod
    def symbolic(g, x, weight, past):
        out, state = g.op("com.microsoft::CausalConvWithState", x, weight, past, activation_s="silu", outputs=2)
        out.setType(x.type())
        state.setType(past.type())
        return out, state  # the empty bias input is put in after export (see export_decoder)


class LinearAttention(torch.autograd.Function):
    """com.microsoft::LinearAttention, update_rule gated_delta: query, key [b, T, H · d_k], value [b, T, H · d_v],
    past_state [b, H, d_k, d_v], decay (log space) and beta [b, T, H] → output [b, T, H · d_v], present_state. Per
    step: S = exp(g) S; S += k ⊗ β (v - Sᵀk); o = scale · qᵀS."""

    @staticmethod
    def forward(ctx, q, k, v, past, decay, beta, heads, scale):
        b, t = q.shape[:2]
        q, k = q.view(b, t, heads, -1), k.view(b, t, heads, -1)
        v = v.view(b, t, heads, -1)
        state, outs = past.clone(), []
        for i in range(t):
            state = state * decay[:, i].exp()[..., None, None]
            kv = (state * k[:, i, :, :, None]).sum(-2)
            delta = beta[:, i, :, None] * (v[:, i] - kv)
            state = state + k[:, i, :, :, None] * delta[:, :, None, :]
            outs.append(scale * (state * q[:, i, :, :, None]).sum(-2))
        return torch.stack(outs, 1).reshape(b, t, -1), state

    @staticmethod
    def symbolic(g, q, k, v, past, decay, beta, heads, scale):
        out, state = g.op("com.microsoft::LinearAttention", q, k, v, past, decay, beta, q_num_heads_i=heads,
                          kv_num_heads_i=heads, update_rule_s="gated_delta", scale_f=scale, outputs=2)
        out.setType(v.type())
        state.setType(past.type())
        return out, state


def causal_conv1d_update(hidden_states, conv_state, weight, bias=None, activation=None):
    """transformers' causal_conv1d_update (torch fallback): conv_state [b, C, K] updated in place."""
    _, hidden_size, seq_len = hidden_states.shape
    state_len = conv_state.shape[-1]
    hidden_states_new = torch.cat([conv_state, hidden_states], dim=-1).to(weight.dtype)
    conv_state.copy_(hidden_states_new[:, :, -state_len:])
    out = F.conv1d(hidden_states_new, weight.unsqueeze(1), bias, padding=0, groups=hidden_size)
    out = out[:, :, -seq_len:]
    if activation is not None:
        out = F.silu(out)
    return out.to(hidden_states.dtype)


def causal_conv1d_fn(hidden_states, weight, bias=None, activation=None):
    """transformers' causal_conv1d_fn (torch fallback)."""
    _, hidden_size, seq_len = hidden_states.shape
    padding = weight.shape[-1] - 1
    out = F.conv1d(hidden_states.to(weight.dtype), weight=weight.unsqueeze(1), bias=bias, padding=padding,
                   groups=hidden_size)[:, :, :seq_len]
    if activation is not None:
        out = F.silu(out)
    return out.to(hidden_states.dtype)


def torch_chunk_gated_delta_rule(query, key, value, g, beta, chunk_size=64, initial_state=None,
                                 output_final_state=False, use_qk_l2norm_in_kernel=False):
    """transformers' torch_chunk_gated_delta_rule (Qwen3-Next's, which Qwen3.5 took over), transcribed."""
    initial_dtype = query.dtype
    if use_qk_l2norm_in_kernel:
        query = l2norm(query, dim=-1, eps=1e-6)
        key = l2norm(key, dim=-1, eps=1e-6)
    query, key, value, beta, g = [
        x.transpose(1, 2).contiguous().to(torch.float32) for x in (query, key, value, beta, g)
    ]

    batch_size, num_heads, sequence_length, k_head_dim = key.shape
    v_head_dim = value.shape[-1]
    pad_size = (chunk_size - sequence_length % chunk_size) % chunk_size
    query = F.pad(query, (0, 0, 0, pad_size))
    key = F.pad(key, (0, 0, 0, pad_size))
    value = F.pad(value, (0, 0, 0, pad_size))
    beta = F.pad(beta, (0, pad_size))
    g = F.pad(g, (0, pad_size))
    total_sequence_length = sequence_length + pad_size
    scale = 1 / (query.shape[-1] ** 0.5)
    query = query * scale

    v_beta = value * beta.unsqueeze(-1)
    k_beta = key * beta.unsqueeze(-1)
    # reshape to chunks
    query, key, value, k_beta, v_beta = [
        x.reshape(x.shape[0], x.shape[1], -1, chunk_size, x.shape[-1]) for x in (query, key, value, k_beta, v_beta)
    ]
    g = g.reshape(g.shape[0], g.shape[1], -1, chunk_size)
    mask = torch.triu(torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device), diagonal=0)

    # chunk decay
    g = g.cumsum(dim=-1)
    decay_mask = ((g.unsqueeze(-1) - g.unsqueeze(-2)).tril().exp().float()).tril()
    attn = -((k_beta @ key.transpose(-1, -2)) * decay_mask).masked_fill(mask, 0)
    for i in range(1, chunk_size):
        row = attn[..., i, :i].clone()
        sub = attn[..., :i, :i].clone()
        attn[..., i, :i] = row + (row.unsqueeze(-1) * sub).sum(-2)
    attn = attn + torch.eye(chunk_size, dtype=attn.dtype, device=attn.device)
    value = attn @ v_beta
    k_cumdecay = attn @ (k_beta * g.exp().unsqueeze(-1))
    last_recurrent_state = (
        torch.zeros(batch_size, num_heads, k_head_dim, v_head_dim).to(value)
        if initial_state is None
        else initial_state.to(value)
    )
    core_attn_out = torch.zeros_like(value)
    mask = torch.triu(torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device), diagonal=1)

    # for each chunk
    for i in range(0, total_sequence_length // chunk_size):
        q_i, k_i, v_i = query[:, :, i], key[:, :, i], value[:, :, i]
        attn = (q_i @ k_i.transpose(-1, -2) * decay_mask[:, :, i]).masked_fill_(mask, 0)
        v_prime = (k_cumdecay[:, :, i]) @ last_recurrent_state
        v_new = v_i - v_prime
        attn_inter = (q_i * g[:, :, i, :, None].exp()) @ last_recurrent_state
        core_attn_out[:, :, i] = attn_inter + attn @ v_new
        last_recurrent_state = (
            last_recurrent_state * g[:, :, i, -1, None, None].exp()
            + (k_i * (g[:, :, i, -1, None] - g[:, :, i]).exp()[..., None]).transpose(-1, -2) @ v_new
        )

    if not output_final_state:
        last_recurrent_state = None
    core_attn_out = core_attn_out.reshape(core_attn_out.shape[0], core_attn_out.shape[1], -1, core_attn_out.shape[-1])
    core_attn_out = core_attn_out[:, :, :sequence_length]
    core_attn_out = core_attn_out.transpose(1, 2).contiguous().to(initial_dtype)
    return core_attn_out, last_recurrent_state


def torch_recurrent_gated_delta_rule(query, key, value, g, beta, initial_state, output_final_state,
                                     use_qk_l2norm_in_kernel=False):
    """transformers' torch_recurrent_gated_delta_rule, transcribed."""
    initial_dtype = query.dtype
    if use_qk_l2norm_in_kernel:
        query = l2norm(query, dim=-1, eps=1e-6)
        key = l2norm(key, dim=-1, eps=1e-6)
    query, key, value, beta, g = [
        x.transpose(1, 2).contiguous().to(torch.float32) for x in (query, key, value, beta, g)
    ]

    batch_size, num_heads, sequence_length, k_head_dim = key.shape
    v_head_dim = value.shape[-1]
    scale = 1 / (query.shape[-1] ** 0.5)
    query = query * scale

    core_attn_out = torch.zeros(batch_size, num_heads, sequence_length, v_head_dim).to(value)
    last_recurrent_state = (
        torch.zeros(batch_size, num_heads, k_head_dim, v_head_dim).to(value)
        if initial_state is None
        else initial_state.to(value)
    )

    for i in range(sequence_length):
        q_t = query[:, :, i]
        k_t = key[:, :, i]
        v_t = value[:, :, i]
        g_t = g[:, :, i].exp().unsqueeze(-1).unsqueeze(-1)
        beta_t = beta[:, :, i].unsqueeze(-1)

        last_recurrent_state = last_recurrent_state * g_t
        kv_mem = (last_recurrent_state * k_t.unsqueeze(-1)).sum(dim=-2)
        delta = (v_t - kv_mem) * beta_t
        last_recurrent_state = last_recurrent_state + k_t.unsqueeze(-1) * delta.unsqueeze(-2)
        core_attn_out[:, :, i] = (last_recurrent_state * q_t.unsqueeze(-1)).sum(dim=-2)

    if not output_final_state:
        last_recurrent_state = None
    core_attn_out = core_attn_out.transpose(1, 2).contiguous().to(initial_dtype)
    return core_attn_out, last_recurrent_state


class Qwen3_5GatedDeltaNet(nn.Module):
    def __init__(self, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.conv1d = nn.Conv1d(CONV_DIM, CONV_DIM, bias=False, kernel_size=CONV_K, groups=CONV_DIM,
                                padding=CONV_K - 1)
        self.dt_bias = nn.Parameter(torch.ones(V_HEADS))
        self.A_log = nn.Parameter(torch.log(torch.empty(V_HEADS).uniform_(0.01, 16)))
        self.norm = Qwen3_5RMSNormGated(DV)
        self.out_proj = nn.Linear(VALUE_DIM, D, bias=False)
        self.in_proj_qkv = nn.Linear(D, CONV_DIM, bias=False)
        self.in_proj_z = nn.Linear(D, VALUE_DIM, bias=False)
        self.in_proj_b = nn.Linear(D, V_HEADS, bias=False)
        self.in_proj_a = nn.Linear(D, V_HEADS, bias=False)

    def gates(self, b, a):
        beta = b.sigmoid()
        g = -self.A_log.float().exp() * F.softplus(a.float() + self.dt_bias)
        return g, beta

    def hf_forward(self, x, cache):
        """transformers' Qwen3_5GatedDeltaNet.forward (torch fallbacks; batch 1, no padding). cache: an HybridCache
        or None. Prefill: the conv state is the input zero-padded on the left to the kernel size, the chunked rule;
        a cached step of one token: causal_conv1d_update and the recurrent rule."""
        i = self.layer_idx
        b, s, _ = x.shape
        decode = cache is not None and cache.conv[i] is not None and s == 1
        mixed = self.in_proj_qkv(x).transpose(1, 2)
        z = self.in_proj_z(x).reshape(b, s, -1, DV)
        g, beta = self.gates(self.in_proj_b(x), self.in_proj_a(x))
        if decode:
            mixed = causal_conv1d_update(mixed, cache.conv[i], self.conv1d.weight.squeeze(1), None, "silu")
        else:
            if cache is not None:
                cache.conv[i] = F.pad(mixed, (CONV_K - mixed.shape[-1], 0))
            mixed = causal_conv1d_fn(mixed, self.conv1d.weight.squeeze(1), None, activation="silu")
        q, k, v = torch.split(mixed.transpose(1, 2), [KEY_DIM, KEY_DIM, VALUE_DIM], dim=-1)
        q, k = q.reshape(b, s, -1, DK), k.reshape(b, s, -1, DK)
        v = v.reshape(b, s, -1, DV)
        if V_HEADS // K_HEADS > 1:
            q = q.repeat_interleave(V_HEADS // K_HEADS, dim=2)
            k = k.repeat_interleave(V_HEADS // K_HEADS, dim=2)
        if decode:
            out, state = torch_recurrent_gated_delta_rule(q, k, v, g=g, beta=beta, initial_state=cache.rec[i],
                                                          output_final_state=True, use_qk_l2norm_in_kernel=True)
        else:
            out, state = torch_chunk_gated_delta_rule(q, k, v, g=g, beta=beta, initial_state=None,
                                                      output_final_state=cache is not None,
                                                      use_qk_l2norm_in_kernel=True)
        if cache is not None:
            cache.rec[i] = state
        out = self.norm(out.reshape(-1, DV), z.reshape(-1, DV)).reshape(b, s, -1)
        return self.out_proj(out)

    def forward(self, x, past_conv, past_recurrent):
        """The graph's form: the two contrib ops, states in and out (zeros at the first step)."""
        b, s, _ = x.shape
        mixed, conv_state = CausalConvWithState.apply(self.in_proj_qkv(x).transpose(1, 2), self.conv1d.weight,
                                                      past_conv)
        q, k, v = torch.split(mixed.transpose(1, 2), [KEY_DIM, KEY_DIM, VALUE_DIM], dim=-1)
        rep = V_HEADS // K_HEADS  # repeat_interleave over the heads, as expand and reshape

        def heads(t):
            t = l2norm(t.reshape(b, s, K_HEADS, DK))
            return t[:, :, :, None].expand(b, s, K_HEADS, rep, DK).reshape(b, s, V_HEADS * DK)

        g, beta = self.gates(self.in_proj_b(x), self.in_proj_a(x))
        out, state = LinearAttention.apply(heads(q), heads(k), v, past_recurrent, g, beta, V_HEADS,
                                           1.0 / math.sqrt(DK))
        z = self.in_proj_z(x).reshape(b, s, V_HEADS, DV)
        out = self.norm(out.reshape(b, s, V_HEADS, DV), z).reshape(b, s, VALUE_DIM)
        return self.out_proj(out), conv_state, state


class Qwen3_5MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(D, FF, bias=False)
        self.up_proj = nn.Linear(D, FF, bias=False)
        self.down_proj = nn.Linear(FF, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen3_5DecoderLayer(nn.Module):
    def __init__(self, layer_idx):
        super().__init__()
        self.layer_type = LAYER_TYPES[layer_idx]
        if self.layer_type == "linear_attention":
            self.linear_attn = Qwen3_5GatedDeltaNet(layer_idx)
        else:
            self.self_attn = Qwen3_5Attention()
        self.mlp = Qwen3_5MLP()
        self.input_layernorm = Qwen3_5RMSNorm(D)
        self.post_attention_layernorm = Qwen3_5RMSNorm(D)


class HybridCache:
    """transformers' cache for batch 1: per linear layer the conv state [1, C, K] and the recurrent state, per
    attention layer the keys and values so far."""

    def __init__(self):
        n = len(LAYER_TYPES)
        self.conv, self.rec, self.key, self.value = [None] * n, [None] * n, [None] * n, [None] * n

    def seq_length(self):
        return next((k.shape[2] for k in self.key if k is not None), 0)


def causal_mask(s, total, attention_mask=None):
    """Additive mask [b, 1, s, total]: the queries are the last s of `total` slots; padding masked."""
    i = torch.arange(s)[:, None] + (total - s)
    j = torch.arange(total)[None, :]
    allowed = (j <= i)[None, None]
    if attention_mask is not None:
        allowed = allowed & attention_mask[:, None, None, :].bool()
    return (~allowed).to(torch.float32) * torch.finfo(torch.float32).min


class Qwen3_5TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, D)
        self.layers = nn.ModuleList([Qwen3_5DecoderLayer(i) for i in range(len(LAYER_TYPES))])
        self.norm = Qwen3_5RMSNorm(D)

    def logits(self, hidden):
        return hidden @ self.embed_tokens.weight.T  # the tied lm_head

    def hf_forward(self, inputs_embeds, position_ids, cache=None):
        """transformers' Qwen3_5TextModel.forward + lm_head (batch 1, no padding): position_ids [3, 1, s] of the new
        positions, `cache` an HybridCache (updated) or None (the whole sequence at once)."""
        s = inputs_embeds.shape[1]
        past = 0 if cache is None else cache.seq_length()
        mask = causal_mask(s, past + s)
        cos, sin = rotary(position_ids)
        x = inputs_embeds
        for i, layer in enumerate(self.layers):
            h = layer.input_layernorm(x)
            if layer.layer_type == "linear_attention":
                h = layer.linear_attn.hf_forward(h, cache)
            else:
                kv = None if cache is None or cache.key[i] is None else (cache.key[i], cache.value[i])
                h, (k, v) = layer.self_attn(h, cos, sin, mask, kv)
                if cache is not None:
                    cache.key[i], cache.value[i] = k, v
            x = x + h
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.logits(self.norm(x))


class Decoder(nn.Module):
    """onnx/decoder_model_merged.onnx: inputs_embeds, attention_mask, position_ids, then the past of each layer in
    cache_names' order → logits and the presents."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        lm = self.lm
        s, total = inputs_embeds.shape[1], attention_mask.shape[1]
        mask = causal_mask(s, total, attention_mask)
        # apply_mask_to_padding_states: the linear layers see padded positions as zeros
        pad = attention_mask[:, total - s:, None].to(torch.float32)
        cos, sin = rotary(position_ids)
        x, presents, k = inputs_embeds, [], 0
        for layer in lm.layers:
            h = layer.input_layernorm(x)
            if layer.layer_type == "linear_attention":
                h, conv, rec = layer.linear_attn(h * pad, past[k], past[k + 1])
                presents += [conv, rec]
            else:
                h, kv = layer.self_attn(h, cos, sin, mask, (past[k], past[k + 1]))
                presents += kv
            k += 2
            x = x + h
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return (lm.logits(lm.norm(x)), *presents)


def cache_names():
    """Decoder inputs and outputs after position_ids, as transformers.js' getCacheNames orders them."""
    past, present = [], []
    for i, t in enumerate(LAYER_TYPES):
        if t == "full_attention":
            past += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
            present += [f"present.{i}.key", f"present.{i}.value"]
        else:
            past += [f"past_conv.{i}", f"past_recurrent.{i}"]
            present += [f"present_conv.{i}", f"present_recurrent.{i}"]
    return past, present


def empty_past(batch=1):
    """The first step's cache: zero states, keys and values of 0 positions."""
    out = []
    for t in LAYER_TYPES:
        if t == "full_attention":
            out += [torch.zeros(batch, KVH, 0, HD), torch.zeros(batch, KVH, 0, HD)]
        else:
            out += [torch.zeros(batch, CONV_DIM, CONV_K - 1), torch.zeros(batch, V_HEADS, DK, DV)]
    return out


class Qwen3_5Model(nn.Module):
    """transformers' Qwen3_5Model's modules and names (Qwen3_5ForConditionalGeneration's lm_head is the tied
    embedding)."""

    def __init__(self, visual, language_model):
        super().__init__()
        self.visual = visual
        self.language_model = language_model


def text_state_names():
    """transformers' Qwen3_5TextModel state dict for this config (rotary_emb's inv_freq is not persistent)."""
    names = ["embed_tokens.weight", "norm.weight"]
    for i, t in enumerate(LAYER_TYPES):
        if t == "linear_attention":
            mods = ["linear_attn.dt_bias", "linear_attn.A_log"] + [
                f"linear_attn.{m}.weight" for m in ("conv1d", "norm", "out_proj", "in_proj_qkv", "in_proj_z",
                                                    "in_proj_b", "in_proj_a")]
        else:
            mods = [f"self_attn.{m}.weight" for m in ("q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm")]
        mods += [f"mlp.{m}.weight" for m in ("gate_proj", "up_proj", "down_proj")]
        mods += ["input_layernorm.weight", "post_attention_layernorm.weight"]
        names += [f"layers.{i}.{m}" for m in mods]
    return names


def language_model(seed):
    """Random weights: the projections SPREAD times nn.Linear's init (not in_proj_a / in_proj_b, whose gates would
    saturate); zero-centred norm weights small and nonzero; A in (0.05, 1) and dt_bias around -1, so that the decay
    exp(g) stays near 1 and the recurrent state holds many tokens (a state of a few recent keys makes a head's output
    a near-cancellation that the gated norm then magnifies, float32 noise included); the tied embedding halved, which
    halves the logits and their float32 noise."""
    torch.manual_seed(seed)
    lm = Qwen3_5TextModel().eval()
    with torch.no_grad():
        for name, p in lm.named_parameters():
            if name.endswith(("proj.weight", "proj_qkv.weight", "proj_z.weight")):
                p.mul_(SPREAD)
            elif name.endswith(("layernorm.weight", "norm.weight")) and "linear_attn" not in name:
                p.copy_(0.1 * torch.randn_like(p))  # zero-centred norms: (1 + w) with w small, not 0
            elif name.endswith("linear_attn.norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))  # the gated norm's weight is centred on 1
            elif name.endswith("A_log"):
                p.copy_(torch.empty_like(p).uniform_(0.05, 1.0).log())
            elif name.endswith("dt_bias"):
                p.copy_(0.5 * torch.randn_like(p) - 1)
            elif name.endswith("conv1d.weight"):
                p.mul_(2.0)
        lm.embed_tokens.weight.mul_(0.5)
    return lm


# ================================================== the checks =====================================================

def check_rules():
    """The gated delta rule: transformers' chunked (chunk 64 and 4, so that several chunks run) and recurrent forms
    against LinearAttention's forward, from a nonzero initial state, with transformers' grouped heads (key heads
    repeated). Returns the largest difference."""
    torch.manual_seed(3)
    b, t = 1, 11
    q, k = torch.randn(b, t, K_HEADS, DK), torch.randn(b, t, K_HEADS, DK)
    v = torch.randn(b, t, V_HEADS, DV)
    g = -torch.rand(b, t, V_HEADS) * 1.5
    beta = torch.rand(b, t, V_HEADS)
    s0 = torch.randn(b, V_HEADS, DK, DV)
    rep = V_HEADS // K_HEADS
    qr, kr = q.repeat_interleave(rep, dim=2), k.repeat_interleave(rep, dim=2)
    ours, ours_state = LinearAttention.apply(l2norm(qr).reshape(b, t, -1), l2norm(kr).reshape(b, t, -1),
                                             v.reshape(b, t, -1), s0, g, beta, V_HEADS, 1 / math.sqrt(DK))
    worst = 0.0
    for name, (out, state) in {
        "recurrent": torch_recurrent_gated_delta_rule(qr, kr, v, g, beta, s0, True, True),
        "chunk 64": torch_chunk_gated_delta_rule(qr, kr, v, g, beta, 64, s0, True, True),
        "chunk 4": torch_chunk_gated_delta_rule(qr, kr, v, g, beta, 4, s0, True, True),
    }.items():
        d = max(float((out.reshape(b, t, -1) - ours).abs().max()), float((state - ours_state).abs().max()))
        assert d < 1e-5, (name, d)
        worst = max(worst, d)
    # And step by step: each token from the state of the one before gives the same.
    state, outs = s0, []
    for i in range(t):
        o, state = LinearAttention.apply(l2norm(qr[:, i:i + 1]).reshape(b, 1, -1), l2norm(kr[:, i:i + 1]).reshape(
            b, 1, -1), v[:, i:i + 1].reshape(b, 1, -1), state, g[:, i:i + 1], beta[:, i:i + 1], V_HEADS,
            1 / math.sqrt(DK))
        outs.append(o)
    worst = max(worst, float((torch.cat(outs, 1) - ours).abs().max()), float((state - ours_state).abs().max()))
    assert worst < 1e-5, worst
    return worst


def check_conv():
    """CausalConvWithState against causal_conv1d_fn (prefill) and causal_conv1d_update (decode, transformers' K-wide
    state), step after step. Returns the largest difference."""
    torch.manual_seed(5)
    w = torch.randn(CONV_DIM, 1, CONV_K)
    x = torch.randn(1, CONV_DIM, 9)
    worst = 0.0
    for n in (2, 3, 6):
        theirs = [causal_conv1d_fn(x[..., :n], w.squeeze(1), None, "silu")]
        hf_state = F.pad(x[..., :n], (CONV_K - n, 0))
        ours, state = CausalConvWithState.apply(x[..., :n], w, torch.zeros(1, CONV_DIM, CONV_K - 1))
        ours = [ours]
        for t in range(n, x.shape[-1]):
            theirs.append(causal_conv1d_update(x[..., t:t + 1], hf_state, w.squeeze(1), None, "silu"))
            y, state = CausalConvWithState.apply(x[..., t:t + 1], w, state)
            ours.append(y)
            worst = max(worst, float((state - hf_state[..., 1:]).abs().max()))
        worst = max(worst, float((torch.cat(ours, -1) - torch.cat(theirs, -1)).abs().max()))
    assert worst < 1e-5, worst
    return worst


def check(model):
    """The checks that need no answers, before anything is written."""
    small = CHAT_TEMPLATE
    assert small.count(SMALL_BRANCH) == 1
    assert hashlib.sha256(small.replace(SMALL_BRANCH, LARGE_BRANCH).encode()).hexdigest() == LARGE_SHA256, "template"
    expected = ["visual." + n for n in q3.VISION_STATE] + ["language_model." + n for n in text_state_names()]
    assert sorted(model.state_dict()) == sorted(expected), sorted(set(model.state_dict()) ^ set(expected))
    with torch.no_grad():
        positions = torch.randint(0, 200, (3, 1, 11))
        cos, sin = rotary(positions)
        tcos, tsin = q3.transformers_rotary(positions, ROT, THETA, MROPE)  # compute_default_rope_parameters' dim
        rope = max(float((cos - tcos).abs().max()), float((sin - tsin).abs().max()))
        assert rope < 1e-6, rope
        rules, conv = check_rules(), check_conv()
    print(f"checks: template = Qwen3.5-35B-A3B's ({LARGE_SHA256[:12]}…) but for the small models' generation prompt; "
          f"{len(expected)} state-dict names are transformers'; rotary tables within {rope:.1e}; gated delta rule "
          f"(chunk 64, chunk 4, recurrent, step by step) vs LinearAttention within {rules:.1e}; causal conv vs "
          f"CausalConvWithState within {conv:.1e}")


# ================================================== generation =====================================================

def tokenize(text):
    return word_ids(text, q2.SPECIALS + THINK + [q2.NEWLINE], ID)


def chat_text(turns, image_tokens, system=None):
    """The chat template rendered for [(question, answer or None), …] (see q2.chat_text; Qwen3.5's writes no system
    message of its own and no <think> block for earlier answers), with its generation prompt."""
    return q2.chat_text(turns, image_tokens, system) + GENERATION_PROMPT


def reply_text(tokens):
    """An answer as the next turn's prompt has it: its words."""
    return " ".join(VOCAB[t] for t in tokens if t > ID[q2.NEWLINE])


def embeds(lm, ids, features):
    emb = lm.embed_tokens(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == IMAGE] = features
    return emb


def greedy(step, emb, positions, delta, ids, steps, penalty):
    """Greedy tokens from `step(embeds, new positions [3, 1, s], total length) → logits`, and each step's last
    logits (before the penalty)."""
    n = emb.shape[1]
    logits = step(emb, positions, n)
    tokens, rows = [], []
    for t in range(steps):
        last = logits[:, -1]
        rows.append(last[0])
        if penalty != 1.0:
            last = q2.penalized(last, ids + tokens, penalty)
        tok = int(last[0].argmax())
        if tok in (EOS, IM_END):
            break
        tokens.append(tok)
        logits = step(emb.new_empty(0), torch.full((3, 1, 1), n + t + delta), n + t + 1, tok)
    return tokens, rows


def answer(lm, features, ids, grid, steps=STEPS, penalty=1.0):
    """Greedy tokens for a prompt whose <|image_pad|> embeddings are the images' features: with transformers'
    semantics and cache, and again through the decoder graph's module; both agree, and a forward over prompt and
    answer without a cache gives the cached steps' logits. Returns the tokens and the worst differences."""
    emb = embeds(lm, ids, features)
    pos, delta = q2.rope_index(ids, grid)
    positions = torch.tensor(pos)[:, None, :]

    cache = HybridCache()

    def hf_step(e, p, total, tok=None):
        return lm.hf_forward(e if tok is None else lm.embed_tokens(torch.tensor([[tok]])), p, cache)

    tokens, rows = greedy(hf_step, emb, positions, delta, ids, steps, penalty)

    dec, past = Decoder(lm), empty_past()

    def graph_step(e, p, total, tok=None):
        nonlocal past
        e = e if tok is None else lm.embed_tokens(torch.tensor([[tok]]))
        out = dec(e, torch.ones(1, total, dtype=torch.int64), p, *past)
        past = list(out[1:])
        return out[0]

    g_tokens, g_rows = greedy(graph_step, emb, positions, delta, ids, steps, penalty)
    assert g_tokens == tokens, (tokens, g_tokens)
    graph_diff = max(float((a - b).abs().max()) for a, b in zip(rows, g_rows))
    assert graph_diff < 1e-4, graph_diff
    # The whole of prompt and answer at once, no cache (the chunked rule over it all).
    n = emb.shape[1]
    whole = torch.cat([emb] + [lm.embed_tokens(torch.tensor([[t]])) for t in tokens], 1)
    whole_pos = torch.cat([positions] + [torch.full((3, 1, 1), n + t + delta) for t in range(len(tokens))], 2)
    full = lm.hf_forward(whole, whole_pos)[0, n - 1:]
    cache_diff = max(float((full[t] - rows[t]).abs().max()) for t in range(len(rows)))
    assert cache_diff < 1e-4, cache_diff
    margin = min(float(r.topk(2).values[0] - r.topk(2).values[1]) for r in rows)
    return tokens, {"graph": graph_diff, "cache": cache_diff, "margin": margin}


# ================================================== the folder =====================================================

def text_config():
    return {
        "model_type": "qwen3_5_text", "vocab_size": V, "hidden_size": D, "intermediate_size": FF,
        "num_hidden_layers": len(LAYER_TYPES), "layer_types": LAYER_TYPES, "full_attention_interval": FULL_EVERY,
        "num_attention_heads": H, "num_key_value_heads": KVH, "head_dim": HD, "attention_bias": False,
        "attention_dropout": 0.0, "attn_output_gate": True, "hidden_act": "silu", "rms_norm_eps": EPS,
        "linear_conv_kernel_dim": CONV_K, "linear_key_head_dim": DK, "linear_value_head_dim": DV,
        "linear_num_key_heads": K_HEADS, "linear_num_value_heads": V_HEADS, "mamba_ssm_dtype": "float32",
        "max_position_embeddings": q2.MAX_POSITIONS, "partial_rotary_factor": PARTIAL,
        "rope_parameters": {"mrope_interleaved": True, "mrope_section": list(MROPE), "partial_rotary_factor": PARTIAL,
                            "rope_theta": THETA, "rope_type": "default"},
        "mtp_num_hidden_layers": 0, "tie_word_embeddings": True, "use_cache": True,
        "bos_token_id": None, "eos_token_id": EOS, "pad_token_id": None,
    }


def write_folder(out=OUT):
    def dump(name, obj):
        with open(os.path.join(out, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    dump("config.json", {
        "architectures": ["Qwen3_5ForConditionalGeneration"], "model_type": "qwen3_5",
        "image_token_id": IMAGE, "video_token_id": ID["<|video_pad|>"], "vision_start_token_id": q2.VISION_START,
        "vision_end_token_id": ID["<|vision_end|>"], "tie_word_embeddings": True,
        "text_config": text_config(),
        "vision_config": {
            "model_type": "qwen3_5", "depth": q2.V_DEPTH, "hidden_size": q3.E, "intermediate_size": q3.MLP,
            "num_heads": q2.V_HEADS, "in_channels": 3, "patch_size": q2.PATCH, "spatial_merge_size": q2.MERGE,
            "temporal_patch_size": q2.TEMPORAL, "out_hidden_size": D, "num_position_embeddings": q3.NUM_POSITIONS,
            "deepstack_visual_indexes": [], "hidden_act": "gelu_pytorch_tanh",
        },
    })
    dump("generation_config.json", {"bos_token_id": EOS, "eos_token_id": [IM_END, EOS], "pad_token_id": EOS})
    dump("preprocessor_config.json", q3.PREPROCESSOR)
    with open(os.path.join(out, "chat_template.jinja"), "w") as fh:
        fh.write(CHAT_TEMPLATE)
    dump("tokenizer.json", word_tokenizer(ID, [(t, True) for t in q2.SPECIALS] + [(t, False) for t in THINK]
                                          + [(q2.NEWLINE, False)]))
    dump("tokenizer_config.json", {
        "model_max_length": q2.MAX_POSITIONS, "pad_token": "<|endoftext|>", "unk_token": "<unk>",
        "bos_token": None, "eos_token": "<|im_end|>", "processor_class": "Qwen3VLProcessor",
        "chat_template": CHAT_TEMPLATE,
    })


def export_decoder(lm, path):
    """decoder_model_merged.onnx: the Decoder module traced on a cached step (3 new positions after 4), exported
    with batch, sequence and past lengths dynamic; the state inputs' other dims fixed."""
    past_names, present_names = cache_names()
    past = []
    for t in LAYER_TYPES:
        past += ([torch.randn(1, KVH, 4, HD), torch.randn(1, KVH, 4, HD)] if t == "full_attention" else
                 [torch.randn(1, CONV_DIM, CONV_K - 1), torch.randn(1, V_HEADS, DK, DV)])
    seq = {0: "batch_size", 1: "sequence_length"}
    axes = {"inputs_embeds": seq, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {1: "batch_size", 2: "sequence_length"}, "logits": seq}
    shapes = {"logits": ["batch_size", "sequence_length", V]}
    for p, q in zip(past_names, present_names):
        if p.startswith("past_key_values"):
            axes[p] = {0: "batch_size", 2: "past_sequence_length"}
            axes[q] = {0: "batch_size", 2: "total_sequence_length"}
            shapes[q] = ["batch_size", KVH, "total_sequence_length", HD]
        else:
            axes[p] = axes[q] = {0: "batch_size"}
            shapes[q] = ["batch_size", CONV_DIM, CONV_K - 1] if "conv" in p else ["batch_size", V_HEADS, DK, DV]
    args = (torch.randn(1, 3, D), torch.ones(1, 7, dtype=torch.int64),
            torch.arange(4, 7)[None, None].expand(3, 1, 3), *past)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Decoder(lm).eval(), args, path, input_names=["inputs_embeds", "attention_mask",
                                                                      "position_ids", *past_names],
                          output_names=["logits", *present_names], dynamic_axes=axes, opset_version=17,
                          do_constant_folding=True, custom_opsets={"com.microsoft": 1})
    m = onnx.load(path)
    for node in m.graph.node:
        if node.op_type == "CausalConvWithState":  # input, weight, bias (none), past_state
            x, w, p = node.input
            node.ClearField("input")
            node.input.extend([x, w, "", p])
    for o in m.graph.output:
        for d, v in zip(o.type.tensor_type.shape.dim, shapes[o.name]):
            if isinstance(v, int):
                d.ClearField("dim_param")
                d.dim_value = v
            else:
                d.ClearField("dim_value")
                d.dim_param = v
    onnx.checker.check_model(m, full_check=True)
    ops = {}
    for n in m.graph.node:
        key = f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
        ops[key] = ops.get(key, 0) + 1
        if n.op_type in onnxutil.BANNED or (n.domain not in ("", "ai.onnx") and key not in (
                "com.microsoft::CausalConvWithState", "com.microsoft::LinearAttention")):
            raise RuntimeError(f"{path}: unexpected op {key}")
    assert {o.domain: o.version for o in m.opset_import} == {"": 17, "com.microsoft": 1}, m.opset_import
    onnx.save(m, path)
    return ops


def export(model):
    lm = model.language_model
    folder = os.path.join(OUT, "onnx")
    os.makedirs(folder, exist_ok=True)
    ops = export_decoder(lm, os.path.join(folder, "decoder_model_merged.onnx"))
    holder = nn.Module()
    holder.embed = lm.embed_tokens
    seq = {0: "batch_size", 1: "sequence_length"}
    onnxutil.export(Embed(holder), (torch.tensor([[1, 2]]),), os.path.join(folder, "embed_tokens.onnx"),
                    ["input_ids"], ["inputs_embeds"], {"input_ids": seq, "inputs_embeds": seq},
                    {"inputs_embeds": ["batch_size", "sequence_length", D]})
    return ops


def export_and_reference(model, dump=None):
    """onnx/vision_encoder.onnx and reference.json (make_qwen2vl_random.export_and_reference's keys, the answers
    from answer())."""
    lm, visual = model.language_model, model.visual
    worst = {"graph": 0.0, "cache": 0.0, "margin": float("inf")}

    def ask(features, ids, grid, penalty=1.0):
        tokens, figures = answer(lm, features, ids, grid, STEPS, penalty)
        for k, v in figures.items():
            worst[k] = min(worst[k], v) if k == "margin" else max(worst[k], v)
        return tokens

    with torch.no_grad():
        rgba = q2.test_image()
        patches, grid = q2.image_patches(rgba, mean=q3.MEAN, std=q3.STD)
        pixels = torch.from_numpy(patches)
        grid_thw = torch.tensor([grid])
        onnxutil.export(q2.VisionEncoder(visual), (pixels, grid_thw), os.path.join(OUT, "onnx", "vision_encoder.onnx"),
                        ["pixel_values", "image_grid_thw"], ["image_features"],
                        {"pixel_values": {0: "patches"}, "image_features": {0: "image_tokens"}})
        features = visual(pixels, grid_thw)
        other, other_grid = q2.image_patches(np.ascontiguousarray(rgba[:24, :40]), mean=q3.MEAN, std=q3.STD)
        other_features = visual(torch.from_numpy(other), torch.tensor([other_grid]))
        tokens = features.shape[0]
        q1, qq2 = "w3 w10 w7", "w5 w6"
        ids1 = tokenize(chat_text([(q1, None)], tokens))
        turn1 = ask(features, ids1, grid)
        blind, _ = answer(lm, torch.zeros_like(features), ids1, grid)
        assert blind != turn1, "the answer does not depend on the image"
        ids2 = tokenize(chat_text([(q1, reply_text(turn1)), (qq2, None)], tokens))
        turn2 = ask(features, ids2, grid)
        pos1, delta1 = q2.rope_index(ids1, grid)
        few, few_grid = q2.image_patches(rgba, max_pixels=256, mean=q3.MEAN, std=q3.STD)
        few_features = visual(torch.from_numpy(few), torch.tensor([few_grid]))
        few_ids = tokenize(chat_text([(q1, None)], few_features.shape[0]))
        few_answer = ask(few_features, few_ids, few_grid)
        both_ids = tokenize(chat_text([(q1, None)], [tokens, other_features.shape[0]]))
        both_grids = [grid, other_grid]
        both_answer = ask(torch.cat([features, other_features]), both_ids, both_grids)
        both_positions, _ = q2.rope_index(both_ids, both_grids)
        system = "you are a w5 w6 assistant ."
        system_ids = tokenize(chat_text([(q1, None)], tokens, system))
        system_answer = ask(features, system_ids, grid)
        penalty = 1.3
        rep1 = ask(features, ids1, grid, penalty)
        rep_ids2 = tokenize(chat_text([(q1, reply_text(rep1)), (qq2, None)], tokens))
        rep2 = ask(features, rep_ids2, grid, penalty)
        for a in (turn1, rep1):  # answers put back into a prompt: words only, so that any decode gives them back
            assert a and all(t > ID[q2.NEWLINE] for t in a), a
        if dump:
            dump_steps(lm, features, ids1, grid, turn1, dump)
    sizes = [[h, w, *q2.smart_resize(h, w)] for h, w in [(29, 45), (24, 40), (36, 20), (8, 8), (100, 30), (500, 333),
                                                         (12, 1000), (44, 52), (36, 60), (3, 5)]]
    ref = {
        "image": {"width": 45, "height": 29, "rgba": rgba.flatten().tolist()},
        "pixel_values": {"dims": list(patches.shape), "data": patches.flatten().tolist()},
        "grid_thw": grid,
        "image_features": {"dims": list(features.shape), "data": features.flatten().tolist()},
        "crop": {"grid_thw": other_grid, "pixel_values": other.flatten().tolist(),
                 "image_features": {"dims": list(other_features.shape), "data": other_features.flatten().tolist()}},
        "questions": [q1, qq2],
        "prompt_ids": [ids1, ids2],
        "position_ids": pos1,
        "rope_delta": delta1,
        "answers": [turn1, turn2],
        "smart_resize": sizes,
        "max_pixels_256": {"grid_thw": few_grid, "prompt_ids": few_ids, "answer": few_answer},
        "two_images": {"prompt_ids": both_ids, "position_ids": both_positions, "answer": both_answer},
        "system": {"text": system, "prompt_ids": system_ids, "answer": system_answer},
        "repetition_penalty": {"penalty": penalty, "prompt_ids": [ids1, rep_ids2], "answers": [rep1, rep2]},
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    return ref, worst


def dump_steps(lm, features, ids, grid, tokens, path):
    """The decoder's first step (the prompt, zero states, no past) and the cached step after it, inputs and the
    module's outputs, for checking the graph in onnxruntime."""
    dec = Decoder(lm)
    past_names, present_names = cache_names()
    emb = embeds(lm, ids, features)
    pos, delta = q2.rope_index(ids, grid)
    n = len(ids)
    steps = []
    feeds = [emb, torch.ones(1, n, dtype=torch.int64), torch.tensor(pos)[:, None, :], *empty_past()]
    for t in range(2):
        out = dec(*feeds)
        names = ["inputs_embeds", "attention_mask", "position_ids", *past_names]
        steps.append({
            "inputs": {k: {"dims": list(v.shape), "type": "int64" if v.dtype == torch.int64 else "float32",
                           "data": v.flatten().tolist()} for k, v in zip(names, feeds)},
            "outputs": {k: {"dims": list(v.shape), "data": v.flatten().tolist()}
                        for k, v in zip(["logits", *present_names], out)},
        })
        feeds = [lm.embed_tokens(torch.tensor([[tokens[t]]])), torch.ones(1, n + t + 1, dtype=torch.int64),
                 torch.full((3, 1, 1), n + t + delta), *out[1:]]
    with open(path, "w") as fh:
        json.dump(steps, fh)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", help="also write the decoder's first two steps (inputs, outputs) to this JSON file")
    dump = parser.parse_args().dump
    lm = language_model(85)
    torch.manual_seed(73)
    visual = q3.Qwen3VLVisionModel().eval()
    with torch.no_grad():
        for p in visual.merger.parameters():
            p.mul_(q2.SPREAD)
    model = Qwen3_5Model(visual, lm).eval()
    check(model)
    os.makedirs(OUT, exist_ok=True)
    ops = export(model)
    write_folder()
    ref, worst = export_and_reference(model, dump)
    graphs = ("vision_encoder", "embed_tokens", "decoder_model_merged")
    for name in graphs:
        onnx.checker.check_model(onnx.load(os.path.join(OUT, "onnx", f"{name}.onnx")), full_check=True)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"onnx.checker (full_check) passes {', '.join(graphs)}; decoder ops: {dict(sorted(ops.items()))}")
    print(f"answers: cached vs uncached logits within {worst['cache']:.1e}, graph module vs transformers within "
          f"{worst['graph']:.1e}, smallest top-2 logit margin {worst['margin']:.3f}")
    print(f"wrote {OUT} ({size // 1024} KiB): grid {ref['grid_thw']} → {len(ref['image_features']['data']) // D} "
          f"image tokens; prompts of {len(ref['prompt_ids'][0])} and {len(ref['prompt_ids'][1])} positions (delta "
          f"{ref['rope_delta']}); answers {ref['answers'][0]}, {ref['answers'][1]}; max_pixels_256 "
          f"{ref['max_pixels_256']['answer']}; two images {ref['two_images']['answer']}; system "
          f"{ref['system']['answer']}; penalty {ref['repetition_penalty']['answers']}")


if __name__ == "__main__":
    main()
