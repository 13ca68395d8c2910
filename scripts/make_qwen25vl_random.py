#!/usr/bin/env python3
"""A random-weight Qwen2.5-VL folder in transformers.js' layout: Qwen2-VL's (scripts/make_qwen2vl_random.py) with
Qwen2.5-VL's vision tower, whose graph takes pixel_values and image_grid_thw:

- RMSNorm blocks with SwiGLU MLPs (gate_proj, up_proj, down_proj, biases), and an RMSNorm before the merger;
- window attention: the patches are reordered window by window (get_window_index: windows of
  window_size / merge / patch image tokens a side), every block but those of fullatt_block_indexes attends within
  its window only, and the merger's tokens are put back in row order (argsort of the window index) at the end.

transformers builds the window boundaries (cu_window_seqlens) and each window's attention with Python loops; here
they are tensor ops on the grid, so that the sizes come from image_grid_thw: the window index of the padded token
grid, the window of each patch from the boundaries, and an additive mask that keeps each patch to its window. The
values are transformers'. State-dict names and shapes are Qwen2_5_VisionTransformerPretrainedModel's (visual.*).

  /usr/bin/python3 scripts/make_qwen25vl_random.py     # writes tests/corpus/qwen25vl-random/
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_qwen2vl_random as q2  # noqa: E402
from make_llava_random import export_language_model  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "qwen25vl-random")
WINDOW_SIZE = 16  # pixels: 2 × 2 image tokens a window at patch 4, merge 2
FULL_ATTENTION = [1]  # the second block sees every patch
E, MLP = q2.EMBED, 48


class Qwen2RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(1 + 0.1 * torch.randn(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Qwen2_5_VLMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(E, MLP)
        self.up_proj = nn.Linear(E, MLP)
        self.down_proj = nn.Linear(MLP, E)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen2_5_VLVisionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = Qwen2RMSNorm(E)
        self.norm2 = Qwen2RMSNorm(E)
        self.attn = q2.VisionAttention()
        self.mlp = Qwen2_5_VLMLP()

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.norm1(x), cos, sin, mask)
        return x + self.mlp(self.norm2(x))


class Qwen2_5_VLPatchMerger(q2.PatchMerger):
    def __init__(self):
        super().__init__()
        self.ln_q = Qwen2RMSNorm(E)


class Qwen2_5_VisionTransformer(q2.Qwen2VisionTransformer):
    def __init__(self):
        nn.Module.__init__(self)
        self.patch_embed = q2.PatchEmbed()
        self.rotary_pos_emb = q2.VisionRotaryEmbedding(E // q2.V_HEADS // 2)
        self.blocks = nn.ModuleList([Qwen2_5_VLVisionBlock() for _ in range(q2.V_DEPTH)])
        self.merger = Qwen2_5_VLPatchMerger()

    def window_index(self, grid_thw):
        """transformers' get_window_index for one image: the token order window by window, and the cumulative
        patch counts of the windows (empty windows repeat a boundary, which changes no patch's window)."""
        h, w = grid_thw[0, 1] // q2.MERGE, grid_thw[0, 2] // q2.MERGE
        win = WINDOW_SIZE // q2.MERGE // q2.PATCH
        index = torch.arange(h * w).reshape(h, w)
        pad_h, pad_w = win - h % win, win - w % win
        rows, cols = (h + pad_h) // win, (w + pad_w) // win
        padded = F.pad(index, (0, pad_w, 0, pad_h), "constant", -100)
        padded = padded.reshape(rows, win, cols, win).permute(0, 2, 1, 3).reshape(rows * cols, win, win)
        kept = padded != -100
        seqlens = kept.sum([1, 2]).reshape(-1)
        order = padded.reshape(-1)[kept.reshape(-1)]
        unit = q2.MERGE * q2.MERGE
        bounds = torch.cumsum(seqlens, 0) * unit
        return order, bounds

    def forward(self, pixel_values, grid_thw):
        x = self.patch_embed(pixel_values)
        rotary = self.rot_pos_emb(grid_thw)
        order, bounds = self.window_index(grid_thw)
        n = x.shape[0]
        unit = q2.MERGE * q2.MERGE
        x = x.reshape(n // unit, unit, -1)[order].reshape(n, -1)
        rotary = rotary.reshape(n // unit, unit, -1)[order].reshape(n, -1)
        emb = torch.cat((rotary, rotary), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        # Each patch's window: how many window ends lie at or before it.
        window = (torch.arange(n)[:, None] >= bounds[None, :]).sum(-1)
        hidden = torch.finfo(torch.float32).min
        windowed = torch.where(window[:, None] == window[None, :], torch.tensor(0.0), torch.tensor(hidden))
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if i in FULL_ATTENTION else windowed)
        x = self.merger(x)
        return x[torch.argsort(order)]


def main():
    lm = q2.language_model(47)
    visual = Qwen2_5_VisionTransformer().eval()
    with torch.no_grad():
        for p in visual.merger.parameters():
            p.mul_(q2.SPREAD)
    export_language_model(lm, OUT)
    q2.write_folder(OUT, "qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration", {
        "hidden_size": E, "out_hidden_size": q2.D, "intermediate_size": MLP, "hidden_act": "silu",
        "window_size": WINDOW_SIZE, "fullatt_block_indexes": FULL_ATTENTION, "tokens_per_second": 2,
    }, text_config="qwen2_5_vl_text")
    ref = q2.export_and_reference(lm, visual, OUT, "image_grid_thw")
    print(f"wrote {OUT}: grid {ref['grid_thw']}; answers {ref['answers'][0]}, {ref['answers'][1]}")


if __name__ == "__main__":
    main()
