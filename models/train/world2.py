"""Shapes world v2: scenes of 1-5 objects, deterministic captions and question-answer pairs by type.

v1 (world.py) stays as it is for clip-tiny and blip-tiny. v2 reuses its colours, shapes, sizes, relation rule and
renderer, and adds: more objects (smaller radii so five fit in 64x64), counts, a lexicon with paraphrases, QA pairs,
and a held-out split with two kinds of unseen combinations:

* colour-shape pairs (v1's Latin square: red star, orange cross, yellow circle, green diamond, blue triangle,
  purple square) never occur in train/test scenes, nor in train/test questions;
* shape counts: exactly three circles / two squares / three triangles / two stars / three diamonds / two crosses
  never occur in train/test scenes.

`comp` scenes alternate: even indices hold at least one held-out colour-shape pair, odd indices a held-out count.
Everything is a function of a numpy Generator, so the same (seed, split) gives the same bytes and questions.
"""
from __future__ import annotations

import math

import numpy as np

import world

SHAPES, COLOURS, SIZES = world.SHAPES, world.COLOURS, world.SIZES
RELATIONS, OPPOSITE = world.RELATIONS, world.OPPOSITE
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars",
          "diamond": "diamonds", "cross": "crosses"}
NUMBERS = ["zero", "one", "two", "three", "four", "five"]
HELD_OUT_PAIRS = world.HELD_OUT
HELD_OUT_COUNTS = {("circle", 3), ("square", 2), ("triangle", 3), ("star", 2), ("diamond", 3), ("cross", 2)}
RADIUS = {"small": (5.5, 7.0), "large": (9.0, 11.0)}
N_OBJECTS = [1, 2, 3, 4, 5]
P_OBJECTS = [0.07, 0.13, 0.2, 0.27, 0.33]  # before rejection; crowded scenes fail placement more often
S = world.S

QA_TYPES = ["colour", "shape", "size", "count_all", "count_attr", "exist", "relation", "which", "describe"]

# ---------------------------------------------------------------- paraphrases (inputs vary, answers are canonical)
SIZE_WORDS = {"large": ["large", "big"], "small": ["small", "little", "tiny"]}
RELATION_WORDS = {"left of": ["left of", "to the left of", "on the left of"],
                  "right of": ["right of", "to the right of", "on the right of"],
                  "above": ["above", "over"], "below": ["below", "under", "beneath"]}
OBJECT_WORDS = ["object", "shape", "thing", "item", "figure"]
OBJECTS_WORDS = ["objects", "shapes", "things", "items", "figures"]
IMAGE_WORDS = ["image", "picture", "photo", "scene", "drawing", "illustration"]
# what users put in front of a question; never in front of 'describe' prompts
PREFIXES = ["please tell me", "could you tell me", "can you tell me", "i want to know", "quick question :",
            "hey ,", "hello ,", "hi !", "answer in one word :", "look at the {i} .", "one more question :"]

