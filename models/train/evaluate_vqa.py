#!/usr/bin/env python3
"""VQA and caption metrics of llava-tiny / blip2-tiny in PyTorch on shapes-world-v2 splits from unseen seeds.

  python3 models/train/evaluate_vqa.py --ckpt models/train/runs/llava-s2/model.pt --out models/llava-tiny/metrics-torch.json

Splits (generated on the fly; training caches use seeds 200-203): test = seed 91001, 500 images, the training
distribution; comp = seed 91002, 500 images, every scene holding a held-out colour-shape pair (even indices) or a
held-out shape count (odd indices). Every image gets one question of each type that applies plus one follow-up
turn ('what colour is it?') after a question that singled out an object, asked with the gold history.

Scoring: greedy decoding with the KV cache, answer = words up to </s>, exact string match with the deterministic
answer. 'vqa_overall' is over the short-answer types (all but describe); 'counting' = count_all + count_attr;
'relations' = relation (yes/no) + which. 'describe' answers are captions: exact match, BLEU-4 and CIDEr-D.
'majority_baseline' is the accuracy of always giving a type's most frequent answer in the split.
"""
import argparse
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import data2  # noqa: E402
import evaluate  # noqa: E402
import nets  # noqa: E402
import tok2  # noqa: E402
import train_llava  # noqa: E402
import vlm_decode  # noqa: E402

SPLITS = {"test": (91001, 500), "comp": (91002, 500)}
SHORT = ["colour", "shape", "size", "count_all", "count_attr", "exist", "relation", "which", "follow_up"]
GROUPS = {"counting": ["count_all", "count_attr"], "relations": ["relation", "which"]}


@torch.no_grad()
def image_features(model, imgs, bs=250):
    return torch.cat([model.image_features(torch.from_numpy(data2.to_pixels(imgs[i : i + bs])))
                      for i in range(0, len(imgs), bs)])


def answer_all(model, feats, items, n_img, bs=200):
    """items: (image index, turns ending in (question, None)). Greedy answers, batched by prompt length."""
    prompts = [tok2.chat_ids(turns, n_img)[0] for _, turns in items]
    by_len = collections.defaultdict(list)
    for k, p in enumerate(prompts):
        by_len[len(p)].append(k)
    answers = [None] * len(items)
    for _, ks in sorted(by_len.items()):
        for i in range(0, len(ks), bs):
            chunk = ks[i : i + bs]
            out, _ = vlm_decode.greedy(model, feats[[items[k][0] for k in chunk]], [prompts[k] for k in chunk])
            for k, o in zip(chunk, out):
                answers[k] = vlm_decode.answer_text(o)
    return answers


def acc(xs):
    return round(float(np.mean(xs)), 4) if xs else None


def score(records, answers):
    """records: dicts with type/answer/kind; answers: predicted strings."""
    per = collections.defaultdict(list)
    for r, a in zip(records, answers):
        per[r["type"]].append(a == r["answer"])
    res = {"per_type": {t: {"n": len(per[t]), "accuracy": acc(per[t])} for t in SHORT + ["describe"] if per[t]}}
    res["vqa_overall"] = acc([x for t in SHORT for x in per[t]])
    res["n_questions"] = sum(len(per[t]) for t in SHORT)
    for g, ts in GROUPS.items():
        res[g] = acc([x for t in ts for x in per[t]])
    major = {}
    for t in SHORT:
        answers_t = [r["answer"] for r in records if r["type"] == t]
        if answers_t:
            top = collections.Counter(answers_t).most_common(1)[0][1]
            major[t] = round(top / len(answers_t), 4)
    res["majority_baseline"] = major
    return res


def evaluate_split(model, cfg, split):
    seed, n = SPLITS[split]
    imgs, scenes, recs = data2.gen_split(seed, n, split)
    feats = image_features(model, imgs)
    items, records = [], []
    for i, rec in enumerate(recs):
        for q in rec["qa"]:
            turns = [tuple(h) for h in q.get("history", [])] + [(q["question"], None)]
            items.append((i, turns))
            records.append({"type": q["type"], "answer": q["answer"], "question": q["question"], "kind": rec["held_out"],
                            "image": i})
    t0 = time.time()
    answers = answer_all(model, feats, items, train_llava.n_image_tokens(cfg))
    res = {"seed": seed, "n_images": n, "decode_s": round(time.time() - t0), **score(records, answers)}
    if split == "comp":
        for kind in ("pair", "count"):
            sel = [k for k, r in enumerate(records) if r["kind"] == kind]
            res[f"held_out_{kind}_scenes"] = score([records[k] for k in sel], [answers[k] for k in sel])
    caps = [(r["answer"], a) for r, a in zip(records, answers) if r["type"] == "describe"]
    refs, hyps = [c[0] for c in caps], [c[1] for c in caps]
    res["captioning"] = {"n": len(caps), "exact_match": acc([h == r for h, r in caps]),
                         "bleu4": round(evaluate.bleu4(hyps, refs), 4), "cider_d": round(evaluate.cider_d(hyps, refs), 4)}
    by_n = collections.defaultdict(list)
    for r, a in zip(records, answers):
        if r["type"] in SHORT:
            by_n[len(scenes[r["image"]]["objects"])].append(a == r["answer"])
    res["vqa_by_object_count"] = {k: acc(v) for k, v in sorted(by_n.items())}
    ex = collections.defaultdict(list)
    for r, a in zip(records, answers):
        if len(ex[r["type"]]) < 3:
            ex[r["type"]].append({"q": r["question"], "gold": r["answer"], "pred": a})
    res["examples"] = ex
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(common.RUNS, "llava-s2", "model.pt"))
    ap.add_argument("--out", default="")
    ap.add_argument("--splits", default="test,comp")
    ap.add_argument("--n", type=int, default=0, help="override the number of images per split (quick checks)")
    a = ap.parse_args()
    model, cfg, meta = train_llava.load(a.ckpt)
    if a.n:
        for k in SPLITS:
            SPLITS[k] = (SPLITS[k][0], a.n)
    name = "llava-tiny" if cfg["connector"] == "projector" else "blip2-tiny"
    res = {"model": name, "checkpoint_meta": meta, "params": {k: nets.count(getattr(model, k)) for k in
           ("vision", cfg["connector"], "lm")}, "image_tokens": train_llava.n_image_tokens(cfg)}
    res["params"]["total"] = nets.count(model)
    t0 = time.time()
    for split in a.splits.split(","):
        r = evaluate_split(model, cfg, split)
        res[split] = r
        short = {k: r[k] for k in ("vqa_overall", "counting", "relations")}
        print(split, json.dumps(short), json.dumps({t: v["accuracy"] for t, v in r["per_type"].items()}),
              json.dumps(r["captioning"]), flush=True)
    res["eval_wall_s"] = round(time.time() - t0)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)
        print("wrote", a.out)


if __name__ == "__main__":
    main()
