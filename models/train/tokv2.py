"""BERT-style tokenizer for the shapes-world-v2 encoder models (clip-v2, blip-v2, vilt-tiny, vlmo-tiny, coca-tiny).

v1's tok.py with world2's 150-odd-word lexicon (captions, paraphrases, questions, answers): a WordPiece model whose
vocabulary is whole words, so it acts as a word-level tokenizer, and [CLS] text [SEP] around every text as
BertTokenizer writes it. [MASK] is there for masked language modelling (ViLT, VLMo); [DEC] starts BLIP's decoder.
"""
from __future__ import annotations

import json

import numpy as np

import tok
import world2

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[ENC]", "[DEC]"]
WORDS = world2.lexicon()
VOCAB = SPECIALS + WORDS
ID = {w: i for i, w in enumerate(VOCAB)}
PAD, UNK, CLS, SEP, MASK, ENC, DEC = (ID[s] for s in SPECIALS)
# A question with a prefix and one earlier turn flattened in front of it is ~40 words; a five-object caption 24.
MAX_LEN = 64


def encode(text: str) -> list[int]:
    return [CLS] + [ID.get(w, UNK) for w in tok.words(text)] + [SEP]


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
    out = []
    for i in ids:
        if i == SEP:
            break
        if i >= len(SPECIALS):
            out.append(VOCAB[i])
    return " ".join(out)


def tokenizer_json() -> dict:
    t = tok.tokenizer_json()
    t["model"]["vocab"] = ID
    t["added_tokens"] = [dict(a, id=i, content=s) for i, (a, s) in enumerate(zip(t["added_tokens"], SPECIALS))]
    t["post_processor"]["special_tokens"] = {s: {"id": s, "ids": [ID[s]], "tokens": [s]} for s in ("[CLS]", "[SEP]")}
    return t


def tokenizer_config() -> dict:
    return dict(tok.tokenizer_config(), model_max_length=MAX_LEN)


def write(folder: str) -> None:
    with open(f"{folder}/tokenizer.json", "w") as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(f"{folder}/tokenizer_config.json", "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
