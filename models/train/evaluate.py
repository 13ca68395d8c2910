#!/usr/bin/env python3
"""Metrics in PyTorch on freshly generated splits (unseen seeds): writes models/<name>/metrics-torch.json.

  python3 models/train/evaluate.py clip --ckpt models/train/runs/clip/model.pt
  python3 models/train/evaluate.py blip --ckpt models/train/runs/blip/model.pt

Zero-shot: single-object images scored against all 72 prompts "a {size} {colour} {shape}" (shaped like training
captions); colour / shape / size / full-object accuracy of the arg-max prompt.
Retrieval: N images and their N captions; a hit is a retrieved caption (i2t) or image (t2i) whose caption text equals
the query's (captions repeat, e.g. one-object scenes). BLIP re-rank: ITC top-k (k=16) re-ordered by ITM p(match).
Hard negatives: per image the true caption vs the same caption with one colour / shape / the relation swapped.
Captioning: greedy and beam 3; exact match, corpus BLEU-4, CIDEr-D (single reference, IDF over the split's refs).
"""
import argparse
import collections
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data  # noqa: E402
import decode  # noqa: E402
import nets  # noqa: E402
import tok  # noqa: E402
import world  # noqa: E402

SPLITS = {"test": (90001, 1000), "comp": (90002, 500)}


def gen_split(split):
    seed, n = SPLITS[split]
    imgs, scenes = [], []
    for img, _, sc in world.generate(seed, n, split):
        imgs.append(img)
        scenes.append(sc)
    return np.stack(imgs), scenes


@torch.no_grad()
def embed_images(m, imgs, bs=250):
    es, hs = [], []
    for i in range(0, len(imgs), bs):
        e, h = m.image_embed(torch.from_numpy(data.to_pixels(imgs[i : i + bs])))
        es.append(F.normalize(e, dim=-1))
        hs.append(h)
    return torch.cat(es), torch.cat(hs)


@torch.no_grad()
def embed_texts(m, texts, bs=500):
    out = []
    for i in range(0, len(texts), bs):
        ids, mask = tok.batch(texts[i : i + bs])
        e, _ = m.text_embed(torch.from_numpy(ids), torch.from_numpy(mask))
        out.append(F.normalize(e, dim=-1))
    return torch.cat(out)


@torch.no_grad()
def itm_prob(m, texts, enc, bs=500):
    out = []
    for i in range(0, len(texts), bs):
        ids, mask = tok.batch(texts[i : i + bs])
        lg = m.itm_logits(torch.from_numpy(ids), torch.from_numpy(mask), enc[i : i + bs])
        out.append(lg.softmax(-1)[:, 1])
    return torch.cat(out)


def zero_shot(m, ie, scenes):
    prompts = [(s, c, h) for s in world.SIZES for c in world.COLOURS for h in world.SHAPES]
    te = embed_texts(m, [f"a {s} {c} {h}" for s, c, h in prompts])
    idx = [i for i, sc in enumerate(scenes) if len(sc["objects"]) == 1]
    pred = (ie[idx] @ te.t()).argmax(1).tolist()
    acc = collections.Counter()
    for i, p in zip(idx, pred):
        o = scenes[i]["objects"][0]
        s, c, h = prompts[p]
        acc["size"] += s == o["size"]
        acc["colour"] += c == o["colour"]
        acc["shape"] += h == o["shape"]
        acc["object"] += (s, c, h) == (o["size"], o["colour"], o["shape"])
    return {"n_images": len(idx), **{k: round(acc[k] / len(idx), 4) for k in ("colour", "shape", "size", "object")}}


def recall(order, caps_q, caps_g, ks=(1, 5)):
    """order: [Q, >=max(ks)] gallery indices by score."""
    res = {}
    for k in ks:
        hit = [any(caps_g[j] == caps_q[q] for j in order[q][:k]) for q in range(len(caps_q))]
        res[f"R@{k}"] = round(float(np.mean(hit)), 4)
    return res


def retrieval(m, ie, te, caps, enc=None, k=16):
    sim = ie @ te.t()
    out = {"n": len(caps), "itc": {"i2t": recall(sim.topk(k, 1).indices.tolist(), caps, caps),
                                   "t2i": recall(sim.t().topk(k, 1).indices.tolist(), caps, caps)}}
    if enc is not None:
        # ITM re-rank of the ITC top-k
        top = sim.topk(k, 1).indices  # [N,k] captions per image
        texts = [caps[j] for row in top.tolist() for j in row]
        p = itm_prob(m, texts, enc.repeat_interleave(k, 0)).reshape(len(caps), k)
        i2t = torch.gather(top, 1, p.argsort(1, descending=True)).tolist()
        topi = sim.t().topk(k, 1).indices  # [N,k] images per caption
        texts = [caps[q] for q in range(len(caps)) for _ in range(k)]
        p = itm_prob(m, texts, enc[topi.reshape(-1)]).reshape(len(caps), k)
        t2i = torch.gather(topi, 1, p.argsort(1, descending=True)).tolist()
        out[f"itc_top{k}_itm_rerank"] = {"i2t": recall(i2t, caps, caps), "t2i": recall(t2i, caps, caps)}
    return out


