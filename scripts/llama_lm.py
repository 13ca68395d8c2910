"""A LLaMA-style language model (RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU, tied
embeddings), with the options Qwen2 and the Gemma family add, taking inputs_embeds, as transformers.js' LLaVA layout feeds its decoder, and its export as Optimum's
decoder_model_merged.onnx: the first step and a cached step exported by torch, then merged into one graph whose
If on `use_cache_branch` picks one (models/train/merge_decoder.py). Used by the test corpus
(scripts/make_llava_random.py) and the base-size benchmark skeletons (bench/models/export_skeletons.py).
"""
import os
import sys
import tempfile
from dataclasses import dataclass

import onnx
import torch
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import onnxutil  # noqa: E402
import merge_decoder  # noqa: E402


@dataclass(frozen=True)
class LmConfig:
    vocab: int
    dim: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    theta: float = 10000.0
    # Qwen2: biases on the query/key/value projections.
    qkv_bias: bool = False
    # Qwen2-VL's multimodal rotary embedding: position_ids [3, batch, seq] (temporal, height, width), the rotary
    # frequencies split into these sections, each rotated by one of the three (None: plain position_ids).
    mrope_section: tuple = None
    # Qwen3-VL's interleaved MRoPE (transformers' Qwen3VLTextRotaryEmbedding.apply_interleaved_mrope): frequency j
    # from height where j % 3 == 1 and j < 3 · mrope_section[1], from width where j % 3 == 2 and
    # j < 3 · mrope_section[2], from the temporal axis otherwise (the rest of both halves likewise).
    mrope_interleaved: bool = False
    # Gemma: RMSNorm scales by 1 + weight, the MLP's gate is GELU (tanh), queries scaled by attn_scalar ** -0.5
    # (None: head_dim), inputs_embeds times sqrt(dim) inside the decoder (Gemma 1 and 2; Gemma3 scales in its
    # embedding module).
    gemma_norm: bool = False
    gelu_gate: bool = False
    attn_scalar: float = None
    embed_scale: bool = False
    # Gemma3: RMSNorm on each head's queries and keys; norms after attention and around the MLP too.
    qk_norm: bool = False
    sandwich_norms: bool = False
    # Gemma3's local layers: they see the last `sliding_window` positions, with rotary base local_theta; every
    # global_every-th layer attends to all. None: every layer global.
    sliding_window: int = None
    global_every: int = 1
    local_theta: float = None
    # PaliGemma: the first step (the image and the prompt) attends both ways; what follows is causal.
    prefix_lm: bool = False
    # Gemma's head size, where it is not dim / heads.
    head_size: int = None

    def is_local(self, layer: int) -> bool:
        return self.sliding_window is not None and (layer + 1) % self.global_every != 0

    @property
    def head_dim(self) -> int:
        return self.head_size or self.dim // self.heads


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, plus_one=False):
        super().__init__()
        # Gemma keeps the weight around 0 and scales by 1 + weight.
        self.plus_one = plus_one
        self.weight = torch.nn.Parameter((0 if plus_one else 1) + 0.1 * torch.randn(dim))

    def forward(self, x):
        w = 1 + self.weight if self.plus_one else self.weight
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, c: LmConfig):
        super().__init__()
        self.c = c
        hd = c.head_dim
        self.q = torch.nn.Linear(c.dim, c.heads * hd, bias=c.qkv_bias)
        self.k = torch.nn.Linear(c.dim, c.kv_heads * hd, bias=c.qkv_bias)
        self.v = torch.nn.Linear(c.dim, c.kv_heads * hd, bias=c.qkv_bias)
        self.o = torch.nn.Linear(c.heads * hd, c.dim, bias=False)
        self.gate = torch.nn.Linear(c.dim, c.ffn, bias=False)
        self.up = torch.nn.Linear(c.dim, c.ffn, bias=False)
        self.down = torch.nn.Linear(c.ffn, c.dim, bias=False)
        g = c.gemma_norm
        self.n1, self.n2 = RMSNorm(c.dim, g), RMSNorm(c.dim, g)
        if c.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(hd, g), RMSNorm(hd, g)
        if c.sandwich_norms:
            self.post_attn, self.post_mlp = RMSNorm(c.dim, g), RMSNorm(c.dim, g)

    def forward(self, x, cos, sin, mask, past):
        c, hd = self.c, self.c.head_dim
        b, s, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, c.heads, hd).transpose(1, 2)
        k = self.k(h).view(b, s, c.kv_heads, hd).transpose(1, 2)
        v = self.v(h).view(b, s, c.kv_heads, hd).transpose(1, 2)
        if c.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = c.heads // c.kv_heads
        kr = k[:, :, None].expand(b, c.kv_heads, rep, k.shape[2], hd).reshape(b, c.heads, k.shape[2], hd)
        vr = v[:, :, None].expand(b, c.kv_heads, rep, v.shape[2], hd).reshape(b, c.heads, v.shape[2], hd)
        scores = q @ kr.transpose(2, 3)
        scores = scores * c.attn_scalar ** -0.5 if c.attn_scalar else scores / hd ** 0.5
        att = torch.softmax(scores + mask, dim=-1)
        h = self.o((att @ vr).transpose(1, 2).reshape(b, s, c.heads * hd))
        x = x + (self.post_attn(h) if c.sandwich_norms else h)
        h = self.n2(x)
        gate = self.gate(h)
        gate = torch.nn.functional.gelu(gate, approximate="tanh") if c.gelu_gate else torch.nn.functional.silu(gate)
        h = self.down(gate * self.up(h))
        return x + (self.post_mlp(h) if c.sandwich_norms else h), present


