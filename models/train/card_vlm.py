#!/usr/bin/env python3
"""Markdown tables for a generative model card (llava-tiny, blip2-tiny) from metrics-torch.json and the files.

  python3 models/train/card_vlm.py llava-tiny      (prints: files, parameters, VQA per type, captioning)
"""
import json
import os
import sys

from card import files_table

HERE = os.path.dirname(os.path.abspath(__file__))
TYPES = ["colour", "shape", "size", "count_all", "count_attr", "exist", "relation", "which", "follow_up"]
TARGETS = {"vqa_overall": {"test": 0.90, "comp": 0.80}, "counting": {"test": 0.90}, "relations": {"test": 0.90}}


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def main():
    name = sys.argv[1]
    d = os.path.join(HERE, "..", name)
    m = json.load(open(os.path.join(d, "metrics-torch.json")))
    out = files_table(d)
    out += ["", "| part | parameters |", "| --- | ---: |"]
    out += [f"| {k} | {v:,} |" for k, v in m["params"].items()]
    splits = [s for s in ("test", "comp") if s in m]
    head = " | ".join(f"{s} (seed {m[s]['seed']}, {m[s]['n_images']} images)" for s in splits)
    out += ["", f"| question type | {head} | majority-answer baseline ({splits[0]}) |",
            "| --- |" + " ---: |" * (len(splits) + 1)]
    for t in TYPES:
        cells = []
        for s in splits:
            r = m[s]["per_type"].get(t)
            cells.append("–" if r is None else f"{pct(r['accuracy'])} (n={r['n']})")
        out.append(f"| {t} | " + " | ".join(cells) + f" | {pct(m[splits[0]]['majority_baseline'].get(t))} |")
    for k in ("vqa_overall", "counting", "relations"):
        cells = []
        for s in splits:
            tgt = TARGETS[k].get(s)
            mark = "" if tgt is None else (" ✓" if m[s][k] >= tgt else f" ✗ (target {pct(tgt)})")
            cells.append(f"**{pct(m[s][k])}**{mark}")
        out.append(f"| **{k}** | " + " | ".join(cells) + " | |")
    if "comp" in m:
        out += ["", "| held-out split, by kind of scene | VQA overall | counting | relations |", "| --- | ---: | ---: | ---: |"]
        for kind, label in (("pair", "a held-out colour–shape pair in the scene"), ("count", "a held-out shape count")):
            r = m["comp"][f"held_out_{kind}_scenes"]
            out.append(f"| {label} | {pct(r['vqa_overall'])} | {pct(r['counting'])} | {pct(r['relations'])} |")
    out += ["", "| captioning ('describe the image', greedy) | " + " | ".join(splits) + " |", "| --- |" + " ---: |" * len(splits)]
    for k, label in (("exact_match", "exact match"), ("bleu4", "BLEU-4"), ("cider_d", "CIDEr-D")):
        vals = [pct(m[s]["captioning"][k]) if k == "exact_match" else f"{m[s]['captioning'][k]:.3f}" for s in splits]
        out.append(f"| {label} | " + " | ".join(vals) + " |")
    out += ["", "| objects in the scene | " + " | ".join(splits) + " |", "| --- |" + " ---: |" * len(splits)]
    for n in ("1", "2", "3", "4", "5"):
        out.append(f"| {n} | " + " | ".join(pct(m[s]["vqa_by_object_count"].get(n)) for s in splits) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
