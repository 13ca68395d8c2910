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

VIT_CFG = {"v_dim": 128, "v_layers": 4, "heads": 4, "v_mlp": 256, "stem": "deep"}
HEAD_SIZES = {"centre": 1, "colour": 7, "shape": 7, "size": 3, "offset": 2}


class DenseHeads(nn.Module):
    """Training-only heads (not exported): per-patch targets and an object count from [CLS]."""

    def __init__(self, dim: int):
        super().__init__()
        self.patch = nn.Linear(dim, sum(HEAD_SIZES.values()))
        self.count = nn.Linear(dim, 5)

    def forward(self, h):
        out = {}
        p = self.patch(h[:, 1:])
        k = 0
        for name, n in HEAD_SIZES.items():
            out[name] = p[..., k : k + n]
            k += n
        out["count"] = self.count(h[:, 0])
        return out


def make_vision(cfg: dict, sincos: float = 0.5) -> nets.Vision:
    v = llava_nets.vision_tower(cfg)
    with torch.no_grad():  # explicit x/y codes: relations need coordinates later layers can read linearly
        v.pos[0, 1:] += sincos * sincos_2d(data2.GRID, cfg["v_dim"])
    return v


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cache", default="v2train0,v2train1")
    ap.add_argument("--out", default=os.path.join(common.RUNS, "vit2"))
    ap.add_argument("--save-every", type=int, default=100)
    a = ap.parse_args()
    torch.manual_seed(0)
    vision = make_vision(VIT_CFG)
    heads = DenseHeads(VIT_CFG["v_dim"])
    model = nn.ModuleDict({"vision": vision, "heads": heads})
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
            common.save(model, VIT_CFG, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs})
    common.save(model, VIT_CFG, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs, "done": True})
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