CAPTION_TEMPLATES = [
    "{c}", "a photo of {c}", "a picture of {c}", "an image of {c}", "a drawing of {c}", "a rendering of {c}",
    "there is {c}", "this image shows {c}", "the picture contains {c}", "a simple scene with {c}",
    "an illustration of {c} on a dark background", "a graphic showing {c}", "a computer generated image of {c}",
    "a flat colorful picture of {c}", "here we have {c}", "we can see {c}", "an example of {c}",
]
Q_TEMPLATES = {
    "colour": ["what colour is the {r}?", "what color is the {r}?", "which colour is the {r}?",
               "what is the colour of the {r}?", "tell me the color of the {r}.", "what colour does the {r} have?"],
    "shape": ["what shape is the {r}?", "which shape is the {r}?", "what is the shape of the {r}?",
              "what kind of shape is the {r}?", "what type of object is the {r}?", "name the shape of the {r}."],
    "size": ["what size is the {r}?", "is the {r} large or small?", "is the {r} big or small?",
             "how big is the {r}?", "what is the size of the {r}?"],
    "count_all": ["how many {o} are there?", "how many {o} are in the {i}?", "how many {o} can you see?",
                  "count the {o}.", "what is the number of {o}?", "how many {o} do you see in total?",
                  "how many {o} does the {i} contain?", "what is the total number of {o}?",
                  "how many {o} are shown?", "how many {o} appear in the {i}?"],
    "count_attr": ["how many {x} are there?", "how many {x} are in the {i}?", "how many {x} can you see?",
                   "count the {x}.", "what is the number of {x}?", "how many {x} does the {i} contain?"],
    "exist": ["is there {d}?", "is there {d} in the {i}?", "does the {i} contain {d}?", "can you see {d}?",
              "do you see {d}?", "is there {d} anywhere in the {i}?", "does the {i} show {d}?",
              "are there any {p}?", "are there any {p} in the {i}?", "is there at least one {s}?"],
    "relation": ["is the {a} {rel} the {b}?", "is the {a} {rel} the {b} in the {i}?",
                 "is it true that the {a} is {rel} the {b}?", "does the {a} appear {rel} the {b}?",
                 "is the {a} located {rel} the {b}?", "would you say the {a} is {rel} the {b}?"],
    "which": ["which object is {rel} the {b}?", "what is {rel} the {b}?", "what object is {rel} the {b}?",
              "which shape is {rel} the {b}?", "what can you see {rel} the {b}?", "name the object {rel} the {b}.",
              "what is the object that is {rel} the {b}?", "which item is positioned {rel} the {b}?"],
    # training only (train_llava.py --relation-choice), not in QA_TYPES: the relation named, not confirmed
    "relation_choice": ["is the {a} left of , right of , above or below the {b}?",
                        "is the {a} above , below , left of or right of the {b}?",
                        "is the {a} to the left of , to the right of , above or below the {b}?"],
    # training only (train_llava.py --side-questions): where one object is in the image, left/right or above/below
    "side": ["is the {a} on the left or on the right of the {i}?", "is the {a} on the left or the right?",
             "is the {a} above or below in the {i}?", "is the {a} in the {i} above or below?"],
    "describe": ["describe the {i}.", "describe this {i}.", "what is in the {i}?", "what do you see?",
                 "what does the {i} show?", "write a caption for this {i}.", "give a short description of the {i}.",
                 "caption this {i}.", "a photo of", "tell me about this {i}.", "please describe the {i} in detail.",
                 "can you describe what is in the {i}?", "what is going on in this {i}?", "summarize the {i}.",
                 "what objects are there?", "generate a caption."],
}
# follow-up questions about the object the previous turn was about ("it")
FOLLOW_UPS = {"colour": ["what colour is it?", "what color is it?", "and its colour?"],
              "shape": ["what shape is it?", "what kind of shape is it?", "and its shape?"],
              "size": ["what size is it?", "is it large or small?", "is it big or small?"]}


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


# ---------------------------------------------------------------- scenes
def phrase(o: dict) -> str:
    return world.phrase(o)


def caption_of(objects: list[dict], relation: str | None) -> str:
    """v1's caption extended to five objects: '<o0> <relation> <o1> and <o2> and ...' (canonical order)."""
    if len(objects) == 1:
        return phrase(objects[0])
    return " and ".join([f"{phrase(objects[0])} {relation} {phrase(objects[1])}"] + [phrase(o) for o in objects[2:]])


def held_out_counts(objs: list[dict]) -> set:
    n = {s: 0 for s in SHAPES}
    for o in objs:
        n[o["shape"]] += 1
    return {(s, k) for s, k in n.items() if (s, k) in HELD_OUT_COUNTS}


def has_held_pair(objs: list[dict]) -> bool:
    return any((o["colour"], o["shape"]) in HELD_OUT_PAIRS for o in objs)


def _random_object(rng, shape=None, colour=None) -> dict:
    size = SIZES[rng.integers(2)]
    lo, hi = RADIUS[size]
    return {"colour": colour or COLOURS[rng.integers(len(COLOURS))], "shape": shape or SHAPES[rng.integers(len(SHAPES))],
            "size": size, "r": float(rng.uniform(lo, hi))}


def _place(objs: list[dict], rng) -> bool:
    """Rejection-sample non-overlapping centres (gap >= 2 px; centres >= 13 px apart, so never in one 8x8 patch)."""
    for o in objs:
        o.pop("x", None)
    for o in objs:
        r = o["r"]
        for _ in range(60):
            x = float(rng.uniform(r + 1, S - r - 1))
            y = float(rng.uniform(r + 1, S - r - 1))
            if all(math.hypot(x - p["x"], y - p["y"]) > r + p["r"] + 2 for p in objs if "x" in p):
                o["x"], o["y"] = x, y
                break
        else:
            return False
    return True


