"""Shapes world: vocabulary, scene sampling, rendering and deterministic captions.

Everything here is deterministic given a numpy Generator, so the same seed gives the same bytes.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star", "diamond", "cross"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple"]
SIZES = ["small", "large"]
RELATIONS = ["left of", "right of", "above", "below"]
OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}

# colour -> base RGB; rendered with a little jitter
RGB = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (240, 225, 40),
    "green": (40, 185, 60),
    "blue": (45, 85, 230),
    "purple": (150, 50, 200),
}

# colour-shape combinations never seen in train (a Latin square: every colour and every shape held out once)
HELD_OUT = {
    ("red", "star"),
    ("orange", "cross"),
    ("yellow", "circle"),
    ("green", "diamond"),
    ("blue", "triangle"),
    ("purple", "square"),
}

RADIUS = {"small": (6.0, 8.0), "large": (11.5, 14.0)}
S = 64
SS = 4  # supersampling factor for anti-aliased edges


def object_key(o: dict) -> tuple:
    """Canonical caption order: large before small, then colour order, then shape order."""
    return (0 if o["size"] == "large" else 1, COLOURS.index(o["colour"]), SHAPES.index(o["shape"]))


def phrase(o: dict) -> str:
    return f"a {o['size']} {o['colour']} {o['shape']}"


def caption_of(objects: list[dict], relation: str | None) -> str:
    """objects are already in canonical order; relation is of objects[0] with respect to objects[1]."""
    if len(objects) == 1:
        return phrase(objects[0])
    c = f"{phrase(objects[0])} {relation} {phrase(objects[1])}"
    if len(objects) == 3:
        c += f" and {phrase(objects[2])}"
    return c


def relation_of(a: dict, b: dict) -> str | None:
    """Relation of a w.r.t. b, or None when the dominant axis is not clear."""
    dx = a["x"] - b["x"]
    dy = a["y"] - b["y"]
    if abs(dx) >= abs(dy) + 6 and abs(dx) >= 12:
        return "left of" if dx < 0 else "right of"
    if abs(dy) >= abs(dx) + 6 and abs(dy) >= 12:
        return "above" if dy < 0 else "below"
    return None


def allowed(colour: str, shape: str, split: str) -> bool:
    held = (colour, shape) in HELD_OUT
    return held if split == "comp" else not held


def sample_scene(rng: np.random.Generator, split: str) -> dict:
    """Sample objects + positions. For 'comp' at least one object is a held-out combination."""
    while True:
        n = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
        objs = []
        used = set()
        ok = True
        for i in range(n):
            for _ in range(50):
                colour = COLOURS[rng.integers(len(COLOURS))]
                shape = SHAPES[rng.integers(len(SHAPES))]
                if (colour, shape) in used:
                    continue
                if split == "comp":
                    # first object held out; the others may be anything
                    if i == 0 and (colour, shape) not in HELD_OUT:
                        continue
                elif (colour, shape) in HELD_OUT:
                    continue
                break
            else:
                ok = False
                break
            used.add((colour, shape))
            size = SIZES[rng.integers(2)]
            lo, hi = RADIUS[size]
            objs.append({"colour": colour, "shape": shape, "size": size, "r": float(rng.uniform(lo, hi))})
        if not ok:
            continue
        # positions: rejection-sample non-overlapping placements
        placed = True
        for o in objs:
            for _ in range(100):
                r = o["r"]
                x = float(rng.uniform(r + 1, S - r - 1))
                y = float(rng.uniform(r + 1, S - r - 1))
                if all(math.hypot(x - p["x"], y - p["y"]) > r + p["r"] + 2 for p in objs if "x" in p):
                    o["x"], o["y"] = x, y
                    break
            else:
                placed = False
                break
        if not placed:
            continue
        objs.sort(key=object_key)
        rel = None
        if n >= 2:
            rel = relation_of(objs[0], objs[1])
            if rel is None:
                continue
        rot = float(rng.uniform(-0.25, 0.25))
        for o in objs:
            o["rot"] = rot if o["shape"] in ("square", "triangle", "star", "diamond", "cross") else 0.0
            rot = float(rng.uniform(-0.25, 0.25))
        return {"objects": objs, "relation": rel, "caption": caption_of(objs, rel)}


def _poly(shape: str, x: float, y: float, r: float, rot: float) -> list[tuple[float, float]] | None:
    def pts(angles, radii):
        return [(x + rr * math.sin(a + rot), y - rr * math.cos(a + rot)) for a, rr in zip(angles, radii)]

    if shape == "square":
        a = [math.pi / 4 + k * math.pi / 2 for k in range(4)]
        return pts(a, [r * 1.0] * 4)
    if shape == "diamond":
        a = [k * math.pi / 2 for k in range(4)]
        return pts(a, [r * 1.05, r * 0.7, r * 1.05, r * 0.7])
    if shape == "triangle":
        a = [k * 2 * math.pi / 3 for k in range(3)]
        return [(px, py + r * 0.2) for px, py in pts(a, [r * 1.15] * 3)]
    if shape == "star":
        a = [k * math.pi / 5 for k in range(10)]
        return pts(a, [r * 1.1 if k % 2 == 0 else r * 0.45 for k in range(10)])
    if shape == "cross":
        w = r * 0.36
        base = [(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w)]
        c, s = math.cos(rot), math.sin(rot)
        return [(x + px * c - py * s, y + px * s + py * c) for px, py in base]
    return None


def render(scene: dict, rng: np.random.Generator) -> np.ndarray:
    """64x64x3 uint8. Background: a tinted gradient with soft blotches; objects with jittered colour."""
    # background
    base = rng.uniform(25, 115)
    tint = rng.uniform(-12, 12, size=3)
    c0 = np.clip(base + tint, 0, 255)
    c1 = np.clip(c0 + rng.uniform(-30, 30, size=3), 0, 255)
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / (S - 1)
    t = (np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5)) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    bg = c0 * (1 - t) + c1 * t
    # low-frequency blotches (compress well, unlike per-pixel noise)
    blot = rng.normal(0, 6, size=(4, 4, 1)).astype(np.float32)
    blot = np.asarray(Image.fromarray(blot[..., 0]).resize((S, S), Image.BICUBIC))[..., None]
    bg = np.clip(bg + blot, 0, 255).astype(np.uint8)

    big = Image.fromarray(bg).resize((S * SS, S * SS), Image.NEAREST)
    draw = ImageDraw.Draw(big)
    for o in scene["objects"]:
        col = tuple(int(np.clip(v + rng.uniform(-18, 18), 0, 255)) for v in RGB[o["colour"]])
        x, y, r = o["x"] * SS, o["y"] * SS, o["r"] * SS
        poly = _poly(o["shape"], x, y, r, o.get("rot", 0.0))
        if poly is None:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=col)
        else:
            draw.polygon(poly, fill=col)
    img = np.asarray(big.resize((S, S), Image.BOX), dtype=np.uint8)
    return img


def swap_caption(scene: dict, kind: str, rng: np.random.Generator) -> str | None:
    """A caption with one attribute changed: 'colour', 'shape' or 'relation'. None if not applicable."""
    objs = [dict(o) for o in scene["objects"]]
    rel = scene["relation"]
    if kind == "relation":
        if rel is None:
            return None
        return caption_of(objs, OPPOSITE[rel])
    i = int(rng.integers(len(objs)))
    if kind == "colour":
        choices = [c for c in COLOURS if c != objs[i]["colour"]]
        objs[i]["colour"] = choices[rng.integers(len(choices))]
    elif kind == "shape":
        choices = [s for s in SHAPES if s != objs[i]["shape"]]
        objs[i]["shape"] = choices[rng.integers(len(choices))]
    else:
        raise ValueError(kind)
    # keep the word order of the original caption (do not re-sort): only the attribute changes
    return caption_of(objs, rel)


def scene_record(scene: dict) -> dict:
    return {
        "caption": scene["caption"],
        "objects": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in o.items() if k != "rot"}
            for o in scene["objects"]
        ],
        "relation": None
        if scene["relation"] is None
        else {"subject": 0, "object": 1, "type": scene["relation"]},
    }


def generate(seed: int, n: int, split: str):
    """Yields (image uint8 HxWx3, record) n times, deterministic in (seed, split)."""
    split_salt = {"train": 0, "test": 1, "comp": 2}[split]
    rng = np.random.default_rng([seed, split_salt])
    for _ in range(n):
        sc = sample_scene(rng, split)
        img = render(sc, rng)
        yield img, scene_record(sc), sc