def hard_negatives(m, ie, scenes, enc=None):
    rng = np.random.default_rng(7)
    res = {}
    for kind in ("colour", "shape", "relation"):
        idx, pos, neg = [], [], []
        for i, sc in enumerate(scenes):
            n = world.swap_caption(sc, kind, rng)
            if n is None:
                continue
            idx.append(i)
            pos.append(sc["caption"])
            neg.append(n)
        tp, tn = embed_texts(m, pos), embed_texts(m, neg)
        r = {"n": len(idx), "itc": round(float(((ie[idx] * tp).sum(1) > (ie[idx] * tn).sum(1)).float().mean()), 4)}
        if enc is not None:
            pp, pn = itm_prob(m, pos, enc[idx]), itm_prob(m, neg, enc[idx])
            r["itm"] = round(float((pp > pn).float().mean()), 4)
            r["itm_binary_acc"] = round(float(((pp > 0.5).float().mean() + (pn < 0.5).float().mean()) / 2), 4)
        res[kind] = r
    return res


def ngrams(ws, n):
    return collections.Counter(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))


def bleu4(hyps, refs):
    num, den = [0] * 4, [0] * 4
    hl = rl = 0
    for h, r in zip(hyps, refs):
        h, r = h.split(), r.split()
        hl += len(h)
        rl += len(r)
        for n in range(1, 5):
            hn, rn = ngrams(h, n), ngrams(r, n)
            num[n - 1] += sum(min(c, rn[g]) for g, c in hn.items())
            den[n - 1] += max(len(h) - n + 1, 0)
    if min(num) == 0:
        return 0.0
    lp = sum(math.log(num[i] / den[i]) for i in range(4)) / 4
    bp = 1.0 if hl > rl else math.exp(1 - rl / max(hl, 1))
    return bp * math.exp(lp)


def cider_d(hyps, refs, sigma=6.0):
    """CIDEr-D (Vedantam et al.; coco-caption's variant with clipping and length penalty), one reference per image."""
    N = len(refs)
    df = [collections.Counter() for _ in range(4)]
    for r in refs:
        for n in range(4):
            for g in ngrams(r.split(), n + 1):
                df[n][g] += 1

    def vec(ws, n):
        c = ngrams(ws, n + 1)
        return {g: tf * math.log(N / max(1.0, df[n][g])) for g, tf in c.items()}

    scores = []
    for h, r in zip(hyps, refs):
        hw, rw = h.split(), r.split()
        s = 0.0
        for n in range(4):
            vh, vr = vec(hw, n), vec(rw, n)
            nh = math.sqrt(sum(v * v for v in vh.values()))
            nr = math.sqrt(sum(v * v for v in vr.values()))
            dot = sum(min(vh[g], vr[g]) * vr[g] for g in vh if g in vr)
            if nh > 0 and nr > 0:
                s += dot / (nh * nr) * math.exp(-((len(hw) - len(rw)) ** 2) / (2 * sigma**2))
        scores.append(s / 4 * 10)
    return float(np.mean(scores))


def captioning(m, enc, scenes, beam_n=None):
    refs = [sc["caption"] for sc in scenes]
    out = {}
    g = []
    for i in range(0, len(enc), 250):
        g += decode.greedy(m, enc[i : i + 250])
    hyps = [decode.text(x) for x in g]
    out["greedy"] = {"exact_match": round(float(np.mean([h == r for h, r in zip(hyps, refs)])), 4),
                     "bleu4": round(bleu4(hyps, refs), 4), "cider_d": round(cider_d(hyps, refs), 4),
                     "examples": [{"ref": r, "hyp": h} for h, r in list(zip(hyps, refs))[:8]]}
    nb = beam_n or len(enc)
    b = [decode.text(x) for x in decode.beam(m, enc[:nb], 3)]
    out["beam3"] = {"n": nb, "exact_match": round(float(np.mean([h == r for h, r in zip(b, refs[:nb])])), 4),
                    "bleu4": round(bleu4(b, refs[:nb]), 4), "cider_d": round(cider_d(b, refs[:nb]), 4)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["clip", "blip"])
    ap.add_argument("--ckpt")
    ap.add_argument("--out")
    ap.add_argument("--beam-n", type=int, default=300, help="images captioned with beam 3 (beam search is per image)")
    a = ap.parse_args()
    ckpt = a.ckpt or os.path.join(common.RUNS, a.kind, "model.pt")
    ck = torch.load(ckpt, map_location="cpu")
    m = (nets.CLIPTiny if a.kind == "clip" else nets.BLIPTiny)(ck["cfg"])
    m.load_state_dict(ck["state"])
    m.eval()
    res = {"model": f"{a.kind}-tiny", "checkpoint_meta": ck["meta"], "params": nets.count(m),
           "splits": {k: {"seed": s, "n": n} for k, (s, n) in SPLITS.items()}}
    t0 = time.time()
    for split in SPLITS:
        imgs, scenes = gen_split(split)
        ie, enc = embed_images(m, imgs)
        caps = [sc["caption"] for sc in scenes]
        te = embed_texts(m, caps)
        use = enc if a.kind == "blip" else None
        r = {"zero_shot": zero_shot(m, ie, scenes), "retrieval": retrieval(m, ie, te, caps, use),
             "hard_negatives": hard_negatives(m, ie, scenes, use)}
        if a.kind == "blip":
            r["captioning"] = captioning(m, enc, scenes, a.beam_n)
        res[split] = r
        print(split, json.dumps(r)[:2000], flush=True)
    res["eval_wall_s"] = round(time.time() - t0)
    out = a.out or os.path.join(common.HERE, "..", f"{a.kind}-tiny", "metrics-torch.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    print("wrote", out)


if __name__ == "__main__":
    main()
