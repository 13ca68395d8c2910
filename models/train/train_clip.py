#!/usr/bin/env python3
"""Train clip-tiny (ITC with learned temperature + one attribute-swapped hard-negative caption per image).

  nice -n 19 python3 models/train/train_clip.py --minutes 15 --out models/train/runs/clip
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets threads / OMP policy first)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data  # noqa: E402
import nets  # noqa: E402
import tok  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cache", default="train0,train1")
    ap.add_argument("--out", default=os.path.join(common.RUNS, "clip"))
    ap.add_argument("--save-every", type=int, default=100)
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = dict(common.CFG, vocab=len(tok.VOCAB))
    model = nets.CLIPTiny(cfg)
    print("params", nets.count(model), flush=True)
    imgs, scenes = data.load(a.cache.split(","))
    samp = data.Sampler(imgs, scenes, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    clock = common.Clock(a.minutes)
    step = 0
    ck = os.path.join(a.out, "model.pt")
    while True:
        frac = clock.frac()
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = common.lr_at(frac, a.lr)
        t0 = time.time()
        im, caps, negs, _ = samp.batch(a.bs)
        px = torch.from_numpy(data.to_pixels(im))
        ids, mask = tok.batch(caps + negs)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        ie, _ = model.image_embed(px)
        te, _ = model.text_embed(ids, mask)
        ie, te = F.normalize(ie, dim=-1), F.normalize(te, dim=-1)
        scale = model.logit_scale.clamp(max=4.6052).exp()
        loss = common.itc_loss(ie, te[: a.bs], te[a.bs :], caps, negs, scale)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 20 == 0:
            print(f"step {step} loss {loss.item():.4f} scale {scale.item():.2f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{time.time() - t0:.2f}s/step elapsed {clock.elapsed():.0f}s", flush=True)
        if step % a.save_every == 0:
            common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs})
    common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": a.bs, "done": True})
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