class LM(torch.nn.Module):
    def __init__(self, c: LmConfig):
        super().__init__()
        self.c = c
        self.embed = torch.nn.Embedding(c.vocab, c.dim)
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.dim, c.gemma_norm)

    def rotary(self, position_ids, theta):
        hd = self.c.head_dim
        inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        freqs = position_ids[..., None].float() * inv
        emb = torch.cat([freqs, freqs], dim=-1)
        if self.c.mrope_section is None:
            return emb.cos()[:, None], emb.sin()[:, None]
        elif self.c.mrope_interleaved:
            half = hd // 2
            _, sh, sw = self.c.mrope_section
            axis = [1 if j % 3 == 1 and j < 3 * sh else 2 if j % 3 == 2 and j < 3 * sw else 0 for j in range(half)]
            pick = torch.tensor(axis * 2)
            emb = torch.where(pick == 1, emb[1], torch.where(pick == 2, emb[2], emb[0]))
            return emb.cos()[:, None], emb.sin()[:, None]
        else:
            # transformers' apply_multimodal_rotary_pos_emb: section i of the frequencies (twice, for both halves)
            # from position axis i % 3.
            sections = list(self.c.mrope_section) * 2
            cos, sin = emb.cos(), emb.sin()
            cos = torch.cat([m[i % 3] for i, m in enumerate(cos.split(sections, dim=-1))], dim=-1)
            sin = torch.cat([m[i % 3] for i, m in enumerate(sin.split(sections, dim=-1))], dim=-1)
            return cos[:, None], sin[:, None]

    def forward(self, inputs_embeds, attention_mask, position_ids, past=None):
        c = self.c
        cos, sin = self.rotary(position_ids, c.theta)
        local = self.rotary(position_ids, c.local_theta) if c.local_theta else (cos, sin)
        s = inputs_embeds.shape[1]
        total = attention_mask.shape[1]
        # Causal over absolute slots (queries are the last s of `total`), and the padding mask.
        i = torch.arange(s)[:, None] + (total - s)
        j = torch.arange(total)[None, :]
        causal = torch.ones(s, total, dtype=torch.bool) if c.prefix_lm and past is None else j <= i
        masks = []
        for window in (None, c.sliding_window) if c.sliding_window else (None,):
            near = causal if window is None else causal & (i - j < window)
            allowed = near[None, None] & attention_mask[:, None, None, :].bool()
            masks.append((~allowed).to(torch.float32) * torch.finfo(torch.float32).min)
        x = inputs_embeds * torch.tensor(c.dim ** 0.5) if c.embed_scale else inputs_embeds
        presents = []
        for li, layer in enumerate(self.layers):
            lc, ls = local if c.is_local(li) else (cos, sin)
            x, p = layer(x, lc, ls, masks[1] if c.is_local(li) else masks[0], None if past is None else past[li])
            presents.append(p)
        return self.norm(x) @ self.embed.weight.T, presents


class First(torch.nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, inputs_embeds, attention_mask, position_ids):
        logits, pres = self.lm(inputs_embeds, attention_mask, position_ids)
        return (logits, *[t for kv in pres for t in kv])


class Cached(First):
    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, pres = self.lm(inputs_embeds, attention_mask, position_ids, pk)
        return (logits, *[t for kv in pres for t in kv])


def merged_decoder(lm: LM) -> onnx.ModelProto:
    """decoder_model_merged.onnx of `lm`: both steps exported by torch, merged under an If on use_cache_branch."""
    c = lm.c
    hd = c.head_dim
    past_names = [f"past_key_values.{i}.{kv}" for i in range(c.layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(c.layers) for kv in ("key", "value")]
    f = TensorProto.FLOAT
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        emb = torch.randn(1, 3, c.dim)
        seq = {0: "batch_size", 1: "sequence_length"}
        mrope = c.mrope_section is not None
        positions = (lambda a, b: torch.arange(a, b)[None].expand(3, 1, b - a)) if mrope else \
            (lambda a, b: torch.arange(a, b)[None])
        dyn = {"inputs_embeds": seq, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
               "position_ids": {1: "batch_size", 2: "sequence_length"} if mrope else seq}
        io = ["inputs_embeds", "attention_mask", "position_ids"]
        first = os.path.join(tmp, "first.onnx")
        onnxutil.export(First(lm), (emb, torch.ones(1, 3, dtype=torch.int64), positions(0, 3)), first, io,
                        ["logits", *present], {**dyn, **{p: {0: "batch_size", 2: "total"} for p in present}})
        cached = os.path.join(tmp, "cached.onnx")
        past = [torch.randn(1, c.kv_heads, 4, hd) for _ in past_names]
        onnxutil.export(Cached(lm), (emb, torch.ones(1, 7, dtype=torch.int64), positions(4, 7), *past),
                        cached, [*io, *past_names], ["logits", *present],
                        {**dyn, **{p: {0: "batch_size", 2: "past"} for p in past_names},
                         **{p: {0: "batch_size", 2: "total"} for p in present}})
        inputs = [helper.make_tensor_value_info("inputs_embeds", f, ["batch_size", "sequence_length", c.dim]),
                  helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                                ["batch_size", "total_sequence_length"]),
                  helper.make_tensor_value_info("position_ids", TensorProto.INT64,
                                                [3, "batch_size", "sequence_length"] if mrope
                                                else ["batch_size", "sequence_length"]),
                  *[helper.make_tensor_value_info(p, f, ["batch_size", c.kv_heads, "past", hd]) for p in past_names]]
        outputs = [helper.make_tensor_value_info("logits", f, ["batch_size", "sequence_length", c.vocab]),
                   *[helper.make_tensor_value_info(p, f, ["batch_size", c.kv_heads, "total", hd]) for p in present]]
        model = merge_decoder.merged(first, cached, inputs, outputs)
    return model