def _objects(rng, split: str, kind: str) -> list[dict] | None:
    n = int(rng.choice(N_OBJECTS, p=P_OBJECTS))
    if kind == "count":  # comp: exactly k objects of shape s, where (s, k) is a held-out count
        s, k = sorted(HELD_OUT_COUNTS)[rng.integers(len(HELD_OUT_COUNTS))]
        n = max(n, k)
        others = [x for x in SHAPES if x != s]
        objs = [_random_object(rng, shape=s) for _ in range(k)]
        objs += [_random_object(rng, shape=others[rng.integers(len(others))]) for _ in range(n - k)]
    else:
        objs = [_random_object(rng) for _ in range(n)]
        if kind == "pair":  # comp: the first object is a held-out colour-shape pair
            c, s = sorted(HELD_OUT_PAIRS)[rng.integers(len(HELD_OUT_PAIRS))]
            objs[0]["colour"], objs[0]["shape"] = c, s
    keys = [(o["size"], o["colour"], o["shape"]) for o in objs]
    if len(set(keys)) < len(keys):  # every object of a scene is a distinct (size, colour, shape)
        return None
    pair, count = has_held_pair(objs), bool(held_out_counts(objs))
    ok = {"iid": not pair and not count, "pair": pair and not count, "count": count and not pair}[kind]
    return objs if ok else None


def sample_scene(rng: np.random.Generator, split: str, index: int = 0) -> dict:
    kind = "iid" if split in ("train", "test") else ("pair" if index % 2 == 0 else "count")
    while True:
        objs = _objects(rng, split, kind)
        if objs is None or not _place(objs, rng):
            continue
        objs.sort(key=world.object_key)
        rel = None
        if len(objs) >= 2:
            rel = world.relation_of(objs[0], objs[1])
            if rel is None:  # the caption states the relation of the first two objects: it must be clear
                continue
        for o in objs:
            o["rot"] = float(rng.uniform(-0.25, 0.25)) if o["shape"] != "circle" else 0.0
        return {"objects": objs, "relation": rel, "caption": caption_of(objs, rel), "held_out": kind}


def render(scene: dict, rng: np.random.Generator) -> np.ndarray:
    return world.render(scene, rng)


def hflip_scene(sc: dict) -> dict:
    """The scene of the horizontally mirrored image (x -> 63 - x; left/right relations swap)."""
    objs = [dict(o, x=63.0 - o["x"]) for o in sc["objects"]]
    rel = sc["relation"]
    if rel in ("left of", "right of"):
        rel = OPPOSITE[rel]
    return dict(sc, objects=objs, relation=rel, caption=caption_of(objs, rel))


def paraphrase_caption(caption: str, rng) -> str:
    """A caption as a user might write it: a template around it, size and relation words swapped for synonyms."""
    words = caption
    for rel, alts in RELATION_WORDS.items():
        words = words.replace(f" {rel} ", f" {alts[rng.integers(len(alts))]} ")
    out = []
    for w in words.split(" "):
        out.append(SIZE_WORDS[w][rng.integers(len(SIZE_WORDS[w]))] if w in SIZE_WORDS else w)
    c = " ".join(out)
    return CAPTION_TEMPLATES[rng.integers(len(CAPTION_TEMPLATES))].format(c=c)


# ---------------------------------------------------------------- questions
ATTRS = ("size", "colour", "shape")


def matches(o: dict, desc: dict) -> bool:
    return all(o[k] == v for k, v in desc.items())


def mentions_held_pair(desc: dict) -> bool:
    return (desc.get("colour"), desc.get("shape")) in HELD_OUT_PAIRS


def desc_text(desc: dict, rng, plural: bool = False) -> str:
    """{'size': 'large', 'colour': 'red', 'shape': 'circle'} -> 'big red circle' (synonyms drawn by rng)."""
    w = []
    if "size" in desc:
        alts = SIZE_WORDS[desc["size"]]
        w.append(alts[rng.integers(len(alts))])
    if "colour" in desc:
        w.append(desc["colour"])
    if "shape" in desc:
        w.append(PLURAL[desc["shape"]] if plural else desc["shape"])
    else:
        alts = OBJECTS_WORDS if plural else OBJECT_WORDS
        w.append(alts[rng.integers(len(alts))])
    return " ".join(w)


# attribute subsets a reference may use (shape-less ones say 'object' / 'shape' / 'thing')
DESC_KEYS = [("shape",), ("colour", "shape"), ("size", "shape"), ("size", "colour", "shape"), ("colour",),
             ("size", "colour")]


