#!/usr/bin/env python3
"""A random-weight Florence-2 folder in transformers.js' (Optimum's) layout, for the engine's and the Florence-2
pipeline's tests:

- onnx/vision_encoder.onnx: pixel_values [batch, 3, 32, 32] → image_features [batch, 1 + 16, 32]. A two-stage
  DaViT tower (conv patch embeddings; per stage a spatial block with window self-attention and a channel block
  with channel attention, each with DaViT's depthwise-conv position encodings), then Florence-2's projector as its
  _encode_image has it: learned 2-D position embeddings, the cosine temporal embedding of frame 0, the spatial
  average pool (one token) before the tokens themselves, `@ image_projection`, `image_proj_norm`.
- onnx/embed_tokens.onnx: input_ids → the shared embedding (scale_embedding false).
- onnx/encoder_model.onnx: inputs_embeds [image features ; prompt embeddings] and attention_mask →
  last_hidden_state. A BART encoder: learned positions with BART's offset 2, layernorm_embedding, post-LN layers.
- onnx/decoder_model_merged.onnx: Optimum's merged BART decoder. Inputs encoder_attention_mask,
  encoder_hidden_states, inputs_embeds, past_key_values.{i}.{decoder,encoder}.{key,value}, use_cache_branch;
  outputs logits and present.{i}.{decoder,encoder}.{key,value}. The first step projects the cross-attention keys
  and values from encoder_hidden_states and returns them; the cached step reads them from the past and, as
  Optimum's merge does, returns empty constants for present.{i}.encoder.* (transformers.js keeps the first
  step's).
- config.json, generation_config.json (Florence-2's: forced BOS/EOS, no_repeat_ngram_size 3), preprocessor_config.json
  (CLIPImageProcessor with ImageNet statistics and Florence-2's three task maps), and a small tokenizer shaped like
  BART's: a Lowercase normalizer, the ByteLevel pre-tokenizer (GPT-2's split, spaces as Ġ) and decoder, a WordLevel
  model, and a post-processor that wraps a text in <s> … </s>. Its vocabulary: <s> <pad> </s> <unk> (0–3), every
  piece the pre-tokenizer makes of the task prompts (sentence-initial `what`, later `Ġwhat`, `?` …), fillers Ġw0,
  Ġw1, … up to WORDS, then Florence-2's 1000 location tokens <loc_0> … <loc_999> as special added tokens, so that
  decoded answers read `<s> w3<loc_1><loc_2><loc_3><loc_4>` as BART's byte-level BPE writes them.

reference.json holds PyTorch's results (no ONNX involved): the test image, its pixel values and image features, and
for each of REFERENCE_TASKS (pure text: <CAPTION>, <DETAILED_CAPTION>, <OCR>; regions: <OD>, <OCR_WITH_REGION>,
<REGION_PROPOSAL>, <CAPTION_TO_PHRASE_GROUNDING> and <REFERRING_EXPRESSION_SEGMENTATION> with the input "a red
circle") the prompt as transformers.js'
construct_prompts builds it, its ids, and the greedy answer as transformers' generate makes it for Florence-2
(decoder start 2, forced BOS 0, no repeated 3-grams, forced EOS at max_length), plus a plain greedy run (no
processors) with its first steps' logits for engine-level checks. The weights are random; the seed is one for which
the region tasks' answers hold labelled boxes (a word, then 4 location tokens; 8 for <OCR_WITH_REGION>'s quads) and
the text tasks' answers hold words (see conditions()).

  /usr/bin/python3 scripts/make_florence2_random.py            # writes tests/corpus/florence2-random/
  /usr/bin/python3 scripts/make_florence2_random.py --search 200 [START] # tries seeds, prints the conditions met
  node scripts/check_florence2_random.mjs                       # runs the graphs with onnxruntime-node against it
"""
import json
import math
import os
import re
import sys
import tempfile

import onnx
import torch
from onnx import TensorProto, helper
from torch import nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import merge_decoder  # noqa: E402
import onnxutil  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "florence2-random")

# --- sizes ---------------------------------------------------------------------------------------------------------
WORDS, LOCS = 112, 1000  # the vocabulary: WORDS word-level tokens (specials included), then <loc_0> … <loc_999>
V, D, FF, H, L = WORDS + LOCS, 32, 64, 4, 2  # BART: vocab, d_model, ffn, heads, layers (encoder and decoder alike)
HD = D // H
MAX_POSITIONS = 64
SIDE = 32  # image side; stage 0 (7/4/3) gives 8×8 tokens, stage 1 (3/2/1) 4×4
VISION = {
    "embed_dim": [16, 32], "depths": [1, 1], "num_heads": [2, 4], "num_groups": [2, 4], "patch_size": [7, 3],
    "patch_stride": [4, 2], "patch_padding": [3, 1], "patch_prenorm": [False, True], "window_size": 4,
    "mlp_ratio": 4.0, "max_position_embeddings": 8, "max_temporal_embeddings": 4,
}
GRID = SIDE // 4 // 2  # the last stage's grid side (stage_side(1))
N_IMAGE = 1 + GRID * GRID  # the spatial pool token, then the grid's tokens
EMBED_SCALE, CROSS_SPREAD, LOGITS_BIAS = 0.25, 3.0, 0.3  # see spread()
LOGITS_SCALE, LOC_BIAS, EOS_BIAS = 8.0, -1.0, 12.0  # see spread()

# --- tokens --------------------------------------------------------------------------------------------------------
BOS, PAD, EOS, UNK = 0, 1, 2, 3
DECODER_START = EOS
NO_REPEAT = 3
LOC0 = WORDS  # <loc_0>'s id
MAX_NEW_TOKENS = 24
PLAIN_STEPS = 12
SEED = 52  # meets all of conditions(), smallest argmax lead 0.126: scripts/make_florence2_random.py --search 200

