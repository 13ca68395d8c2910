"""Greedy and beam-search captioning in torch (full re-computation each step; the exported graphs use a KV cache)."""
import torch

import tok

MAX_NEW = 24


@torch.no_grad()
def greedy(model, enc, max_new=MAX_NEW):
    B = enc.shape[0]
    ids = torch.full((B, 1), tok.DEC, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    out = [[] for _ in range(B)]
    for _ in range(max_new):
        logits, _ = model.decoder(ids, enc)
        nxt = logits[:, -1].argmax(-1)
        for b in range(B):
            if not done[b]:
                out[b].append(int(nxt[b]))
        done |= nxt == tok.SEP
        if bool(done.all()):
            break
        ids = torch.cat([ids, nxt[:, None]], 1)
    return out


@torch.no_grad()
def beam(model, enc, k=3, max_new=MAX_NEW):
    """Per-image beam search (sum of log-probs, no length penalty: captions differ in length only by structure)."""
    res = []
    for b in range(enc.shape[0]):
        e = enc[b : b + 1]
        beams = [([tok.DEC], 0.0, False)]
        for _ in range(max_new):
            alive = [x for x in beams if not x[2]]
            if not alive:
                break
            ids = torch.tensor([x[0] for x in alive])
            logits, _ = model.decoder(ids, e.expand(len(alive), -1, -1))
            lp = logits[:, -1].log_softmax(-1)
            cand = [x for x in beams if x[2]]
            top = lp.topk(k, -1)
            for i, x in enumerate(alive):
                for s, t in zip(top.values[i].tolist(), top.indices[i].tolist()):
                    cand.append((x[0] + [t], x[1] + s, t == tok.SEP))
            beams = sorted(cand, key=lambda x: -x[1])[:k]
        res.append(beams[0][0][1:])
    return res


def text(tokens) -> str:
    words = []
    for t in tokens:
        if t == tok.SEP:
            break
        words.append(t)
    return tok.decode(words)