def unique_refs(o: dict, objs: list[dict], exclude: str | None = None) -> list[dict]:
    out = []
    for keys in DESC_KEYS:
        if exclude in keys:
            continue
        d = {k: o[k] for k in keys}
        if sum(matches(p, d) for p in objs) == 1:
            out.append(d)
    return out


def _pick(rng, xs):
    return xs[rng.integers(len(xs))]


def _fill(template: str, rng, **kw) -> str:
    return template.format(i=_pick(rng, IMAGE_WORDS), o=_pick(rng, OBJECTS_WORDS), **kw)


def with_prefix(question: str, rng, p: float = 0.2) -> str:
    """Sometimes put what users type before a question ('could you tell me ...')."""
    if rng.random() >= p:
        return question
    return f"{_fill(_pick(rng, PREFIXES), rng)} {question}"


def _ref_ok(d: dict, split: str) -> bool:
    return split == "comp" or not mentions_held_pair(d)


def qa_attribute(sc, rng, split, attr):
    objs = sc["objects"]
    for i in rng.permutation(len(objs)):
        o = objs[i]
        refs = [d for d in unique_refs(o, objs, exclude=attr) if _ref_ok(d, split)]
        if refs:
            r = desc_text(_pick(rng, refs), rng)
            return {"type": attr, "question": _fill(_pick(rng, Q_TEMPLATES[attr]), rng, r=r), "answer": o[attr],
                    "about": int(i), "refs": [(r, int(i))]}
    return None


def qa_count_all(sc, rng, split):
    n = len(sc["objects"])
    return {"type": "count_all", "question": _fill(_pick(rng, Q_TEMPLATES["count_all"]), rng), "answer": NUMBERS[n]}


def qa_count_attr(sc, rng, split):
    objs = sc["objects"]
    keys = _pick(rng, [("colour",), ("shape",), ("size",), ("colour", "shape")])
    for _ in range(10):
        if rng.random() < 0.6:  # mostly about attributes present; else any value (answers include zero)
            d = {k: _pick(rng, objs)[k] for k in keys}
        else:
            d = {k: _pick(rng, {"colour": COLOURS, "shape": SHAPES, "size": SIZES}[k]) for k in keys}
        if _ref_ok(d, split):
            n = sum(matches(o, d) for o in objs)
            x = desc_text(d, rng, plural=True)
            return {"type": "count_attr", "question": _fill(_pick(rng, Q_TEMPLATES["count_attr"]), rng, x=x),
                    "answer": NUMBERS[n]}
    return None


def qa_exist(sc, rng, split):
    objs = sc["objects"]
    positive = rng.random() < 0.5
    for _ in range(20):
        o = _pick(rng, objs)
        keys = _pick(rng, DESC_KEYS)
        d = {k: o[k] for k in keys}
        if not positive:  # a near miss: one attribute of a present object changed, matching nothing
            k = _pick(rng, list(keys))
            vals = {"colour": COLOURS, "shape": SHAPES, "size": SIZES}[k]
            d[k] = _pick(rng, [v for v in vals if v != o[k]])
            if any(matches(p, d) for p in objs):
                continue
        if not _ref_ok(d, split):
            continue
        t = desc_text(d, rng)
        q = {"type": "exist", "question": _fill(_pick(rng, Q_TEMPLATES["exist"]), rng, d=with_article(t), s=t,
                                                p=desc_text(d, rng, plural=True)),
             "answer": "yes" if positive else "no"}
        hits = [j for j, p in enumerate(objs) if matches(p, d)]
        if len(hits) == 1:
            q["about"] = hits[0]
        return q
    return None


def _relation_pairs(sc, rng, split):
    """(i, j, refs of i, refs of j) for the ordered pairs with a clear relation that both have unique references
    for, in a random order."""
    objs = sc["objects"]
    pairs = [(i, j) for i in range(len(objs)) for j in range(len(objs))
             if i != j and world.relation_of(objs[i], objs[j]) is not None]
    for k in rng.permutation(len(pairs)) if pairs else []:
        i, j = pairs[k]
        ra = [d for d in unique_refs(objs[i], objs) if _ref_ok(d, split)]
        rb = [d for d in unique_refs(objs[j], objs) if _ref_ok(d, split)]
        if ra and rb:
            yield i, j, ra, rb


