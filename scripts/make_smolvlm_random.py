#!/usr/bin/env python3
"""A random-weight SmolVLM (Idefics3) folder in transformers.js' layout, for the ask pipeline's tests:

- onnx/vision_encoder.onnx: pixel_values [batch, images, 3, H, W] and pixel_attention_mask [batch, images, H, W]
  → image_features [images, tokens, text width]. Idefics3's vision transformer (SigLIP-style, with the NaViT
  position ids that the pixel mask steers) and its connector (pixel shuffle by scale_factor, then a projection).
  State-dict names and shapes are transformers' Idefics3Model's (model.vision_model.*, model.connector.*).
- onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx: a LLaMA-style language model (scripts/llama_lm.py).
- config.json (model_type idefics3, image_token_id, scale_factor), preprocessor_config.json (Idefics3's processor:
  longest edge 64, tiles of 32, LANCZOS), processor_config.json (image_seq_len), chat_template.json (SmolVLM's
  template, whose messages hold content parts), generation_config.json (two end tokens), and a word-level
  tokenizer with Idefics3's special tokens.

reference.json holds PyTorch's answers to a two-turn chat about an image that the processor upsizes and splits into
2 × 2 tiles plus the global one: the pixel values Pillow made (transformers' Pillow backend, re-stated as in
tests/runtime/fixtures/make_preprocess_fixture.py), the prompt ids, and the greedy tokens of each turn.

  /usr/bin/python3 scripts/make_smolvlm_random.py     # writes tests/corpus/smolvlm-random/
"""
import json
import os
import re
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime", "fixtures"))
import onnxutil  # noqa: E402
from hf_modules import Cfg, EncoderLayer, additive_mask  # noqa: E402
from llama_lm import LM, LmConfig  # noqa: E402
from make_llava_random import export_language_model, spread, word_ids, word_tokenizer  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "smolvlm-random")
LONGEST, TILE, PATCH, SCALE = 64, 32, 8, 2
SEQ = (TILE // PATCH) ** 2 // SCALE ** 2  # image features per tile
V_HIDDEN, V_HEADS, V_LAYERS, V_FF = 32, 4, 2, 64
D, L, H, KVH, FF = 32, 2, 4, 2, 88
MAX_POSITIONS = 128
SPREAD = 4.0

SPECIALS = ["<|endoftext|>", "<unk>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
            "<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 4) for c in range(1, 4)]
# A line break is a token of its own, as in SmolVLM's byte-level BPE, so the prompt's layout shows in its ids.
NEWLINE = "\n"
WORDS = ["user", "assistant", ":"] + [f"w{i}" for i in range(80)]
VOCAB = SPECIALS + [NEWLINE] + WORDS
V = len(VOCAB)
ID = {w: i for i, w in enumerate(VOCAB)}
EOS, END_OF_UTTERANCE, IMAGE = ID["<|endoftext|>"], ID["<end_of_utterance>"], ID["<image>"]
# SmolVLM-256M-Instruct's template: content parts, the image where its part is.
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] =="
    " 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}"
    "{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
PREPROCESSOR = {
    "image_processor_type": "Idefics3ImageProcessor", "processor_class": "Idefics3Processor", "do_convert_rgb": True,
    "do_resize": True, "size": {"longest_edge": LONGEST}, "max_image_size": {"longest_edge": TILE}, "resample": 1,
    "do_image_splitting": True, "do_pad": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
}
VISION = Cfg({"hidden_size": V_HIDDEN, "num_attention_heads": V_HEADS, "num_hidden_layers": V_LAYERS,
              "intermediate_size": V_FF, "image_size": TILE, "patch_size": PATCH, "hidden_act": "gelu_pytorch_tanh",
              "layer_norm_eps": 1e-6})


class Idefics3VisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.patch_size = c.patch_size
        self.patch_embedding = nn.Conv2d(3, c.hidden_size, c.patch_size, c.patch_size)
        self.num_patches_per_side = c.image_size // c.patch_size
        self.position_embedding = nn.Embedding(self.num_patches_per_side ** 2, c.hidden_size)

    def forward(self, pixel_values, patch_attention_mask):
        # transformers' position ids (fractional coordinates of the unmasked patches, bucketized against the
        # trained grid), written with tensor ops instead of its per-image Python loop, so that it exports.
        b, _, h, w = pixel_values.shape
        side = self.num_patches_per_side
        embeddings = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        boundaries = torch.arange(1, side, dtype=torch.float32) / side
        rows = patch_attention_mask[:, :, 0].sum(1, keepdim=True).float()  # [b, 1]
        cols = patch_attention_mask[:, 0, :].sum(1, keepdim=True).float()
        frac_h = torch.arange(h // self.patch_size, dtype=torch.float32)[None] / rows
        frac_w = torch.arange(w // self.patch_size, dtype=torch.float32)[None] / cols
        bucket_h = (frac_h[..., None] >= boundaries).sum(-1)
        bucket_w = (frac_w[..., None] >= boundaries).sum(-1)
        ids = (bucket_h[:, :, None] * side + bucket_w[:, None, :]).flatten(1)
        ids = torch.where(patch_attention_mask.flatten(1), ids, torch.zeros_like(ids))
        return embeddings + self.position_embedding(ids)


class Idefics3Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, mask):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class Idefics3VisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Idefics3VisionEmbeddings(c)
        self.encoder = Idefics3Encoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values, patch_attention_mask):
        x = self.embeddings(pixel_values, patch_attention_mask)
        keep = patch_attention_mask.flatten(1)
        return self.post_layernorm(self.encoder(x, additive_mask(keep[:, None, None, :])))


class Idefics3SimpleMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Linear(c.hidden_size * SCALE ** 2, D, bias=False)

    def forward(self, x):
        return self.proj(x)


class Idefics3Connector(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.scale_factor = SCALE
        self.modality_projection = Idefics3SimpleMLP(c)

    def pixel_shuffle(self, x):
        # transformers' Idefics3Connector.pixel_shuffle, step for step.
        bsz, seq, embed_dim = x.size()
        s = self.scale_factor
        height = width = int(seq ** 0.5)
        x = x.view(bsz, height, width, embed_dim)
        x = x.view(bsz, height, int(width / s), embed_dim * s)
        x = x.permute(0, 2, 1, 3)
        x = x.reshape(bsz, int(width / s), int(height / s), embed_dim * (s ** 2))
        x = x.permute(0, 2, 1, 3)
        return x.reshape(bsz, int(seq / (s ** 2)), embed_dim * (s ** 2))

    def forward(self, x):
        return self.modality_projection(self.pixel_shuffle(x))


class Idefics3Model(nn.Module):
    """The vision half of transformers' Idefics3Model (its text_model is llama_lm's LM), and get_image_features."""

    def __init__(self):
        super().__init__()
        self.vision_model = Idefics3VisionTransformer(VISION)
        self.connector = Idefics3Connector(VISION)

    def forward(self, pixel_values, pixel_attention_mask):
        b, n = pixel_values.shape[:2]
        pixels = pixel_values.reshape(b * n, *pixel_values.shape[2:])
        mask = pixel_attention_mask.reshape(b * n, *pixel_attention_mask.shape[2:])
        # A patch is kept if any of its pixels is (transformers unfolds the mask; this is the same sum).
        p = PATCH
        subgrid = mask.reshape(b * n, mask.shape[1] // p, p, mask.shape[2] // p, p)
        patch_mask = subgrid.sum(dim=(2, 4)) > 0
        return self.connector(self.vision_model(pixels, patch_mask))


class VisionEncoder(nn.Module):
    """transformers.js' vision_encoder.onnx: pixel_values and pixel_attention_mask → image_features."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values, pixel_attention_mask):
        return self.model(pixel_values, pixel_attention_mask)


def tokenize(text):
    """The word-level tokenizer of write_folder: special tokens (and line breaks) whole, then lower-cased words."""
    return word_ids(text, SPECIALS + [NEWLINE], ID)


def image_prompt(rows, cols):
    """Idefics3Processor's expansion of one <image>: a run per tile, each after its <row_r_col_c>, then the global."""
    run = "<image>" * SEQ
    text = "".join("".join(f"<fake_token_around_image><row_{r + 1}_col_{c + 1}>{run}" for c in range(cols)) + "\n"
                   for r in range(rows))
    return text + f"\n<fake_token_around_image><global-img>{run}<fake_token_around_image>"


def chat_text(turns, rows, cols):
    """The chat template rendered for [(question, answer or None), …], the image in the first user message."""
    text = "<|im_start|>"
    for k, (question, reply) in enumerate(turns):
        text += ("User:" + image_prompt(rows, cols) if k == 0 else "User: ") + question + "<end_of_utterance>\n"
        if reply is not None:
            text += "Assistant: " + reply + "<end_of_utterance>\n"
    return text + "Assistant:"


def answer(lm, vision, pixels, mask, ids, steps):
    """Greedy tokens for a prompt whose <image> embeddings are replaced by the tiles' features, in order."""
    emb = lm.embed(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == IMAGE] = vision(pixels, mask).reshape(-1, D)
    tokens = []
    for _ in range(steps):
        n = emb.shape[1]
        logits, _ = lm(emb, torch.ones(1, n, dtype=torch.int64), torch.arange(n)[None])
        tok = int(logits[0, -1].argmax())
        if tok in (EOS, END_OF_UTTERANCE):
            break
        tokens.append(tok)
        emb = torch.cat([emb, lm.embed(torch.tensor([[tok]]))], dim=1)
    return tokens


def write_folder():
    def dump(name, obj):
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    dump("config.json", {
        "architectures": ["Idefics3ForConditionalGeneration"], "model_type": "idefics3", "image_token_id": IMAGE,
        "scale_factor": SCALE,
        "text_config": {"model_type": "llama", "vocab_size": V, "hidden_size": D, "num_hidden_layers": L,
                        "num_attention_heads": H, "num_key_value_heads": KVH, "head_dim": D // H,
                        "intermediate_size": FF, "max_position_embeddings": MAX_POSITIONS, "bos_token_id": ID["<|im_start|>"],
                        "eos_token_id": EOS},
        "vision_config": {"model_type": "idefics3_vision", "hidden_size": V_HIDDEN, "num_attention_heads": V_HEADS,
                          "num_hidden_layers": V_LAYERS, "intermediate_size": V_FF, "image_size": TILE,
                          "patch_size": PATCH},
    })
    dump("generation_config.json", {"bos_token_id": ID["<|im_start|>"], "eos_token_id": [EOS, END_OF_UTTERANCE],
                                    "pad_token_id": EOS})
    dump("preprocessor_config.json", PREPROCESSOR)
    dump("processor_config.json", {"image_seq_len": SEQ, "processor_class": "Idefics3Processor"})
    dump("chat_template.json", {"chat_template": CHAT_TEMPLATE})
    dump("tokenizer.json", word_tokenizer(ID, [(t, True) for t in SPECIALS] + [(NEWLINE, False)]))
    dump("tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "pad_token": "<|endoftext|>", "unk_token": "<unk>",
        "bos_token": "<|im_start|>", "eos_token": "<end_of_utterance>", "processor_class": "Idefics3Processor",
    })


def main():
    from make_preprocess_fixture import idefics3, smooth_image  # Pillow's pixels, as transformers makes them

    torch.manual_seed(41)
    lm = LM(LmConfig(vocab=V, dim=D, layers=L, heads=H, kv_heads=KVH, ffn=FF)).eval()
    vision_model = Idefics3Model().eval()
    spread(lm)
    with torch.no_grad():
        for p in vision_model.connector.parameters():
            p.mul_(SPREAD)
    export_language_model(lm, OUT)
    with torch.no_grad():
        images = {0: "batch_size", 1: "num_images", 2: "height", 3: "width"}
        onnxutil.export(VisionEncoder(vision_model),
                        (torch.randn(1, 2, 3, TILE, TILE), torch.ones(1, 2, TILE, TILE, dtype=torch.bool)),
                        os.path.join(OUT, "onnx", "vision_encoder.onnx"), ["pixel_values", "pixel_attention_mask"],
                        ["image_features"],
                        {"pixel_values": {0: "batch_size", 1: "num_images", 3: "height", 4: "width"},
                         "pixel_attention_mask": images, "image_features": {0: "num_images"}})
        write_folder()

        rgba = np.random.default_rng(5).integers(0, 256, (29, 45, 4), dtype=np.uint8)
        rgba = (0.6 * smooth_image(29, 45) + 0.4 * rgba).astype(np.uint8)
        tiles, rows, cols = idefics3(rgba, PREPROCESSOR)
        pixels = torch.from_numpy(tiles)[None]
        mask = torch.ones(1, tiles.shape[0], TILE, TILE, dtype=torch.bool)
        # The features of one tile alone equal its features in the batch (the pipeline encodes tile by tile).
        alone = vision_model(pixels[:, :1], mask[:, :1])
        assert torch.allclose(alone[0], vision_model(pixels, mask)[0], atol=1e-6)
        q1, q2 = "w3 w10 w7", "w5 w6"
        ids1 = tokenize(chat_text([(q1, None)], rows, cols))
        turn1 = answer(lm, vision_model, pixels, mask, ids1, 6)
        # The answer's text as a chat puts it back: decoded without special tokens.
        reply1 = " ".join(VOCAB[t] for t in turn1 if t >= len(SPECIALS))
        ids2 = tokenize(chat_text([(q1, reply1), (q2, None)], rows, cols))
        turn2 = answer(lm, vision_model, pixels, mask, ids2, 6)
        features = vision_model(pixels, mask)
    ref = {
        "image": {"width": 45, "height": 29, "rgba": rgba.flatten().tolist()},
        "tiles": {"rows": rows, "cols": cols, "dims": list(tiles.shape), "data": tiles.flatten().tolist()},
        "image_features": {"dims": list(features.shape), "data": features.flatten().tolist()},
        "questions": [q1, q2],
        "prompt_ids": [ids1, ids2],
        "answers": [turn1, turn2],
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    print(f"wrote {OUT}: {tiles.shape[0]} tiles ({rows}×{cols} + global), prompts of {len(ids1)} and {len(ids2)} "
          f"positions; answers {turn1}, {turn2}")


if __name__ == "__main__":
    main()
