"""Shapes world v2 training data: image caches (models/train/data/, git-ignored), dense vision targets, and
instruction batches (image + one or more question/answer turns) for the generative models.

  python3 models/train/data2.py SEED N NAME        # e.g. 200 25000 v2train0
"""
from __future__ import annotations

import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import tok2  # noqa: E402
import world2  # noqa: E402

CACHE = data.CACHE
to_pixels = data.to_pixels
GRID = 8  # 64x64 image -> 8x8 patch tokens
CELL = world2.S // GRID


def build(seed: int, n: int, split: str, name: str) -> str:
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"{name}.pkl")
    imgs = np.zeros((n, 64, 64, 3), np.uint8)
    scenes = []
    for i, (img, _, sc) in enumerate(world2.generate(seed, n, split, questions=False)):
        imgs[i] = img
        scenes.append(sc)
    with open(path + ".tmp", "wb") as f:
        pickle.dump({"images": imgs, "scenes": scenes}, f, protocol=4)
    os.replace(path + ".tmp", path)
    return path


def load(names: list[str]) -> tuple[np.ndarray, list[dict]]:
    return data.load(names)


def gen_split(seed: int, n: int, split: str):
    """Images, scenes and evaluation records of a split generated on the fly."""
    imgs, scenes, recs = [], [], []
    for img, rec, sc in world2.generate(seed, n, split):
        imgs.append(img)
        scenes.append(sc)
        recs.append(rec)
    return np.stack(imgs), scenes, recs


# ---------------------------------------------------------------- dense targets for the vision tower
_CELL_CENTRES = (np.stack(np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="xy"), -1).reshape(-1, 2) + 0.5) * CELL