# Florence-2's processor maps (microsoft/Florence-2-base's processing_florence2.py; transformers' Florence2Processor).
TASKS_ANSWER_POST_PROCESSING_TYPE = {
    "<OCR>": "pure_text", "<OCR_WITH_REGION>": "ocr", "<CAPTION>": "pure_text", "<DETAILED_CAPTION>": "pure_text",
    "<MORE_DETAILED_CAPTION>": "pure_text", "<OD>": "description_with_bboxes",
    "<DENSE_REGION_CAPTION>": "description_with_bboxes", "<CAPTION_TO_PHRASE_GROUNDING>": "phrase_grounding",
    "<REFERRING_EXPRESSION_SEGMENTATION>": "polygons", "<REGION_TO_SEGMENTATION>": "polygons",
    "<OPEN_VOCABULARY_DETECTION>": "description_with_bboxes_or_polygons", "<REGION_TO_CATEGORY>": "pure_text",
    "<REGION_TO_DESCRIPTION>": "pure_text", "<REGION_TO_OCR>": "pure_text", "<REGION_PROPOSAL>": "bboxes",
}
TASK_PROMPTS_WITHOUT_INPUTS = {
    "<OCR>": "What is the text in the image?",
    "<OCR_WITH_REGION>": "What is the text in the image, with regions?",
    "<CAPTION>": "What does the image describe?",
    "<DETAILED_CAPTION>": "Describe in detail what is shown in the image.",
    "<MORE_DETAILED_CAPTION>": "Describe with a paragraph what is shown in the image.",
    "<OD>": "Locate the objects with category name in the image.",
    "<DENSE_REGION_CAPTION>": "Locate the objects in the image, with their descriptions.",
    "<REGION_PROPOSAL>": "Locate the region proposals in the image.",
}
TASK_PROMPTS_WITH_INPUT = {
    "<CAPTION_TO_PHRASE_GROUNDING>": "Locate the phrases in the caption: {input}",
    "<REFERRING_EXPRESSION_SEGMENTATION>": "Locate {input} in the image with mask",
    "<REGION_TO_SEGMENTATION>": "What is the polygon mask of region {input}",
    "<OPEN_VOCABULARY_DETECTION>": "Locate {input} in the image.",
    "<REGION_TO_CATEGORY>": "What is the region {input}?",
    "<REGION_TO_DESCRIPTION>": "What does the region {input} describe?",
    "<REGION_TO_OCR>": "What text is in the region {input}?",
}
REFERENCE_TASKS = ["<CAPTION>", "<DETAILED_CAPTION>", "<OCR>", "<OD>", "<OCR_WITH_REGION>", "<REGION_PROPOSAL>",
                   "<CAPTION_TO_PHRASE_GROUNDING>", "<REFERRING_EXPRESSION_SEGMENTATION>"]
TASK_INPUTS = {"<CAPTION_TO_PHRASE_GROUNDING>": "a red circle", "<REFERRING_EXPRESSION_SEGMENTATION>": "a red circle"}


def construct_prompt(task, text=""):
    """transformers.js' Florence2Processor.construct_prompts for the text task + input: a task without inputs maps to
    its prompt; a task with one has its template's {input} replaced by the whole text, then the task token removed."""
    t = task + text
    if t in TASK_PROMPTS_WITHOUT_INPUTS:
        return TASK_PROMPTS_WITHOUT_INPUTS[t]
    for name, prompt in TASK_PROMPTS_WITH_INPUT.items():
        if name in t:
            return prompt.replace("{input}", t).replace(name, "")
    return t


