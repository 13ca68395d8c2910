"""The seeds' architecture taxonomy, tiny, on shapes world v2: ViLT (single stream), VLMo (mixture of modality
experts), CoCa (contrastive captioner), next to CLIP and BLIP rebuilt on the same vision stem.

Every model starts from the same image pre-training, the dense-target tower of train_vit2.py (conv stem + 4-layer
ViT; the seeds start from ImageNet ViTs / BEiT the same way), and sees 8x8 patch tokens of 128 channels.
The conv stem is the patch embedding for all five (a convolutional stem in place of the 8x8 linear patchify, as in
Xiao et al. 2021): at 64x64 with objects 11-22 px wide a linear patchify leaves shape to be assembled across
patches by attention, which issue 13 measured staying near chance within this compute. So 'ViLT has no visual
embedder' reads here as: no visual *transformer* before the modalities meet.

Written with plain ops in the forms our engine fuses (see nets.py): lengths as data (CumSum), additive masks, no
If/Loop. Modality-type embeddings are a 2-row table indexed by a constant, as ViLT/VLMo have them.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import llava_nets
import nets

NEG = nets.NEG
VIT_CFG = {"v_dim": 128, "v_layers": 4, "heads": 4, "v_mlp": 256, "stem": "deep"}
GRID = 8


def base_cfg(vocab: int, n_answers: int = 0, **kw) -> dict:
    c = {"vocab": vocab, "dim": 128, "heads": 4, "mlp": 256, "max_len": 64, "proj": 128, "n_answers": n_answers,
         "grid": GRID}
    c.update(kw)
    return c


def causal_mask(ids):
    """[B,1,L,L] additive: position i sees j <= i (positions as data, as nets.Decoder does)."""
    pos = nets.positions(ids)
    qi, kj = pos[:, :, None], pos[:, None, :]
    return (torch.where(kj > qi, torch.ones_like(qi), torch.zeros_like(qi)).to(torch.float32) * NEG)[:, None]


class PatchEmbed(nn.Module):
    """Conv stem -> 8x8 patch tokens, an image [CLS] in front, position and modality-type embeddings (type 1)."""

    def __init__(self, dim: int, n: int = GRID * GRID):
        super().__init__()
        self.stem = llava_nets.deep_stem(dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)

    def forward(self, pixels, type_row):
        x = self.stem(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        return x + self.pos + type_row

    def load_vit(self, vision: nets.Vision):
        self.stem.load_state_dict(vision.stem.state_dict())
        with torch.no_grad():
            self.cls.copy_(vision.cls)
            self.pos.copy_(vision.pos)


class WordEmbed(nn.Module):
    def __init__(self, vocab: int, dim: int, max_len: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(max_len, dim)

    def forward(self, ids, type_row):
        return self.tok(ids) + self.pos(nets.positions(ids)) + type_row


def text_image_mask(attention_mask, n_image: int):
    """Additive key mask [B,1,1,T+N] for text (padded) followed by image tokens (all valid)."""
    ones = torch.ones_like(attention_mask[:, :1]).expand(-1, n_image)
    return nets.pad_mask(torch.cat([attention_mask, ones], 1))


def load_vit_blocks(blocks: nn.ModuleList, vision: nets.Vision):
    for b, v in zip(blocks, vision.blocks):
        b.load_state_dict(v.state_dict())


# ---------------------------------------------------------------- ViLT
class ViLT(nn.Module):
    """One transformer over [text; image] tokens. Heads on the pooled text [CLS]: ITM (2-way) and a VQA classifier
    over the answer vocabulary; an MLM head on text positions (training only)."""

    def __init__(self, c: dict):
        super().__init__()
        self.cfg = c
        d = c["dim"]
        self.patch = PatchEmbed(d)
        self.words = WordEmbed(c["vocab"], d, c["max_len"])
        self.types = nn.Embedding(2, d)  # modality type: 0 text, 1 image
        self.blocks = nn.ModuleList([nets.Block(d, c["heads"], c["mlp"]) for _ in range(c["layers"])])
        self.ln = nn.LayerNorm(d)
        self.pooler = nn.Linear(d, d)
        self.itm = nn.Linear(d, 2)
        self.vqa = nn.Sequential(nn.Linear(d, 2 * d), nn.LayerNorm(2 * d), nn.GELU(), nn.Linear(2 * d, c["n_answers"]))
        self.mlm = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d), nn.Linear(d, c["vocab"]))

    def init_from_vit(self, vision: nets.Vision):
        """ViLT starts its transformer from a ViT (ImageNet-21k in the paper); here the dense-target tower."""
        self.patch.load_vit(vision)
        load_vit_blocks(self.blocks, vision)

    def image_embed(self, pixels):
        """The per-image part: patch tokens with position and modality-type embeddings [B,65,D]. Cached per image;
        everything after this runs once per (image, text) pair."""
        return self.patch(pixels, self.types.weight[1])

    def forward(self, image_tokens, ids, attention_mask):
        x = torch.cat([self.words(ids, self.types.weight[0]), image_tokens], 1)
        m = text_image_mask(attention_mask, image_tokens.shape[1])
        for b in self.blocks:
            x = b(x, mask=m)
        return self.ln(x)

    def pooled(self, h):
        return torch.tanh(self.pooler(h[:, 0]))


# ---------------------------------------------------------------- VLMo
class Expert(nn.Module):
    """A modality expert: its own LayerNorm and FFN (VLMo's norm2_* / mlp_*)."""

    def __init__(self, d: int, mlp: int):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp)
        self.fc2 = nn.Linear(mlp, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(self.ln(x))))