def patch_targets(sc: dict) -> dict:
    """Per 8x8 patch (raster order): centre (an object's centre lies in it), the colour/shape/size of the object that
    owns it (its centre's object, else the nearest object covering the patch centre; 0 = background), and the centre's
    offset within the patch."""
    objs = sc["objects"]
    xy = np.array([[o["x"], o["y"]] for o in objs], np.float32)
    r = np.array([o["r"] for o in objs], np.float32)
    d = np.linalg.norm(_CELL_CENTRES[:, None, :] - xy[None], axis=-1) / r[None]  # [64, n]
    owner = np.where(d.min(1) < 0.9, d.argmin(1), -1)
    cell = (xy // CELL).astype(np.int64)
    centre_cell = cell[:, 1] * GRID + cell[:, 0]
    owner[centre_cell] = np.arange(len(objs))
    centre = np.zeros(GRID * GRID, np.float32)
    centre[centre_cell] = 1
    offset = np.zeros((GRID * GRID, 2), np.float32)
    offset[centre_cell] = xy / CELL - cell
    lut = {k: np.array([0] + [1 + vals.index(o[k]) for o in objs], np.int64)
           for k, vals in (("colour", world2.COLOURS), ("shape", world2.SHAPES), ("size", world2.SIZES))}
    return {"centre": centre, "colour": lut["colour"][owner + 1], "shape": lut["shape"][owner + 1],
            "size": lut["size"][owner + 1], "offset": offset, "count": len(objs) - 1}


class Sampler:
    """Random images (flipped half the time, the scene mirrored with them) from a cache."""

    def __init__(self, images: np.ndarray, scenes: list[dict], seed: int = 0, flip: bool = True):
        self.images, self.scenes = images, scenes
        self.rng = np.random.default_rng(seed)
        self.flip = flip

    def images_and_scenes(self, bs: int):
        idx = self.rng.integers(0, len(self.scenes), size=bs)
        imgs = self.images[idx].copy()
        scs = []
        for j, i in enumerate(idx):
            sc = self.scenes[i]
            if self.flip and self.rng.random() < 0.5:
                imgs[j] = imgs[j, :, ::-1]
                sc = world2.hflip_scene(sc)
            scs.append(sc)
        return imgs, scs

    def vision_batch(self, bs: int):
        imgs, scs = self.images_and_scenes(bs)
        ts = [patch_targets(sc) for sc in scs]
        return imgs, {k: np.stack([t[k] for t in ts]) for k in ts[0]}


# ---------------------------------------------------------------- instruction batches
# Share of each question type in training conversations (describe is the longest and hardest answer).
TYPE_WEIGHTS = {"colour": 1.0, "shape": 1.2, "size": 0.8, "count_all": 1.0, "count_attr": 1.6, "exist": 1.2,
                "relation": 1.6, "which": 1.2, "describe": 1.0}


def conversation(sc: dict, rng, split: str = "train", max_turns: int = 4, captions_only: bool = False,
                 follow_up_p: float = 0.25, refs: list | None = None) -> list[tuple[str, str]]:
    """1..max_turns question/answer turns about one scene. 'describe' is only ever the last turn, so later
    answers cannot be read off an earlier caption. refs: if given, receives the (description, object index) pairs
    the questions refer to objects by (world2's 'refs')."""
    if captions_only:
        q = world2.make_qa(sc, "describe", rng, split)
        return [(q["question"], q["answer"])]
    types = list(TYPE_WEIGHTS)
    w = np.array([TYPE_WEIGHTS[t] for t in types])
    n = int(rng.integers(1, max_turns + 1))
    turns, prev = [], None
    while len(turns) < n:
        if prev is not None and rng.random() < follow_up_p:
            q = world2.follow_up(sc, prev, rng)
            if q is not None:
                turns.append((q["question"], q["answer"]))
                prev = q
                continue
        t = types[rng.choice(len(types), p=w / w.sum())]
        if t == "describe" and len(turns) < n - 1:
            continue
        q = world2.make_qa(sc, t, rng, split)
        if q is None:
            continue
        turns.append((q["question"], q["answer"]))
        if refs is not None:
            refs += q.get("refs", []) + [(d, i, "answer") for d, i in q.get("answer_refs", [])]
        prev = q
        if t == "describe":
            break
    return turns


GROUND_BINS = 8  # places along each axis: 8-pixel bins of the 64-pixel image


def grounding_targets(ids: np.ndarray, scenes: list[dict], refs: list[list]) -> np.ndarray:
    """[B, L, 2] (x bin, y bin) of the object a description refers to, at the description's last token, wherever
    a description a question used occurs in that row (-100 elsewhere): a training-only signal that the LM should
    know where a referred object is by the time it has read its description. A ref marked "answer" (the object a
    'which' answer names) is grounded at the positions that predict its words: the LM should know which object
    it is about to describe before it describes it."""
    out = np.full(ids.shape + (2,), -100, np.int64)
    for b, (sc, row_refs) in enumerate(zip(scenes, refs)):
        row = ids[b].tolist()
        for desc, i, *mode in row_refs:
            d = tok2.encode_words(desc)
            o = sc["objects"][i]
            place = [min(GROUND_BINS - 1, int(o["x"]) * GROUND_BINS // 64), min(GROUND_BINS - 1, int(o["y"]) * GROUND_BINS // 64)]
            for p in range(1, len(row) - len(d) + 1):
                if row[p:p + len(d)] == d:
                    at = range(p - 1, p + len(d) - 1) if mode == ["answer"] else [p + len(d) - 1]
                    out[b, list(at)] = place
    return out


def pad_batch(seqs: list[tuple[list[int], list[int]]]):
    """[(ids, targets)] -> ids [B,L] (padded with <pad>), targets [B,L] (-100 on pads), attention_mask [B,L]."""
    L = max(len(s[0]) for s in seqs)
    ids = np.full((len(seqs), L), tok2.PAD, np.int64)
    tgt = np.full((len(seqs), L), -100, np.int64)
    mask = np.zeros((len(seqs), L), np.int64)
    for i, (s, t) in enumerate(seqs):
        ids[i, : len(s)] = s
        tgt[i, : len(t)] = t
        mask[i, : len(s)] = 1
    return ids, tgt, mask


class ChatSampler(Sampler):
    def chat_batch(self, bs: int, max_turns: int = 4, captions_only: bool = False, n_image: int = tok2.N_IMAGE_TOKENS,
                   relation_pairs: float = 0.0, grounding: bool = False):
        """relation_pairs: the share of the batch given to world2.qa_relation_pair's questions, each image twice (the
        question asked both ways, one turn each). grounding: also return where each referred object is (see
        grounding_targets)."""
        n_pairs = int(bs * relation_pairs) // 2
        imgs, scs = self.images_and_scenes(bs - n_pairs)
        conv_scenes = list(scs[n_pairs:])
        conv_refs = [[] for _ in conv_scenes]
        convs = [conversation(sc, self.rng, "train", max_turns, captions_only, refs=r)
                 for sc, r in zip(conv_scenes, conv_refs)]
        pair_imgs = []
        for k, sc in enumerate(scs[:n_pairs]):
            qs = world2.qa_relation_pair(sc, self.rng, "train")
            if qs is None:  # no relation pair in this scene: two ordinary conversations about it
                pair_refs = [[], []]
                convs += [conversation(sc, self.rng, "train", max_turns, refs=r) for r in pair_refs]
            else:
                convs += [[(q["question"], q["answer"])] for q in qs]
                pair_refs = [q["refs"] for q in qs]
            conv_scenes += [sc, sc]
            conv_refs += pair_refs
            pair_imgs += [imgs[k], imgs[k]]
        imgs = np.concatenate([imgs[n_pairs:], np.stack(pair_imgs)]) if n_pairs else imgs
        seqs = [tok2.chat_ids(c, n_image) for c in convs]
        ids, tgt, mask = pad_batch(seqs)
        if not grounding:
            return imgs, ids, tgt, mask
        return imgs, ids, tgt, mask, grounding_targets(ids, conv_scenes, conv_refs)


if __name__ == "__main__":
    s, n, nm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print(build(s, n, "train", nm))
