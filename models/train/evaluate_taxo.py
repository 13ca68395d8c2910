#!/usr/bin/env python3
"""Metrics of the architecture comparison in PyTorch, the definitions eval/page.ts applies through the runtime.

  python3 models/train/evaluate_taxo.py --ckpt models/train/runs/vilt-v2/model.pt --out models/vilt-tiny/metrics-torch.json

Split: test = seed 91001, 1,000 images (its first 500 are evaluate_vqa.py's test split and gen2.py's v2-test), made
by vl2.eval_split (records with the evaluation questions and hard negatives; gen_taxo.py writes the same as PNGs).

* zero_shot: single-object images against the 72 prompts 'a {size} {colour} {shape}'; accuracy of the arg-max prompt
  (colour, shape, size, whole object). Dual encoders rank by cosine, fusion models by ITM p(match).
* retrieval: images and their captions; a hit is a retrieved caption / image whose caption text equals the
  query's. Dual encoders (ITC) rank the whole gallery for every query. A single-stream model (ViLT) has no
  embedding: every (query, gallery item) pair is one forward pass, so it ranks the whole 1,000-item gallery for
  the first `--pair-queries` queries of each direction (reported with that n). BLIP and VLMo also re-rank the
  ITC top 16 with ITM.
* hard_negatives: the true caption against its attribute-binding swap and its relation swap (vl2); the fraction
  where the true caption scores higher, by ITC and by ITM where the model has them.
* vqa (ViLT, VLMo): every short-answer question of the first 500 images (evaluate_vqa.py's types and scoring; a
  follow-up is read as 'q1 a1 q2'); comp split (seed 91002, 500 images) too, for the held-out combinations.
* captioning (BLIP, CoCa): greedy captions of the first 500 images, exact match, BLEU-4 and CIDEr-D against the
  canonical caption.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import evaluate  # noqa: E402
import evaluate_vqa  # noqa: E402
import taxo  # noqa: E402
import vl2  # noqa: E402
import world2  # noqa: E402

TEST, COMP = (91001, 1000), (91002, 500)
N_QA = 500
RERANK_K = 16
PROMPTS = [(s, c, h) for s in world2.SIZES for c in world2.COLOURS for h in world2.SHAPES]


def rnd(x):
    return round(float(x), 4)


def pair_scores(m, toks, rows, xs):
    """Scores of (image rows[k], text xs[k]): ITM p(match) (fusion and single-stream models)."""
    return taxo.itm_prob(m, toks, xs, rows)


def zero_shot(m, arch, ie, toks, scenes):
    idx = [i for i, sc in enumerate(scenes) if len(sc["objects"]) == 1]
    texts = [f"a {s} {c} {h}" for s, c, h in PROMPTS]
    if taxo.has_itc(arch):
        scores = ie[idx] @ taxo.text_embeds(m, texts).t()
        mode = "itc"
    else:
        rows = [i for i in idx for _ in texts]
        scores = pair_scores(m, toks, rows, texts * len(idx)).reshape(len(idx), len(texts))
        mode = "itm"
    pred = scores.argmax(1).tolist()
    acc = {"colour": 0, "shape": 0, "size": 0, "object": 0}
    for i, p in zip(idx, pred):
        o = scenes[i]["objects"][0]
        s, c, h = PROMPTS[p]
        acc["size"] += s == o["size"]
        acc["colour"] += c == o["colour"]
        acc["shape"] += h == o["shape"]
        acc["object"] += (s, c, h) == (o["size"], o["colour"], o["shape"])
    return {"n_images": len(idx), "scored_by": mode, **{k: rnd(v / len(idx)) for k, v in acc.items()}}


def recall_rows(order, q_caps, g_caps, ks=(1, 5)):
    return evaluate.recall(order, q_caps, g_caps, ks)


def retrieval(m, arch, ie, toks, caps, pair_queries):
    n = len(caps)
    out = {"n": n}
    if taxo.has_itc(arch):
        te = taxo.text_embeds(m, caps)
        sim = ie @ te.t()
        i2t = sim.topk(RERANK_K, 1).indices
        t2i = sim.t().topk(RERANK_K, 1).indices
        out["itc"] = {"i2t": recall_rows(i2t.tolist(), caps, caps), "t2i": recall_rows(t2i.tolist(), caps, caps)}
        if taxo.has_itm(arch):
            rows = [i for i in range(n) for _ in range(RERANK_K)]
            p = pair_scores(m, toks, rows, [caps[j] for j in i2t.reshape(-1).tolist()]).reshape(n, RERANK_K)
            i2t_r = torch.gather(i2t, 1, torch.sort(p, dim=1, descending=True, stable=True).indices)
            p = pair_scores(m, toks, t2i.reshape(-1).tolist(), [caps[q] for q in range(n) for _ in range(RERANK_K)])
            t2i_r = torch.gather(t2i, 1, torch.sort(p.reshape(n, RERANK_K), dim=1, descending=True, stable=True).indices)
            out[f"itc_top{RERANK_K}_itm_rerank"] = {"i2t": recall_rows(i2t_r.tolist(), caps, caps),
                                                    "t2i": recall_rows(t2i_r.tolist(), caps, caps)}
    else:
        # single stream: every pair of the first Q queries with the whole gallery
        q = pair_queries
        p = pair_scores(m, toks, [i for i in range(q) for _ in range(n)], caps * q).reshape(q, n)
        i2t = torch.sort(p, dim=1, descending=True, stable=True).indices[:, :5]
        p = pair_scores(m, toks, list(range(n)) * q, [caps[t] for t in range(q) for _ in range(n)]).reshape(q, n)
        t2i = torch.sort(p, dim=1, descending=True, stable=True).indices[:, :5]
        out["itm_all_pairs"] = {"queries": q, "i2t": recall_rows(i2t.tolist(), caps[:q], caps),
                                "t2i": recall_rows(t2i.tolist(), caps[:q], caps)}
    return out


def hard_negatives(m, arch, ie, toks, recs):
    res = {}
    for kind in vl2.KINDS:
        idx = [i for i, r in enumerate(recs) if kind in r["negatives"]]
        pos = [recs[i]["caption"] for i in idx]
        neg = [recs[i]["negatives"][kind] for i in idx]
        r = {"n": len(idx)}
        if taxo.has_itc(arch):
            tp, tn = taxo.text_embeds(m, pos), taxo.text_embeds(m, neg)
            r["itc"] = rnd(((ie[idx] * tp).sum(1) > (ie[idx] * tn).sum(1)).float().mean())
        if taxo.has_itm(arch):
            pp, pn = pair_scores(m, toks, idx, pos), pair_scores(m, toks, idx, neg)
            r["itm"] = rnd((pp > pn).float().mean())
        res[kind] = r
    return res


def vqa(m, toks, recs, n):
    items, records = [], []
    for i, rec in enumerate(recs[:n]):
        for q in rec["qa"]:
            if q["type"] == "describe":
                continue
            items.append((i, vl2.question_text(q["question"], q.get("history"))))
            records.append({"type": q["type"], "answer": q["answer"], "kind": rec["held_out"], "image": i})
    answers = taxo.vqa_answers(m, toks, [t for _, t in items], [i for i, _ in items])
    res = {"n_images": n, **evaluate_vqa.score(records, answers)}
    for kind in ("pair", "count"):
        sel = [k for k, r in enumerate(records) if r["kind"] == kind]
        if sel:
            res[f"held_out_{kind}_scenes"] = evaluate_vqa.score([records[k] for k in sel], [answers[k] for k in sel])
    res["answers"] = answers
    return res


def captioning(m, toks, caps):
    hyps = taxo.captions(m, toks)
    return {"n": len(caps), "exact_match": rnd(np.mean([h == r for h, r in zip(hyps, caps)])),
            "bleu4": rnd(evaluate.bleu4(hyps, caps)), "cider_d": rnd(evaluate.cider_d(hyps, caps)),
            "examples": [{"ref": r, "hyp": h} for h, r in list(zip(hyps, caps))[:8]]}


def inference_params(m, heads) -> int:
    """Parameters of the exported graphs (training-only heads left out: MLM, dense targets; a VQA-only checkpoint's
    ITM head and embedding projections too)."""
    skip = ("mlm.",) if heads & {"itc", "itm"} else ("mlm.", "itm.", "iproj.", "tproj.", "logit_scale")
    return sum(p.numel() for n, p in m.named_parameters() if not n.startswith(skip))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--n", type=int, default=TEST[1])
    ap.add_argument("--pair-queries", type=int, default=20)
    ap.add_argument("--no-comp", action="store_true")
    a = ap.parse_args()
    m, cfg, meta = taxo.load(a.ckpt)
    arch = cfg["arch"]
    heads = taxo.heads(arch, meta)
    res = {"model": arch, "checkpoint_meta": meta, "params": inference_params(m, heads),
           "split": {"seed": TEST[0], "n": a.n}}
    t0 = time.time()
    imgs, scenes, recs = vl2.eval_split(TEST[0], a.n, "test")
    ie, toks = taxo.image_side(m, imgs)
    caps = [r["caption"] for r in recs]
    if heads & {"itc", "itm"}:
        res["zero_shot"] = zero_shot(m, arch, ie, toks, scenes)
        res["retrieval"] = retrieval(m, arch, ie, toks, caps, a.pair_queries)
        res["hard_negatives"] = hard_negatives(m, arch, ie, toks, recs)
    nq = min(N_QA, a.n)
    if "vqa" in heads:
        res["vqa"] = {"test": vqa(m, toks, recs, nq)}
        if not a.no_comp:
            cimgs, _, crecs = vl2.eval_split(COMP[0], COMP[1], "comp")
            _, ctoks = taxo.image_side(m, cimgs)
            res["vqa"]["comp"] = vqa(m, ctoks, crecs, COMP[1])
    if "caption" in heads:
        res["captioning"] = captioning(m, toks[:nq], caps[:nq])
    res["eval_wall_s"] = round(time.time() - t0)
    short = {k: v for k, v in res.items() if k not in ("vqa",)}
    print(json.dumps(short)[:3000], flush=True)
    if "vqa" in res:
        for s, r in res["vqa"].items():
            print(s, "vqa", r["vqa_overall"], {t: v["accuracy"] for t, v in r["per_type"].items()}, flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        print("wrote", a.out)


if __name__ == "__main__":
    main()