def bytes_to_unicode():
    """GPT-2's byte → character table (the ByteLevel pre-tokenizer's and decoder's)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


BYTE_CHAR = bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}
# The ByteLevel pre-tokenizer's split (GPT-2's regex), for ASCII text (\p{L} → [A-Za-z], \p{N} → [0-9]).
SPLIT = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def pieces(text):
    """What Lowercase + ByteLevel (add_prefix_space false, use_regex true) make of a text without added tokens."""
    assert text.isascii(), text
    return ["".join(BYTE_CHAR[b] for b in p.encode()) for p in SPLIT.findall(text.lower())]


SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
LOC_TOKENS = [f"<loc_{i}>" for i in range(LOCS)]


def vocabulary():
    """<s> <pad> </s> <unk>, every piece of the task prompts (those with an input given TASK_INPUTS' text or "a red
    circle"), fillers Ġw0, Ġw1, … up to WORDS, then the location tokens."""
    vocab = list(SPECIALS)
    prompts = [*TASK_PROMPTS_WITHOUT_INPUTS.values(),
               *(construct_prompt(task, TASK_INPUTS.get(task, "a red circle")) for task in TASK_PROMPTS_WITH_INPUT)]
    for prompt in prompts:
        for p in pieces(prompt):
            if p not in vocab:
                vocab.append(p)
    assert len(set(vocab)) == len(vocab) < WORDS
    return vocab + [f"\u0120w{i}" for i in range(WORDS - len(vocab))] + LOC_TOKENS


VOCAB = vocabulary()
ID = {w: i for i, w in enumerate(VOCAB)}
assert len(VOCAB) == V and ID["<loc_0>"] == LOC0
ADDED = re.compile("(" + "|".join(re.escape(t) for t in SPECIALS) + r"|<loc_\d{1,3}>)")


def encode(text):
    """BART's ids for a text: <s> pieces </s>, the added tokens (specials and locations) matched whole first."""
    ids = []
    for k, part in enumerate(ADDED.split(text)):
        if k % 2:
            ids.append(ID[part])
        elif part:
            ids += [ID.get(p, UNK) for p in pieces(part)]
    return [BOS] + ids + [EOS]


def clean_up_tokenization(text):
    """transformers' clean_up_tokenization (clean_up_tokenization_spaces true, BART's default)."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                 (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


def decode(ids, skip_special_tokens=True):
    """tokenizer.decode: the added tokens kept whole (or dropped: all are special), each stretch of other pieces
    mapped back to bytes (Ġ → space), then the clean-up."""
    def text(run):
        return bytes(CHAR_BYTE[c] for c in "".join(run)).decode()

    out, run = [], []
    for i in ids:
        if VOCAB[i] in SPECIALS or i >= LOC0:
            if not skip_special_tokens:
                out += [text(run), VOCAB[i]]
                run = []
        else:
            run.append(VOCAB[i])
    return clean_up_tokenization("".join(out) + text(run))


def tokenizer_json():
    """tokenizer.json: BART's shape with a WordLevel model in place of its BPE (no merges: every piece is a word).
    The specials and location tokens are added tokens, special, matched before normalization."""
    def added(t):
        return {"id": ID[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}

    def special(t):
        return {"SpecialToken": {"id": t, "type_id": 0}}

    a, b = {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(t) for t in SPECIALS + LOC_TOKENS],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": byte_level,
        # BART's RobertaProcessing, as a template: <s> A </s> (and <s> A </s> </s> B </s> for a pair).
        "post_processor": {
            "type": "TemplateProcessing", "single": [special("<s>"), a, special("</s>")],
            "pair": [special("<s>"), a, special("</s>"), special("</s>"), b, special("</s>")],
            "special_tokens": {t: {"id": t, "ids": [ID[t]], "tokens": [t]} for t in ("<s>", "</s>")},
        },
        "decoder": byte_level,
        "model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": {t: ID[t] for t in VOCAB[:LOC0]}},
    }


# --- vision: DaViT stages (transformers' Florence2Vision* names) and Florence-2's projector ------------------------

class ConvEmbed(nn.Module):
    def __init__(self, stage):
        super().__init__()
        c = VISION
        dim_in = 3 if stage == 0 else c["embed_dim"][stage - 1]
        self.pre_norm = c["patch_prenorm"][stage]
        self.conv = nn.Conv2d(dim_in, c["embed_dim"][stage], c["patch_size"][stage], c["patch_stride"][stage],
                              c["patch_padding"][stage])
        self.norm = nn.LayerNorm(dim_in if self.pre_norm else c["embed_dim"][stage])

    def forward(self, x):
        if self.pre_norm:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.conv(x)
        if not self.pre_norm:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, int(dim * VISION["mlp_ratio"]))
        self.fc2 = nn.Linear(int(dim * VISION["mlp_ratio"]), dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


# Each stage's grid side and width are fixed by the 32×32 input; the modules take them as numbers rather than read
# them from shapes, so the exported reshapes are constants (only the batch stays dynamic, as -1).

class WindowAttention(nn.Module):
    def __init__(self, dim, heads, side):
        super().__init__()
        self.dim, self.heads, self.side, self.window = dim, heads, side, VISION["window_size"]
        assert side % self.window == 0  # whole windows: DaViT's padding is a no-op here and left out
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        """x [b, side*side, c] → the same; attention within each window of window × window tokens."""
        c, g, ws = self.dim, self.side // self.window, self.window
        windows = x.reshape(-1, g, ws, g, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        qkv = self.qkv(windows).reshape(-1, ws * ws, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        out = self.proj((att @ v).transpose(1, 2).reshape(-1, ws * ws, c))
        out = out.reshape(-1, g, g, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(-1, self.side * self.side, c)


class ChannelAttention(nn.Module):
    def __init__(self, dim, groups, side):
        super().__init__()
        self.dim, self.groups, self.tokens = dim, groups, side * side
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        """DaViT: attention between the channels of each group, over all tokens, the queries scaled by N^-0.5."""
        n, c = self.tokens, self.dim
        qkv = self.qkv(x).reshape(-1, n, 3, self.groups, c // self.groups).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * n ** -0.5, qkv[1], qkv[2]  # [b, groups, n, c/groups]
        att = torch.softmax(q.transpose(-1, -2) @ k, dim=-1)  # [b, groups, c/g, c/g]
        out = (att @ v.transpose(-1, -2)).transpose(-1, -2)  # [b, groups, n, c/g]
        return self.proj(out.transpose(1, 2).reshape(-1, n, c))


class ConvBlock(nn.Module):
    """DaViT's block shape: depthwise-conv position encoding + residual, pre-LN mixer + residual, depthwise conv
    + residual, pre-LN MLP + residual. The spatial block's mixer is window attention, the channel block's channel
    attention."""

    def __init__(self, dim, side):
        super().__init__()
        self.dim, self.side = dim, side
        self.conv1 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = Mlp(dim)

    def tokens(self, x):
        return x.reshape(-1, self.dim, self.side * self.side).transpose(1, 2)

    def grid(self, t):
        return t.transpose(1, 2).reshape(-1, self.dim, self.side, self.side)

    def forward(self, x):
        t = self.tokens(self.conv1(x) + x)
        x = self.grid(t + self.mixer(self.norm1(t)))
        t = self.tokens(self.conv2(x) + x)
        return self.grid(t + self.ffn(self.norm2(t)))


class SpatialBlock(ConvBlock):
    def __init__(self, dim, heads, side):
        super().__init__(dim, side)
        self.window_attn = WindowAttention(dim, heads, side)

    def mixer(self, t):
        return self.window_attn(t)


class ChannelBlock(ConvBlock):
    def __init__(self, dim, groups, side):
        super().__init__(dim, side)
        self.channel_attn = ChannelAttention(dim, groups, side)

    def mixer(self, t):
        return self.channel_attn(t)


def stage_side(stage):
    """The grid side after stage `stage`'s strided conv."""
    side = SIDE
    for s in range(stage + 1):
        side = (side + 2 * VISION["patch_padding"][s] - VISION["patch_size"][s]) // VISION["patch_stride"][s] + 1
    return side


class VisionBlock(nn.Module):
    def __init__(self, stage):
        super().__init__()
        dim, side = VISION["embed_dim"][stage], stage_side(stage)
        self.spatial_block = SpatialBlock(dim, VISION["num_heads"][stage], side)
        self.channel_block = ChannelBlock(dim, VISION["num_groups"][stage], side)

    def forward(self, x):
        return self.channel_block(self.spatial_block(x))


class DaViT(nn.Module):
    def __init__(self):
        super().__init__()
        stages = range(len(VISION["embed_dim"]))
        self.convs = nn.ModuleList([ConvEmbed(s) for s in stages])
        self.blocks = nn.ModuleList([nn.ModuleList([VisionBlock(s) for _ in range(VISION["depths"][s])])
                                     for s in stages])
        assert stage_side(len(stages) - 1) == GRID

    def forward(self, x):
        """forward_features_unpool: the last stage's tokens [b, h*w, c], no pooling, no head."""
        for conv, blocks in zip(self.convs, self.blocks):
            x = conv(x)
            for block in blocks:
                x = block(x)
        return x.reshape(-1, VISION["embed_dim"][-1], GRID * GRID).transpose(1, 2)


class LearnedAbsolutePosition2D(nn.Module):
    def __init__(self, dim, num_pos):
        super().__init__()
        self.row_embeddings = nn.Embedding(num_pos, dim // 2)
        self.column_embeddings = nn.Embedding(num_pos, dim - dim // 2)

    def forward(self, h, w):
        """[h, w, c]: the column's embedding, then the row's, along the features."""
        x_emb = self.column_embeddings(torch.arange(w))
        y_emb = self.row_embeddings(torch.arange(h))
        return torch.cat([x_emb[None].repeat(h, 1, 1), y_emb[:, None].repeat(1, w, 1)], dim=-1)


class PositionalEmbeddingCosine1D(nn.Module):
    def __init__(self, dim, max_seq_len):
        super().__init__()
        frequencies = torch.arange(max_seq_len)[:, None] * torch.exp(
            -math.log(10000) * torch.arange(dim // 2) / dim)
        table = torch.zeros(max_seq_len, dim)
        table[:, 0::2] = torch.sin(frequencies)
        table[:, 1::2] = torch.cos(frequencies)
        self.register_buffer("pos_idx_to_embed", table)

    def forward(self, frames):
        return self.pos_idx_to_embed[:frames]


class Florence2Vision(nn.Module):
    """vision_tower and Florence2ForConditionalGeneration._encode_image for one frame (T = 1), with its
    image_feature_source ['spatial_avg_pool', 'temporal_avg_pool']."""

    def __init__(self):
        super().__init__()
        c = VISION["embed_dim"][-1]
        self.vision_tower = DaViT()
        self.image_projection = nn.Parameter(torch.randn(c, D) * c ** -0.5)
        self.image_proj_norm = nn.LayerNorm(D)
        self.image_pos_embed = LearnedAbsolutePosition2D(c, VISION["max_position_embeddings"])
        self.visual_temporal_embed = PositionalEmbeddingCosine1D(c, VISION["max_temporal_embeddings"])

    def forward(self, pixel_values):
        x = self.vision_tower(pixel_values)
        n, c = GRID * GRID, VISION["embed_dim"][-1]
        x = (x.reshape(-1, GRID, GRID, c) + self.image_pos_embed(GRID, GRID)).reshape(-1, n, c)
        x = x + self.visual_temporal_embed(1)[0]  # frame 0's temporal embedding
        spatial_avg_pool = x.mean(dim=1, keepdim=True)  # the mean over the frame's tokens
        temporal_avg_pool = x  # the mean over one frame: the tokens themselves
        x = torch.cat([spatial_avg_pool, temporal_avg_pool], dim=1)
        return self.image_proj_norm(x @ self.image_projection)


# --- language model: BART (transformers' Bart* names) -------------------------------------------------------------

def additive(keep):
    """1 = attend, 0 = masked → 0 / float32 min, as transformers' masks."""
    return (1.0 - keep.to(torch.float32)) * torch.finfo(torch.float32).min


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj, self.k_proj = nn.Linear(D, D), nn.Linear(D, D)
        self.v_proj, self.out_proj = nn.Linear(D, D), nn.Linear(D, D)

    def heads(self, t):
        return t.reshape(t.shape[0], t.shape[1], H, HD).transpose(1, 2)

    def attend(self, x, k, v, mask):
        """x's queries against keys/values [b, H, n, HD]; BART scales the queries by HD^-0.5."""
        q = self.heads(self.q_proj(x) * HD ** -0.5)
        att = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], D))


class LearnedPositions(nn.Embedding):
    """BartLearnedPositionalEmbedding: position p reads row p + 2."""

    def __init__(self):
        super().__init__(MAX_POSITIONS + 2, D)

    def forward(self, start, length):
        return super().forward(torch.arange(start, start + length) + 2)


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn, self.self_attn_layer_norm = Attention(), nn.LayerNorm(D)
        self.fc1, self.fc2, self.final_layer_norm = nn.Linear(D, FF), nn.Linear(FF, D), nn.LayerNorm(D)

    def forward(self, x, mask):
        a = self.self_attn
        x = self.self_attn_layer_norm(x + a.attend(x, a.heads(a.k_proj(x)), a.heads(a.v_proj(x)), mask))
        return self.final_layer_norm(x + self.fc2(F.gelu(self.fc1(x))))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_positions = LearnedPositions()
        self.layernorm_embedding = nn.LayerNorm(D)
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(L)])

    def forward(self, inputs_embeds, attention_mask):
        x = self.layernorm_embedding(inputs_embeds + self.embed_positions(0, inputs_embeds.shape[1]))
        mask = additive(attention_mask[:, None, None, :])
        for layer in self.layers:
            x = layer(x, mask)
        return x


class DecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn, self.self_attn_layer_norm = Attention(), nn.LayerNorm(D)
        self.encoder_attn, self.encoder_attn_layer_norm = Attention(), nn.LayerNorm(D)
        self.fc1, self.fc2, self.final_layer_norm = nn.Linear(D, FF), nn.Linear(FF, D), nn.LayerNorm(D)

    def forward(self, x, causal, cross_mask, cross_kv, past=None):
        """past: (key, value) of the earlier decoder positions or None; cross_kv: the cross-attention's keys and
        values (projected from the encoder's states once, on the first step). Returns x and the self-attention's
        keys and values over all positions."""
        a = self.self_attn
        k, v = a.heads(a.k_proj(x)), a.heads(a.v_proj(x))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        x = self.self_attn_layer_norm(x + a.attend(x, k, v, causal))
        x = self.encoder_attn_layer_norm(x + self.encoder_attn.attend(x, *cross_kv, cross_mask))
        return self.final_layer_norm(x + self.fc2(F.gelu(self.fc1(x)))), (k, v)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_positions = LearnedPositions()
        self.layernorm_embedding = nn.LayerNorm(D)
        self.layers = nn.ModuleList([DecoderLayer() for _ in range(L)])

    def cross_kv(self, encoder_hidden_states):
        return [(a.heads(a.k_proj(encoder_hidden_states)), a.heads(a.v_proj(encoder_hidden_states)))
                for a in (layer.encoder_attn for layer in self.layers)]

    def forward(self, inputs_embeds, encoder_attention_mask, cross_kv, past=None):
        s = inputs_embeds.shape[1]
        start = 0 if past is None else past[0][0].shape[2]  # the past's length, read from its shape
        x = self.layernorm_embedding(inputs_embeds + self.embed_positions(start, s))
        # Causal over absolute positions: query i (position start + i) sees keys 0 … start + i.
        allowed = torch.arange(start + s)[None, :] <= (torch.arange(s)[:, None] + start)
        causal = additive(allowed)[None, None]
        cross_mask = additive(encoder_attention_mask[:, None, None, :])
        presents = []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, causal, cross_mask, cross_kv[i], None if past is None else past[i])
            presents.append(kv)
        return x, presents


class BartModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Embedding(V, D)
        self.encoder = Encoder()
        self.decoder = Decoder()


class Florence2Language(nn.Module):
    """Florence2LanguageForConditionalGeneration: lm_head tied to the shared embedding, plus final_logits_bias."""

    def __init__(self):
        super().__init__()
        self.model = BartModel()
        self.register_buffer("final_logits_bias", torch.zeros(1, V))

    def logits(self, x):
        return x @ self.model.shared.weight.T + self.final_logits_bias

    def decode(self, inputs_embeds, encoder_attention_mask, encoder_hidden_states=None, cross_kv=None, past=None):
        if cross_kv is None:
            cross_kv = self.model.decoder.cross_kv(encoder_hidden_states)
        x, presents = self.model.decoder(inputs_embeds, encoder_attention_mask, cross_kv, past)
        return self.logits(x), presents, cross_kv