def qa_relation(sc, rng, split):
    objs = sc["objects"]
    for i, j, ra, rb in _relation_pairs(sc, rng, split):
        rel = world.relation_of(objs[i], objs[j])
        positive = rng.random() < 0.5
        asked = rel if positive else OPPOSITE[rel]
        template = _pick(rng, Q_TEMPLATES["relation"])  # the draws in the order they always had
        a, b = desc_text(_pick(rng, ra), rng), desc_text(_pick(rng, rb), rng)
        q = _fill(template, rng, a=a, b=b, rel=_pick(rng, RELATION_WORDS[asked]))
        return {"type": "relation", "question": q, "answer": "yes" if positive else "no",
                "refs": [(a, int(i)), (b, int(j))]}
    return None


def qa_relation_pair(sc, rng, split):
    """One relation question asked both ways, every other word shared ('is the A left of the B?' -> yes, 'is the A
    right of the B?' -> no; training only). Side by side in a batch, only the relation word and the two objects'
    positions tell the answers apart, so answering from the yes/no prior earns nothing."""
    objs = sc["objects"]
    for i, j, ra, rb in _relation_pairs(sc, rng, split):
        rel = world.relation_of(objs[i], objs[j])
        words = {"i": _pick(rng, IMAGE_WORDS), "o": _pick(rng, OBJECTS_WORDS), "a": desc_text(_pick(rng, ra), rng),
                 "b": desc_text(_pick(rng, rb), rng)}
        template = _pick(rng, Q_TEMPLATES["relation"])
        return [{"type": "relation", "question": template.format(rel=_pick(rng, RELATION_WORDS[r]), **words),
                 "answer": answer, "refs": [(words["a"], int(i)), (words["b"], int(j))]}
                for r, answer in ((rel, "yes"), (OPPOSITE[rel], "no"))]
    return None


def qa_side(sc, rng, split):
    """'is the A on the left or on the right of the image?' -> 'left' (or above/below for the second two templates),
    only for an object at least 6 px off the image's middle line on that axis: one object's place, read off its
    image token, which the relation questions compare for two (training only)."""
    objs = sc["objects"]
    for i in rng.permutation(len(objs)):
        refs = [d for d in unique_refs(objs[i], objs) if _ref_ok(d, split)]
        k = int(rng.integers(len(Q_TEMPLATES["side"])))
        axis, low, high = ("x", "left", "right") if k < 2 else ("y", "above", "below")
        off = objs[i][axis] - 32
        if refs and abs(off) >= 6:
            a = desc_text(_pick(rng, refs), rng)
            q = _fill(Q_TEMPLATES["side"][k], rng, a=a)
            return {"type": "side", "question": q, "answer": low if off < 0 else high, "about": int(i),
                    "refs": [(a, int(i))]}
    return None


def qa_relation_choice(sc, rng, split):
    """'is the A left of, right of, above or below the B?' -> the relation ('left of'): a training signal richer
    than yes/no for the same comparison of two referred objects' positions."""
    objs = sc["objects"]
    for i, j, ra, rb in _relation_pairs(sc, rng, split):
        q = _fill(_pick(rng, Q_TEMPLATES["relation_choice"]), rng, a=desc_text(_pick(rng, ra), rng),
                  b=desc_text(_pick(rng, rb), rng))
        return {"type": "relation_choice", "question": q, "answer": world.relation_of(objs[i], objs[j])}
    return None


def loosely(a: dict, b: dict, rel: str) -> bool:
    """a is at all in direction rel of b (more than 4 px along that axis): the looser sense a reader might take."""
    dx, dy = a["x"] - b["x"], a["y"] - b["y"]
    return {"left of": dx < -4, "right of": dx > 4, "above": dy < -4, "below": dy > 4}[rel]


def qa_which(sc, rng, split):
    """'which object is <rel> the <b>?' only when exactly one object is clearly so and no other is even loosely."""
    objs = sc["objects"]
    for j in rng.permutation(len(objs)):
        rb = [d for d in unique_refs(objs[j], objs) if _ref_ok(d, split)]
        if not rb:
            continue
        for rel in [RELATIONS[k] for k in rng.permutation(4)]:
            clear = [i for i in range(len(objs)) if i != j and world.relation_of(objs[i], objs[j]) == rel]
            loose = [i for i in range(len(objs)) if i != j and loosely(objs[i], objs[j], rel)]
            if len(clear) == 1 and loose == clear:
                template = _pick(rng, Q_TEMPLATES["which"])
                b = desc_text(_pick(rng, rb), rng)
                q = _fill(template, rng, b=b, rel=_pick(rng, RELATION_WORDS[rel]))
                return {"type": "which", "question": q, "answer": phrase(objs[clear[0]]), "about": int(clear[0]),
                        "refs": [(b, int(j))], "answer_refs": [(phrase(objs[clear[0]]), int(clear[0]))]}
    return None