class MoMEBlock(nn.Module):
    """Shared self-attention; V-, L- (and in the top layers VL-) FFN experts."""

    def __init__(self, d: int, heads: int, mlp: int, vl: bool):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nets.Attention(d, heads)
        self.v = Expert(d, mlp)
        self.l = Expert(d, mlp)
        self.vl = Expert(d, mlp) if vl else None

    def forward(self, x, mask=None, route="v", n_text: int | None = None, text_len=None):
        """route: 'v' / 'l' / 'vl' (one expert for all tokens) or 'split': text positions [:n_text] through L-FFN,
        image positions through V-FFN. n_text comes from the text's shape as data (text_len) in the export."""
        x = x + self.attn(self.ln1(x), mask=mask)
        if route == "split":
            t, i = x[:, :text_len], x[:, text_len:]
            return torch.cat([t + self.l(t), i + self.v(i)], 1)
        return x + getattr(self, route)(x)

    def load_vit(self, blk: nets.Block):
        self.ln1.load_state_dict(blk.ln1.state_dict())
        self.attn.load_state_dict(blk.attn.state_dict())
        self.v.ln.load_state_dict(blk.ln2.state_dict())
        self.v.fc1.load_state_dict(blk.fc1.state_dict())
        self.v.fc2.load_state_dict(blk.fc2.state_dict())


class VLMo(nn.Module):
    """MoME transformer. Image expert = all layers with V-FFN on the image tokens; text expert = all layers with
    L-FFN on the text; fusion = [text; image] through shared attention, the bottom layers routing each modality to
    its own FFN, the top c['vl_layers'] layers through VL-FFN."""

    def __init__(self, c: dict):
        super().__init__()
        self.cfg = c
        d, L, F_ = c["dim"], c["layers"], c["vl_layers"]
        self.patch = PatchEmbed(d)
        self.words = WordEmbed(c["vocab"], d, c["max_len"])
        self.types = nn.Embedding(2, d)
        self.blocks = nn.ModuleList([MoMEBlock(d, c["heads"], c["mlp"], vl=i >= L - F_) for i in range(L)])
        self.ln = nn.LayerNorm(d)
        self.iproj = nn.Linear(d, c["proj"], bias=False)
        self.tproj = nn.Linear(d, c["proj"], bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.pooler = nn.Linear(d, d)
        self.itm = nn.Linear(d, 2)
        self.vqa = nn.Sequential(nn.Linear(d, 2 * d), nn.LayerNorm(2 * d), nn.GELU(), nn.Linear(2 * d, c["n_answers"]))
        self.mlm = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d), nn.Linear(d, c["vocab"]))

    def init_from_vit(self, vision: nets.Vision):
        """Attention and V-FFN of the bottom layers from the ViT; the layers above it start as identities (zero
        output projections), so the image expert begins exactly as the ViT and stage 1 trains from there."""
        self.patch.load_vit(vision)
        for b, v in zip(self.blocks, vision.blocks):
            b.load_vit(v)
        with torch.no_grad():
            for b in self.blocks[len(vision.blocks):]:
                b.attn.o.weight.zero_()
                b.attn.o.bias.zero_()
                b.v.fc2.weight.zero_()
                b.v.fc2.bias.zero_()
        self.ln.load_state_dict(vision.ln.state_dict())

    def image_tokens(self, pixels):
        return self.patch(pixels, self.types.weight[1])

    def text_tokens(self, ids):
        return self.words(ids, self.types.weight[0])

    def image_encode(self, pixels):
        x = self.image_tokens(pixels)
        for b in self.blocks:
            x = b(x, route="v")
        return self.ln(x)

    def text_encode(self, ids, attention_mask):
        x = self.text_tokens(ids)
        m = nets.pad_mask(attention_mask)
        for b in self.blocks:
            x = b(x, mask=m, route="l")
        return self.ln(x)

    def image_embed(self, pixels):
        h = self.image_encode(pixels)
        return self.iproj(h[:, 0]), h

    def text_embed(self, ids, attention_mask):
        h = self.text_encode(ids, attention_mask)
        return self.tproj(h[:, 0]), h

    def fuse(self, image_tokens, ids, attention_mask):
        """image_tokens: image_tokens(pixels) (patch embeddings, not the image expert's output)."""
        t = self.text_tokens(ids)
        x = torch.cat([t, image_tokens], 1)
        m = text_image_mask(attention_mask, image_tokens.shape[1])
        n_text = ids.shape[1]
        for b in self.blocks:
            x = b(x, mask=m, route="vl" if b.vl is not None else "split", text_len=n_text)
        return self.ln(x)

    def pooled(self, h):
        return torch.tanh(self.pooler(h[:, 0]))