class Florence2(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision = Florence2Vision()
        self.language_model = Florence2Language()

    def embed(self, ids):
        return self.language_model.model.shared(ids)


def spread(model):
    """Rescales the random init so that greedy decoding wanders instead of repeating one token. With the lm_head
    tied to the embedding, a decoder whose state still carries the token it was fed predicts that token again; with
    the token embeddings small beside the decoder's positions (EMBED_SCALE) the state follows the position instead,
    and stronger cross-attention (CROSS_SPREAD) makes the answer depend on the image and the prompt. The encoder's
    positions shrink with the embeddings, so the prompt's words still weigh against them. The last decoder layer's
    final_layer_norm is scaled by LOGITS_SCALE, which spreads the logits (std about 11): among 1100 tokens the
    leader's lead over the runner-up is small at some step, and the scale makes it larger in absolute terms (the
    float drift of the logits grows with it; the relative margin is what the seed gives). A non-zero
    final_logits_bias makes the graphs' bias term matter; LOC_BIAS, added to the location tokens' entries, sets how
    often they win against the words, and EOS_BIAS, added to </s>'s, lets some answers end before max_new_tokens."""
    bart = model.language_model.model
    with torch.no_grad():
        bart.shared.weight.mul_(EMBED_SCALE)
        bart.encoder.embed_positions.weight.mul_(EMBED_SCALE)
        for name, p in bart.decoder.named_parameters():
            if ".encoder_attn." in name and name.endswith("proj.weight"):
                p.mul_(CROSS_SPREAD)
        last = bart.decoder.layers[-1].final_layer_norm
        last.weight.mul_(LOGITS_SCALE)
        last.bias.mul_(LOGITS_SCALE)
        bias = model.language_model.final_logits_bias
        bias.normal_(0, LOGITS_BIAS)
        bias[:, LOC0:] += LOC_BIAS
        bias[:, EOS] += EOS_BIAS


# --- export wrappers (transformers.js' session inputs and outputs) -------------------------------------------------

class VisionEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model.vision(pixel_values)


class Embed(VisionEncoder):
    def forward(self, input_ids):
        return self.model.embed(input_ids)


class EncoderModel(VisionEncoder):
    def forward(self, inputs_embeds, attention_mask):
        return self.model.language_model.model.encoder(inputs_embeds, attention_mask)


class DecoderFirst(VisionEncoder):
    """Optimum's decoder_model: no past; returns the decoder's and the cross-attention's keys and values."""

    def forward(self, encoder_attention_mask, encoder_hidden_states, inputs_embeds):
        logits, presents, cross = self.model.language_model.decode(inputs_embeds, encoder_attention_mask,
                                                                   encoder_hidden_states)
        return (logits, *[t for kv, ckv in zip(presents, cross) for t in (*kv, *ckv)])


class DecoderCached(VisionEncoder):
    """Optimum's decoder_with_past_model: keys and values from the past; returns the decoder's presents only."""

    def forward(self, encoder_attention_mask, inputs_embeds, *past):
        layers = [past[4 * i:4 * i + 4] for i in range(L)]
        logits, presents, _ = self.model.language_model.decode(
            inputs_embeds, encoder_attention_mask, cross_kv=[(p[2], p[3]) for p in layers],
            past=[(p[0], p[1]) for p in layers])
        return (logits, *[t for kv in presents for t in kv])


def kv_names(prefix, parts=("decoder", "encoder")):
    return [f"{prefix}.{i}.{part}.{kv}" for i in range(L) for part in parts for kv in ("key", "value")]


def with_empty_encoder_presents(path):
    """The cached export's outputs made equal to the first step's, as Optimum's _unify_onnx_outputs does: a
    Constant per missing present.{i}.encoder.*, of the output's shape with its first dynamic axis (batch) 0 and
    the other dynamic axes 1, i.e. an empty [0, H, 1, HD] float tensor."""
    m = onnx.load(path)
    g = m.graph
    by_name = {o.name: o for o in g.output}
    outputs = [by_name["logits"]]
    for name in kv_names("present"):
        if name not in by_name:
            empty = helper.make_tensor("const_tensor", TensorProto.FLOAT, [0, H, 1, HD], [])
            g.node.append(helper.make_node("Constant", [], [name], name=f"Constant_{name}", value=empty))
            by_name[name] = helper.make_tensor_value_info(name, TensorProto.FLOAT, [0, H, 1, HD])
        outputs.append(by_name[name])
    del g.output[:]
    g.output.extend(outputs)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def export_decoder(model, path):
    """decoder_model_merged.onnx: both steps exported by torch, merged under an If on use_cache_branch."""
    f = TensorProto.FLOAT
    past_names, present_names = kv_names("past_key_values"), kv_names("present")
    enc = {0: "batch_size", 1: "encoder_sequence_length"}
    dec = {0: "batch_size", 1: "decoder_sequence_length"}
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        mask, states, emb = torch.ones(1, 5, dtype=torch.int64), torch.randn(1, 5, D), torch.randn(1, 3, D)
        first = os.path.join(tmp, "first.onnx")
        onnxutil.export(DecoderFirst(model), (mask, states, emb), first,
                        ["encoder_attention_mask", "encoder_hidden_states", "inputs_embeds"],
                        ["logits", *present_names],
                        {"encoder_attention_mask": enc, "encoder_hidden_states": enc, "inputs_embeds": dec,
                         "logits": dec, **{p: {0: "batch_size", 2: "total"} for p in present_names}})
        cached = os.path.join(tmp, "cached.onnx")
        past = [torch.randn(1, H, 5 if ".encoder." in p else 4, HD) for p in past_names]
        dec_presents = kv_names("present", ("decoder",))
        onnxutil.export(DecoderCached(model), (mask, emb[:, :1], *past), cached,
                        ["encoder_attention_mask", "inputs_embeds", *past_names], ["logits", *dec_presents],
                        {"encoder_attention_mask": enc, "inputs_embeds": dec, "logits": dec,
                         **{p: {0: "batch_size", 2: "past" if ".decoder." in p else "encoder_sequence_length_out"}
                            for p in past_names},
                         **{p: {0: "batch_size", 2: "total"} for p in dec_presents}})
        with_empty_encoder_presents(cached)

        def kv_dims(name, decoder_length):
            return ["batch_size", H, decoder_length if ".decoder." in name else "encoder_sequence_length_out", HD]

        inputs = [helper.make_tensor_value_info("encoder_attention_mask", TensorProto.INT64,
                                                ["batch_size", "encoder_sequence_length"]),
                  helper.make_tensor_value_info("encoder_hidden_states", f,
                                                ["batch_size", "encoder_sequence_length", D]),
                  helper.make_tensor_value_info("inputs_embeds", f, ["batch_size", "decoder_sequence_length", D]),
                  *[helper.make_tensor_value_info(p, f, kv_dims(p, "past_decoder_sequence_length"))
                    for p in past_names]]
        outputs = [helper.make_tensor_value_info("logits", f, ["batch_size", "decoder_sequence_length", V]),
                   *[helper.make_tensor_value_info(p, f, kv_dims(p, "total_decoder_sequence_length"))
                     for p in present_names]]
        onnx.save(merge_decoder.merged(first, cached, inputs, outputs), path)


def export_all(model):
    folder = os.path.join(OUT, "onnx")
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        onnxutil.export(VisionEncoder(model), (torch.randn(1, 3, SIDE, SIDE),),
                        os.path.join(folder, "vision_encoder.onnx"), ["pixel_values"], ["image_features"],
                        {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}},
                        {"image_features": ["batch_size", N_IMAGE, D]})
        seq = {0: "batch_size", 1: "sequence_length"}
        onnxutil.export(Embed(model), (torch.tensor([[0, 5, 2]]),), os.path.join(folder, "embed_tokens.onnx"),
                        ["input_ids"], ["inputs_embeds"], {"input_ids": seq, "inputs_embeds": seq},
                        {"inputs_embeds": ["batch_size", "sequence_length", D]})
        enc = {0: "batch_size", 1: "encoder_sequence_length"}
        onnxutil.export(EncoderModel(model), (torch.randn(1, 6, D), torch.ones(1, 6, dtype=torch.int64)),
                        os.path.join(folder, "encoder_model.onnx"), ["inputs_embeds", "attention_mask"],
                        ["last_hidden_state"],
                        {"inputs_embeds": enc, "attention_mask": enc, "last_hidden_state": enc},
                        {"last_hidden_state": ["batch_size", "encoder_sequence_length", D]})
    export_decoder(model, os.path.join(folder, "decoder_model_merged.onnx"))


