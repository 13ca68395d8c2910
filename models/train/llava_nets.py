"""llava-tiny and blip2-tiny in torch: a LLaMA-style decoder LM (RMSNorm, rotary, SwiGLU, grouped-query attention,
tied embeddings), a LLaVA 2-layer MLP projector and a BLIP-2 Q-Former, on the v2 vision tower (nets.Vision).

Written with plain ops in the forms our engine fuses (and HF's LLaMA exports): RMSNorm = Pow, ReduceMean, Add, Sqrt,
Div, Mul; rotary = rotate_half (Slice, Neg, Concat) with cos/sin computed from position_ids; GQA = K/V heads repeated
(Unsqueeze, Expand, Reshape); attention = MatMul, Div, Add(mask), Softmax, MatMul.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import nets

NEG = nets.NEG

LM_CFG = {"vocab": 0, "dim": 192, "layers": 4, "heads": 6, "kv_heads": 2, "ffn": 512, "rope_theta": 10000.0,
          "eps": 1e-6, "max_positions": 256}
MERGE = 2  # the projector reads 2x2 neighbouring patch tokens at once: 8x8 patches -> 16 image tokens for the LM


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def rotary(position_ids, head_dim: int, theta: float):
    """cos, sin [B,1,L,hd] for integer positions [B,L] (HF LLaMA's layout: frequencies repeated over both halves)."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    f = position_ids.to(torch.float32)[..., None] * inv
    emb = torch.cat([f, f], -1)
    return emb.cos()[:, None], emb.sin()[:, None]


class GQAttention(nn.Module):
    def __init__(self, dim: int, heads: int, kv_heads: int):
        super().__init__()
        self.h, self.kvh, self.hd = heads, kv_heads, dim // heads
        self.q_proj = nn.Linear(dim, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, dim, bias=False)

    def forward(self, x, cos, sin, mask, past=None):
        b, n, _ = x.shape
        q = self.q_proj(x).reshape(b, n, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).reshape(b, n, self.kvh, self.hd).transpose(1, 2)
        v = self.v_proj(x).reshape(b, n, self.kvh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        present = (k, v)
        rep = self.h // self.kvh
        t = k.shape[2]
        kr = k[:, :, None].expand(b, self.kvh, rep, t, self.hd).reshape(b, self.h, t, self.hd)
        vr = v[:, :, None].expand(b, self.kvh, rep, t, self.hd).reshape(b, self.h, t, self.hd)
        a = (q @ kr.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = (a.softmax(-1) @ vr).transpose(1, 2).reshape(b, n, self.h * self.hd)
        return self.o_proj(y), present


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"], c["eps"])
        self.self_attn = GQAttention(c["dim"], c["heads"], c["kv_heads"])
        self.post_attention_layernorm = RMSNorm(c["dim"], c["eps"])
        self.mlp = SwiGLU(c["dim"], c["ffn"])

    def forward(self, x, cos, sin, mask, past=None):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), present


def decoder_mask(attention_mask, n_new: int):
    """Additive mask [B,1,L,T]: key j is visible to new token i (absolute index T-L+i) iff j <= T-L+i and
    attention_mask[j] == 1. Indices are computed as data (CumSum), so the export keeps dynamic lengths."""
    kidx = torch.cumsum(torch.ones_like(attention_mask), 1) - 1  # [B,T]
    qidx = kidx[:, -n_new:]  # [B,L]
    hidden = (kidx[:, None, :] > qidx[:, :, None]) | (attention_mask[:, None, :] == 0)
    return torch.where(hidden, torch.full_like(hidden, 1, dtype=torch.float32) * NEG,
                       torch.zeros_like(hidden, dtype=torch.float32))[:, None]


class LlamaLM(nn.Module):
    """Decoder-only LM on input embeddings (so image features can be spliced in); lm_head tied to embed_tokens."""

    def __init__(self, c: dict):
        super().__init__()
        self.cfg = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["dim"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["dim"], c["eps"])

    def forward(self, inputs_embeds, attention_mask, position_ids, past=None):
        """inputs_embeds [B,L,D], attention_mask [B,P+L], position_ids [B,L], past [(k,v) [B,KV,P,hd]] or None.
        Returns logits [B,L,V] and presents [(k,v) [B,KV,P+L,hd]]."""
        hd = self.cfg["dim"] // self.cfg["heads"]
        cos, sin = rotary(position_ids, hd, self.cfg["rope_theta"])
        mask = decoder_mask(attention_mask, inputs_embeds.shape[1])
        x = inputs_embeds
        presents = []
        for i, layer in enumerate(self.layers):
            x, pr = layer(x, cos, sin, mask, None if past is None else past[i])
            presents.append(pr)
        return self.norm(x) @ self.embed_tokens.weight.t(), presents


def merge_patches(x, grid: int, m: int):
    """[B, grid*grid, D] raster-order patch tokens -> [B, (grid/m)^2, m*m*D]: each m x m block concatenated
    (the 'pixel shuffle' of Idefics3 / InternVL), so the LM reads 4x fewer image tokens."""
    b, _, d = x.shape
    g = grid // m
    x = x.reshape(b, g, m, g, m, d).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, g * g, m * m * d)


class Projector(nn.Module):
    """LLaVA-1.5's projector (Linear -> GELU -> Linear, vision width -> LM width) over 2x2-merged patch tokens."""

    def __init__(self, v_dim: int, dim: int, merge: int = MERGE, grid: int = 8):
        super().__init__()
        self.merge, self.grid = merge, grid
        self.linear_1 = nn.Linear(v_dim * merge * merge, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, patches):
        return self.linear_2(F.gelu(self.linear_1(merge_patches(patches, self.grid, self.merge))))


class QFormer(nn.Module):
    """BLIP-2's Q-Former, small: learned queries; each layer self-attention over the queries, cross-attention to the
    frozen image tokens, MLP (pre-LN); then a linear projection into the LM's embedding width."""

    def __init__(self, n_queries: int, dim: int, layers: int, heads: int, mlp: int, v_dim: int, lm_dim: int):
        super().__init__()
        self.query_tokens = nn.Parameter(torch.randn(1, n_queries, dim) * 0.02)
        self.blocks = nn.ModuleList([nets.Block(dim, heads, mlp, cross_dim=v_dim) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.language_projection = nn.Linear(dim, lm_dim)

    def forward(self, image_tokens):
        x = self.query_tokens.expand(image_tokens.shape[0], -1, -1)
        for b in self.blocks:
            x = b(x, enc=image_tokens)
        return self.language_projection(self.ln(x))


def deep_stem(dim: int) -> nn.Sequential:
    """64x64 -> 8x8 tokens through seven 3x3 convs (three of stride 2): each token sees ~45 px, a whole object.
    With v1's stem (three strided convs, ~13 px) shape had to be assembled by attention across patch tokens and
    stayed near chance (a third right) after 500 steps."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1), nn.GELU(), nn.Conv2d(32, 32, 3, 2, 1), nn.GELU(),
        nn.Conv2d(32, 64, 3, 1, 1), nn.GELU(), nn.Conv2d(64, 64, 3, 2, 1), nn.GELU(),
        nn.Conv2d(64, 64, 3, 1, 1), nn.GELU(), nn.Conv2d(64, dim, 3, 2, 1), nn.GELU(), nn.Conv2d(dim, dim, 3, 1, 1),
    )


def vision_tower(cfg: dict) -> nets.Vision:
    """nets.Vision (conv stem, 8x8 patch tokens + [CLS], pre-LN ViT) with the stem cfg names."""
    v = nets.Vision(cfg["v_dim"], cfg["v_layers"], cfg["heads"], cfg["v_mlp"])
    if cfg.get("stem") == "deep":
        v.stem = deep_stem(cfg["v_dim"])
    return v


class TinyVLM(nn.Module):
    """Vision tower (frozen) -> connector (projector over the 64 patch tokens, or Q-Former queries) -> LM."""

    def __init__(self, vit_cfg: dict, lm_cfg: dict, connector: str = "projector", qformer_cfg: dict | None = None):
        super().__init__()
        self.vision = vision_tower(vit_cfg)
        self.lm = LlamaLM(lm_cfg)
        self.connector = connector
        if connector == "projector":
            self.projector = Projector(vit_cfg["v_dim"], lm_cfg["dim"])
        else:
            q = qformer_cfg
            self.qformer = QFormer(q["queries"], q["dim"], q["layers"], q["heads"], q["mlp"], vit_cfg["v_dim"], lm_cfg["dim"])

    def image_features(self, pixel_values):
        """[B,N,D_lm]: the 64 patch tokens projected (LLaVA drops [CLS]) or the Q-Former's projected queries."""
        h = self.vision(pixel_values)
        if self.connector == "projector":
            return self.projector(h[:, 1:])
        return self.qformer(h)

    def embed(self, input_ids, image_features, image_token_id: int):
        """Token embeddings with the image features written over the <image> tokens (in order), as
        transformers.js' masked scatter does."""
        e = self.lm.embed_tokens(input_ids)
        m = input_ids == image_token_id
        return e.masked_scatter(m[..., None], image_features.to(e.dtype))

    def forward(self, pixel_values, input_ids, attention_mask, image_token_id: int, image_features=None):
        feats = self.image_features(pixel_values) if image_features is None else image_features
        x = self.embed(input_ids, feats, image_token_id)
        pos = (torch.cumsum(attention_mask, 1) - 1).clamp(min=0)
        logits, _ = self.lm(x, attention_mask, pos)
        return logits