def qa_describe(sc, rng, split):
    return {"type": "describe", "question": _fill(_pick(rng, Q_TEMPLATES["describe"]), rng), "answer": sc["caption"]}


MAKERS = {
    "colour": lambda sc, rng, split: qa_attribute(sc, rng, split, "colour"),
    "shape": lambda sc, rng, split: qa_attribute(sc, rng, split, "shape"),
    "size": lambda sc, rng, split: qa_attribute(sc, rng, split, "size"),
    "count_all": qa_count_all, "count_attr": qa_count_attr, "exist": qa_exist, "relation": qa_relation,
    "which": qa_which, "describe": qa_describe, "relation_choice": qa_relation_choice, "side": qa_side,
}


def make_qa(sc: dict, qtype: str, rng, split: str) -> dict | None:
    """One question of the type about the scene, or None when the scene has none (e.g. no relation pair)."""
    q = MAKERS[qtype](sc, rng, split)
    if q is not None and qtype != "describe":
        q["question"] = with_prefix(q["question"], rng)
    return q


def follow_up(sc: dict, prev: dict, rng) -> dict | None:
    """'what colour is it?' about the object the previous turn singled out (if it did)."""
    if "about" not in prev or prev.get("answer") == "no":
        return None
    attr = _pick(rng, [a for a in ("colour", "shape", "size") if a != prev["type"]])
    o = sc["objects"][prev["about"]]
    return {"type": "follow_up", "question": _pick(rng, FOLLOW_UPS[attr]), "answer": o[attr], "about": prev["about"]}


def eval_questions(sc: dict, rng, split: str) -> list[dict]:
    """The evaluation set of one image: one question of every type that applies, and a second turn ('what colour
    is it?') after the first question that singled out an object, with that question and its answer as history."""
    out = []
    for t in QA_TYPES:
        q = make_qa(sc, t, rng, split)
        if q is not None:
            out.append(q)
    for q in out:
        f = follow_up(sc, q, rng)
        if f is not None:
            f["history"] = [[q["question"], q["answer"]]]
            out.append(f)
            break
    return out


# ---------------------------------------------------------------- splits
SPLIT_SALT = {"train": 10, "test": 11, "comp": 12}


def scene_record(sc: dict) -> dict:
    return {
        "caption": sc["caption"],
        "objects": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in o.items() if k != "rot"}
                    for o in sc["objects"]],
        "relation": None if sc["relation"] is None else {"subject": 0, "object": 1, "type": sc["relation"]},
        "held_out": sc["held_out"],
    }


def generate(seed: int, n: int, split: str, questions: bool = True):
    """Yields (image uint8 64x64x3, record, scene) n times; the record holds the evaluation questions.
    Deterministic in (seed, split); salts differ from v1's so v1 and v2 streams never coincide."""
    rng = np.random.default_rng([seed, SPLIT_SALT[split]])
    for i in range(n):
        sc = sample_scene(rng, split, i)
        img = render(sc, rng)
        rec = scene_record(sc)
        if questions:
            rec["qa"] = eval_questions(sc, rng, split)
        yield img, rec, sc


def lexicon() -> list[str]:
    """Every word the generators can emit (captions, paraphrases, questions, answers), sorted."""
    import re

    text = []
    text += COLOURS + SHAPES + list(PLURAL.values()) + NUMBERS + ["yes", "no"]
    for alts in list(SIZE_WORDS.values()) + list(RELATION_WORDS.values()):
        text += alts
    text += OBJECT_WORDS + OBJECTS_WORDS + IMAGE_WORDS + ["a", "an", "and", "it", "its"] + PREFIXES
    text += [t.replace("{c}", "") for t in CAPTION_TEMPLATES]
    for ts in list(Q_TEMPLATES.values()) + list(FOLLOW_UPS.values()):
        text += [re.sub(r"\{\w+\}", "", t) for t in ts]
    words = set()
    for t in text:
        words |= set(re.findall(r"\w+|[^\w\s]", t.lower()))
    return sorted(words)