# --- PyTorch references --------------------------------------------------------------------------------------------

def test_image():
    """A fixed SIDE×SIDE RGB pattern: gradients and a checkerboard, so the windows and channels differ."""
    y, x = torch.meshgrid(torch.arange(SIDE), torch.arange(SIDE), indexing="ij")
    r = x * 255 // (SIDE - 1)
    g = y * 255 // (SIDE - 1)
    b = torch.where(((x // 4) + (y // 4)) % 2 == 0, 200, 30) + (x + y)  # 30 … 262 - 2: within uint8
    return torch.stack([r, g, b], dim=-1).to(torch.uint8)


def pixel_values(rgb):
    """CLIPImageProcessor at this size: no resize (the image is SIDE×SIDE already), rescale, normalise."""
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return ((rgb.permute(2, 0, 1).float() * (1 / 255) - mean) / std)[None]


def encoder_inputs(model, features, ids):
    """Florence-2's merge: the image features before the prompt's embeddings, all attended."""
    embeds = torch.cat([features, model.embed(torch.tensor([ids]))], dim=1)
    return embeds, torch.ones(1, embeds.shape[1], dtype=torch.int64)


def banned_ngram_tokens(ids, n):
    """NoRepeatNGramLogitsProcessor: the tokens that would complete an n-gram already in `ids`."""
    if len(ids) + 1 < n:
        return []
    prefix = tuple(ids[len(ids) - n + 1:])
    return sorted({ids[i + n - 1] for i in range(len(ids) - n + 1) if tuple(ids[i:i + n - 1]) == prefix})


def generate(model, states, mask, florence, max_new_tokens):
    """Greedy decoding as transformers' generate does it, recomputing the whole decoder each step (no cache).
    florence=True applies Florence-2's generation_config: the first token forced to BOS (ForcedBOS), no repeated
    3-grams (NoRepeatNGram, over the decoder ids including the start token), and EOS forced at max_length - 1
    (ForcedEOS; max_length = 1 start token + max_new_tokens, so the 16th new token is EOS if the model has not
    chosen it before). Returns the new ids without the start token and without EOS, how decoding stopped, the
    steps where the no-repeat rule changed the argmax, the raw logits of each step, and the smallest lead of a
    chosen token over the runner-up (forced steps aside: how far the ONNX graphs may drift before an id changes)."""
    lm = model.language_model
    ids, fired, rows, margin = [DECODER_START], [], [], math.inf
    max_length = 1 + max_new_tokens
    stop = "max_new_tokens"
    while len(ids) < max_length:
        logits, _, _ = lm.decode(model.embed(torch.tensor([ids])), mask, states)
        row = logits[0, -1]
        rows.append(row)
        scores = row.clone()
        if florence:
            banned = banned_ngram_tokens(ids, NO_REPEAT)
            scores[banned] = -math.inf
            if len(ids) == 1:
                scores[:] = -math.inf
                scores[BOS] = 0
            elif len(ids) == max_length - 1:
                scores[:] = -math.inf
                scores[EOS] = 0
            elif int(row.argmax()) in banned:
                fired.append({"step": len(ids) - 1, "banned": int(row.argmax()), "chosen": int(scores.argmax()),
                              "ngram": ids[len(ids) - NO_REPEAT + 1:] + [int(row.argmax())]})
        tok = int(scores.argmax())
        if not (florence and (len(ids) == 1 or len(ids) == max_length - 1)):
            top = scores.topk(2).values
            margin = min(margin, float(top[0] - top[1]))
        if tok == EOS:
            stop = "forced_eos" if florence and len(ids) == max_length - 1 else "eos"
            break
        ids.append(tok)
    return ids[1:], stop, fired, rows, margin


def cached_matches(model, states, mask, ids):
    """The first-step / cached-step split the export uses gives the uncached logits (checks the cache code)."""
    lm = model.language_model
    full, _, _ = lm.decode(model.embed(torch.tensor([[DECODER_START] + ids])), mask, states)
    logits, past, cross = lm.decode(model.embed(torch.tensor([[DECODER_START]])), mask, states)
    rows = [logits[0, -1]]
    for tok in ids:
        logits, past, _ = lm.decode(model.embed(torch.tensor([[tok]])), mask, cross_kv=cross, past=past)
        rows.append(logits[0, -1])
    return torch.allclose(torch.stack(rows), full[0], rtol=1e-4, atol=1e-4)


def build(seed):
    torch.manual_seed(seed)
    model = Florence2().eval()
    spread(model)
    return model


def references(model):
    with torch.no_grad():
        rgb = test_image()
        pixels = pixel_values(rgb)
        features = model.vision(pixels)
        tasks = {}
        for task in REFERENCE_TASKS:
            prompt = construct_prompt(task, TASK_INPUTS.get(task, ""))
            ids = encode(prompt)
            embeds, mask = encoder_inputs(model, features, ids)
            states = model.language_model.model.encoder(embeds, mask)
            tokens, stop, fired, _, margin = generate(model, states, mask, True, MAX_NEW_TOKENS)
            assert cached_matches(model, states, mask, tokens)
            entry = {"prompt": prompt}
            if task in TASK_INPUTS:
                entry["input"] = TASK_INPUTS[task]
            entry.update({"input_ids": ids, "greedy": tokens, "stop": stop, "no_repeat_fired": fired})
            if TASKS_ANSWER_POST_PROCESSING_TYPE[task] == "pure_text":
                entry["text"] = decode(tokens)
            tasks[task] = {**entry, "_states": states, "_mask": mask, "_margin": margin}
        first = tasks[REFERENCE_TASKS[0]]
        plain, plain_stop, _, rows, margin = generate(model, first["_states"], first["_mask"], False, PLAIN_STEPS)
    return rgb, pixels, features, tasks, (plain, plain_stop, rows, margin)


def is_word(i):
    return len(SPECIALS) <= i < LOC0


def labelled_run(ids, n):
    """Whether a word is followed by (at least) n location tokens: a labelled box (4) or quad (8)."""
    return any(is_word(ids[k]) and all(i >= LOC0 for i in ids[k + 1:k + 1 + n]) and k + n < len(ids)
               for k in range(len(ids)))


def loc_run(ids, n):
    return any(all(i >= LOC0 for i in ids[k:k + n]) for k in range(len(ids) - n + 1))


QUAD_BOXES = re.compile(r"(.+?)" + r"<loc_(\d+)>" * 8)
BBOXES = re.compile(r"([^<]+)?" + r"<loc_(\d+)>" * 4)


def post_process(task, ids):
    """transformers.js' Florence2Processor.post_process_generation of the decoded answer, labels only: the labels of
    the boxes (or quads) its regexes find, or None for a pure-text task."""
    kind = TASKS_ANSWER_POST_PROCESSING_TYPE[task]
    if kind == "pure_text":
        return None
    text = decode([DECODER_START, *ids, EOS], skip_special_tokens=False).replace("<s>", "").replace("</s>", "")
    labels = []
    for m in (QUAD_BOXES if kind == "ocr" else BBOXES).finditer(text):
        labels.append(m.group(1).strip() if m.group(1) else (labels[-1] if labels else ""))
    return labels


def conditions(tasks):
    """Required: (a) the tasks' answers differ, (b) the no-repeat rule changes an argmax somewhere, (c) no answer is
    one token repeated, (e) the text tasks' answers hold at least 2 words, (f) <OD>'s holds a labelled box (a word,
    then 4 location tokens), (g) <OCR_WITH_REGION>'s a labelled quad (a word, then 8), (h) the grounding's 4 location
    tokens in a row. Wanted: (d) some answer ends by the model's own EOS, (i) <REGION_PROPOSAL>'s holds 4 location
    tokens in a row, (j) one of <OD>'s labels as transformers.js' regexes read them is non-empty and words only.
    Answers of random weights rarely give clean labels everywhere: a run of location tokens that is not a whole number
    of boxes leaves e.g. `loc_12> w3` in the next box's label, and a quad's lazy label takes everything before it,
    location tokens included (of seeds 0–800, none that met the rest gave clean labels in all three region
    tasks at once)."""
    answers = [tuple(t["greedy"]) for t in tasks.values()]
    g = {task: t["greedy"] for task, t in tasks.items()}
    return {
        "a": len(set(answers)) == len(answers),
        "b": any(t["no_repeat_fired"] for t in tasks.values()),
        "c": all(len(set(x[1:])) > 1 for x in answers),
        "d": any(t["stop"] == "eos" for t in tasks.values()),
        "e": all(sum(map(is_word, g[task])) >= 2 for task in ("<CAPTION>", "<DETAILED_CAPTION>", "<OCR>")),
        "f": labelled_run(g["<OD>"], 4),
        "g": labelled_run(g["<OCR_WITH_REGION>"], 8),
        "h": loc_run(g["<CAPTION_TO_PHRASE_GROUNDING>"], 4),
        "i": loc_run(g["<REGION_PROPOSAL>"], 4),
        "j": any(x and "<" not in x and "loc_" not in x for x in post_process("<OD>", g["<OD>"])),
    }


REQUIRED = "abcefgh"


def smallest_margin(tasks, plain_margin):
    return min([plain_margin] + [t["_margin"] for t in tasks.values()])


def search(count, start=0):
    """Prints, per seed, the conditions met, the share of location tokens in the answers, whether <pad>/<unk> occur,
    the smallest argmax lead, and the answers (W = a word, L = a location token, s = <s>)."""
    for seed in range(start, start + count):
        _, _, _, tasks, (plain, _, _, plain_margin) = references(build(seed))
        answers = [t["greedy"] for t in tasks.values()]
        met = conditions(tasks)
        specials = any(i in (PAD, UNK) for x in answers + [plain] for i in x)
        locs = sum(i >= LOC0 for x in answers for i in x) / sum(map(len, answers))
        shape = " ".join("".join("L" if i >= LOC0 else "W" if is_word(i) else "s" if i == BOS else "x" for i in x)
                         for x in answers)
        ok = all(met[k] for k in REQUIRED)
        print(seed, "OK" if ok else "--", "".join(k for k, v in met.items() if v), f"locs {locs:.2f}",
              "specials" if specials else "-", f"margin {smallest_margin(tasks, plain_margin):.4f}",
              [t["stop"][0] for t in tasks.values()], shape, flush=True)


def write_folder():
    def dump(name, obj):
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    dump("config.json", {
        "architectures": ["Florence2ForConditionalGeneration"], "model_type": "florence2", "is_encoder_decoder": True,
        "projection_dim": D,
        "text_config": {"model_type": "florence2_language", "vocab_size": V, "d_model": D, "encoder_layers": L,
                        "decoder_layers": L, "encoder_attention_heads": H, "decoder_attention_heads": H,
                        "encoder_ffn_dim": FF, "decoder_ffn_dim": FF, "max_position_embeddings": MAX_POSITIONS,
                        "activation_function": "gelu", "bos_token_id": BOS, "pad_token_id": PAD,
                        "eos_token_id": EOS, "decoder_start_token_id": DECODER_START, "forced_bos_token_id": BOS,
                        "forced_eos_token_id": EOS, "scale_embedding": False, "tie_word_embeddings": True},
        "vision_config": {"model_type": "davit", "drop_path_rate": 0.0, "projection_dim": D,
                          "image_feature_source": ["spatial_avg_pool", "temporal_avg_pool"],
                          "image_pos_embed": {"type": "learned_abs_2d",
                                              "max_pos_embeddings": VISION["max_position_embeddings"]},
                          "visual_temporal_embedding": {"type": "COSINE",
                                                        "max_temporal_embeddings": VISION["max_temporal_embeddings"]},
                          "dim_embed": VISION["embed_dim"], "depths": VISION["depths"],
                          "num_heads": VISION["num_heads"], "num_groups": VISION["num_groups"],
                          "patch_size": VISION["patch_size"], "patch_stride": VISION["patch_stride"],
                          "patch_padding": VISION["patch_padding"], "patch_prenorm": VISION["patch_prenorm"],
                          "window_size": VISION["window_size"], "mlp_ratio": VISION["mlp_ratio"]},
    })
    dump("generation_config.json", {
        "bos_token_id": BOS, "decoder_start_token_id": DECODER_START, "eos_token_id": EOS, "forced_bos_token_id": BOS,
        "forced_eos_token_id": EOS, "no_repeat_ngram_size": NO_REPEAT, "num_beams": 3, "pad_token_id": PAD,
        "max_length": 20,
    })
    dump("preprocessor_config.json", {
        "image_processor_type": "CLIPImageProcessor", "processor_class": "Florence2Processor", "do_resize": True,
        "size": {"height": SIDE, "width": SIDE}, "crop_size": {"height": SIDE, "width": SIDE},
        "do_center_crop": False, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "do_convert_rgb": True,
        "image_seq_length": N_IMAGE,
        "tasks_answer_post_processing_type": TASKS_ANSWER_POST_PROCESSING_TYPE,
        "task_prompts_without_inputs": TASK_PROMPTS_WITHOUT_INPUTS,
        "task_prompts_with_input": TASK_PROMPTS_WITH_INPUT,
    })
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as fh:  # one line: 1000 added tokens
        json.dump(tokenizer_json(), fh, ensure_ascii=False)
    dump("tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
        "unk_token": "<unk>", "tokenizer_class": "BartTokenizer", "clean_up_tokenization_spaces": True,
    })


def flat(t):
    return {"dims": list(t.shape), "data": t.flatten().tolist()}


def describe():
    """Each graph's inputs, outputs and op types (If branches included)."""
    def ops(graph, acc):
        for n in graph.node:
            acc.add(n.op_type)
            for attr in n.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    ops(attr.g, acc)
        return acc

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    for name in ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged"):
        m = onnx.load(os.path.join(OUT, "onnx", f"{name}.onnx"))
        print(f"{name}.onnx")
        for kind, vs in (("in ", m.graph.input), ("out", m.graph.output)):
            for v in vs:
                print(f"  {kind} {v.name} {TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()} {dims(v)}")
        print(f"  ops {sorted(ops(m.graph, set()))}")


def folder_size():
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)


def main():
    seed = SEED
    if "--search" in sys.argv:
        k = sys.argv.index("--search")
        start = int(sys.argv[k + 2]) if len(sys.argv) > k + 2 else 0
        return search(int(sys.argv[k + 1]), start)
    model = build(seed)
    rgb, pixels, features, tasks, (plain, plain_stop, rows, plain_margin) = references(model)
    met = conditions(tasks)
    assert all(met[k] for k in REQUIRED), f"seed {seed}: conditions {met}"
    margin = smallest_margin(tasks, plain_margin)
    assert margin >= 0.02, f"seed {seed}: smallest argmax lead {margin}"
    os.makedirs(OUT, exist_ok=True)
    export_all(model)
    write_folder()
    first = tasks[REFERENCE_TASKS[0]]
    ref = {
        "note": "PyTorch. greedy: transformers' generate with Florence-2's generation_config (decoder start 2, "
                "forced BOS 0, no_repeat_ngram_size 3, forced EOS at max_length = 1 + max_new_tokens), ids without "
                "the start token and without EOS; stop is 'eos' (chosen by the model) or 'forced_eos' (the "
                f"{MAX_NEW_TOKENS}th new token). text (pure-text tasks): the answer decoded with the special tokens "
                "skipped. input: the text given with the task (construct_prompts). greedy_plain: no processors, "
                f"start [2], at most {PLAIN_STEPS} tokens, stops at EOS.",
        "config": {"vocab": V, "d_model": D, "layers": L, "heads": H, "head_dim": HD, "image_seq_length": N_IMAGE,
                   "decoder_start_token_id": DECODER_START, "forced_bos_token_id": BOS, "eos_token_id": EOS,
                   "no_repeat_ngram_size": NO_REPEAT, "max_new_tokens": MAX_NEW_TOKENS, "loc_token_start": LOC0},
        "image_rgb": {"dims": list(rgb.shape), "data": rgb.flatten().tolist()},
        "pixel_values": flat(pixels),
        "image_features": flat(features),
        "tasks": {task: {**{k: v for k, v in t.items() if not k.startswith("_")},
                         **({"encoder_last_hidden_state": flat(t["_states"])} if t is first else {})}
                  for task, t in tasks.items()},
        "greedy_plain": {"task": REFERENCE_TASKS[0], "max_new_tokens": PLAIN_STEPS, "ids": plain, "stop": plain_stop,
                         "step_logits": [r.tolist() for r in rows[:2]]},
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    describe()
    print(f"V = {V}: {WORDS} word-level tokens (<s> 0, <pad> 1, </s> 2, <unk> 3, {VOCAB[4]!r} 4, "
          f"{VOCAB[5]!r} 5, …, {VOCAB[WORDS - 1]!r} {WORDS - 1}), <loc_0> {LOC0} … <loc_{LOCS - 1}> {V - 1}")
    for task, t in tasks.items():
        print(f"{task}: {t['prompt']!r} {t['input_ids']} → {t['greedy']} ({t['stop']}); "
              f"{decode([DECODER_START, *t['greedy'], EOS], skip_special_tokens=False)!r}; "
              f"no-repeat fired {t['no_repeat_fired']}; smallest lead {t['_margin']:.4f}"
              + ("" if post_process(task, t["greedy"]) is None else f"; labels {post_process(task, t['greedy'])}"))
    print(f"plain <CAPTION>: {plain} ({plain_stop}); smallest lead {plain_margin:.4f}")
    print(f"conditions {''.join(k for k, v in met.items() if v)} (required {REQUIRED}); smallest argmax lead "
          f"{margin:.4f}")
    print(f"wrote {OUT}: {folder_size()} bytes")


if __name__ == "__main__":
    main()
