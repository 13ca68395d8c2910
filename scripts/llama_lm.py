"""A LLaMA-style language model (RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU, tied
embeddings) taking inputs_embeds, as transformers.js' LLaVA layout feeds its decoder, and its export as Optimum's
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

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads


class RMSNorm(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = torch.nn.Parameter(1 + 0.1 * torch.randn(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))


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
        self.n1, self.n2 = RMSNorm(c.dim), RMSNorm(c.dim)

    def forward(self, x, cos, sin, mask, past):
        c, hd = self.c, self.c.head_dim
        b, s, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, c.heads, hd).transpose(1, 2)
        k = self.k(h).view(b, s, c.kv_heads, hd).transpose(1, 2)
        v = self.v(h).view(b, s, c.kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = c.heads // c.kv_heads
        kr = k[:, :, None].expand(b, c.kv_heads, rep, k.shape[2], hd).reshape(b, c.heads, k.shape[2], hd)
        vr = v[:, :, None].expand(b, c.kv_heads, rep, v.shape[2], hd).reshape(b, c.heads, v.shape[2], hd)
        att = torch.softmax(q @ kr.transpose(2, 3) / hd ** 0.5 + mask, dim=-1)
        x = x + self.o((att @ vr).transpose(1, 2).reshape(b, s, c.dim))
        h = self.n2(x)
        return x + self.down(torch.nn.functional.silu(self.gate(h)) * self.up(h)), present


class LM(torch.nn.Module):
    def __init__(self, c: LmConfig):
        super().__init__()
        self.c = c
        self.embed = torch.nn.Embedding(c.vocab, c.dim)
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.dim)

    def forward(self, inputs_embeds, attention_mask, position_ids, past=None):
        hd = self.c.head_dim
        inv = 1.0 / self.c.theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        freqs = position_ids[..., None].float() * inv
        emb = torch.cat([freqs, freqs], dim=-1)
        if self.c.mrope_section is None:
            cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        else:
            # transformers' apply_multimodal_rotary_pos_emb: section i of the frequencies (twice, for both halves)
            # from position axis i % 3.
            sections = list(self.c.mrope_section) * 2
            cos, sin = emb.cos(), emb.sin()
            cos = torch.cat([m[i % 3] for i, m in enumerate(cos.split(sections, dim=-1))], dim=-1)
            sin = torch.cat([m[i % 3] for i, m in enumerate(sin.split(sections, dim=-1))], dim=-1)
            cos, sin = cos[:, None], sin[:, None]
        s = inputs_embeds.shape[1]
        total = attention_mask.shape[1]
        # Causal over absolute slots (queries are the last s of `total`), and the padding mask.
        i = torch.arange(s)[:, None] + (total - s)
        j = torch.arange(total)[None, :]
        allowed = (j <= i)[None, None] & attention_mask[:, None, None, :].bool()
        mask = (~allowed).to(torch.float32) * torch.finfo(torch.float32).min
        x = inputs_embeds
        presents = []
        for li, layer in enumerate(self.layers):
            x, p = layer(x, cos, sin, mask, None if past is None else past[li])
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