# ---------------------------------------------------------------- CoCa
class AttentionalPooler(nn.Module):
    """CoCa's attentional pooling: one multi-head cross-attention from learned queries to the image tokens.
    Query 0 gives the contrastive embedding, queries 1..N the decoder's image tokens (queries do not see each
    other, so this is CoCa's two poolers with shared key/value projections)."""

    def __init__(self, d: int, heads: int, n_queries: int):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(1, 1 + n_queries, d) * 0.02)
        self.ln_k = nn.LayerNorm(d)
        self.attn = nets.Attention(d, heads)
        self.ln = nn.LayerNorm(d)

    def forward(self, tokens):
        q = self.queries.expand(tokens.shape[0], -1, -1)
        return self.ln(self.attn(q, kv=self.ln_k(tokens)))


class CoCa(nn.Module):
    def __init__(self, c: dict, vit_cfg: dict = VIT_CFG):
        super().__init__()
        self.cfg = c
        d = c["dim"]
        self.vision = llava_nets.vision_tower(vit_cfg)
        self.pool = AttentionalPooler(d, c["heads"], c["n_queries"])
        self.tok = nn.Embedding(c["vocab"], d)
        self.pos = nn.Embedding(c["max_len"], d)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)  # appended after the text; its output is the embedding
        self.uni = nn.ModuleList([nets.Block(d, c["heads"], c["mlp"]) for _ in range(c["uni_layers"])])
        self.uni_ln = nn.LayerNorm(d)
        self.multi = nn.ModuleList([nets.Block(d, c["heads"], c["mlp"], cross_dim=d) for _ in range(c["multi_layers"])])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, c["vocab"])
        self.iproj = nn.Linear(d, c["proj"], bias=False)
        self.tproj = nn.Linear(d, c["proj"], bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def image(self, pixels):
        """(contrastive embedding [B,P], decoder tokens [B,N,D]) from one image pass."""
        p = self.pool(self.vision(pixels))
        return self.iproj(p[:, 0]), p[:, 1:]

    def image_embed(self, pixels):
        e, toks = self.image(pixels)
        return e, toks

    def text_embed(self, ids, attention_mask):
        """Unimodal decoder (causal) over the text and the appended [CLS] query, which sees every real token.
        Returns the embedding and the unimodal states before the final LayerNorm (what the multimodal layers read)."""
        x = self.tok(ids) + self.pos(nets.positions(ids))
        x = torch.cat([x, self.cls.expand(ids.shape[0], -1, -1)], 1)
        full = torch.cat([attention_mask, torch.ones_like(attention_mask[:, :1])], 1)
        m = causal_mask(full) + nets.pad_mask(full)
        for b in self.uni:
            x = b(x, mask=m)
        return self.tproj(self.uni_ln(x[:, -1])), x

    def decode(self, ids, img_tokens, past=None, pad_attention_mask=None):
        """Caption logits: unimodal layers then multimodal layers (cross-attention to the pooled tokens), causal;
        past: list of (k, v) per layer (uni then multi). Returns logits, presents."""
        pos = nets.positions(ids)
        if past is not None:
            plen = torch.ones_like(past[0][0][:, 0, :, 0]).sum(1, keepdim=True).to(torch.int64)
            pos = pos + plen
            mask = None
            if ids.shape[1] > 1:
                raise ValueError("past decoding takes one token")
        else:
            mask = causal_mask(ids)
            if pad_attention_mask is not None:
                mask = mask + nets.pad_mask(pad_attention_mask)
        x = self.tok(ids) + self.pos(pos)
        presents = []
        layers = list(self.uni) + list(self.multi)
        for i, b in enumerate(layers):
            x, kv = b(x, mask=mask, enc=img_tokens if b.cross is not None else None,
                      past=None if past is None else past[i], return_kv=True)
            presents.append(kv)
        return self.head(self.ln(x)), presents

def coca_caption_logits(m: CoCa, uni_states, img_tokens, attention_mask):
    """Multimodal decoder on top of the unimodal pass (training: the unimodal layers run once for both losses;
    causal, so the appended [CLS] does not change the text positions' states)."""
    L = uni_states.shape[1] - 1
    x = uni_states[:, :L]
    mask = causal_mask(attention_mask) + nets.pad_mask(attention_mask)
    for b in m.multi:
        x = b(x, mask=mask, enc=img_tokens)
    return m.head(m.ln(x))
