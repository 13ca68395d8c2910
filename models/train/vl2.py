"""Shapes world v2 for the encoder models of the architecture comparison (clip-v2, blip-v2, vilt-tiny, vlmo-tiny,
coca-tiny): hard-negative captions, the VQA answer vocabulary, and training batches (images, captions, negatives,
one question per image).

Hard negatives are the two the comparison is about:
* attribute binding: two objects of the caption exchange one attribute ("a red circle left of a blue square" ->
  "a blue circle left of a red square"); the words stay the same, only which object has which attribute changes;
* relation: the relation of the first two objects reversed ("left of" -> "right of").
Training also uses v1's single-attribute replacements (one object's colour or shape changed).

VQA is classification over every short answer the generator can give (colours, shapes, sizes, counts, yes/no and
the 72 object phrases 'which' questions are answered with); 'describe' questions are captions, not classes.
A follow-up ('what colour is it?') is read with the earlier turn flattened in front of it: 'q1 a1 q2'.
"""
from __future__ import annotations

import numpy as np

import data2
import world2

KINDS = ("binding", "relation")


def swap_binding(sc: dict, rng) -> str | None:
    """Two objects of the caption exchange their colour (else shape); word order kept. None if no pair qualifies.
    The pair must differ in the swapped attribute and in another one, so the swap names a different set of objects
    (two circles that differ only in colour would trade places: that is a relation swap, not a binding one)."""
    objs = sc["objects"]
    cands = []
    for i in range(len(objs)):
        for j in range(i + 1, len(objs)):
            for a in ("colour", "shape"):
                others = [b for b in ("colour", "shape", "size") if b != a]
                if objs[i][a] != objs[j][a] and any(objs[i][b] != objs[j][b] for b in others):
                    cands.append((i, j, a))
    if not cands:
        return None
    # the first two objects and colour first when they qualify (the form of the seeds' example)
    first = [c for c in cands if c[:2] == (0, 1)]
    i, j, a = _pick_pair(cands, first, rng)
    new = [dict(o) for o in objs]
    new[i][a], new[j][a] = objs[j][a], objs[i][a]
    out = world2.caption_of(new, sc["relation"])
    return out if out != sc["caption"] else None


def _pick_pair(cands, first, rng):
    pool = first if first and rng.random() < 0.7 else cands
    return pool[int(rng.integers(len(pool)))]


def swap_relation(sc: dict) -> str | None:
    if sc["relation"] is None:
        return None
    return world2.caption_of(sc["objects"], world2.OPPOSITE[sc["relation"]])


def swap_attribute(sc: dict, rng) -> str:
    """v1's negative: one object's colour or shape replaced by another value."""
    objs = [dict(o) for o in sc["objects"]]
    i = int(rng.integers(len(objs)))
    k = "colour" if rng.random() < 0.5 else "shape"
    vals = world2.COLOURS if k == "colour" else world2.SHAPES
    objs[i][k] = [v for v in vals if v != objs[i][k]][int(rng.integers(len(vals) - 1))]
    return world2.caption_of(objs, sc["relation"])


def negative(sc: dict, rng) -> str:
    """A hard-negative caption for training: binding 35 %, relation 35 % (when the scene has them), else a
    single-attribute replacement."""
    r = rng.random()
    if r < 0.35:
        n = swap_binding(sc, rng)
        if n:
            return n
    elif r < 0.7:
        n = swap_relation(sc)
        if n:
            return n
    return swap_attribute(sc, rng)


def eval_negatives(sc: dict, rng) -> dict:
    """The evaluation hard negatives of a scene (those that apply)."""
    out = {}
    b = swap_binding(sc, rng)
    if b:
        out["binding"] = b
    r = swap_relation(sc)
    if r:
        out["relation"] = r
    return out


# ---------------------------------------------------------------- VQA
def answer_vocab() -> list[str]:
    phrases = [f"a {s} {c} {h}" for s in world2.SIZES for c in world2.COLOURS for h in world2.SHAPES]
    return world2.COLOURS + world2.SHAPES + world2.SIZES + world2.NUMBERS + ["yes", "no"] + phrases


ANSWERS = answer_vocab()
ANSWER_ID = {a: i for i, a in enumerate(ANSWERS)}
QA_WEIGHTS = {t: w for t, w in data2.TYPE_WEIGHTS.items() if t != "describe"}


def question_text(question: str, history: list | None = None) -> str:
    """The text a classifier reads: earlier turns flattened in front ('q1 a1 q2')."""
    return " ".join([f"{q} {a}" for q, a in history or []] + [question])


def sample_question(sc: dict, rng, split: str = "train", follow_up_p: float = 0.15) -> tuple[str, int]:
    types = list(QA_WEIGHTS)
    w = np.array([QA_WEIGHTS[t] for t in types])
    while True:
        t = types[rng.choice(len(types), p=w / w.sum())]
        q = world2.make_qa(sc, t, rng, split)
        if q is None:
            continue
        if rng.random() < follow_up_p:
            f = world2.follow_up(sc, q, rng)
            if f is not None:
                return question_text(f["question"], [(q["question"], q["answer"])]), ANSWER_ID[f["answer"]]
        return q["question"], ANSWER_ID[q["answer"]]


class Batches(data2.Sampler):
    """images (uint8, flipped half the time), captions, one hard negative per caption, one question per image."""

    def batch(self, bs: int, questions: bool = True):
        imgs, scs = self.images_and_scenes(bs)
        caps = [sc["caption"] for sc in scs]
        negs = [negative(sc, self.rng) for sc in scs]
        qs, ans = [], []
        if questions:
            for sc in scs:
                q, a = sample_question(sc, self.rng)
                qs.append(q)
                ans.append(a)
        return imgs, scs, caps, negs, qs, np.array(ans, np.int64)


def eval_split(seed: int, n: int, split: str):
    """Images, scenes and records (with questions) of an evaluation split, as evaluate_vqa.py / gen2.py make them,
    plus the hard negatives (their own rng, so the questions stay those of gen2.py)."""
    imgs, scenes, recs = data2.gen_split(seed, n, split)
    rng = np.random.default_rng([seed, 7])
    for sc, rec in zip(scenes, recs):
        rec["negatives"] = eval_negatives(sc, rng)
    return imgs, scenes, recs
