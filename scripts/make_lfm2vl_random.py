#!/usr/bin/env python3
"""A random-weight LFM2-VL folder (Liquid AI's Lfm2VlForConditionalGeneration, model_type lfm2_vl) in
transformers.js' layout, with its reference.json computed by PyTorch.

- onnx/vision_encoder.onnx: pixel_values [tiles, patches, 3 · patch²] (each tile's patches in the processor's
  order: rows of patches, each patch's pixels row by row, channels last), pixel_attention_mask [tiles, patches]
  (int64) and spatial_shapes [tiles, 2] (int64: patch rows, patch columns) → image_features [image tokens, text
  width]: transformers' Lfm2VlModel.get_image_features. The SigLIP2 NaFlex tower (Siglip2VisionEmbeddings: a Linear
  patch embedding, the learned 3 × 3 grid of position embeddings resampled to each tile's rows × columns as
  resize_positional_embeddings does it, F.interpolate bilinear with align_corners False and antialias True, padded
  patches given the tile's first position embedding; encoder layers whose keys are masked by pixel_attention_mask;
  post_layernorm), then per tile its first rows · columns features as the rows × columns grid, pixel-unshuffled by
  downsample_factor 2 (Lfm2VlMultiModalProjector.pixel_unshuffle) and projected (layer_norm, linear_1, GELU,
  linear_2), the tiles' tokens one after another. The resampling is computed in the graph from spatial_shapes with
  tensor ops: PyTorch's antialiased bilinear weights (the separable triangle filter, stretched by the scale when
  shrinking), so it is exact for upsampling and downsampling alike; the per-tile unpadding, unshuffle and
  concatenation are index arithmetic on spatial_shapes (Gather, GatherElements, CumSum, Range; no NonZero). So the graph takes
  any batch of tiles of any sizes, padded or not, as transformers' processor pads them (a tile's valid patches
  first, its pixel_attention_mask ones there): one tile a run with patches = rows · columns and a mask of ones (what
  the webvl runtime feeds), several tiles of one shape, and transformers.js' padded batch of every tile of a
  prompt. rows and columns must be even (the processor makes them multiples of downsample_factor).
  State-dict names and shapes are transformers' (model.vision_tower.vision_model.*, model.multi_modal_projector.*).
- onnx/embed_tokens.onnx: input_ids → inputs_embeds.
- onnx/decoder_model_merged.onnx: transformers' Lfm2Model with its tied lm_head, layer_types [conv,
  full_attention, conv]: Lfm2ShortConv (in_proj → B, C, x; B · x through a depthwise causal Conv1d of kernel
  conv_L_cache; C · that; out_proj), attention with q_layernorm / k_layernorm (RMSNorm over head_dim) before the
  rotary embedding (position_ids), grouped-query; operator_norm / ffn_norm; SwiGLU feed_forward w1, w3, w2;
  embedding_norm. Inputs inputs_embeds, attention_mask, position_ids [batch, seq], past_conv.{i} [batch, hidden,
  conv_L_cache] for the conv layers, past_key_values.{i}.key / .value [batch, kv heads, past, head_dim] for the
  attention layers, num_logits_to_keep (int64 scalar: logits for the last that many positions, 0: all); outputs
  logits, present_conv.{i}, present.{i}.key / .value. ONE graph for the first step and the cached ones, no If: the
  first step is fed zero conv states and 0 past positions (what transformers.js' addPastKeyValues feeds). A conv
  layer concatenates its state and the new B · x, convolves the last conv_L_cache - 1 state values and the new
  ones, and keeps the last conv_L_cache values as present_conv: checked here, step by step, against transformers'
  Lfm2ShortConv.slow_forward with Lfm2HybridConvCache (prefill: the last conv_L_cache values, zero-padded on the
  left; decode: roll and write). slow_forward writes a decode step's value at index cache_position (clamped to
  conv_L_cache - 1), not at the end, so for prompts shorter than conv_L_cache - 1 tokens it differs from a causal
  convolution (and from its own CUDA kernel path); the graph is the causal convolution, equal to slow_forward for
  every prompt of at least conv_L_cache - 1 tokens (these have dozens).
- config.json (Lfm2VlConfig's fields; text_config lfm2, vision_config siglip2_vision_model), preprocessor_config.json
  (Lfm2VlImageProcessorFast's fields; do_resize false as Liquid AI's files have it: transformers' _preprocess
  resizes regardless, transformers.js would first resize to `size`), processor_config.json, chat_template.jinja
  (LFM2-VL's template: <|startoftext|>, ChatML turns, an image part written <image>; the same string as
  tokenizer_config.json's chat_template, where transformers.js reads it), generation_config.json, and the word-level
  tokenizer of scripts/make_llava_random.py with LFM2-VL's special tokens.

reference.json: two test images as RGBA bytes (opaque, so dropping alpha and compositing on white agree): a 30 × 13
one that stays one tile (smart_resize: 32 × 16) and an 86 × 30 one that is split (grid 3 × 1 of 16 × 16 tiles, and
a 40 × 16 thumbnail); per image the processor's sizes, rows / cols, each tile's unpadded pixel_values and
spatial_shape, the token counts, and each tile's image features (the vision graph's module run on that tile alone).
The processor is a port of transformers' Lfm2VlImageProcessorFast: _is_image_too_large, smart_resize,
find_closest_aspect_ratio over _target_ratios, crop_image_to_patches (tiles row by row, the thumbnail last),
the fused rescale-and-normalize, convert_image_to_patches. Its resize is torchvision's F.resize (bilinear,
antialias) on uint8 images; torchvision is not installed here, so it is torch's F.interpolate (bilinear,
align_corners False, antialias True) on the image as float, rounded to uint8 (torchvision's float path; its native
uint8 kernel, newer torchvision on CPU, may differ by one level now and then). Its rows / cols are transformers':
resize_and_split stores crop_image_to_patches' (grid_width, grid_height) as (num_rows, num_cols), so the 3-wide
grid is rows 3, cols 1 and its tiles are announced <|img_row_1_col_1|>, <|img_row_2_col_1|>, <|img_row_3_col_1|>
(Lfm2VlProcessor._build_image_tokens; the tiles themselves go left to right). Prompt ids: the chat template rendered
for one question about each image and for a two-turn chat about the small one (the second prompt holds the first
answer), <image> expanded as Lfm2VlProcessor does, positions 0 … n - 1. Greedy answers (8 tokens) of the small
image's two turns and of the large image's question, computed with transformers' semantics (Lfm2ShortConv.
slow_forward, Lfm2HybridConvCache, the eager attention with its cache) and again through the exported decoder's
module (first step with zero states and no past, num_logits_to_keep 1), which agree (asserted, with each step's
logits).

Checks made here, before anything is written: the state-dict names are transformers' Lfm2VlModel's; the in-graph
antialiased resampling equals F.interpolate(antialias=True) for grids 2 … 5 to sizes 1 … 9 (down and up); for the
test tiles, which only upsample the 3 × 3 grid (rows and columns ≥ 4), antialias changes nothing
(F.interpolate with and without it agree) and the graph's position embeddings equal transformers'
resize_positional_embeddings loop; the batched vision module equals a transcription of get_image_features
(Python loop, pixel_unshuffle) on the processor's padded batch, and each tile alone equals its row of the batch;
the unified conv step equals slow_forward; the exported-form decoder equals transformers' semantics; every graph
passes onnx.checker.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/make_lfm2vl_random.py     # writes tests/corpus/lfm2vl-random/
"""
import itertools
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime", "fixtures"))
import onnxutil  # noqa: E402
from hf_modules import Cfg, Encoder, additive_mask  # noqa: E402
from make_llava_random import SPREAD, Embed, word_ids, word_tokenizer  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "lfm2vl-random")

