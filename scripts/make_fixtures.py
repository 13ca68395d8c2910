"""Writes the ONNX test fixtures under e2e/fixtures/ with NumPy reference outputs.
Run with Debian's python: /usr/bin/python3 scripts/make_fixtures.py"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from fixtures import common, cross_attention_block, decoder_step, tiny_vit, transformer_block  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "e2e" / "fixtures"

BUILDERS = [transformer_block.build, cross_attention_block.build, decoder_step.build, tiny_vit.build]

if __name__ == "__main__":
    for build in BUILDERS:
        fx = build(np.random.default_rng(20261123))
        common.write(fx, ROOT)
        print(f"wrote {ROOT / fx.name}")
