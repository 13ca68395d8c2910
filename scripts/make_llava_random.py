#!/usr/bin/env python3
"""A random-weight generative VLM folder in transformers.js' LLaVA layout, for the engine's and the ask pipeline's
tests: vision_encoder.onnx (pixel_values → image_features in the LM's width), embed_tokens.onnx (ids →
embeddings) and decoder_model_merged.onnx (inputs_embeds, attention_mask, position_ids, past key/values,
use_cache_branch → logits, present key/values; an If picks the first step or a cached one, as Optimum merges
them), with config.json, a word-level tokenizer and its chat template. The language model is LLaMA-style:
RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU, tied embeddings. reference.json holds
PyTorch's greedy tokens: for prompt embeddings fed directly, and for a two-turn chat about an image.

  /usr/bin/python3 scripts/make_llava_random.py     # writes tests/corpus/llava-random/
"""
import json
import os
import re
import sys

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import onnxutil  # noqa: E402
from llama_lm import LM, LmConfig, merged_decoder  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "llava-random")
V, D, L, H, KVH, FF = 96, 32, 2, 4, 2, 88
IMAGE_SIDE, PATCH = 16, 8  # 2×2 patches: four image features
N_IMAGE = (IMAGE_SIDE // PATCH) ** 2
MAX_POSITIONS = 64
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<image>", "<|user|>", "<|assistant|>"]
WORDS = [f"w{i}" for i in range(V - len(SPECIALS))]
VOCAB = SPECIALS + WORDS
ID = {w: i for i, w in enumerate(VOCAB)}
BOS, EOS, IMAGE, USER, ASSISTANT = ID["<s>"], ID["</s>"], ID["<image>"], ID["<|user|>"], ID["<|assistant|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}<|user|>"
    "{% if loop.first %} <image>{% endif %} {{ message['content'] }}{% else %}<|assistant|> "
    "{{ message['content'] }}</s>{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPREAD = 4.0
LM_CONFIG = LmConfig(vocab=V, dim=D, layers=L, heads=H, kv_heads=KVH, ffn=FF)
HD = LM_CONFIG.head_dim


class VisionEncoder(torch.nn.Module):
    """Patches → a linear projection into the LM's width (a stand-in for a ViT and its projector)."""

    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 24, PATCH, stride=PATCH)
        self.proj = torch.nn.Linear(24, D)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        return self.proj(torch.nn.functional.gelu(x))


class Embed(torch.nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm.embed(input_ids)


def greedy(lm, embeds, steps):
    """Greedy tokens with PyTorch's own KV cache, and the logits of every step."""
    s = embeds.shape[1]
    mask = torch.ones(1, s, dtype=torch.int64)
    logits, past = lm(embeds, mask, torch.arange(s)[None])
    tokens, rows = [], []
    for t in range(steps):
        rows.append(logits[0, -1])
        tok = int(logits[0, -1].argmax())
        tokens.append(tok)
        pos = s + t
        mask = torch.ones(1, pos + 1, dtype=torch.int64)
        logits, past = lm(lm.embed(torch.tensor([[tok]])), mask, torch.tensor([[pos]]), past)
    return tokens, rows


def chat_ids(turns):
    """The ids the chat template renders for [(question, answer or None), …] (one <image> per image feature)."""
    ids = [BOS]
    for k, (question, reply) in enumerate(turns):
        ids += [USER] + ([IMAGE] * N_IMAGE if k == 0 else []) + [ID[w] for w in question.split()]
        ids += [ASSISTANT]
        if reply is not None:
            ids += [ID[w] for w in reply.split()] + [EOS]
    return ids


def answer(lm, vision, pixels, ids, steps):
    """Greedy tokens for a prompt whose <image> embeddings are replaced by the image features (no cache)."""
    emb = lm.embed(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == IMAGE] = vision(pixels)[0]
    tokens = []
    for _ in range(steps):
        n = emb.shape[1]
        logits, _ = lm(emb, torch.ones(1, n, dtype=torch.int64), torch.arange(n)[None])
        tok = int(logits[0, -1].argmax())
        if tok == EOS:
            break
        tokens.append(tok)
        emb = torch.cat([emb, lm.embed(torch.tensor([[tok]]))], dim=1)
    return tokens


def word_ids(text, specials, ids):
    """What word_tokenizer's tokenizer.json makes of `text`: the `specials` whole, then lower-cased words and
    punctuation, each looked up in `ids`."""
    out = []
    for part in re.split("(" + "|".join(re.escape(s) for s in specials) + ")", text):
        if part in ids:
            out.append(ids[part])
        else:
            out += [ids[w] for w in re.findall(r"\w+|[^\w\s]", part.lower())]
    return out


def word_tokenizer(vocab, added):
    """A word-level tokenizer.json: lower-cased words and punctuation looked up in `vocab`, and the `added`
    (token, special) pairs matched whole first."""
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": special} for t, special in added],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def write_folder(lm_config):
    """config.json, generation, preprocessing and tokenizer files, as a llava folder has them."""
    def dump(name, obj):
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    dump("config.json", {
        "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
        "image_token_index": IMAGE, "image_seq_length": N_IMAGE,
        "text_config": {"model_type": "llama", "vocab_size": V, "hidden_size": D, "num_hidden_layers": L,
                        "num_attention_heads": H, "num_key_value_heads": KVH, "head_dim": HD,
                        "max_position_embeddings": MAX_POSITIONS, "bos_token_id": BOS, "eos_token_id": EOS},
        "vision_config": {"image_size": IMAGE_SIDE, "patch_size": PATCH},
    })
    dump("generation_config.json", {"bos_token_id": BOS, "eos_token_id": EOS, "max_new_tokens": 16})
    dump("preprocessor_config.json", {
        "do_resize": True, "size": {"height": IMAGE_SIDE, "width": IMAGE_SIDE}, "resample": 2, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
        "do_center_crop": False, "do_convert_rgb": True, "image_processor_type": "CLIPImageProcessor",
    })
    dump("tokenizer.json", word_tokenizer(ID, [(t, True) for t in SPECIALS]))
    dump("tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>",
        "eos_token": "</s>", "chat_template": CHAT_TEMPLATE,
    })


def spread(lm):
    """Larger than nn.Linear's default init, so greedy decoding wanders instead of repeating one token."""
    with torch.no_grad():
        for name, p in lm.named_parameters():
            if name.endswith(("q.weight", "k.weight", "v.weight", "o.weight", "up.weight", "gate.weight", "down.weight")):
                p.mul_(SPREAD)


def export_language_model(lm, folder, embed=None):
    """onnx/decoder_model_merged.onnx and onnx/embed_tokens.onnx of `lm` (its embedding, or the module `embed`), as
    transformers.js' layout has them."""
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    onnx.save(merged_decoder(lm), os.path.join(folder, "onnx", "decoder_model_merged.onnx"))
    with torch.no_grad():
        seq = {0: "batch_size", 1: "sequence_length"}
        onnxutil.export(embed or Embed(lm), (torch.tensor([[1, 2]]),), os.path.join(folder, "onnx", "embed_tokens.onnx"),
                        ["input_ids"], ["inputs_embeds"], {"input_ids": seq, "inputs_embeds": seq})


def main():
    torch.manual_seed(13)
    lm = LM(LM_CONFIG).eval()
    spread(lm)
    export_language_model(lm, OUT)
    with torch.no_grad():
        torch.manual_seed(17)
        vision = VisionEncoder().eval()
        onnxutil.export(vision, (torch.randn(1, 3, IMAGE_SIDE, IMAGE_SIDE),),
                        os.path.join(OUT, "onnx", "vision_encoder.onnx"), ["pixel_values"], ["image_features"],
                        {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}})
        write_folder(None)
        # The image: a fixed RGB pattern; pixel_values as the processor makes them (no resize at this size).
        rgb = (torch.arange(IMAGE_SIDE * IMAGE_SIDE * 3) * 37 % 256).reshape(IMAGE_SIDE, IMAGE_SIDE, 3)
        pixels = ((rgb.permute(2, 0, 1).float() / 255 - 0.5) / 0.5)[None]
        q1, q2 = "w3 w10 w7", "w5 w6"
        turn1 = answer(lm, vision, pixels, chat_ids([(q1, None)]), 6)
        reply1 = " ".join(VOCAB[t] for t in turn1)
        turn2 = answer(lm, vision, pixels, chat_ids([(q1, reply1), (q2, None)]), 6)

        torch.manual_seed(21)
        prompt = torch.randn(1, 6, D)
        tokens, rows = greedy(lm, prompt, 12)
    ref = {
        "config": {"vocab": V, "hidden": D, "layers": L, "heads": H, "kv_heads": KVH, "head_dim": HD},
        "prompt_embeds": {"dims": list(prompt.shape), "data": prompt.flatten().tolist()},
        "greedy_tokens": tokens,
        "step_logits": [r.tolist() for r in rows[:3]],
        "chat": {
            "image_rgb": rgb.flatten().tolist(),
            "questions": [q1, q2],
            "prompt_ids": [chat_ids([(q1, None)]), chat_ids([(q1, reply1), (q2, None)])],
            "answers": [turn1, turn2],
        },
    }
    with open(os.path.join(OUT, "reference.json"), "w") as fh:
        json.dump(ref, fh)
    print(f"wrote {OUT}: greedy {tokens}; chat answers {turn1}, {turn2}")


if __name__ == "__main__":
    main()
