"""Greedy decoding for llava-tiny / blip2-tiny in torch, with the KV cache (the same steps the exported merged
decoder takes: one prefill over the prompt, then one token per step)."""
from __future__ import annotations

import torch

import tok2

MAX_NEW = 40


@torch.no_grad()
def greedy(model, image_features, prompts: list[list[int]], max_new: int = MAX_NEW, past=None, past_len: int = 0):
    """image_features [B,N,D]; prompts: B token lists of one length (<image> tokens where features go; none if past
    is given). Returns the generated ids per row (up to and including </s>) and the final cache."""
    ids = torch.tensor(prompts, dtype=torch.long)
    B, L = ids.shape
    x = model.embed(ids, image_features, tok2.IMAGE)
    mask = torch.ones(B, past_len + L, dtype=torch.long)
    pos = torch.arange(past_len, past_len + L)[None].expand(B, L)
    logits, past = model.lm(x, mask, pos, past)
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    n = past_len + L
    for _ in range(max_new):
        nxt = logits[:, -1].argmax(-1)
        for b in range(B):
            if not done[b]:
                out[b].append(int(nxt[b]))
        done |= nxt == tok2.EOS
        if bool(done.all()):
            break
        x = model.lm.embed_tokens(nxt[:, None])
        n += 1
        logits, past = model.lm(x, torch.ones(B, n, dtype=torch.long), torch.full((B, 1), n - 1), past)
    return out, past


def answer_text(ids: list[int]) -> str:
    return tok2.decode(ids)
