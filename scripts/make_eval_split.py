"""Writes an evaluation split exactly as models/train/evaluate.py sees it: the same seeds and scenes, plus the
hard-negative captions evaluate.py draws (numpy default_rng(7), kinds in the order colour, shape, relation), so
`npm run eval` (the TypeScript runtime) and PyTorch score the same pairs.

  /usr/bin/python3 scripts/make_eval_split.py --split test --out .tmp/eval-test          # 1000 images, seed 90001
  /usr/bin/python3 scripts/make_eval_split.py --split comp --out .tmp/eval-comp          # 500 images, seed 90002
  /usr/bin/python3 scripts/make_eval_split.py --split test --n 300 --seed 4242 --out DIR  # any other split
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models" / "train"))
import evaluate  # noqa: E402
import world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["test", "comp"], required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--n", type=int)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    seed, n = evaluate.SPLITS[a.split]
    seed, n = a.seed or seed, a.n or n
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    records, scenes = [], []
    for i, (img, rec, sc) in enumerate(world.generate(seed, n, a.split)):
        name = f"{i:05d}.png"
        Image.fromarray(img).save(out / name, optimize=True)
        records.append({"file": name, **rec})
        scenes.append(sc)
    rng = np.random.default_rng(7)  # evaluate.hard_negatives draws in this order
    for kind in ("colour", "shape", "relation"):
        for rec, sc in zip(records, scenes):
            neg = world.swap_caption(sc, kind, rng)
            if neg is not None:
                rec.setdefault("negatives", {})[kind] = neg
    with open(out / "captions.jsonl", "w") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    print(f"wrote {len(records)} images to {out} (seed {seed}, split {a.split})")


if __name__ == "__main__":
    main()
