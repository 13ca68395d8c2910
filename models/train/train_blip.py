#!/usr/bin/env python3
"""Train blip-tiny: one ViT (conv stem) shared by ITC, ITM (fusion encoder, ALBEF-style) and a captioning decoder.

Losses: ITC (learned temperature, one attribute-swapped caption per image as extra negative) + ITM (in-batch hard
negatives sampled from ITC similarities, both directions, plus two attribute-swapped captions per image, one of them a
relation swap whenever the scene has a relation) + LM (causal decoder with cross-attention, teacher forcing).
The vision tower and unimodal text encoder can start from a clip-tiny checkpoint (--init).

  nice -n 19 python3 models/train/train_blip.py --minutes 35 --init models/train/runs/clip/model.pt
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data  # noqa: E402
import nets  # noqa: E402
import tok  # noqa: E402
import world  # noqa: E402


def dec_batch(caps):
    """[DEC] w1..wn [SEP] padded; targets shifted by one, -100 on pads."""
    seqs = [[tok.DEC] + tok.encode(c)[1:] for c in caps]  # encode gives [CLS] ... [SEP]
    L = max(len(s) for s in seqs)
    ids = np.full((len(seqs), L), tok.PAD, np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    tgt = np.full_like(ids, -100)
    tgt[:, :-1] = ids[:, 1:]
    tgt[tgt == tok.PAD] = -100
    return torch.from_numpy(ids), torch.from_numpy(tgt)


def sincos_2d(grid: int, dim: int) -> torch.Tensor:
    """[grid*grid, dim] 2-D sine-cosine position codes (MAE's layout: first half from y, second from x)."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
    parts = []
    for p in (ys.reshape(-1), xs.reshape(-1)):
        a = p[:, None] * omega[None, :]
        parts += [torch.sin(a), torch.cos(a)]
    return torch.cat(parts, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=35)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--init", default="")
    ap.add_argument("--cache", default="train0,train1")
    ap.add_argument("--out", default=os.path.join(common.RUNS, "blip"))
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--relation-frac", type=float, default=0.0, help="extra share of each batch drawn from relation scenes")
    ap.add_argument("--relation-weight", type=float, default=1.0, help="ITM loss weight of relation-swapped negatives")
    ap.add_argument("--pos-sincos", type=float, default=0.0,
                    help="add this scale of 2-D sine-cosine codes to the vision position embeddings at start")
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = dict(common.CFG, vocab=len(tok.VOCAB))
    model = nets.BLIPTiny(cfg)
    if a.init:
        st = torch.load(a.init, map_location="cpu")["state"]
        missing, unexpected = model.load_state_dict(st, strict=False)
        print("init from", a.init, "missing", len(missing), "unexpected", len(unexpected), flush=True)
    if a.pos_sincos:
        # Learned position embeddings start as random codes; relations need coordinates the text side can read
        # linearly, so give the patch tokens (not [CLS]) explicit x/y codes on top.
        with torch.no_grad():
            n = model.vision.pos.shape[1] - 1
            model.vision.pos[0, 1:] += a.pos_sincos * sincos_2d(int(n**0.5), model.vision.pos.shape[2])
    print("params", nets.count(model), flush=True)
    imgs, scenes = data.load(a.cache.split(","))
    samp = data.Sampler(imgs, scenes, seed=2, relation_frac=a.relation_frac)
    rng = np.random.default_rng(3)
    # No weight decay on biases, norms, embeddings and position codes (it would erode the position signal).
    decay, keep = [], []
    for name, p in model.named_parameters():
        (keep if p.ndim < 2 or "pos" in name or "cls" in name or "tok" in name else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": keep, "weight_decay": 0.0}], lr=a.lr)
    clock = common.Clock(a.minutes)
    ck = os.path.join(a.out, "model.pt")
    step = 0
    B = a.bs
    itm_w = torch.tensor([1.0, 2.0])  # 1 positive : 4 negatives per image -> weight positives up
    while True:
        frac = clock.frac()
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = common.lr_at(frac, a.lr, warm=0.03)
        t0 = time.time()
        im, caps, negs, kinds = samp.batch(B)
        # a second swapped caption: relation swap when possible, else the other attribute kind
        negs2 = [world.swap_caption(sc, "relation" if sc["relation"] is not None else ("shape" if k == "colour" else "colour"), rng)
                 for sc, k in zip(samp.last_scenes, kinds)]
        px = torch.from_numpy(data.to_pixels(im))
        ids, mask = tok.batch(caps + negs + negs2)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)

        # --- ITC
        vh = model.vision(px)
        ie = F.normalize(model.vproj(vh[:, 0]), dim=-1)
        th = model.text(ids, mask)  # un-normalized stream, reused by fusion
        te = F.normalize(model.tproj(model.text.ln(th)[:, 0]), dim=-1)
        scale = model.logit_scale.clamp(max=4.6052).exp()
        l_itc = common.itc_loss(ie, te[:B], te[B : 2 * B], caps, negs, scale)

        # --- ITM with hard negatives
        with torch.no_grad():
            sim = (ie @ te[:B].t()).float()
            same = common.same_text(caps, caps).bool()
            w_i2t = F.softmax(sim * scale, 1).masked_fill(same, 0) + 1e-9
            w_t2i = F.softmax(sim.t() * scale, 1).masked_fill(same, 0) + 1e-9
            neg_txt = torch.multinomial(w_i2t, 1)[:, 0]  # for image i, a hard wrong caption
            neg_img = torch.multinomial(w_t2i, 1)[:, 0]  # for caption i, a hard wrong image
        cap_idx = torch.arange(B)
        t_sel = torch.cat([cap_idx, neg_txt, cap_idx, B + cap_idx, 2 * B + cap_idx])
        v_sel = torch.cat([cap_idx, cap_idx, neg_img, cap_idx, cap_idx])
        labels = torch.cat([torch.ones(B), torch.zeros(4 * B)]).long()
        # drop "swapped" negatives that equal the true caption (cannot happen, but be safe) and duplicates of text
        fused = model.text.fuse(th[t_sel], mask[t_sel], vh[v_sel])
        logits = model.itm(fused[:, 0])
        # Class-weighted CE (positives x2), with relation-swapped negatives optionally weighted up.
        w = itm_w[labels].clone()
        has_rel = torch.tensor([sc["relation"] is not None for sc in samp.last_scenes])
        w[4 * B :][has_rel] *= a.relation_weight
        l_itm = (F.cross_entropy(logits, labels, reduction="none") * w).sum() / w.sum()

        # --- LM
        dids, dtgt = dec_batch(caps)
        dlogits, _ = model.decoder(dids, vh)
        l_lm = F.cross_entropy(dlogits.reshape(-1, dlogits.shape[-1]), dtgt.reshape(-1), ignore_index=-100)

        loss = l_itc + l_itm + l_lm
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 10 == 0:
            with torch.no_grad():
                acc = (logits.argmax(1) == labels).float()
                rel_acc = acc[4 * B :].mean().item()
            print(f"step {step} itc {l_itc.item():.3f} itm {l_itm.item():.3f} lm {l_lm.item():.3f} "
                  f"itm_acc {acc.mean().item():.3f} swap2_acc {rel_acc:.3f} scale {scale.item():.1f} "
                  f"lr {opt.param_groups[0]['lr']:.1e} {time.time() - t0:.2f}s elapsed {clock.elapsed():.0f}s", flush=True)
        if step % a.save_every == 0:
            common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": B, "init": a.init})
    common.save(model, cfg, ck, {"steps": step, "wall_s": round(clock.elapsed()), "bs": B, "init": a.init, "done": True})
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
