#!/usr/bin/env python3
"""A random-weight Qwen2-VL folder in transformers.js' layout, for the ask pipeline's tests:

- onnx/vision_encoder.onnx: pixel_values [patches, 3 · temporal · patch²] and grid_thw [1, 3] → image_features
  [patches / merge², text width]. Qwen2-VL's vision transformer: a Conv3d patch embedding, 2-D rotary position
  embeddings of each patch's (row, column) in merge-window order (computed in the graph from grid_thw, as
  transformers' rot_pos_emb does with a Python loop), LayerNorm blocks with QuickGELU MLPs, and the PatchMerger.
  State-dict names and shapes are transformers' Qwen2VisionTransformerPretrainedModel's (visual.*).
- onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx: a Qwen2-style language model (scripts/llama_lm.py
  with biases on q/k/v) with the multimodal rotary embedding: position_ids [3, batch, seq].
- config.json (model_type qwen2_vl, image_token_id, vision_start_token_id, rope_scaling.mrope_section),
  preprocessor_config.json (Qwen2VLImageProcessor: patch 4, merge 2, temporal 2, min/max pixels),
  chat_template.json (Qwen2-VL-Instruct's template), generation_config.json, and a word-level tokenizer with
  Qwen2-VL's special tokens.

reference.json holds what PyTorch computes for a 45 × 29 image (resized to 48 × 32 by smart_resize): the pixel
patches as Qwen2VLImageProcessor makes them (Pillow's bicubic on 8-bit pixels), the image features, the prompt ids
and 3-D positions (transformers' get_rope_index), and the greedy answers of a two-turn chat; plus smart_resize's
sizes for a few image sizes.

  /usr/bin/python3 scripts/make_qwen2vl_random.py     # writes tests/corpus/qwen2vl-random/
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime", "fixtures"))
import onnxutil  # noqa: E402
from llama_lm import LM, LmConfig  # noqa: E402
from make_llava_random import export_language_model, spread, word_ids, word_tokenizer  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "qwen2vl-random")
PATCH, MERGE, TEMPORAL = 4, 2, 2
FACTOR = PATCH * MERGE
MIN_PIXELS, MAX_PIXELS = 8 * 8 * 4, 64 * 64
EMBED, V_HEADS, V_DEPTH, MLP_RATIO = 32, 4, 2, 2
D, L, H, KVH, FF = 32, 2, 2, 1, 88
HD = D // H
MROPE = (2, 3, 3)  # sums to HD / 2
MAX_POSITIONS = 256
SPREAD = 4.0
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
DEFAULT_SYSTEM = "You are a helpful assistant."  # what the chat template writes when a conversation has none

SPECIALS = ["<|endoftext|>", "<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>"]
NEWLINE = "\n"
WORDS = ["system", "user", "assistant", "you", "are", "a", "helpful", "."] + [f"w{i}" for i in range(80)]
VOCAB = SPECIALS + [NEWLINE] + WORDS
V = len(VOCAB)
ID = {w: i for i, w in enumerate(VOCAB)}
EOS, IM_END, IMAGE, VISION_START = ID["<|endoftext|>"], ID["<|im_end|>"], ID["<|image_pad|>"], ID["<|vision_start|>"]
# Qwen2-VL-2B-Instruct's chat_template.json.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] =="
    " 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)
PREPROCESSOR = {
    "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor", "do_convert_rgb": True,
    "do_resize": True, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": MEAN, "image_std": STD, "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS,
    "patch_size": PATCH, "temporal_patch_size": TEMPORAL, "merge_size": MERGE,
}


def smart_resize(height, width, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS):
    """transformers' Qwen2-VL smart_resize (Python's round: half to even)."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError("absolute aspect ratio must be smaller than 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def image_patches(rgba, max_pixels=MAX_PIXELS, mean=MEAN, std=STD):
    """Qwen2VLImageProcessor on one image: smart_resize (Pillow bicubic on 8 bits), rescale, normalize, then the
    patches flattened in merge-window order, the one frame repeated to the temporal patch size. `max_pixels` as
    the processor takes it per call; `mean` and `std` the config's image_mean and image_std."""
    h, w = rgba.shape[:2]
    rh, rw = smart_resize(h, w, max_pixels=max_pixels)
    img = Image.fromarray(rgba[..., :3]).resize((rw, rh), Image.BICUBIC)
    x = np.asarray(img).astype(np.float32).transpose(2, 0, 1) * np.float32(1 / 255)
    x = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    patches = np.tile(x[None], (TEMPORAL, 1, 1, 1))
    gt, gh, gw = 1, rh // PATCH, rw // PATCH
    patches = patches.reshape(gt, TEMPORAL, 3, gh // MERGE, MERGE, PATCH, gw // MERGE, MERGE, PATCH)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return patches.reshape(gt * gh * gw, 3 * TEMPORAL * PATCH * PATCH).astype(np.float32), [gt, gh, gw]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        k = (TEMPORAL, PATCH, PATCH)
        self.proj = nn.Conv3d(3, EMBED, kernel_size=k, stride=k, bias=False)

    def forward(self, x):
        return self.proj(x.view(-1, 3, TEMPORAL, PATCH, PATCH)).view(-1, EMBED)


class VisionRotaryEmbedding(nn.Module):
    def __init__(self, dim, theta=10000.0):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim)),
                             persistent=False)

    def forward(self, seqlen):
        return torch.outer(torch.arange(seqlen, dtype=self.inv_freq.dtype), self.inv_freq)


class VisionAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(EMBED, 3 * EMBED)
        self.proj = nn.Linear(EMBED, EMBED)

    def forward(self, x, cos, sin, mask=None):
        n = x.shape[0]
        q, k, v = self.qkv(x).reshape(n, 3, V_HEADS, -1).permute(1, 0, 2, 3).unbind(0)
        cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)  # apply_rotary_pos_emb_vision
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        # One image, one frame: cu_seqlens is one window, every patch sees every other (Qwen2.5-VL's windowed
        # blocks: an additive mask keeps each patch to its window).
        scores = q @ k.transpose(1, 2) / math.sqrt(EMBED // V_HEADS)
        att = torch.softmax(scores if mask is None else scores + mask, dim=-1)
        return self.proj((att @ v).transpose(0, 1).reshape(n, -1))


class VisionMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(EMBED, EMBED * MLP_RATIO)
        self.fc2 = nn.Linear(EMBED * MLP_RATIO, EMBED)

    def forward(self, x):
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))  # quick_gelu


class Qwen2VLVisionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(EMBED, eps=1e-6)
        self.norm2 = nn.LayerNorm(EMBED, eps=1e-6)
        self.attn = VisionAttention()
        self.mlp = VisionMlp()

    def forward(self, x, cos, sin):
        x = x + self.attn(self.norm1(x), cos, sin)
        return x + self.mlp(self.norm2(x))


