"""Training-data cache (models/train/data/, git-ignored) and batch sampling with attribute-swapped negatives."""
from __future__ import annotations

import json
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "data")


def build(seed: int, n: int, split: str, name: str) -> str:
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"{name}.pkl")
    imgs = np.zeros((n, 64, 64, 3), np.uint8)
    scenes = []
    for i, (img, rec, sc) in enumerate(world.generate(seed, n, split)):
        imgs[i] = img
        scenes.append(sc)
    with open(path + ".tmp", "wb") as f:
        pickle.dump({"images": imgs, "scenes": scenes}, f, protocol=4)
    os.replace(path + ".tmp", path)
    return path


def load(names: list[str]) -> tuple[np.ndarray, list[dict]]:
    imgs, scenes = [], []
    for nm in names:
        with open(os.path.join(CACHE, f"{nm}.pkl"), "rb") as f:
            d = pickle.load(f)
        imgs.append(d["images"])
        scenes += d["scenes"]
    return np.concatenate(imgs), scenes


def load_folder(folder: str) -> tuple[np.ndarray, list[dict]]:
    """A gen.py folder (PNGs + captions.jsonl) -> images, records."""
    from PIL import Image

    recs = [json.loads(l) for l in open(os.path.join(folder, "captions.jsonl"))]
    imgs = np.stack([np.asarray(Image.open(os.path.join(folder, r["file"])).convert("RGB")) for r in recs])
    return imgs, recs


def hflip_scene(sc: dict) -> dict:
    objs = [dict(o, x=63.0 - o["x"]) for o in sc["objects"]]
    rel = sc["relation"]
    if rel in ("left of", "right of"):
        rel = world.OPPOSITE[rel]
    return {"objects": objs, "relation": rel, "caption": world.caption_of(objs, rel)}


def swap_kind(sc: dict, rng: np.random.Generator) -> str:
    if sc["relation"] is not None and rng.random() < 0.4:
        return "relation"
    return "colour" if rng.random() < 0.5 else "shape"


class Sampler:
    """Random batches: images (float, normalized), captions, swapped-attribute captions."""

    def __init__(self, images: np.ndarray, scenes: list[dict], seed: int = 0, flip: bool = True, relation_frac: float = 0.0):
        self.images, self.scenes = images, scenes
        self.rng = np.random.default_rng(seed)
        self.flip = flip
        # relation_frac > 0: that share of each batch is drawn from scenes with a spatial relation (on top of the
        # ones the uniform draw brings), to put more of the signal on relations.
        self.relation_frac = relation_frac
        self.with_relation = np.array([i for i, sc in enumerate(scenes) if sc["relation"] is not None])

    def batch(self, bs: int):
        idx = self.rng.integers(0, len(self.scenes), size=bs)
        if self.relation_frac > 0:
            pick = self.rng.random(bs) < self.relation_frac
            idx[pick] = self.rng.choice(self.with_relation, size=int(pick.sum()))
        imgs = self.images[idx].copy()
        caps, negs, kinds, scs = [], [], [], []
        for j, i in enumerate(idx):
            sc = self.scenes[i]
            if self.flip and self.rng.random() < 0.5:
                imgs[j] = imgs[j, :, ::-1]
                sc = hflip_scene(sc)
            caps.append(sc["caption"])
            scs.append(sc)
            k = swap_kind(sc, self.rng)
            kinds.append(k)
            negs.append(world.swap_caption(sc, k, self.rng))
        self.last_scenes = scs
        return imgs, caps, negs, kinds


MEAN = np.array([0.5, 0.5, 0.5], np.float32)
STD = np.array([0.25, 0.25, 0.25], np.float32)


def to_pixels(imgs_u8: np.ndarray) -> np.ndarray:
    x = imgs_u8.astype(np.float32) / 255.0
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


if __name__ == "__main__":
    # python3 data.py SEED N NAME
    s, n, nm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print(build(s, n, "train", nm))
