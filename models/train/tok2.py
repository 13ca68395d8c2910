"""Shapes world v2 tokenizer for the generative models: closed word vocabulary + chat special tokens.

Shipped as tokenizer.json (a WordPiece model whose vocabulary is whole words only, so it acts as a word-level
tokenizer; @huggingface/tokenizers loads WordPiece, and unknown words become <unk>) with a chat template in
tokenizer_config.json. A conversation is

  <s><|user|> <image> what colour is the circle?<|assistant|> red</s><|user|> is it large or small?<|assistant|> ...

and the single <image> is expanded to one <image> token per image feature (16 for llava-tiny) before tokenizing, as
transformers.js' LlavaProcessor does (processor_config.json: image_token, patch_size, num_additional_image_tokens).
"""
from __future__ import annotations

import json
import re

import world2

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<image>", "<|user|>", "<|assistant|>"]
WORDS = world2.lexicon()
VOCAB = SPECIALS + WORDS
ID = {w: i for i, w in enumerate(VOCAB)}
PAD, UNK, BOS, EOS, IMAGE, USER, ASSISTANT = (ID[s] for s in SPECIALS)
N_IMAGE_TOKENS = 16  # 8x8 patch tokens merged 2x2 by the projector
MAX_POSITIONS = 256

_SPECIAL_RE = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}"
    "<|user|>"
    "{% if message['content'] is string %}"
    "{% if loop.first %} <image>{% endif %} {{ message['content'] }}"
    "{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %} <image>{% elif part['type'] == 'text' %} {{ part['text'] }}{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "{% else %}"
    "<|assistant|> {{ message['content'] }}</s>"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def words(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks, as BertNormalizer + BertPreTokenizer split them."""
    return re.findall(r"\w+|[^\w\s]", text.lower())


def encode_words(text: str) -> list[int]:
    return [ID.get(w, UNK) for w in words(text)]


def encode(text: str) -> list[int]:
    """Text that may contain special tokens (a rendered chat) -> ids; no tokens are added."""
    ids = []
    for piece in _SPECIAL_RE.split(text):
        if piece in ID and piece in SPECIALS:
            ids.append(ID[piece])
        elif piece:
            ids += encode_words(piece)
    return ids


def chat_text(turns: list[tuple[str, str | None]], n_image: int = 1) -> str:
    """The string the chat template renders for [(question, answer), ...]; answer None = generation prompt.
    n_image: how many <image> tokens stand for the image (1 as the template writes it, 64 once expanded)."""
    s = "<s>"
    for k, (q, a) in enumerate(turns):
        s += "<|user|>" + (" " + "<image>" * n_image if k == 0 else "") + " " + q + "<|assistant|>"
        if a is not None:
            s += " " + a + "</s>"
    return s


def chat_ids(turns: list[tuple[str, str | None]], n_image: int = N_IMAGE_TOKENS) -> tuple[list[int], list[int]]:
    """ids of a conversation with the image expanded to n_image <image> tokens, and the LM targets (-100 except on answer
    words and their </s>): target[t] is the token at t+1, so the loss is on what the assistant says."""
    ids, is_answer = [BOS], [False]
    for k, (q, a) in enumerate(turns):
        part = [USER] + ([IMAGE] * n_image if k == 0 else []) + encode_words(q) + [ASSISTANT]
        ids += part
        is_answer += [False] * len(part)
        if a is not None:
            part = encode_words(a) + [EOS]
            ids += part
            is_answer += [True] * len(part)
    tgt = [ids[t + 1] if is_answer[t + 1] else -100 for t in range(len(ids) - 1)] + [-100]
    return ids, tgt


def decode(ids) -> str:
    out = []
    for i in ids:
        if i == EOS:
            break
        if i >= len(SPECIALS):
            out.append(VOCAB[i])
    return " ".join(out)


def tokenizer_json() -> dict:
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True}
            for i, s in enumerate(SPECIALS)
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ID},
    }


def tokenizer_config() -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "do_lower_case": True,
        "model_max_length": MAX_POSITIONS,
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "add_bos_token": False,
        "add_eos_token": False,
        "additional_special_tokens": ["<image>", "<|user|>", "<|assistant|>"],
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": True,
    }


def write(folder: str) -> None:
    with open(f"{folder}/tokenizer.json", "w") as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(f"{folder}/tokenizer_config.json", "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
