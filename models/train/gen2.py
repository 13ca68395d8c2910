#!/usr/bin/env python3
"""Generate a shapes-world-v2 split: PNGs + scenes.jsonl (scene, caption and the evaluation questions per image).

  python3 models/train/gen2.py --seed 91001 --n 200 --split test --out models/data/v2-test
  python3 models/train/gen2.py --seed 91002 --n 200 --split comp --out models/data/v2-comp
  python3 models/train/gen2.py --seed 91001 --n 1000 --split test --negatives --out models/data/v2-taxo

Each line: file, caption, objects (colour, shape, size, centre x/y, radius r in pixels; canonical order), relation
(of object 0 to object 1, or null), held_out ('iid', 'pair' or 'count') and qa: [{type, question, answer, about?,
history?}] (history = earlier [question, answer] turns of a follow-up). With --negatives each line also has
negatives: {binding?, relation?}, the hard-negative captions of the architecture comparison (vl2.eval_split). The same seed gives the same bytes; the
first n images of a seed are the first n of evaluate_vqa.py's split with that seed.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from PIL import Image  # noqa: E402

import vl2  # noqa: E402
from world2 import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--split", choices=["train", "test", "comp"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--negatives", action="store_true", help="add the hard-negative captions (vl2.eval_split)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    width = max(5, len(str(a.n - 1)))
    with open(os.path.join(a.out, "scenes.jsonl"), "w") as f:
        if a.negatives:
            imgs, _, recs = vl2.eval_split(a.seed, a.n, a.split)
            items = zip(imgs, recs)
        else:
            items = ((img, rec) for img, rec, _ in generate(a.seed, a.n, a.split))
        for i, (img, rec) in enumerate(items):
            name = f"{i:0{width}d}.png"
            Image.fromarray(img).save(os.path.join(a.out, name), format="PNG", optimize=True)
            f.write(json.dumps({"file": name, **rec}) + "\n")


if __name__ == "__main__":
    main()
