#!/usr/bin/env python3
"""Train llava-tiny (projector + LM on the frozen v2 vision tower) or blip2-tiny (a Q-Former into the frozen LM).

llava-tiny, as LLaVA does it, in two stages:
  stage 1 (alignment): 'describe the image' -> caption only. No pretrained LM exists here, so the LM is trained
           from scratch together with the projector (LLaVA freezes a pretrained LM at this stage).
  stage 2 (instructions): conversations of 1-4 turns (attribute, count, existence, relation, 'which', describe,
           follow-ups about 'it'), loss on the assistant's answers; projector + LM trained.
blip2-tiny: vision tower and LM (llava-tiny's, after stage 2) frozen; only the Q-Former and its projection learn,
           on the same instruction data.

  nice -n 5 python3 models/train/train_llava.py --stage 1 --minutes 15 --out models/train/runs/llava-s1
  nice -n 5 python3 models/train/train_llava.py --stage 2 --minutes 70 --init models/train/runs/llava-s1/model.pt \
      --out models/train/runs/llava-s2
  nice -n 5 python3 models/train/train_llava.py --connector qformer --minutes 60 \
      --init models/train/runs/llava-s2/model.pt --out models/train/runs/blip2
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data2  # noqa: E402
import llava_nets  # noqa: E402
import nets  # noqa: E402
import tok2  # noqa: E402
from train_blip import sincos_2d  # noqa: E402
from train_vit2 import VIT_CFG  # noqa: E402

QF_CFG = {"queries": 16, "dim": 128, "layers": 2, "heads": 4, "mlp": 256}


def build(connector: str, vit_cfg: dict = VIT_CFG) -> tuple[llava_nets.TinyVLM, dict]:
    cfg = {"vit": vit_cfg, "lm": dict(llava_nets.LM_CFG, vocab=len(tok2.VOCAB)), "connector": connector,
           "qformer": QF_CFG if connector == "qformer" else None}
    return llava_nets.TinyVLM(cfg["vit"], cfg["lm"], connector, cfg["qformer"]), cfg


def n_image_tokens(cfg: dict) -> int:
    if cfg["connector"] == "qformer":
        return cfg["qformer"]["queries"]
    return (data2.GRID // llava_nets.MERGE) ** 2


def load(path: str) -> tuple[llava_nets.TinyVLM, dict, dict]:
    ck = torch.load(path, map_location="cpu")
    m = llava_nets.TinyVLM(ck["cfg"]["vit"], ck["cfg"]["lm"], ck["cfg"]["connector"], ck["cfg"]["qformer"])
    m.load_state_dict(ck["state"])
    m.eval()
    return m, ck["cfg"], ck["meta"]


def grid_codes(grid: int, dim: int) -> torch.Tensor:
    """[grid*grid, dim] zero-mean 2-D sine-cosine codes whose frequencies suit a small grid (pi/2 down to pi/8 per
    cell; half the channels from the row, half from the column). sincos_2d's MAE frequencies leave a 4 x 4 grid's
    codes nearly equal (cosine >= 0.8 between any two), which told the LM too little about where a token is."""
    quarter = dim // 4
    omega = (torch.pi / 2) * 0.25 ** (torch.arange(quarter, dtype=torch.float32) / max(1, quarter - 1))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
    parts = []
    for p in (ys.reshape(-1), xs.reshape(-1)):
        a = p[:, None] * omega[None, :]
        parts += [torch.sin(a), torch.cos(a)]
    codes = torch.cat(parts, 1)
    return codes - codes.mean(0, keepdim=True)


def at_rms(codes: torch.Tensor, rms) -> torch.Tensor:
    return codes * (rms / codes.pow(2).mean().sqrt())


@torch.no_grad()
def reset_projector_codes(model, h):
    """--grid-codes: the projector's position codes replaced by grid_codes at the RMS of the features they add to."""
    p = model.projector
    rms = p(h[:, 1:]).sub(p.pos).pow(2).mean().sqrt()
    codes = grid_codes(p.grid // p.merge, p.pos.shape[-1])
    p.pos[0] = at_rms(codes, rms)
    print("grid codes at rms", round(float(rms), 4), flush=True)


@torch.no_grad()
def init_position_codes(model, h, names):
    for name in names:
        if name == "projector.pos":
            p = model.projector
            p.pos.zero_()
            rms = p(h[:, 1:]).pow(2).mean().sqrt()
            codes = sincos_2d(p.grid // p.merge, p.pos.shape[-1])
            p.pos[0] = at_rms(codes, 0.5 * rms)
        else:
            q = model.qformer
            rms = h[:, 1:].pow(2).mean().sqrt()
            codes = sincos_2d(data2.GRID, q.image_pos.shape[-1])
            q.image_pos.zero_()
            q.image_pos[0, 1:] = at_rms(codes, 0.5 * rms)
        print("initialised", name, "rms", round(float(rms), 4), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", type=int, default=2, choices=[1, 2])
    ap.add_argument("--connector", default="projector", choices=["projector", "qformer"])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--cpu-clock", action="store_true",
                    help="--minutes counts the process's CPU time, not wall time (a run sharing the CPU keeps its compute)")
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--vit", default=os.path.join(common.RUNS, "vit2", "model.pt"))
    ap.add_argument("--init", default="", help="a train_llava.py checkpoint to start from")
    ap.add_argument("--cache", default="v2train0,v2train1,v2train2,v2train3")
    ap.add_argument("--max-turns", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(common.RUNS, "llava"))
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--freeze-lm", action="store_true", help="projector connector: train the projector only")
    ap.add_argument("--relation-weight", type=float, default=1.0,
                    help="multiply the share of relation and 'which' questions in the conversations")
    ap.add_argument("--relation-choice", type=float, default=0.0,
                    help="share of 'is the A left of, right of, above or below the B?' questions (training only)")
    ap.add_argument("--grid-codes", action="store_true",
                    help="projector: replace the image tokens' position codes with grid_codes at start")
    ap.add_argument("--pos-scale", type=float, default=1.0,
                    help="multiply the projector's image-token position codes once at start (a louder place signal)")
    ap.add_argument("--side-questions", type=float, default=0.0,
                    help="weight of 'is the A on the left or on the right of the image?' questions (training only)")
    ap.add_argument("--relation-pairs", type=float, default=0.0,
                    help="share of each batch given to relation questions asked both ways about the same image "
                         "(world2.qa_relation_pair; training only)")
    ap.add_argument("--ground", type=float, default=0.0,
                    help="weight of a training-only loss: predict each referred object's place (x and y in 8 bins) "
                         "from the LM's hidden state at its description's last token (data2.grounding_targets)")
    ap.add_argument("--ground-layer", type=int, default=2, help="the LM layer whose output --ground reads")
    ap.add_argument("--seed", type=int, default=0, help="offsets the batch order (a continuation must not replay it)")
    a = ap.parse_args()
    torch.manual_seed(a.stage + 100 * a.seed)
    vit_ck = torch.load(a.vit, map_location="cpu")
    model, cfg = build(a.connector, vit_ck["cfg"])
    vit = vit_ck["state"]
    model.vision.load_state_dict({k[len("vision."):]: v for k, v in vit.items() if k.startswith("vision.")})
    if a.init:
        missing, unexpected = model.load_state_dict(torch.load(a.init, map_location="cpu")["state"], strict=False)
        print("init from", a.init, "missing", missing, "unexpected", unexpected, flush=True)
    else:
        missing = list(model.state_dict())
    fresh_pos = [k for k in ("projector.pos", "qformer.image_pos") if k in missing]
    if a.pos_scale != 1.0 and a.connector == "projector" and not fresh_pos:
        with torch.no_grad():
            model.projector.pos.mul_(a.pos_scale)
    frozen = ["vision"] + (["lm"] if a.connector == "qformer" or a.freeze_lm else [])
    for t in ("relation", "which"):
        data2.TYPE_WEIGHTS[t] *= a.relation_weight
    if a.relation_choice > 0:
        data2.TYPE_WEIGHTS["relation_choice"] = a.relation_choice
    if a.side_questions > 0:
        data2.TYPE_WEIGHTS["side"] = a.side_questions
    for name in frozen:
        getattr(model, name).requires_grad_(False).eval()
    train = [p for p in model.parameters() if p.requires_grad]
    print("params", {k: nets.count(getattr(model, k)) for k in ("vision", "lm", a.connector)},
          "trained", sum(p.numel() for p in train), flush=True)
    decay, keep = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (keep if p.ndim < 2 or "embed" in name or "query_tokens" in name else decay).append(p)
    # --ground: a probe on one LM layer's output, trained with the model and never exported.
    ground_head = torch.nn.Linear(cfg["lm"]["dim"], 2 * data2.GROUND_BINS) if a.ground > 0 else None
    grounded = {}
    if ground_head is not None:
        decay += list(ground_head.parameters())
        train += list(ground_head.parameters())
        model.lm.layers[a.ground_layer - 1].register_forward_hook(lambda mod, inp, out: grounded.update(h=out[0]))
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": keep, "weight_decay": 0.0}], lr=a.lr)
    samp = data2.ChatSampler(*data2.load(a.cache.split(",")), seed=10 + a.stage + (5 if a.connector == "qformer" else 0) + 100 * a.seed)
    n_img = n_image_tokens(cfg)
    clock = common.CpuClock(a.minutes) if a.cpu_clock else common.Clock(a.minutes)
    ck = os.path.join(a.out, "model.pt")
    meta = {"stage": a.stage, "connector": a.connector, "bs": a.bs, "lr": a.lr, "init": a.init, "vit": a.vit,
            "freeze_lm": a.freeze_lm or a.connector == "qformer", "relation_weight": a.relation_weight,
            "relation_choice": a.relation_choice, "relation_pairs": a.relation_pairs, "side_questions": a.side_questions, "pos_scale": a.pos_scale, "grid_codes": a.grid_codes, "seed": a.seed,
            "clock": "cpu" if a.cpu_clock else "wall", "ground": a.ground, "ground_layer": a.ground_layer}
    step, seen = 0, 0
    while clock.frac() < 1.0:
        for g in opt.param_groups:
            g["lr"] = common.lr_at(clock.frac(), a.lr, warm=0.03)
        t0 = time.time()
        batch = samp.chat_batch(a.bs, a.max_turns, captions_only=a.stage == 1, n_image=n_img,
                                relation_pairs=a.relation_pairs, grounding=ground_head is not None)
        imgs, ids, tgt, mask = batch[:4]
        with torch.no_grad():
            h = model.vision(torch.from_numpy(data2.to_pixels(imgs)))
        if fresh_pos:  # start new position codes as 2-D sine-cosine codes at half the RMS of what they add to
            init_position_codes(model, h, fresh_pos)
            fresh_pos = []
        if a.grid_codes and step == 0 and a.connector == "projector":
            reset_projector_codes(model, h)
        feats = model.projector(h[:, 1:]) if a.connector == "projector" else model.qformer(h)
        logits = model(None, torch.from_numpy(ids), torch.from_numpy(mask), tok2.IMAGE, image_features=feats)
        tgt_t = torch.from_numpy(tgt)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_t.reshape(-1), ignore_index=-100)
        ground_acc = None
        if ground_head is not None:
            place = torch.from_numpy(batch[4]).reshape(-1, 2)
            at = place[:, 0] >= 0
            if at.any():
                g = ground_head(grounded["h"].reshape(-1, grounded["h"].shape[-1])[at]).reshape(-1, 2, data2.GROUND_BINS)
                loss = loss + a.ground * F.cross_entropy(g.reshape(-1, data2.GROUND_BINS), place[at].reshape(-1))
                ground_acc = (g.argmax(-1) == place[at]).float().mean().item()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train, 1.0)
        opt.step()
        step += 1
        seen += a.bs
        if step % 10 == 0:
            with torch.no_grad():
                m = tgt_t >= 0
                acc = (logits.argmax(-1)[m] == tgt_t[m]).float().mean().item()
            print(f"step {step} loss {loss.item():.4f} answer_token_acc {acc:.3f} L {ids.shape[1]} "
                  f"lr {opt.param_groups[0]['lr']:.1e} {time.time() - t0:.2f}s elapsed {clock.elapsed():.0f}s"
                  + ("" if ground_acc is None else f" ground_acc {ground_acc:.3f}"), flush=True)
        if step % a.save_every == 0:
            common.save(model, cfg, ck, dict(meta, steps=step, wall_s=round(clock.elapsed())))
    common.save(model, cfg, ck, dict(meta, steps=step, wall_s=round(clock.elapsed()), done=True))
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
