#!/usr/bin/python3
"""Regenerates the hostile-media fixtures in e2e/pages/reliability-media/ (PIL + NumPy, deterministic)."""
from pathlib import Path

import numpy as np
from PIL import Image

root = Path(__file__).resolve().parents[2]
out = root / "e2e/pages/reliability-media"
out.mkdir(parents=True, exist_ok=True)
first = Image.open(root / "models/data/eval/00000.png").convert("RGB")  # "a large red triangle"
second = Image.open(root / "models/data/eval/00002.png").convert("RGB")  # "a small green circle"
first.save(out / "animated.gif", save_all=True, append_images=[second], duration=100, loop=0)
a = np.array(first.convert("RGBA"))
a[..., 3] = 0
a[:32, :, 3] = 128
Image.fromarray(a, "RGBA").save(out / "transparent.png")
Image.new("RGB", (1, 1), (255, 0, 0)).save(out / "one-pixel.png")
Image.new("RGB", (8000, 8000), (0, 0, 255)).save(out / "huge-8000.png", optimize=True)
(out / "scene.svg").write_text(
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="black"/>'
    '<circle cx="32" cy="32" r="14" fill="red"/></svg>\n'
)
