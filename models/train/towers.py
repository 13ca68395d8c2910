#!/usr/bin/env python3
"""blip-tiny's contrastive towers as a clip-tiny checkpoint: the vision encoder, the unimodal text encoder (without
the fusion layers), both projections and the temperature are exactly CLIPTiny's modules, so its ITC path becomes a
dual encoder in the CLIP layout (what ALBEF/BLIP call the unimodal encoders).

  python3 models/train/towers.py models/train/runs/blip-stage2/model.pt models/train/runs/clip-towers/model.pt
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import nets  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    ck = torch.load(src, map_location="cpu")
    clip = nets.CLIPTiny(ck["cfg"])
    wanted = clip.state_dict().keys()
    state = {k: v for k, v in ck["state"].items() if k in wanted}
    missing = [k for k in wanted if k not in state]
    if missing:
        raise SystemExit(f"{src} lacks CLIP weights: {missing}")
    clip.load_state_dict(state)
    meta = {"towers_of": src, "blip_meta": ck["meta"], "params": nets.count(clip)}
    common.save(clip, ck["cfg"], dst, meta)
    print("wrote", dst, meta)


if __name__ == "__main__":
    main()
