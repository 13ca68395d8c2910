#!/usr/bin/env python3
"""Fill the numbers of models/<name>/README.md from metrics-torch.json, config.json and the files on disk.

  python3 models/train/card.py clip-tiny   (prints a markdown block: sizes + metrics tables)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def pct(x):
    return f"{100 * x:.1f}%"


def files_table(d: str) -> list[str]:
    """Markdown rows: every file of the model folder d (card and manifest left out) with its size."""
    out = ["| file | bytes |", "| --- | ---: |"]
    for root, _, files in sorted(os.walk(d)):
        for f in sorted(files):
            if f in ("README.md", "manifest.json"):
                continue
            p = os.path.join(root, f)
            out.append(f"| `{os.path.relpath(p, d)}` | {os.path.getsize(p):,} |")
    return out


def main():
    name = sys.argv[1]
    d = os.path.join(HERE, "..", name)
    m = json.load(open(os.path.join(d, "metrics-torch.json")))
    out = files_table(d)
    out.append("")
    splits = [s for s in ("test", "comp") if s in m]
    hdr = "| metric | " + " | ".join(f"{s} (seed {m['splits'][s]['seed']}, n={m['splits'][s]['n']})" for s in splits) + " |"
    out += [hdr, "| --- |" + " ---: |" * len(splits)]

    def row(label, f):
        vals = []
        for s in splits:
            try:
                vals.append(f(m[s]))
            except KeyError:
                vals.append("–")
        out.append(f"| {label} | " + " | ".join(vals) + " |")

    row("zero-shot images (one object)", lambda r: str(r["zero_shot"]["n_images"]))
    for k in ("colour", "shape", "size", "object"):
        row(f"zero-shot {k} accuracy", lambda r, k=k: pct(r["zero_shot"][k]))
    for mode, label in (("itc", "ITC"), ("itc_top16_itm_rerank", "ITC top-16 + ITM re-rank")):
        for d2 in ("i2t", "t2i"):
            for k in ("R@1", "R@5"):
                row(f"{d2} {k} ({label})", lambda r, mode=mode, d2=d2, k=k: pct(r["retrieval"][mode][d2][k]))
    for kind in ("colour", "shape", "relation"):
        row(f"swapped {kind}: n", lambda r, kind=kind: str(r["hard_negatives"][kind]["n"]))
        row(f"swapped {kind}: ITC prefers true", lambda r, kind=kind: pct(r["hard_negatives"][kind]["itc"]))
        row(f"swapped {kind}: ITM prefers true", lambda r, kind=kind: pct(r["hard_negatives"][kind]["itm"]))
        row(f"swapped {kind}: ITM binary accuracy (p>0.5)", lambda r, kind=kind: pct(r["hard_negatives"][kind]["itm_binary_acc"]))
    for mode in ("greedy", "beam3"):
        row(f"caption exact match ({mode})", lambda r, mode=mode: pct(r["captioning"][mode]["exact_match"]))
        row(f"caption BLEU-4 ({mode})", lambda r, mode=mode: f"{r['captioning'][mode]['bleu4']:.3f}")
        row(f"caption CIDEr-D ({mode})", lambda r, mode=mode: f"{r['captioning'][mode]['cider_d']:.3f}")
    out = [l for l in out if not l.endswith("| – |") and "| – | – |" not in l]
    print("\n".join(out))


if __name__ == "__main__":
    main()
