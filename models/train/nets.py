"""Tiny CLIP / BLIP building blocks, written with plain ops so ONNX export gives MatMul/Softmax/LayerNormalization/Erf/...

Everything that depends on lengths is computed from data (cumsum of ones), not Python ints, so exported graphs have
dynamic batch and sequence and no If/Loop.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e4


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, kv_dim: int | None = None):
        super().__init__()
        kv_dim = kv_dim or dim
        self.h, self.hd = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(kv_dim, dim)
        self.v = nn.Linear(kv_dim, dim)
        self.o = nn.Linear(dim, dim)

    def split(self, x):
        b, n, _ = x.shape
        return x.reshape(b, n, self.h, self.hd).transpose(1, 2)

    def forward(self, x, kv=None, mask=None, past=None, return_kv=False):
        """x [B,L,D]; kv [B,M,Dkv] (cross) or None (self); mask additive, broadcast to [B,H,L,M];
        past (k,v) [B,H,P,hd] prepended (self-attention only)."""
        src = x if kv is None else kv
        q = self.split(self.q(x)) * (1.0 / math.sqrt(self.hd))
        k = self.split(self.k(src))
        v = self.split(self.v(src))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        a = q @ k.transpose(-1, -2)
        if mask is not None:
            a = a + mask
        a = a.softmax(-1)
        y = (a @ v).transpose(1, 2)
        b, n = y.shape[0], y.shape[1]
        y = self.o(y.reshape(b, n, self.h * self.hd))
        return (y, (k, v)) if return_kv else y


class Block(nn.Module):
    """Pre-LN transformer block; optional cross-attention."""

    def __init__(self, dim, heads, mlp, cross_dim=None):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.cross = None
        if cross_dim is not None:
            self.lnc = nn.LayerNorm(dim)
            self.cross = Attention(dim, heads, cross_dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x, mask=None, enc=None, past=None, return_kv=False):
        h = self.attn(self.ln1(x), mask=mask, past=past, return_kv=return_kv)
        if return_kv:
            h, kv = h
        x = x + h
        if self.cross is not None:
            x = x + self.cross(self.lnc(x), kv=enc)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return (x, kv) if return_kv else x


class Vision(nn.Module):
    """Conv stem (64->16, two stride-2 convs) + 2x2 patches -> 8x8 tokens + CLS, pre-LN ViT."""

    def __init__(self, dim=128, layers=4, heads=4, mlp=256, image=64):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 3, 2, 1), nn.GELU(), nn.Conv2d(64, dim, 2, 2)
        )
        n = (image // 8) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)

    def forward(self, pixels):
        x = self.stem(pixels)  # B,D,8,8
        x = x.flatten(2).transpose(1, 2)
        cls = self.cls.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.ln(x)  # last_hidden_state


def positions(ids):
    """0..L-1 per row, computed as data (CumSum) so the exported graph has dynamic length."""
    return torch.cumsum(torch.ones_like(ids), 1) - 1


def pad_mask(attention_mask):
    return ((1.0 - attention_mask.to(torch.float32)) * NEG)[:, None, None, :]


class TextEncoder(nn.Module):
    """Bidirectional text encoder; optional fusion layers (self + cross-attention to image tokens) on top (ALBEF)."""

    def __init__(self, vocab, dim=128, layers=3, heads=4, mlp=256, max_len=32, fusion_layers=0, cross_dim=None):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.fusion = nn.ModuleList([Block(dim, heads, mlp, cross_dim=cross_dim) for _ in range(fusion_layers)])
        self.fln = nn.LayerNorm(dim) if fusion_layers else None

    def forward(self, ids, attention_mask):
        m = pad_mask(attention_mask)
        x = self.tok(ids) + self.pos(positions(ids))
        for b in self.blocks:
            x = b(x, mask=m)
        return x  # un-normalized stream; self.ln(x) is the unimodal output

    def fuse(self, x, attention_mask, image_tokens):
        m = pad_mask(attention_mask)
        for b in self.fusion:
            x = b(x, mask=m, enc=image_tokens)
        return self.fln(x)


class Decoder(nn.Module):
    """Causal text decoder with cross-attention to image tokens; self-attention K/V cache for export."""

    def __init__(self, vocab, dim=128, layers=3, heads=4, mlp=256, max_len=32, cross_dim=128):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(max_len, dim)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp, cross_dim=cross_dim) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, ids, enc, past=None, pad_attention_mask=None):
        """ids [B,L]; past: list of (k,v) [B,H,P,hd] or None. Returns logits, presents."""
        pos = positions(ids)
        if past is not None:
            # past length as data: sum of ones over the past axis of the first layer's key
            plen = torch.ones_like(past[0][0][:, 0, :, 0]).sum(1, keepdim=True).to(torch.int64)
            pos = pos + plen
            mask = None  # one new token (or more) attends to everything before it
            if ids.shape[1] > 1:
                raise ValueError("past decoding takes one token")
        else:
            qi = pos[:, :, None]
            kj = pos[:, None, :]
            mask = torch.where(kj > qi, torch.full_like(qi, 1), torch.zeros_like(qi)).to(torch.float32) * NEG
            mask = mask[:, None, :, :]
            if pad_attention_mask is not None:
                mask = mask + pad_mask(pad_attention_mask)
        x = self.tok(ids) + self.pos(pos)
        presents = []
        for i, b in enumerate(self.blocks):
            x, kv = b(x, mask=mask, enc=enc, past=None if past is None else past[i], return_kv=True)
            presents.append(kv)
        return self.head(self.ln(x)), presents


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


class CLIPTiny(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.vision = Vision(cfg["v_dim"], cfg["v_layers"], cfg["heads"], cfg["v_mlp"])
        self.text = TextEncoder(cfg["vocab"], cfg["t_dim"], cfg["t_layers"], cfg["heads"], cfg["t_mlp"], cfg["max_len"])
        self.vproj = nn.Linear(cfg["v_dim"], cfg["proj"], bias=False)
        self.tproj = nn.Linear(cfg["t_dim"], cfg["proj"], bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def image_embed(self, pixels):
        h = self.vision(pixels)
        return self.vproj(h[:, 0]), h

    def text_embed(self, ids, mask):
        h = self.text.ln(self.text(ids, mask))
        return self.tproj(h[:, 0]), h


class BLIPTiny(CLIPTiny):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.text = TextEncoder(
            cfg["vocab"], cfg["t_dim"], cfg["t_layers"], cfg["heads"], cfg["t_mlp"], cfg["max_len"],
            fusion_layers=cfg["f_layers"], cross_dim=cfg["v_dim"],
        )
        self.itm = nn.Linear(cfg["t_dim"], 2)
        self.decoder = Decoder(cfg["vocab"], cfg["t_dim"], cfg["d_layers"], cfg["heads"], cfg["t_mlp"], cfg["max_len"], cfg["v_dim"])

    def itm_logits(self, ids, mask, image_tokens):
        x = self.text(ids, mask)
        return self.itm(self.text.fuse(x, mask, image_tokens)[:, 0])