class PatchMerger(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = EMBED * MERGE ** 2
        self.ln_q = nn.LayerNorm(EMBED, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(self.hidden, self.hidden), nn.GELU(), nn.Linear(self.hidden, D))

    def forward(self, x):
        return self.mlp(self.ln_q(x).view(-1, self.hidden))


class Qwen2VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.rotary_pos_emb = VisionRotaryEmbedding(EMBED // V_HEADS // 2)
        self.blocks = nn.ModuleList([Qwen2VLVisionBlock() for _ in range(V_DEPTH)])
        self.merger = PatchMerger()

    def rot_pos_emb(self, grid_thw):
        # transformers' rot_pos_emb for one image, written with tensor ops so that the sizes come from grid_thw.
        t, h, w = grid_thw[0, 0], grid_thw[0, 1], grid_thw[0, 2]
        rows = torch.arange(h)[:, None] + torch.zeros_like(torch.arange(w))[None, :]
        cols = torch.zeros_like(torch.arange(h))[:, None] + torch.arange(w)[None, :]

        def windows(p):
            return p.reshape(h // MERGE, MERGE, w // MERGE, MERGE).permute(0, 2, 1, 3).reshape(-1)

        pos = torch.stack([windows(rows), windows(cols)], dim=-1).repeat(t, 1)
        table = self.rotary_pos_emb(torch.maximum(h, w))
        return table[pos].flatten(1)

    def forward(self, pixel_values, grid_thw):
        x = self.patch_embed(pixel_values)
        rotary = self.rot_pos_emb(grid_thw)
        emb = torch.cat((rotary, rotary), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.merger(x)


class VisionEncoder(nn.Module):
    """transformers.js' vision_encoder.onnx: pixel_values and grid_thw → image_features."""

    def __init__(self, visual):
        super().__init__()
        self.visual = visual

    def forward(self, pixel_values, grid_thw):
        return self.visual(pixel_values, grid_thw)


def tokenize(text):
    """The word-level tokenizer of write_folder: special tokens (and line breaks) whole, then lower-cased words."""
    return word_ids(text, SPECIALS + [NEWLINE], ID)


def chat_text(turns, image_tokens, system=DEFAULT_SYSTEM):
    """The chat template rendered for [(question, answer or None), …], the image (or images: a list of token
    counts) in the first user message, each <|image_pad|> expanded as Qwen2VLProcessor does; the system message
    the template writes when the conversation has none, or the conversation's (None: no system message, as
    Qwen3-VL's template writes none of its own)."""
    counts = image_tokens if isinstance(image_tokens, list) else [image_tokens]
    text = "" if system is None else f"<|im_start|>system\n{system}<|im_end|>\n"
    for k, (question, reply) in enumerate(turns):
        image = "".join("<|vision_start|>" + "<|image_pad|>" * n + "<|vision_end|>" for n in counts) if k == 0 else ""
        text += f"<|im_start|>user\n{image}{question}<|im_end|>\n"
        if reply is not None:
            text += f"<|im_start|>assistant\n{reply}<|im_end|>\n"
    return text + "<|im_start|>assistant\n"


def rope_index(ids, grid):
    """transformers' get_rope_index for the images of grids (t, h, w) (one grid, or a list, in order): [3, len]
    positions and the delta after. Text goes on from the largest position so far, plus one; an image's tokens take
    that, plus their row, plus their column."""
    grids = grid if isinstance(grid[0], list) else [grid]
    pos = [[], [], []]
    at = 0
    for g in grids:
        gh, gw = g[1] // MERGE, g[2] // MERGE
        start = ids.index(IMAGE, at)
        nxt = max(max(p) for p in pos) + 1 if pos[0] else 0
        for i in range(start - at):
            for p in pos:
                p.append(nxt + i)
        base = nxt + start - at
        for k in range(gh * gw):
            pos[0].append(base)
            pos[1].append(base + k // gw)
            pos[2].append(base + k % gw)
        at = start + gh * gw
    nxt = max(max(p) for p in pos) + 1
    for i in range(len(ids) - at):
        for p in pos:
            p.append(nxt + i)
    return pos, max(max(p) for p in pos) + 1 - len(ids)


def penalized(logits, ids, penalty):
    """transformers' RepetitionPenaltyLogitsProcessor: every token of `ids` (prompt and answer so far) once, its
    logit divided by the penalty where positive, multiplied where negative."""
    seen = torch.tensor([sorted(set(ids))])
    score = torch.gather(logits, 1, seen)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, seen, score)


def answer(lm, features, ids, grid, steps, penalty=1.0):
    """Greedy tokens for a prompt whose <|image_pad|> embeddings are replaced by the images' features (in order),
    under a repetition penalty (1: none)."""
    emb = lm.embed(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == IMAGE] = features
    pos, delta = rope_index(ids, grid)
    positions = torch.tensor(pos)[:, None, :]
    tokens = []
    for _ in range(steps):
        n = emb.shape[1]
        logits, _ = lm(emb, torch.ones(1, n, dtype=torch.int64), positions)
        last = logits[:, -1]
        if penalty != 1.0:
            last = penalized(last, ids + tokens, penalty)
        tok = int(last[0].argmax())
        if tok in (EOS, IM_END):
            break
        tokens.append(tok)
        emb = torch.cat([emb, lm.embed(torch.tensor([[tok]]))], dim=1)
        positions = torch.cat([positions, torch.full((3, 1, 1), n + delta)], dim=2)
    return tokens


def write_folder(out=OUT, model_type="qwen2_vl", architecture="Qwen2VLForConditionalGeneration", vision=None,
                 text_config=None):
    """The folder's JSON files. `text_config`: the language model's fields nested under that model_type, as newer
    configs (Qwen2.5-VL's) have them, instead of at the top level (Qwen2-VL's)."""
    def dump(name, obj):
        with open(os.path.join(out, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    text = {
        "vocab_size": V, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
        "num_key_value_heads": KVH, "intermediate_size": FF, "max_position_embeddings": MAX_POSITIONS,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "rope_scaling": {"type": "mrope", "mrope_section": list(MROPE)},
        "tie_word_embeddings": True, "bos_token_id": ID["<|endoftext|>"], "eos_token_id": IM_END,
    }
    dump("config.json", {
        "architectures": [architecture], "model_type": model_type,
        "image_token_id": IMAGE, "video_token_id": ID["<|video_pad|>"], "vision_start_token_id": VISION_START,
        "vision_end_token_id": ID["<|vision_end|>"],
        **({"text_config": {"model_type": text_config, **text}} if text_config else text),
        "vision_config": {"depth": V_DEPTH, "embed_dim": EMBED, "hidden_size": D, "num_heads": V_HEADS,
                          "mlp_ratio": MLP_RATIO, "hidden_act": "quick_gelu", "in_channels": 3,
                          "patch_size": PATCH, "spatial_merge_size": MERGE, "temporal_patch_size": TEMPORAL,
                          **(vision or {})},
    })
    dump("generation_config.json", {"bos_token_id": ID["<|endoftext|>"], "eos_token_id": [IM_END, EOS],
                                    "pad_token_id": EOS})
    dump("preprocessor_config.json", PREPROCESSOR)
    dump("chat_template.json", {"chat_template": CHAT_TEMPLATE})
    dump("tokenizer.json", word_tokenizer(ID, [(t, True) for t in SPECIALS] + [(NEWLINE, False)]))
    dump("tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "pad_token": "<|endoftext|>", "unk_token": "<unk>",
        "bos_token": None, "eos_token": "<|im_end|>", "processor_class": "Qwen2VLProcessor",
    })


def language_model(seed):
    torch.manual_seed(seed)
    lm = LM(LmConfig(vocab=V, dim=D, layers=L, heads=H, kv_heads=KVH, ffn=FF, qkv_bias=True,
                     mrope_section=MROPE)).eval()
    spread(lm)
    return lm


def test_image():
    from make_preprocess_fixture import smooth_image

    rgba = np.random.default_rng(7).integers(0, 256, (29, 45, 4), dtype=np.uint8)
    return (0.6 * smooth_image(29, 45) + 0.4 * rgba).astype(np.uint8)


def main():
    lm = language_model(43)
    visual = Qwen2VisionTransformer().eval()
    with torch.no_grad():
        for p in visual.merger.parameters():
            p.mul_(SPREAD)
    export_language_model(lm, OUT)
    write_folder()
    ref = export_and_reference(lm, visual, OUT, "grid_thw")
    print(f"wrote {OUT}: grid {ref['grid_thw']} → {len(ref['image_features']['data']) // D} image tokens; prompts of "
          f"{len(ref['prompt_ids'][0])} and {len(ref['prompt_ids'][1])} positions (delta {ref['rope_delta']}); answers "
          f"{ref['answers'][0]}, {ref['answers'][1]}")


def export_and_reference(lm, visual, out, grid_name, mean=MEAN, std=STD, default_system=DEFAULT_SYSTEM):
    """onnx/vision_encoder.onnx of `visual` (inputs pixel_values and `grid_name`) and reference.json. `mean`, `std`:
    the preprocessor's normalization; `default_system`: the system message the chat template writes when the
    conversation has none (None: none)."""
    with torch.no_grad():
        rgba = test_image()
        patches, grid = image_patches(rgba, mean=mean, std=std)
        pixels = torch.from_numpy(patches)
        grid_thw = torch.tensor([grid])
        onnxutil.export(VisionEncoder(visual), (pixels, grid_thw), os.path.join(out, "onnx", "vision_encoder.onnx"),
                        ["pixel_values", grid_name], ["image_features"],
                        {"pixel_values": {0: "patches"}, "image_features": {0: "image_tokens"}})
        features = visual(pixels, grid_thw)
        # A second size through the same graph: 24 × 40 patches at another grid.
        other, other_grid = image_patches(np.ascontiguousarray(rgba[:24, :40]), mean=mean, std=std)
        other_features = visual(torch.from_numpy(other), torch.tensor([other_grid]))
        tokens = features.shape[0]
        q1, q2 = "w3 w10 w7", "w5 w6"
        ids1 = tokenize(chat_text([(q1, None)], tokens, default_system))
        turn1 = answer(lm, features, ids1, grid, 8)
        reply1 = " ".join(VOCAB[t] for t in turn1 if t >= len(SPECIALS))
        ids2 = tokenize(chat_text([(q1, reply1), (q2, None)], tokens, default_system))
        turn2 = answer(lm, features, ids2, grid, 8)
        pos1, delta1 = rope_index(ids1, grid)
        # The processor called with max_pixels=256: a 16 × 8 image, 2 image tokens.
        few, few_grid = image_patches(rgba, max_pixels=256, mean=mean, std=std)
        few_features = visual(torch.from_numpy(few), torch.tensor([few_grid]))
        few_ids = tokenize(chat_text([(q1, None)], few_features.shape[0], default_system))
        few_answer = answer(lm, few_features, few_ids, few_grid, 8)
        # Two images in the first message: the test image, then its crop.
        both_ids = tokenize(chat_text([(q1, None)], [tokens, other_features.shape[0]], default_system))
        both_grids = [grid, other_grid]
        both_answer = answer(lm, torch.cat([features, other_features]), both_ids, both_grids, 8)
        both_positions, _ = rope_index(both_ids, both_grids)
        # A system message of the conversation's own, in place of the template's default.
        system = "you are a w5 w6 assistant ."
        system_ids = tokenize(chat_text([(q1, None)], tokens, system))
        system_answer = answer(lm, features, system_ids, grid, 8)
        # generation_config's repetition_penalty (Qwen2-VL's own is 1.05; a stronger one changes these answers):
        # a two-turn chat, the second turn's prompt holding the first's penalized answer.
        penalty = 1.3
        rep1 = answer(lm, features, ids1, grid, 8, penalty)
        rep_ids2 = tokenize(chat_text([(q1, " ".join(VOCAB[t] for t in rep1 if t >= len(SPECIALS))), (q2, None)],
                                      tokens, default_system))
        rep2 = answer(lm, features, rep_ids2, grid, 8, penalty)
    sizes = [[h, w, *smart_resize(h, w)] for h, w in [(29, 45), (24, 40), (36, 20), (8, 8), (100, 30), (500, 333),
                                                      (12, 1000), (44, 52), (36, 60), (3, 5)]]
    ref = {
        "image": {"width": 45, "height": 29, "rgba": rgba.flatten().tolist()},
        "pixel_values": {"dims": list(patches.shape), "data": patches.flatten().tolist()},
        "grid_thw": grid,
        "image_features": {"dims": list(features.shape), "data": features.flatten().tolist()},
        "crop": {"grid_thw": other_grid, "pixel_values": other.flatten().tolist(),
                 "image_features": {"dims": list(other_features.shape), "data": other_features.flatten().tolist()}},
        "questions": [q1, q2],
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
    with open(os.path.join(out, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    return ref


if __name__ == "__main__":
    main()