# --- the processor (Lfm2VlImageProcessorFast's fields, small) ----------------------------------------------------
PATCH, DOWNSAMPLE, TILE = 4, 2, 16  # encoder_patch_size, downsample_factor, tile_size: a tile is 4 × 4 patches
MIN_TILES, MAX_TILES = 2, 4
MIN_IMAGE_TOKENS, MAX_IMAGE_TOKENS = 4, 12  # smart_resize keeps an image between 256 and 768 pixels
TOLERANCE = 2.0  # max_pixels_tolerance: split an image whose rounded size passes 2 × 768 pixels
MAX_NUM_PATCHES = max(MAX_IMAGE_TOKENS * DOWNSAMPLE ** 2, (TILE // PATCH) ** 2)  # what the processor pads to: 48
MEAN = STD = [0.5, 0.5, 0.5]
PREPROCESSOR = {
    "image_processor_type": "Lfm2VlImageProcessorFast", "processor_class": "Lfm2VlProcessor",
    "downsample_factor": DOWNSAMPLE, "do_image_splitting": True, "min_tiles": MIN_TILES, "max_tiles": MAX_TILES,
    "use_thumbnail": True, "min_image_tokens": MIN_IMAGE_TOKENS, "max_image_tokens": MAX_IMAGE_TOKENS,
    "encoder_patch_size": PATCH, "tile_size": TILE, "max_pixels_tolerance": TOLERANCE,
    "do_resize": False, "size": {"height": TILE, "width": TILE}, "resample": 2, "do_rescale": True,
    "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": MEAN, "image_std": STD, "do_pad": True,
    "do_convert_rgb": True, "return_row_col_info": False,
}

# --- the vision tower and projector --------------------------------------------------------------------------------
E, V_HEADS, V_LAYERS, V_FF = 32, 4, 2, 64
GRID = 3  # the position embeddings' grid side: num_patches 9; the test tiles (≥ 4 × 4 patches) only upsample it
PROJ = 64  # projector_hidden_size
VISION = Cfg({"hidden_size": E, "num_attention_heads": V_HEADS, "num_hidden_layers": V_LAYERS,
              "intermediate_size": V_FF, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6})

# --- the language model ----------------------------------------------------------------------------------------------
D, H, KVH, FF = 32, 4, 2, 64
HD = D // H
L_CACHE = 3
LAYER_TYPES = ["conv", "full_attention", "conv"]
THETA, NORM_EPS = 1000000.0, 1e-5
MAX_POSITIONS = 256
QK_SPREAD = 2.0  # q_layernorm / k_layernorm weights scaled, so that attention is sharp enough to matter

# --- the tokenizer ---------------------------------------------------------------------------------------------------
ROW_COL = [f"<|img_row_{r}_col_{c}|>" for r in range(1, MAX_TILES + 1) for c in range(1, MAX_TILES + 1)]
SPECIALS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<unk>", "<|im_start|>", "<|im_end|>", "<image>",
            "<|image_start|>", "<|image_end|>", "<|img_thumbnail|>"] + ROW_COL
NEWLINE = "\n"  # a token of its own, as in LFM2's byte-level BPE, so the prompt's layout shows in its ids
WORDS = ["system", "user", "assistant"] + [f"w{i}" for i in range(80)]
VOCAB = SPECIALS + [NEWLINE] + WORDS
V = len(VOCAB)
ID = {w: i for i, w in enumerate(VOCAB)}
PAD, BOS, IM_END, IMAGE = (ID[t] for t in ("<|pad|>", "<|startoftext|>", "<|im_end|>", "<image>"))
STOP = (IM_END,)  # generation_config's eos_token_id
# LFM2-VL's chat template (LiquidAI/LFM2-VL-450M and -1.6B; transformers' tests/models/lfm2_vl/
# test_processing_lfm2_vl.py carries the same string).
CHAT_TEMPLATE = (
    "{{bos_token}}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<image>' }}{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}{{'<|im_end|>\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)
STEPS = 8
# Every greedy step's best logit leads the next by at least this: preprocessing that differs from transformers' by
# rounding (half a level of 255, e.g. resizing in float without the uint8 round trip) leaves the answers as they are.
MARGIN = 0.25


# ================================================= the processor ==================================================

def round_by_factor(number, factor):
    return round(number / factor) * factor  # Python's round: half to even, as transformers'


def smart_resize(height, width):
    """Lfm2VlImageProcessorFast.smart_resize, returned as (height, width)."""
    total_factor = PATCH * DOWNSAMPLE
    min_pixels = MIN_IMAGE_TOKENS * PATCH ** 2 * DOWNSAMPLE ** 2
    max_pixels = MAX_IMAGE_TOKENS * PATCH ** 2 * DOWNSAMPLE ** 2
    h_bar = max(total_factor, round_by_factor(height, total_factor))
    w_bar = max(total_factor, round_by_factor(width, total_factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(total_factor, math.floor(height / beta / total_factor) * total_factor)
        w_bar = max(total_factor, math.floor(width / beta / total_factor) * total_factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / total_factor) * total_factor
        w_bar = math.ceil(width * beta / total_factor) * total_factor
    return h_bar, w_bar


def is_image_too_large(height, width):
    """Lfm2VlImageProcessorFast._is_image_too_large."""
    total_factor = PATCH * DOWNSAMPLE
    h_bar = max(PATCH, round_by_factor(height, total_factor))
    w_bar = max(PATCH, round_by_factor(width, total_factor))
    return h_bar * w_bar > MAX_IMAGE_TOKENS * PATCH ** 2 * DOWNSAMPLE ** 2 * TOLERANCE


def target_ratios():
    """Lfm2VlImageProcessorFast._target_ratios: (width, height) tile grids, by tile count."""
    ratios = [(w, h) for n in range(MIN_TILES, MAX_TILES + 1) for w in range(1, n + 1) for h in range(1, n + 1)
              if MIN_TILES <= w * h <= MAX_TILES]
    return sorted(set(ratios), key=lambda x: x[0] * x[1])


def find_closest_aspect_ratio(aspect_ratio, ratios, width, height, image_size):
    """transformers' find_closest_aspect_ratio: the grid (width, height) nearest the aspect ratio; on a tie, the later
    one if the image's area passes half the grid's."""
    best_diff, best = float("inf"), (1, 1)
    for ratio in ratios:
        diff = abs(aspect_ratio - ratio[0] / ratio[1])
        if diff < best_diff:
            best_diff, best = diff, ratio
        elif diff == best_diff and width * height > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
            best = ratio
    return best


def resize(image, height, width):
    """torchvision's F.resize(image, (height, width), BILINEAR, antialias=True) of a uint8 image [1, 3, h, w]: on the
    image as float, rounded back to uint8."""
    out = F.interpolate(image.float(), size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return out.round().clamp(0, 255).to(torch.uint8)


def convert_image_to_patches(images):
    """transformers' convert_image_to_patches: [b, c, h, w] → [b, patches, patch · patch · c]."""
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // PATCH) * (w // PATCH), -1)


def process_image(rgba):
    """Lfm2VlImageProcessorFast on one image: its tiles' unpadded patches and spatial shapes, rows, cols (transformers'
    num_rows = grid_width, num_cols = grid_height), the smart-resized size (image_sizes) and the grid (None: one
    tile)."""
    image = torch.from_numpy(np.ascontiguousarray(rgba[..., :3])).permute(2, 0, 1)[None]  # RGB, uint8
    height, width = image.shape[-2:]
    new_h, new_w = smart_resize(height, width)
    grid = None
    if is_image_too_large(height, width) and not MIN_TILES == MAX_TILES == 1:
        grid_w, grid_h = find_closest_aspect_ratio(width / height, target_ratios(), width, height, TILE)
        resized = resize(image, TILE * grid_h, TILE * grid_w)
        tiles = [resized[..., r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
                 for r in range(grid_h) for c in range(grid_w)]
        if grid_w * grid_h != 1:  # use_thumbnail
            tiles.append(resize(image, new_h, new_w))
        rows, cols, grid = grid_w, grid_h, {"grid_width": grid_w, "grid_height": grid_h}
    else:
        tiles, rows, cols = [resize(image, new_h, new_w)], 1, 1
    # The fused rescale and normalize: (x - mean / rescale_factor) / (std / rescale_factor).
    mean = torch.tensor(MEAN) * (1.0 / PREPROCESSOR["rescale_factor"])
    std = torch.tensor(STD) * (1.0 / PREPROCESSOR["rescale_factor"])
    out = []
    for t in tiles:
        x = (t.float() - mean[:, None, None]) / std[:, None, None]
        out.append((convert_image_to_patches(x)[0], [t.shape[-2] // PATCH, t.shape[-1] // PATCH]))
    return {"tiles": out, "rows": rows, "cols": cols, "resized": [new_h, new_w], "grid": grid}


def pad_batch(tiles):
    """The processor's padded batch: pixel_values [tiles, MAX_NUM_PATCHES, 3 · patch²], pixel_attention_mask,
    spatial_shapes."""
    pixels = torch.zeros(len(tiles), MAX_NUM_PATCHES, 3 * PATCH * PATCH)
    mask = torch.zeros(len(tiles), MAX_NUM_PATCHES, dtype=torch.int64)
    for i, (p, _) in enumerate(tiles):
        pixels[i, :p.shape[0]] = p
        mask[i, :p.shape[0]] = 1
    return pixels, mask, torch.tensor([s for _, s in tiles])


def tokens_per_tile():
    return math.ceil((TILE // PATCH) / DOWNSAMPLE) ** 2  # Lfm2VlProcessor._compute_tokens_per_tile


def tokens_for_image(size):
    h, w = size  # Lfm2VlProcessor._compute_tokens_for_image
    return math.ceil((h // PATCH) / DOWNSAMPLE) * math.ceil((w // PATCH) / DOWNSAMPLE)


def image_prompt(processed):
    """Lfm2VlProcessor._build_image_tokens (use_image_special_tokens, use_thumbnail)."""
    rows, cols = processed["rows"], processed["cols"]
    parts = ["<|image_start|>"]
    if rows > 1 or cols > 1:
        for row in range(rows):
            for col in range(cols):
                parts.append(f"<|img_row_{row + 1}_col_{col + 1}|>" + "<image>" * tokens_per_tile())
        parts.append("<|img_thumbnail|>" + "<image>" * tokens_for_image(processed["resized"]))
    else:
        parts.append("<image>" * tokens_for_image(processed["resized"]))
    return "".join(parts + ["<|image_end|>"])


def chat_text(turns):
    """The chat template rendered for [(question, answer or None), …] (add_generation_prompt), the first user message
    an image part, then its text."""
    text = "<|startoftext|>"
    for k, (question, reply) in enumerate(turns):
        text += "<|im_start|>user\n" + ("<image>" if k == 0 else "") + question + "<|im_end|>\n"
        if reply is not None:
            text += "<|im_start|>assistant\n" + reply + "<|im_end|>\n"
    return text + "<|im_start|>assistant\n"


def tokenize(text, processed):
    """Lfm2VlProcessor: each <image> expanded, then the word-level tokenizer (no special tokens added)."""
    return word_ids(text.replace("<image>", image_prompt(processed)), SPECIALS + [NEWLINE], ID)


# =============================================== the vision model =================================================

def aa_weights(pos, out_size, in_size):
    """PyTorch's antialiased bilinear weights (upsample_bilinear2d_aa, align_corners False) as tensor ops: the weight
    of each of the in_size source positions for output position `pos` of an axis resized to `out_size` (tensors
    broadcast together; the last axis of the result is the source). Shrinking stretches the triangle filter by the
    scale; growing is plain bilinear interpolation, clamped at the edges."""
    scale = in_size / out_size
    one = torch.ones_like(scale)
    support = torch.where(scale >= 1, scale, one)
    invscale = torch.where(scale >= 1, 1 / scale, one)
    center = scale * (pos + 0.5)
    xmin = torch.clamp(torch.floor(center - support + 0.5), min=0)[..., None]
    xmax = torch.clamp(torch.floor(center + support + 0.5), max=in_size)[..., None]
    j = torch.arange(in_size, dtype=torch.float32)
    w = torch.clamp(1 - torch.abs((j - center[..., None] + 0.5) * invscale[..., None]), min=0)
    w = torch.where((j >= xmin) & (j < xmax), w, torch.zeros_like(w))
    total = w.sum(-1, keepdim=True)
    return w / torch.where(total != 0, total, torch.ones_like(total))


class Siglip2VisionEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embedding = nn.Linear(3 * PATCH * PATCH, E)
        self.position_embedding = nn.Embedding(GRID * GRID, E)

    def positions(self, spatial_shapes, n):
        """resize_positional_embeddings for `n` patches a tile, with tensor ops on spatial_shapes: patch i < rows ·
        cols of a tile gets the grid resampled to rows × cols at (i // cols, i % cols), a padded patch the
        resampled grid's first entry."""
        h, w = spatial_shapes[:, 0:1], spatial_shapes[:, 1:2]
        idx = torch.arange(n)[None, :]
        valid = idx < h * w
        zero = torch.zeros_like(idx // w)
        row, col = torch.where(valid, idx // w, zero), torch.where(valid, idx % w, zero)
        wr = aa_weights(row.float(), h.float(), GRID)  # [tiles, n, GRID]: over the grid's rows
        wc = aa_weights(col.float(), w.float(), GRID)  # over its columns
        both = (wr[..., :, None] * wc[..., None, :]).flatten(2)  # [tiles, n, GRID²], the grid row by row
        return both @ self.position_embedding.weight

    def forward(self, pixel_values, spatial_shapes):
        return self.patch_embedding(pixel_values) + self.positions(spatial_shapes, pixel_values.shape[1])


class Siglip2VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = Siglip2VisionEmbeddings()
        self.encoder = Encoder(VISION)  # Siglip2EncoderLayer's names and arithmetic (CLIP's)
        self.post_layernorm = nn.LayerNorm(E, eps=VISION.layer_norm_eps)

    def forward(self, pixel_values, attention_mask, spatial_shapes):
        x = self.embeddings(pixel_values, spatial_shapes)
        x = self.encoder(x, additive_mask(attention_mask[:, None, None, :]))  # _prepare_4d_attention_mask
        return self.post_layernorm(x)


class Siglip2VisionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision_model = Siglip2VisionTransformer()


class Lfm2VlMultiModalProjector(nn.Module):
    def __init__(self):
        super().__init__()
        self.factor = DOWNSAMPLE
        self.layer_norm = nn.LayerNorm(E * DOWNSAMPLE ** 2)  # projector_use_layernorm
        self.linear_1 = nn.Linear(E * DOWNSAMPLE ** 2, PROJ)
        self.linear_2 = nn.Linear(PROJ, D)

    def project(self, x):
        return self.linear_2(F.gelu(self.linear_1(self.layer_norm(x))))  # projector_hidden_act gelu (erf)

    def forward(self, image_features):
        return self.project(self.pixel_unshuffle(image_features))

    def pixel_unshuffle(self, hidden_states):
        """transformers' Lfm2VlMultiModalProjector.pixel_unshuffle, step for step ([1, rows, cols, C] in, its
        'width' and 'height' are the rows and the columns)."""
        batch_size, width, height, channels = hidden_states.size()
        hidden_states = hidden_states.reshape(batch_size, width, height // self.factor, channels * self.factor)
        hidden_states = hidden_states.permute(0, 2, 1, 3)
        hidden_states = hidden_states.reshape(batch_size, height // self.factor, width // self.factor,
                                              channels * self.factor ** 2)
        return hidden_states.permute(0, 2, 1, 3)


class Lfm2RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(1 + 0.1 * torch.randn(dim))  # transformers' init is ones; varied here
        self.variance_epsilon = NORM_EPS

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.variance_epsilon))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Lfm2MLP(nn.Module):
    def __init__(self):
        super().__init__()  # block_auto_adjust_ff_dim false: intermediate_size as it is
        self.w1 = nn.Linear(D, FF, bias=False)
        self.w3 = nn.Linear(D, FF, bias=False)
        self.w2 = nn.Linear(FF, D, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Lfm2ShortConv(nn.Module):
    def __init__(self, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.L_cache = L_CACHE
        self.bias = False  # conv_bias
        self.conv = nn.Conv1d(D, D, kernel_size=L_CACHE, groups=D, bias=self.bias, padding=L_CACHE - 1)
        self.in_proj = nn.Linear(D, 3 * D, bias=self.bias)
        self.out_proj = nn.Linear(D, D, bias=self.bias)

    def slow_forward(self, x, past_key_values=None, cache_position=None):
        """transformers' Lfm2ShortConv.slow_forward (batch 1: apply_mask_to_padding_states does nothing)."""
        seqlen = x.shape[1]
        BCx = self.in_proj(x).transpose(-1, -2)
        B, C, x = BCx.chunk(3, dim=-2)
        Bx = B * x
        if past_key_values is not None and cache_position[0] > 0:
            conv_state = past_key_values.conv_cache[self.layer_idx]
            cache_position = cache_position.clamp(0, self.L_cache - 1)
            conv_state = conv_state.roll(shifts=-1, dims=-1)
            conv_state[:, :, cache_position] = Bx.to(dtype=conv_state.dtype)
            past_key_values.conv_cache[self.layer_idx].copy_(conv_state)
            conv_out = torch.sum(conv_state * self.conv.weight[:, 0, :], dim=-1)
            if self.bias:
                conv_out += self.conv.bias
            conv_out = conv_out.unsqueeze(-1)
        else:
            if past_key_values is not None:
                conv_state = F.pad(Bx, (self.L_cache - Bx.shape[-1], 0))
                past_key_values.conv_cache[self.layer_idx].copy_(conv_state)
            conv_out = self.conv(Bx)[..., :seqlen]
        y = C * conv_out
        return self.out_proj(y.transpose(-1, -2).contiguous())

    def forward(self, x, past):
        """The graph's form: past [b, hidden, L_cache] (zeros at the first step) → (output, present)."""
        B, C, x = self.in_proj(x).transpose(-1, -2).chunk(3, dim=-2)
        states = torch.cat([past, B * x], dim=-1)  # [b, hidden, L_cache + seq]
        conv_out = F.conv1d(states[..., 1:], self.conv.weight, self.conv.bias, groups=D)  # [b, hidden, seq]
        y = C * conv_out
        return self.out_proj(y.transpose(-1, -2)), states[..., -self.L_cache:]


class Lfm2Attention(nn.Module):
    def __init__(self, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.scaling = HD ** -0.5
        self.q_proj = nn.Linear(D, H * HD, bias=False)
        self.k_proj = nn.Linear(D, KVH * HD, bias=False)
        self.v_proj = nn.Linear(D, KVH * HD, bias=False)
        self.out_proj = nn.Linear(H * HD, D, bias=False)
        self.q_layernorm = Lfm2RMSNorm(HD)
        self.k_layernorm = Lfm2RMSNorm(HD)

    def forward(self, x, cos, sin, mask, past):
        """transformers' Lfm2Attention with eager_attention_forward; past: (key, value) before this step, or None →
        (output, (key, value) after it)."""
        b, s, _ = x.shape
        q = self.q_layernorm(self.q_proj(x).view(b, s, H, HD)).transpose(1, 2)
        k = self.k_layernorm(self.k_proj(x).view(b, s, KVH, HD)).transpose(1, 2)
        v = self.v_proj(x).view(b, s, KVH, HD).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        rep = H // KVH  # repeat_kv
        kr = k[:, :, None].expand(b, KVH, rep, k.shape[2], HD).reshape(b, H, k.shape[2], HD)
        vr = v[:, :, None].expand(b, KVH, rep, v.shape[2], HD).reshape(b, H, v.shape[2], HD)
        att = torch.softmax(torch.matmul(q, kr.transpose(2, 3)) * self.scaling + mask, dim=-1)
        out = torch.matmul(att, vr).transpose(1, 2).reshape(b, s, H * HD)
        return self.out_proj(out), (k, v)


class Lfm2DecoderLayer(nn.Module):
    def __init__(self, layer_idx):
        super().__init__()
        self.is_attention_layer = LAYER_TYPES[layer_idx] == "full_attention"
        if self.is_attention_layer:
            self.self_attn = Lfm2Attention(layer_idx)
        else:
            self.conv = Lfm2ShortConv(layer_idx)
        self.feed_forward = Lfm2MLP()
        self.operator_norm = Lfm2RMSNorm(D)
        self.ffn_norm = Lfm2RMSNorm(D)


class Lfm2Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, D, PAD)
        self.layers = nn.ModuleList([Lfm2DecoderLayer(i) for i in range(len(LAYER_TYPES))])
        self.register_buffer("inv_freq", 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD)),
                             persistent=False)  # Lfm2RotaryEmbedding (pos_emb), default rope
        self.embedding_norm = Lfm2RMSNorm(D)

    def rotary(self, position_ids):
        freqs = position_ids[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def logits(self, hidden):
        return hidden @ self.embed_tokens.weight.T  # the tied lm_head

    def hf_forward(self, inputs_embeds, cache, cache_position):
        """transformers' Lfm2Model.forward + lm_head for batch 1 (no padding), the cache an HybridConvCache: conv
        layers through slow_forward, attention layers' keys and values appended; eager causal attention."""
        cos, sin = self.rotary(cache_position[None])
        total = int(cache_position[-1]) + 1
        allowed = torch.arange(total)[None, :] <= cache_position[:, None]
        mask = (~allowed).float()[None, None] * torch.finfo(torch.float32).min
        x = inputs_embeds
        for i, layer in enumerate(self.layers):
            h = layer.operator_norm(x)
            if layer.is_attention_layer:
                past = None if cache.key_cache[i] is None else (cache.key_cache[i], cache.value_cache[i])
                h, (cache.key_cache[i], cache.value_cache[i]) = layer.self_attn(h, cos, sin, mask, past)
            else:
                h = layer.conv.slow_forward(h, cache, cache_position)
            x = x + h
            x = x + layer.feed_forward(layer.ffn_norm(x))
        return self.logits(self.embedding_norm(x))


class HybridConvCache:
    """transformers' Lfm2HybridConvCache for batch 1: a zero conv state [1, hidden, L_cache] per layer, keys and
    values appended."""

    def __init__(self):
        self.conv_cache = [torch.zeros(1, D, L_CACHE) for _ in LAYER_TYPES]
        self.key_cache = [None] * len(LAYER_TYPES)
        self.value_cache = [None] * len(LAYER_TYPES)


class Lfm2VlModel(nn.Module):
    """transformers' Lfm2VlModel's modules and names (its lm_head is the tied embedding)."""

    def __init__(self):
        super().__init__()
        self.vision_tower = Siglip2VisionModel()
        self.multi_modal_projector = Lfm2VlMultiModalProjector()
        self.language_model = Lfm2Model()

    def image_features(self, pixel_values, pixel_attention_mask, spatial_shapes):
        """get_image_features as one batched computation (the vision graph): each tile's first rows · cols features,
        2 × 2 neighbourhoods side by side (pixel_unshuffle's order: row offset, then column offset), projected, the
        tiles' tokens one after another."""
        b, n = pixel_values.shape[:2]
        x = self.vision_tower.vision_model(pixel_values, pixel_attention_mask, spatial_shapes)
        f = DOWNSAMPLE
        h, w = spatial_shapes[:, 0:1], spatial_shapes[:, 1:2]
        t = torch.arange(n)[None, :]  # a tile's output tokens (at most n / f², the rest discarded)
        cols = w // f
        valid = t < (h // f) * cols
        r2, c2 = t // cols, t % cols
        di, dj = torch.arange(f * f) // f, torch.arange(f * f) % f  # the row and column offsets in a window
        src = (f * r2[..., None] + di) * w[..., None] + f * c2[..., None] + dj  # [tiles, n, f²]
        src = torch.where(valid[..., None], src, torch.zeros_like(src))
        g = torch.gather(x, 1, src.reshape(b, n * f * f)[..., None].expand(-1, -1, E)).reshape(b, n, f * f * E)
        out = self.multi_modal_projector.project(g).reshape(b * n, D)
        # The valid tokens, tile after tile (index arithmetic and a Range, no NonZero): output token o is token
        # o - start of the tile whose [start, end) holds it.
        counts = ((h // f) * cols).reshape(-1)
        ends = torch.cumsum(counts, 0)
        o = torch.arange(ends[-1])
        tile = (o[:, None] >= ends[None, :]).long().sum(1)
        return out.index_select(0, tile * n + o - (ends - counts)[tile])


class VisionEncoder(nn.Module):
    """onnx/vision_encoder.onnx: pixel_values, pixel_attention_mask, spatial_shapes → image_features."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values, pixel_attention_mask, spatial_shapes):
        return self.model.image_features(pixel_values, pixel_attention_mask, spatial_shapes)


class Decoder(nn.Module):
    """onnx/decoder_model_merged.onnx: one graph for every step (zero conv states and no past at the first)."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, inputs_embeds, attention_mask, position_ids, *rest):
        *past, num_logits_to_keep = rest
        lm = self.lm
        s, total = inputs_embeds.shape[1], attention_mask.shape[1]
        i = torch.arange(s)[:, None] + (total - s)
        j = torch.arange(total)[None, :]
        allowed = (j <= i)[None, None] & attention_mask[:, None, None, :].bool()
        mask = (~allowed).to(torch.float32) * torch.finfo(torch.float32).min
        cos, sin = lm.rotary(position_ids)
        x, presents, k = inputs_embeds, [], 0
        for layer in lm.layers:
            h = layer.operator_norm(x)
            if layer.is_attention_layer:
                h, kv = layer.self_attn(h, cos, sin, mask, (past[k], past[k + 1]))
                presents += kv
                k += 2
            else:
                h, state = layer.conv(h, past[k])
                presents.append(state)
                k += 1
            x = x + h
            x = x + layer.feed_forward(layer.ffn_norm(x))
        x = lm.embedding_norm(x)
        # num_logits_to_keep: the last that many positions (0: all), as transformers' logits_to_keep.
        start = torch.where(num_logits_to_keep > 0, torch.clamp(s - num_logits_to_keep, min=0),
                            torch.zeros_like(num_logits_to_keep))
        return (lm.logits(x.index_select(1, torch.arange(start, s))), *presents)


def cache_names():
    """Decoder inputs and outputs after position_ids, as transformers.js' getCacheNames orders them."""
    past, present = [], []
    for i, t in enumerate(LAYER_TYPES):
        if t == "conv":
            past.append(f"past_conv.{i}")
            present.append(f"present_conv.{i}")
        else:
            past += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
            present += [f"present.{i}.key", f"present.{i}.value"]
    return past, present


def empty_past(batch=1):
    """The first step's cache: zero conv states, keys and values of 0 positions."""
    out = []
    for t in LAYER_TYPES:
        out += [torch.zeros(batch, D, L_CACHE)] if t == "conv" else [torch.zeros(batch, KVH, 0, HD)] * 2
    return out


# ================================================== the checks =====================================================

def transformers_resize_positional_embeddings(positional_embeddings, spatial_shapes, max_length):
    """transformers' Siglip2VisionEmbeddings.resize_positional_embeddings, transcribed (its loop over the tiles)."""
    batch_size = spatial_shapes.shape[0]
    embed_dim = positional_embeddings.shape[-1]
    out = torch.empty((batch_size, max_length, embed_dim))
    pe = positional_embeddings.permute(2, 0, 1).unsqueeze(0).to(torch.float32)
    for i in range(batch_size):
        height, width = (int(v) for v in spatial_shapes[i])
        resized = F.interpolate(pe, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
        resized = resized.reshape(embed_dim, height * width).transpose(0, 1)
        out[i, : height * width] = resized
        out[i, height * width:] = resized[0]
    return out


def transformers_image_features(model, pixel_values, spatial_shapes, pixel_attention_mask):
    """transformers' Lfm2VlModel.get_image_features, transcribed (the vision tower with the loop above, the loop over
    the tiles, pixel_unshuffle), concatenated as Lfm2VlModel.forward does."""
    vm = model.vision_tower.vision_model
    emb = vm.embeddings
    pos = emb.position_embedding.weight.reshape(GRID, GRID, -1)
    x = emb.patch_embedding(pixel_values) + transformers_resize_positional_embeddings(
        pos, spatial_shapes, pixel_values.shape[1])
    x = vm.post_layernorm(vm.encoder(x, additive_mask(pixel_attention_mask[:, None, None, :])))
    lengths = pixel_attention_mask.sum(dim=1)
    features = []
    for i in range(x.size(0)):
        feature = x[i][: lengths[i], :].unsqueeze(0)
        h, w = (int(v) for v in spatial_shapes[i])
        feature = feature.reshape(1, h, w, -1)
        features.append(model.multi_modal_projector(feature).reshape(-1, D))
    return torch.cat(features)


def state_dict_names():
    """transformers' Lfm2VlModel state dict for this config (pos_emb's inv_freq is not persistent)."""
    vision = ["embeddings.patch_embedding.weight", "embeddings.patch_embedding.bias",
              "embeddings.position_embedding.weight", "post_layernorm.weight", "post_layernorm.bias"] + [
        f"encoder.layers.{i}.{m}.{p}" for i in range(V_LAYERS)
        for m in ["layer_norm1", "layer_norm2", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                  "self_attn.out_proj", "mlp.fc1", "mlp.fc2"] for p in ("weight", "bias")]
    names = [f"vision_tower.vision_model.{n}" for n in vision]
    names += [f"multi_modal_projector.{m}.{p}" for m in ("layer_norm", "linear_1", "linear_2")
              for p in ("weight", "bias")]
    names += ["language_model.embed_tokens.weight", "language_model.embedding_norm.weight"]
    for i, t in enumerate(LAYER_TYPES):
        mods = (["conv.conv", "conv.in_proj", "conv.out_proj"] if t == "conv" else
                ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                 "self_attn.q_layernorm", "self_attn.k_layernorm"])
        mods += ["feed_forward.w1", "feed_forward.w2", "feed_forward.w3", "operator_norm", "ffn_norm"]
        names += [f"language_model.layers.{i}.{m}.weight" for m in mods]
    return names


def check_resampling(model, shapes):
    """The in-graph antialiased resampling against F.interpolate, for grids of 2 … 5 to 1 … 9 rows and columns; for
    the test tiles' shapes (which upsample the grid): antialias changes nothing, and the embeddings equal
    transformers' loop."""
    torch.manual_seed(3)
    for side in range(2, 6):
        grid = torch.randn(1, 5, side, side)
        for h, w in itertools.product(range(1, 10), repeat=2):
            theirs = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
            r = torch.arange(h).float()[:, None].expand(h, w)
            c = torch.arange(w).float()[None, :].expand(h, w)
            wr = aa_weights(r, torch.tensor(float(h)), side)
            wc = aa_weights(c, torch.tensor(float(w)), side)
            ours = torch.einsum("hwa,hwb,eab->ehw", wr, wc, grid[0])
            assert torch.allclose(ours, theirs, atol=1e-6, rtol=0), (side, h, w)
    emb = model.vision_tower.vision_model.embeddings
    pe = emb.position_embedding.weight.reshape(GRID, GRID, -1)
    for h, w in shapes:
        assert h >= GRID and w >= GRID, (h, w)  # only upsampling
        grid = pe.permute(2, 0, 1)[None]
        aa = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        plain = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
        assert torch.allclose(aa, plain, atol=1e-6, rtol=0), (h, w)
    spatial = torch.tensor(shapes)
    n = MAX_NUM_PATCHES
    ours = emb.positions(spatial, n)
    theirs = transformers_resize_positional_embeddings(pe, spatial, n)
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0), "resize_positional_embeddings"


def check_conv(lm):
    """The graph's conv step against slow_forward with an HybridConvCache: prefill of 2, 3 and 6 tokens (at least
    L_cache - 1), then 4 decode steps; outputs and states equal."""
    torch.manual_seed(5)
    conv = lm.layers[0].conv
    for n in (L_CACHE - 1, L_CACHE, 6):
        xs = torch.randn(1, n + 4, D)
        cache = HybridConvCache()
        theirs = [conv.slow_forward(xs[:, :n], cache, torch.arange(n))]
        ours, state = conv(xs[:, :n], torch.zeros(1, D, L_CACHE))
        ours = [ours]
        assert torch.allclose(state, cache.conv_cache[0], atol=1e-6), ("prefill state", n)
        for t in range(n, n + 4):
            theirs.append(conv.slow_forward(xs[:, t:t + 1], cache, torch.tensor([t])))
            y, state = conv(xs[:, t:t + 1], state)
            ours.append(y)
            assert torch.allclose(state, cache.conv_cache[0], atol=1e-6), ("state", n, t)
        assert torch.allclose(torch.cat(ours, 1), torch.cat(theirs, 1), atol=1e-5), ("conv", n)
        # And the whole sequence at once (no cache) agrees with the steps.
        whole, _ = conv(xs, torch.zeros(1, D, L_CACHE))
        assert torch.allclose(whole, torch.cat(ours, 1), atol=1e-5), ("whole", n)


# ================================================= generation =====================================================

def embeds_for(model, ids, features):
    """inputs_embeds with the <image> positions replaced by the image features in order (masked_scatter)."""
    emb = model.language_model.embed_tokens(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == IMAGE] = features
    return emb


def greedy_transformers(model, emb, steps=STEPS):
    """Greedy tokens with transformers' semantics (prefill, then one token a step with the HybridConvCache), and
    each step's last logits."""
    lm = model.language_model
    cache = HybridConvCache()
    n = emb.shape[1]
    logits = lm.hf_forward(emb, cache, torch.arange(n))
    tokens, rows = [], []
    for t in range(steps):
        rows.append(logits[0, -1])
        tok = int(logits[0, -1].argmax())
        if tok in STOP:
            break
        tokens.append(tok)
        logits = lm.hf_forward(lm.embed_tokens(torch.tensor([[tok]])), cache, torch.tensor([n + t]))
    return tokens, rows


def greedy_graph(model, emb, steps=STEPS):
    """The same through the exported decoder's module, fed as transformers.js feeds it: zero states and no past at
    the first step, the presents after; num_logits_to_keep 1."""
    dec = Decoder(model.language_model)
    n = emb.shape[1]
    past = empty_past()
    one = torch.tensor(1)
    out = dec(emb, torch.ones(1, n, dtype=torch.int64), torch.arange(n)[None], *past, one)
    tokens, rows = [], []
    for t in range(steps):
        logits, past = out[0], list(out[1:])
        rows.append(logits[0, -1])
        tok = int(logits[0, -1].argmax())
        if tok in STOP:
            break
        tokens.append(tok)
        out = dec(model.language_model.embed_tokens(torch.tensor([[tok]])),
                  torch.ones(1, n + t + 1, dtype=torch.int64), torch.tensor([[n + t]]), *past, one)
    return tokens, rows


def answer(model, ids, features):
    tokens, rows = greedy_transformers(model, embeds_for(model, ids, features))
    g_tokens, g_rows = greedy_graph(model, embeds_for(model, ids, features))
    blind, _ = greedy_transformers(model, embeds_for(model, ids, torch.zeros_like(features)))
    assert blind != tokens, "the answer does not depend on the image"
    assert g_tokens == tokens, (tokens, g_tokens)
    for a, b in zip(rows, g_rows):
        assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
        top = a.topk(2).values
        assert top[0] - top[1] >= MARGIN, ("margin", float(top[0] - top[1]))
    return tokens, g_tokens, rows


def reply_text(tokens):
    """An answer as the chat puts it back: its words, without special tokens or line breaks."""
    return " ".join(VOCAB[t] for t in tokens if t > ID[NEWLINE])


# ================================================== the folder =====================================================

def write_folder():
    def dump(name, obj):
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    text_config = {
        "model_type": "lfm2", "vocab_size": V, "hidden_size": D, "intermediate_size": FF, "block_ff_dim": FF,
        "block_auto_adjust_ff_dim": False, "block_ffn_dim_multiplier": 1.0, "block_multiple_of": 256,
        "num_hidden_layers": len(LAYER_TYPES), "num_attention_heads": H, "num_key_value_heads": KVH,
        "max_position_embeddings": MAX_POSITIONS, "norm_eps": NORM_EPS, "rope_theta": THETA,
        "conv_L_cache": L_CACHE, "conv_bias": False, "layer_types": LAYER_TYPES,
        "full_attn_idxs": [i for i, t in enumerate(LAYER_TYPES) if t == "full_attention"],
        "tie_word_embeddings": True, "tie_embedding": True, "use_cache": True, "initializer_range": 0.02,
        "bos_token_id": BOS, "eos_token_id": IM_END, "pad_token_id": PAD,
    }
    dump("config.json", {
        "architectures": ["Lfm2VlForConditionalGeneration"], "model_type": "lfm2_vl", "image_token_id": IMAGE,
        "downsample_factor": DOWNSAMPLE, "projector_hidden_act": "gelu", "projector_hidden_size": PROJ,
        "projector_bias": True, "projector_use_layernorm": True, "vision_feature_layer": -1,
        "min_image_tokens": MIN_IMAGE_TOKENS, "max_image_tokens": MAX_IMAGE_TOKENS, "encoder_patch_size": PATCH,
        "use_image_special_tokens": True, "do_image_splitting": True, "min_tiles": MIN_TILES, "max_tiles": MAX_TILES,
        "tile_size": TILE, "max_pixels_tolerance": TOLERANCE, "use_thumbnail": True, "tie_word_embeddings": True,
        "text_config": text_config,
        "vision_config": {
            "model_type": "siglip2_vision_model", "hidden_size": E, "intermediate_size": V_FF,
            "num_hidden_layers": V_LAYERS, "num_attention_heads": V_HEADS, "num_channels": 3, "patch_size": PATCH,
            "num_patches": GRID * GRID, "layer_norm_eps": VISION.layer_norm_eps, "hidden_act": "gelu_pytorch_tanh",
            "attention_dropout": 0.0, "vision_use_head": False,
        },
    })
    dump("generation_config.json", {"bos_token_id": BOS, "eos_token_id": IM_END, "pad_token_id": PAD})
    dump("preprocessor_config.json", PREPROCESSOR)
    dump("processor_config.json", {"processor_class": "Lfm2VlProcessor", "use_image_special_tokens": True,
                                   "image_token": "<image>", "image_start_token": "<|image_start|>",
                                   "image_end_token": "<|image_end|>", "image_thumbnail": "<|img_thumbnail|>"})
    with open(os.path.join(OUT, "chat_template.jinja"), "w") as fh:
        fh.write(CHAT_TEMPLATE)
    dump("tokenizer.json", word_tokenizer(ID, [(t, True) for t in SPECIALS] + [(NEWLINE, False)]))
    dump("tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "bos_token": "<|startoftext|>", "eos_token": "<|im_end|>",
        "pad_token": "<|pad|>", "unk_token": "<unk>", "image_token": "<image>",
        "image_start_token": "<|image_start|>", "image_end_token": "<|image_end|>",
        "image_thumbnail": "<|img_thumbnail|>", "processor_class": "Lfm2VlProcessor", "chat_template": CHAT_TEMPLATE,
    })


def export(model):
    folder = os.path.join(OUT, "onnx")
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        # The vision graph traced on a padded batch of tiles of two shapes.
        tiles = [(torch.randn(16, 3 * PATCH * PATCH), [4, 4]), (torch.randn(40, 3 * PATCH * PATCH), [4, 10])]
        pixels, mask, spatial = pad_batch(tiles)
        tiles_axes = {0: "num_tiles", 1: "num_patches"}
        onnxutil.export(VisionEncoder(model), (pixels, mask, spatial), os.path.join(folder, "vision_encoder.onnx"),
                        ["pixel_values", "pixel_attention_mask", "spatial_shapes"], ["image_features"],
                        {"pixel_values": tiles_axes, "pixel_attention_mask": tiles_axes,
                         "spatial_shapes": {0: "num_tiles"}, "image_features": {0: "num_image_tokens"}},
                        {"image_features": ["num_image_tokens", D]})
        holder = nn.Module()
        holder.embed = model.language_model.embed_tokens
        seq = {0: "batch_size", 1: "sequence_length"}
        onnxutil.export(Embed(holder), (torch.tensor([[1, 2]]),), os.path.join(folder, "embed_tokens.onnx"),
                        ["input_ids"], ["inputs_embeds"], {"input_ids": seq, "inputs_embeds": seq},
                        {"inputs_embeds": ["batch_size", "sequence_length", D]})
        # The decoder traced on a cached step (3 new positions after 4), exported with those sizes dynamic.
        past_names, present_names = cache_names()
        past = []
        for t in LAYER_TYPES:
            past += [torch.randn(1, D, L_CACHE)] if t == "conv" else [torch.randn(1, KVH, 4, HD) for _ in "kv"]
        axes = {"inputs_embeds": seq, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
                "position_ids": seq, "logits": {0: "batch_size", 1: "num_logits"}}
        shapes = {"logits": ["batch_size", "num_logits", V]}
        for p, q in zip(past_names, present_names):
            if "conv" in p:
                axes[p] = axes[q] = {0: "batch_size"}
                shapes[q] = ["batch_size", D, L_CACHE]
            else:
                axes[p] = {0: "batch_size", 2: "past_sequence_length"}
                axes[q] = {0: "batch_size", 2: "total_sequence_length"}
                shapes[q] = ["batch_size", KVH, "total_sequence_length", HD]
        onnxutil.export(Decoder(model.language_model),
                        (torch.randn(1, 3, D), torch.ones(1, 7, dtype=torch.int64), torch.arange(4, 7)[None], *past,
                         torch.tensor(2)),
                        os.path.join(folder, "decoder_model_merged.onnx"),
                        ["inputs_embeds", "attention_mask", "position_ids", *past_names, "num_logits_to_keep"],
                        ["logits", *present_names], axes, shapes)
    for name in ("vision_encoder", "embed_tokens", "decoder_model_merged"):
        onnx.checker.check_model(onnx.load(os.path.join(folder, f"{name}.onnx")))


def build_model():
    torch.manual_seed(120)
    model = Lfm2VlModel().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("language_model.layers.") and name.endswith(
                    ("proj.weight", "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight")):
                p.mul_(SPREAD)
            elif name.endswith(("q_layernorm.weight", "k_layernorm.weight")):
                p.mul_(QK_SPREAD)
            elif name.startswith("multi_modal_projector.linear"):
                p.mul_(SPREAD)
            elif "layer_norm" in name or "post_layernorm" in name:  # LayerNorms not at their identity init
                p.add_(0.1 * torch.randn_like(p))
        model.vision_tower.vision_model.embeddings.position_embedding.weight.mul_(0.5)
    return model


def test_images():
    from make_preprocess_fixture import smooth_image

    rng = np.random.default_rng(11)
    out = []
    for h, w in ((13, 30), (30, 86)):
        rgba = (0.6 * smooth_image(h, w) + 0.4 * rng.integers(0, 256, (h, w, 4))).astype(np.uint8)
        rgba[..., 3] = 255  # opaque
        out.append(rgba)
    return out


def main():
    model = build_model()
    assert sorted(model.state_dict()) == sorted(state_dict_names()), sorted(model.state_dict())
    small, large = test_images()
    processed = [process_image(small), process_image(large)]
    shapes = [s for p in processed for _, s in p["tiles"]]
    with torch.no_grad():
        check_resampling(model, shapes)
        check_conv(model.language_model)
        images = []
        for rgba, p in zip((small, large), processed):
            pixels, mask, spatial = pad_batch(p["tiles"])
            batch = model.image_features(pixels, mask, spatial)
            theirs = transformers_image_features(model, pixels, spatial, mask)
            assert batch.shape == theirs.shape and torch.allclose(batch, theirs, atol=1e-5), "get_image_features"
            per_tile = [model.image_features(t[None], torch.ones(1, t.shape[0], dtype=torch.int64),
                                             torch.tensor([s])) for t, s in p["tiles"]]
            assert torch.allclose(torch.cat(per_tile), batch, atol=1e-5), "a tile alone"
            counts = [f.shape[0] for f in per_tile]
            expected = ([tokens_per_tile()] * (len(counts) - 1) + [tokens_for_image(p["resized"])]
                        if p["grid"] else [tokens_for_image(p["resized"])])
            assert counts == expected, (counts, expected)
            images.append({
                "width": int(rgba.shape[1]), "height": int(rgba.shape[0]), "rgba": rgba.flatten().tolist(),
                "resized": p["resized"], **(p["grid"] or {"grid_width": 1, "grid_height": 1}), "split": bool(p["grid"]),
                "rows": p["rows"], "cols": p["cols"],
                "tokens_per_tile": tokens_per_tile(), "tokens_for_image": tokens_for_image(p["resized"]),
                "image_tokens": sum(counts), "image_prompt": image_prompt(p),
                "tiles": [{"spatial_shape": s, "pixel_values": {"dims": list(t.shape), "data": t.flatten().tolist()},
                           "image_features": {"dims": list(f.shape), "data": f.flatten().tolist()}}
                          for (t, s), f in zip(p["tiles"], per_tile)],
            })
            images[-1]["_features"] = torch.cat(per_tile)

        q1, q2, q3 = "w3 w10 w7", "w5 w6", "w12 w4 w9 w20"
        text1 = chat_text([(q1, None)])
        ids1 = tokenize(text1, processed[0])
        turn1, graph1, rows1 = answer(model, ids1, images[0]["_features"])
        text2 = chat_text([(q1, reply_text(turn1)), (q2, None)])
        ids2 = tokenize(text2, processed[0])
        turn2, graph2, _ = answer(model, ids2, images[0]["_features"])
        text3 = chat_text([(q3, None)])
        ids3 = tokenize(text3, processed[1])
        turn3, graph3, rows3 = answer(model, ids3, images[1]["_features"])
        assert all(len(set(a)) > 4 for a in (turn1, turn2, turn3)), (turn1, turn2, turn3)  # answers that wander

    os.makedirs(OUT, exist_ok=True)
    write_folder()
    export(model)
    for im in images:
        del im["_features"]
    ref = {
        "config": {"vocab": V, "hidden": D, "heads": H, "kv_heads": KVH, "head_dim": HD, "layer_types": LAYER_TYPES,
                   "conv_L_cache": L_CACHE, "image_token_id": IMAGE, "max_num_patches": MAX_NUM_PATCHES},
        "images": {"small": images[0], "large": images[1]},
        "chat": {"questions": [q1, q2], "texts": [text1, text2], "prompt_ids": [ids1, ids2],
                 "position_ids": [list(range(len(ids1))), list(range(len(ids2)))], "answers": [turn1, turn2],
                 "graph_answers": [graph1, graph2], "step_logits": [r.tolist() for r in rows1[:3]]},
        "large": {"question": q3, "text": text3, "prompt_ids": ids3, "position_ids": list(range(len(ids3))),
                  "answer": turn3, "graph_answer": graph3, "step_logits": [r.tolist() for r in rows3[:3]]},
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    for name, im in ref["images"].items():
        print(f"{name}: {im['width']} × {im['height']} → resized {im['resized']}, grid {im['grid_width']} wide × "
              f"{im['grid_height']} high (rows {im['rows']}, cols {im['cols']}), tiles "
              f"{[t['spatial_shape'] for t in im['tiles']]}, {im['image_tokens']} image tokens")
    print(f"wrote {OUT} ({size // 1024} KiB): prompts of {len(ids1)}, {len(ids2)} and {len(ids3)} positions; answers "
          f"{turn1}, {turn2}; large {turn3}")


if __name__ == "__main__":
    main()
