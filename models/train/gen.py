#!/usr/bin/env python3
"""Generate a shapes-world split: PNGs + captions.jsonl.

  python3 models/train/gen.py --seed 7 --n 300 --split test --out models/data/eval
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from PIL import Image  # noqa: E402

from world import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--split", choices=["train", "test", "comp"], required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    width = max(5, len(str(a.n - 1)))
    with open(os.path.join(a.out, "captions.jsonl"), "w") as f:
        for i, (img, rec, _) in enumerate(generate(a.seed, a.n, a.split)):
            name = f"{i:0{width}d}.png"
            # PNG without timestamps/metadata: same seed -> same bytes
            Image.fromarray(img).save(os.path.join(a.out, name), format="PNG", optimize=True)
            f.write(json.dumps({"file": name, **rec}, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
