#!/usr/bin/env python3
"""Train the v2 vision tower (nets.Vision: conv stem + 4-layer ViT, 8x8 patch tokens + [CLS]) with dense targets.

No pretrained vision tower exists here, and contrastive training learns shape and relations slowly (models/train/
README.md), so the tower learns what the scene generator knows, per patch token: is an object's centre here, the
colour / shape / size of the object owning the patch (factorized heads, so unseen colour-shape pairs stay
composable), and the centre's offset within the patch; [CLS] predicts the object count. Like a detection-pretrained
backbone, it is then frozen under the generative models' projector / Q-Former.

  nice -n 10 python3 models/train/train_vit2.py --minutes 20 --cache v2train0,v2train1
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data2  # noqa: E402
import llava_nets  # noqa: E402
import nets  # noqa: E402
from train_blip import sincos_2d  # noqa: E402

VIT_CFG = {"v_dim": 128, "v_layers": 4, "heads": 4, "v_mlp": 256, "stem": "factorized", "c_dim": 64, "colour": "masked"}
HEAD_SIZES = {"centre": 1, "colour": 7, "shape": 7, "size": 3, "offset": 2}


class DenseHeads(nn.Module):
    """Training-only heads (not exported): per-patch targets and an object count from [CLS]. With a factorized
    tower (c_dim > 0) colour is read from the colour part of each token only, everything else from the rest."""

    def __init__(self, dim: int, c_dim: int = 0):
        super().__init__()
        self.dim, self.c_dim = dim, c_dim
        self.patch = nn.Linear(dim, sum(HEAD_SIZES.values()))
        self.colour = nn.Linear(c_dim, HEAD_SIZES["colour"]) if c_dim else None
        self.count = nn.Linear(dim, 5)

    def forward(self, h):
        out = {}
        p = self.patch(h[:, 1:, : self.dim])
        k = 0
        for name, n in HEAD_SIZES.items():
            out[name] = p[..., k : k + n]
            k += n
        if self.colour is not None:  # background-vs-object from the colour-blind part, which colour from the colour part
            out["colour"] = torch.cat([out["colour"][..., :1], self.colour(h[:, 1:, self.dim :])[..., 1:]], -1)
        out["count"] = self.count(h[:, 0, : self.dim])
        return out


def make_vision(cfg: dict, sincos: float = 0.5) -> nn.Module:
    v = llava_nets.vision_tower(cfg)
    vit = v.vit if hasattr(v, "vit") else v
    with torch.no_grad():  # explicit x/y codes: relations need coordinates later layers can read linearly
        vit.pos[0, 1:] += sincos * sincos_2d(data2.GRID, cfg["v_dim"])
    return v


def make_heads(cfg: dict) -> DenseHeads:
    return DenseHeads(cfg["v_dim"], cfg.get("c_dim", 0))


def losses(out, t):
    centre = torch.from_numpy(t["centre"])
    obj = torch.from_numpy(t["colour"]) > 0
    l = {"centre": F.binary_cross_entropy_with_logits(out["centre"][..., 0], centre, pos_weight=torch.tensor(4.0))}
    # background vs object is learned by the colour head over all patches; shape and size only where an object is,
    # so the few object patches are not drowned by easy background
    l["colour"] = F.cross_entropy(out["colour"].reshape(-1, 7), torch.from_numpy(t["colour"]).reshape(-1))
    for k in ("shape", "size"):
        l[k] = 2 * F.cross_entropy(out[k][obj], torch.from_numpy(t[k])[obj])
    m = centre > 0
    l["offset"] = F.mse_loss(out["offset"][m], torch.from_numpy(t["offset"])[m]) * 4
    l["count"] = F.cross_entropy(out["count"], torch.from_numpy(t["count"]))
    acc = {
        "centre": ((out["centre"][..., 0] > 0) == (centre > 0)).all(1).float().mean().item(),
        "shape@centre": (out["shape"].argmax(-1)[m] == torch.from_numpy(t["shape"])[m]).float().mean().item(),
        "colour@obj": (out["colour"].argmax(-1)[obj] == torch.from_numpy(t["colour"])[obj]).float().mean().item(),
        "count": (out["count"].argmax(-1) == torch.from_numpy(t["count"])).float().mean().item(),
    }
    return l, acc


@torch.no_grad()
def evaluate(ckpt: str, n: int = 500) -> dict:
    """Per-object accuracy at each object's centre patch on fresh test / comp scenes (seed 7), and on the comp
    split's held-out colour-shape objects: colour and shape both right."""
    import numpy as np

    import world2

    ck = torch.load(ckpt, map_location="cpu")
    vision, heads = make_vision(ck["cfg"]), make_heads(ck["cfg"])
    nn.ModuleDict({"vision": vision, "heads": heads}).load_state_dict(ck["state"])
    res = {"checkpoint_meta": ck["meta"]}
    for split in ("test", "comp"):
        imgs, scenes, _ = data2.gen_split(7, n, split)
        out = heads(vision(torch.from_numpy(data2.to_pixels(imgs))))
        hits = {"colour": [], "shape": [], "size": [], "centre": [], "held_out_pair_colour_and_shape": []}
        for i, sc in enumerate(scenes):
            for o in sc["objects"]:
                cell = int(o["y"] // data2.CELL) * data2.GRID + int(o["x"] // data2.CELL)
                right = {k: out[k][i, cell].argmax().item() == 1 + vals.index(o[k])
                         for k, vals in (("colour", world2.COLOURS), ("shape", world2.SHAPES), ("size", world2.SIZES))}
                for k, v in right.items():
                    hits[k].append(v)
                hits["centre"].append(out["centre"][i, cell, 0].item() > 0)
                if (o["colour"], o["shape"]) in world2.HELD_OUT_PAIRS:
                    hits["held_out_pair_colour_and_shape"].append(right["colour"] and right["shape"])
        res[split] = {k: round(float(np.mean(v)), 4) for k, v in hits.items() if v}
        res[split]["count"] = round(float((out["count"].argmax(-1) == torch.tensor(
            [len(sc["objects"]) - 1 for sc in scenes])).float().mean()), 4)
    return res


def main():
    if sys.argv[1:2] == ["--eval"]:
        print(json.dumps(evaluate(sys.argv[2]), indent=1))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cache", default="v2train0,v2train1")
    ap.add_argument("--out", default=os.path.join(common.RUNS, "vit2"))
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--init-from", default="",
                    help="a two_stream checkpoint: its chroma stem, position codes, blocks and heads start the "
                         "factorized tower's colour-blind ViT; the masked colour stream starts fresh")
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = dict(VIT_CFG)
    vision = make_vision(cfg)
    heads = make_heads(cfg)
    model = nn.ModuleDict({"vision": vision, "heads": heads})
    if a.init_from:
        st = torch.load(a.init_from, map_location="cpu")["state"]
        mapped = {}
        for k, v in st.items():
            if k.startswith("vision.stem.shape."):
                mapped["vision.vit.stem." + k[len("vision.stem.shape."):]] = v
            elif k.startswith("vision.") and not k.startswith("vision.stem."):
                mapped["vision.vit." + k[len("vision."):]] = v
            elif k.startswith("heads."):
                mapped[k] = v
        missing, unexpected = model.load_state_dict(mapped, strict=False)
        print("from", a.init_from, "new", missing, "unused", unexpected, flush=True)
    print("params vision", nets.count(vision), "heads", nets.count(heads), flush=True)
    samp = data2.Sampler(*data2.load(a.cache.split(",")), seed=1)
    decay, keep = [], []
    for name, p in model.named_parameters():
        (keep if p.ndim < 2 or "pos" in name or "cls" in name else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": keep, "weight_decay": 0.0}], lr=a.lr)
    clock = common.Clock(a.minutes)
    ck = os.path.join(a.out, "model.pt")
    step = 0
    while clock.frac() < 1.0:
        for g in opt.param_groups:
            g["lr"] = common.lr_at(clock.frac(), a.lr, warm=0.03)
        t0 = time.time()
        imgs, t = samp.vision_batch(a.bs)
        out = heads(vision(torch.from_numpy(data2.to_pixels(imgs))))
        l, acc = losses(out, t)
        loss = sum(l.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 20 == 0:
            print(f"step {step} loss {loss.item():.3f} " + " ".join(f"{k} {v.item():.3f}" for k, v in l.items()) + " | "
                  + " ".join(f"{k} {v:.3f}" for k, v in acc.items())
                  + f" lr {opt.param_groups[0]['lr']:.1e} {time.time() - t0:.2f}s elapsed {clock.elapsed():.0f}s", flush=True)
        if step % a.save_every == 0:
            common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs})
    common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs, "done": True})
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
