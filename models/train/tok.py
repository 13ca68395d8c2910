"""Closed-vocabulary BERT-style tokenizer: Python encoding + the tokenizer.json / tokenizer_config.json we ship."""
from __future__ import annotations

import json
import re

import numpy as np

import world

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[ENC]", "[DEC]"]
WORDS = sorted(
    {"a", "and", "of", "left", "right", "above", "below"} | set(world.SHAPES) | set(world.COLOURS) | set(world.SIZES)
)
VOCAB = SPECIALS + WORDS
ID = {w: i for i, w in enumerate(VOCAB)}
PAD, UNK, CLS, SEP, MASK, ENC, DEC = (ID[s] for s in SPECIALS)
MAX_LEN = 32


def words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())


def encode(text: str) -> list[int]:
    return [CLS] + [ID.get(w, UNK) for w in words(text)] + [SEP]


def batch(texts: list[str], max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    ids = [encode(t)[:MAX_LEN] for t in texts]
    L = max_len or max(len(i) for i in ids)
    out = np.full((len(ids), L), PAD, np.int64)
    mask = np.zeros((len(ids), L), np.int64)
    for r, i in enumerate(ids):
        out[r, : len(i)] = i
        mask[r, : len(i)] = 1
    return out, mask


def decode(ids) -> str:
    return " ".join(VOCAB[i] for i in ids if i >= len(SPECIALS))


def tokenizer_json() -> dict:
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for i, s in enumerate(SPECIALS)
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {s: {"id": s, "ids": [ID[s]], "tokens": [s]} for s in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": ID,
        },
    }


def tokenizer_config() -> dict:
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": MAX_LEN,
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
        "bos_token": "[DEC]",
        "eos_token": "[SEP]",
        "additional_special_tokens": ["[ENC]", "[DEC]"],
        "clean_up_tokenization_spaces": True,
    }


def write(folder: str) -> None:
    with open(f"{folder}/tokenizer.json", "w") as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(f"{folder}/tokenizer_config.json", "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
