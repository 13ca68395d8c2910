"""The five models of the architecture comparison: configs, construction from the shared vision pre-training,
checkpoints, and the scoring functions training, evaluation and export share.

  arch   what                                                        scores a pair by
  clip   vision tower + text encoder                                  cosine of the two embeddings (ITC)
  blip   + fusion layers (cross-attention; ITM) + caption decoder     ITC, ITM (fusion encoder)
  vilt   one transformer over [text; image] (ITM, VQA, MLM heads)     ITM (single stream, every pair from the patches)
  vlmo   MoME transformer: image / text experts + fusion              ITC (dual encoder), ITM/VQA (fusion)
  coca   vision + attentional pooling, unimodal + multimodal decoder  ITC; captions from the same image pass
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F

import common
import data2
import llava_nets
import nets
import taxo_nets
import tokv2
import vl2

ARCHS = ("clip", "blip", "vilt", "vlmo", "coca")
VIT_CKPT = os.path.join(common.RUNS, "vit2", "model.pt")


def config(arch: str) -> dict:
    v = len(tokv2.VOCAB)
    if arch in ("clip", "blip"):
        return dict(common.CFG, vocab=v, max_len=tokv2.MAX_LEN, arch=arch, stem="deep")
    if arch == "vilt":
        return taxo_nets.base_cfg(v, len(vl2.ANSWERS), arch=arch, layers=6)
    if arch == "vlmo":
        return taxo_nets.base_cfg(v, len(vl2.ANSWERS), arch=arch, layers=6, vl_layers=2)
    if arch == "coca":
        return taxo_nets.base_cfg(v, arch=arch, n_queries=16, uni_layers=3, multi_layers=2)
    raise ValueError(arch)


def build(cfg: dict):
    a = cfg["arch"]
    if a in ("clip", "blip"):
        m = (nets.CLIPTiny if a == "clip" else nets.BLIPTiny)(cfg)
        m.vision = llava_nets.vision_tower(taxo_nets.VIT_CFG)
        return m
    return {"vilt": taxo_nets.ViLT, "vlmo": taxo_nets.VLMo, "coca": taxo_nets.CoCa}[a](cfg)


def load_vit(path: str = VIT_CKPT) -> nets.Vision:
    ck = torch.load(path, map_location="cpu")
    v = llava_nets.vision_tower(ck["cfg"])
    v.load_state_dict({k[len("vision."):]: t for k, t in ck["state"].items() if k.startswith("vision.")})
    return v


def init_from_vit(m, vit: nets.Vision):
    a = m.cfg["arch"]
    if a in ("clip", "blip"):
        m.vision.load_state_dict(vit.state_dict())
    elif a == "coca":
        m.vision.load_state_dict(vit.state_dict())
    else:
        m.init_from_vit(vit)


def load(path: str):
    ck = torch.load(path, map_location="cpu")
    m = build(ck["cfg"])
    m.load_state_dict(ck["state"])
    m.eval()
    return m, ck["cfg"], ck["meta"]


def pixels(imgs) -> torch.Tensor:
    return torch.from_numpy(data2.to_pixels(imgs))


def texts(xs: list[str]):
    ids, mask = tokv2.batch(xs)
    return torch.from_numpy(ids), torch.from_numpy(mask)


# ---------------------------------------------------------------- what each architecture can do
def has_itc(arch: str) -> bool:
    return arch in ("clip", "blip", "vlmo", "coca")


def has_itm(arch: str) -> bool:
    return arch in ("blip", "vilt", "vlmo")


def has_vqa(arch: str) -> bool:
    return arch in ("vilt", "vlmo")


def has_caption(arch: str) -> bool:
    return arch in ("blip", "coca")


def heads(arch: str, meta: dict) -> set[str]:
    """What a checkpoint is exported and scored for: its architecture's heads, or VQA alone for one fine-tuned by
    train_taxo.py --vqa-finetune (its ITM head and VLMo's experts' embeddings no longer match the encoder; it ships
    as the seeds' VQA checkpoints do, a folder of its own)."""
    if "vqa_finetune" in meta:
        return {"vqa"}
    have = {"itc": has_itc(arch), "itm": has_itm(arch), "vqa": has_vqa(arch), "caption": has_caption(arch)}
    return {k for k, v in have.items() if v}


# ---------------------------------------------------------------- scoring (batched, no grad)
@torch.no_grad()
def image_side(m, imgs, bs: int = 200):
    """Per image: (unit ITC embedding or None, the tokens pair scoring / captioning reads)."""
    a = m.cfg["arch"]
    es, ts = [], []
    for i in range(0, len(imgs), bs):
        px = pixels(imgs[i : i + bs])
        if a == "vilt":
            e, t = None, m.image_embed(px)
        elif a == "vlmo":
            e, _ = m.image_embed(px)
            t = m.image_tokens(px)
        else:
            e, t = m.image_embed(px)
        es.append(None if e is None else F.normalize(e, dim=-1))
        ts.append(t)
    return (None if es[0] is None else torch.cat(es)), torch.cat(ts)


@torch.no_grad()
def text_embeds(m, xs: list[str], bs: int = 500):
    out = []
    for i in range(0, len(xs), bs):
        ids, mask = texts(xs[i : i + bs])
        e, _ = m.text_embed(ids, mask)
        out.append(F.normalize(e, dim=-1))
    return torch.cat(out)


def fusion_states(m, toks, ids, mask):
    a = m.cfg["arch"]
    if a == "vilt":
        return m(toks, ids, mask)
    if a == "vlmo":
        return m.fuse(toks, ids, mask)
    raise ValueError(a)


def itm_logits(m, toks, ids, mask):
    if m.cfg["arch"] == "blip":
        return m.itm_logits(ids, mask, toks)
    return m.itm(m.pooled(fusion_states(m, toks, ids, mask)))


def vqa_logits(m, toks, ids, mask):
    return m.vqa(m.pooled(fusion_states(m, toks, ids, mask)))


@torch.no_grad()
def itm_prob(m, toks, xs: list[str], rows, bs: int = 500):
    """p(match) of (image rows[k], xs[k])."""
    out = []
    rows = torch.as_tensor(rows)
    for i in range(0, len(xs), bs):
        ids, mask = texts(xs[i : i + bs])
        out.append(itm_logits(m, toks[rows[i : i + bs]], ids, mask).softmax(-1)[:, 1])
    return torch.cat(out)


@torch.no_grad()
def vqa_answers(m, toks, xs: list[str], rows, bs: int = 500) -> list[str]:
    out = []
    rows = torch.as_tensor(rows)
    for i in range(0, len(xs), bs):
        ids, mask = texts(xs[i : i + bs])
        out += vqa_logits(m, toks[rows[i : i + bs]], ids, mask).argmax(-1).tolist()
    return [vl2.ANSWERS[k] for k in out]


@torch.no_grad()
def captions(m, toks, max_new: int = 30, bs: int = 250) -> list[str]:
    """Greedy captions with the KV cache, as the runtime decodes them (BLIP: [DEC] first; CoCa: [CLS])."""
    a = m.cfg["arch"]
    bos = tokv2.DEC if a == "blip" else tokv2.CLS
    step = m.decoder if a == "blip" else (lambda ids, enc, past=None: m.decode(ids, enc, past))
    out = []
    for i in range(0, len(toks), bs):
        enc = toks[i : i + bs]
        B = enc.shape[0]
        ids = torch.full((B, 1), bos, dtype=torch.long)
        logits, past = step(ids, enc)
        seqs = [[] for _ in range(B)]
        done = torch.zeros(B, dtype=torch.bool)
        for _ in range(max_new):
            nxt = logits[:, -1].argmax(-1)
            for b in range(B):
                if not done[b]:
                    seqs[b].append(int(nxt[b]))
            done |= nxt == tokv2.SEP
            if bool(done.all()):
                break
            logits, past = step(nxt[:, None], enc, past)
        out += [tokv2.decode(s) for s in seqs]
    return out
