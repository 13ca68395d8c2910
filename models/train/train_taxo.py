#!/usr/bin/env python3
"""Train one model of the architecture comparison on shapes world v2 with a CPU-time budget.

  nice -n 10 python3 models/train/train_taxo.py vilt --cpu-minutes 60

Every model starts from the same vision pre-training (train_vit2.py's dense-target tower, taxo.VIT_CKPT) and gets
the same budget of CPU time (process time, both threads counted: wall time on a shared machine is not a fair
measure), so the comparison is at equal compute. Captions are the generator's canonical ones; each image also gets
one hard-negative caption (vl2.negative: attribute binding, relation, or one attribute replaced).

Losses, as the seeds train each design:
  clip  ITC (learned temperature; the hard negative as an extra text)
  blip  ITC + ITM on the fusion encoder (positive, the hard negative, an in-batch negative sampled from ITC
        similarity for each image and for each caption) + captioning LM
  vilt  ITM (positive, the hard negative, another caption of the batch) + MLM (15 % of caption words) + VQA
  vlmo  stage-wise: (1) image only: dense targets on the image expert (attention + V-FFN); (2) text only: MLM with
        attention and V-FFN frozen (L-FFN and embeddings learn); (3) image-text: ITC on the experts + ITM, MLM and
        VQA on the fusion encoder
  coca  ITC ([CLS] at the end of the unimodal decoder vs the contrastive pooler query) + 2 x captioning LM
VQA (ViLT, VLMo) is learned jointly in the image-text stage; `--vqa-finetune CKPT` then fine-tunes a checkpoint on
VQA alone (all weights), as the seeds fine-tune for VQA, into a separate checkpoint.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data2  # noqa: E402
import taxo  # noqa: E402
import tokv2  # noqa: E402
import train_vit2  # noqa: E402
import vl2  # noqa: E402

ITM_W = torch.tensor([1.0, 2.0])  # one positive to two negatives per image: weight positives up


def mlm_mask(ids: torch.Tensor, rng: torch.Generator, p: float = 0.15):
    """BERT masking of word tokens (not [CLS]/[SEP]/[PAD]): 80 % [MASK], 10 % a random word, 10 % kept.
    At least one word per row, so every row has a target."""
    words = ids >= len(tokv2.SPECIALS)
    r = torch.rand(ids.shape, generator=rng)
    pick = words & (r < p)
    first = (words.float() * torch.rand(ids.shape, generator=rng)).argmax(1)
    pick[torch.arange(len(ids)), first] |= True
    tgt = torch.where(pick, ids, torch.full_like(ids, -100))
    out = ids.clone()
    u = torch.rand(ids.shape, generator=rng)
    out[pick & (u < 0.8)] = tokv2.MASK
    rand_words = torch.randint(len(tokv2.SPECIALS), len(tokv2.VOCAB), ids.shape, generator=rng)
    swap = pick & (u >= 0.8) & (u < 0.9)
    out[swap] = rand_words[swap]
    return out, tgt


def other_captions(caps: list[str]) -> list[int]:
    """For each caption, another index of the batch whose caption differs (an easy negative)."""
    n = len(caps)
    out = []
    for i in range(n):
        j = (i + 1) % n
        while caps[j] == caps[i] and j != i:
            j = (j + 1) % n
        out.append(j)
    return out


def itm_loss(logits, labels):
    w = ITM_W[labels]
    return (F.cross_entropy(logits, labels, reduction="none") * w).sum() / w.sum()


def itc(img, txt, caps, negs, scale):
    """img [B,P], txt [2B,P] (captions then negatives), unnormalized."""
    img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
    B = img.shape[0]
    return common.itc_loss(img, txt[:B], txt[B:], caps, negs, scale), img, txt


def sample_hard(sim, caps, scale):
    """BLIP/ALBEF: a wrong caption for each image and a wrong image for each caption, sampled by ITC similarity."""
    with torch.no_grad():
        same = common.same_text(caps, caps).bool()
        w_i2t = F.softmax(sim * scale, 1).masked_fill(same, 0) + 1e-9
        w_t2i = F.softmax(sim.t() * scale, 1).masked_fill(same, 0) + 1e-9
        return torch.multinomial(w_i2t, 1)[:, 0], torch.multinomial(w_t2i, 1)[:, 0]


def lm_batch(caps, bos):
    """bos w1..wn [SEP] padded; targets shifted by one, -100 on pads."""
    ids, mask = tokv2.batch(caps)
    ids[:, 0] = bos
    tgt = np.full_like(ids, -100)
    tgt[:, :-1] = ids[:, 1:]
    tgt[tgt == tokv2.PAD] = -100
    return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(tgt)


def ce_lm(logits, tgt):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)


# ---------------------------------------------------------------- per-architecture steps
def step_clip(m, b, g):
    imgs, scs, caps, negs, _, _ = b
    ie, _ = m.image_embed(taxo.pixels(imgs))
    ids, mask = taxo.texts(caps + negs)
    te, _ = m.text_embed(ids, mask)
    scale = m.logit_scale.clamp(max=4.6052).exp()
    l, _, _ = itc(ie, te, caps, negs, scale)
    return {"itc": l}, {"scale": scale.item()}


def step_blip(m, b, g):
    imgs, scs, caps, negs, _, _ = b
    B = len(caps)
    vh = m.vision(taxo.pixels(imgs))
    ie = m.vproj(vh[:, 0])
    ids, mask = taxo.texts(caps + negs)
    th = m.text(ids, mask)
    te = m.tproj(m.text.ln(th)[:, 0])
    scale = m.logit_scale.clamp(max=4.6052).exp()
    l_itc, ien, ten = itc(ie, te, caps, negs, scale)
    neg_txt, neg_img = sample_hard(ien @ ten[:B].t(), caps, scale)
    idx = torch.arange(B)
    t_sel = torch.cat([idx, B + idx, neg_txt, idx])
    v_sel = torch.cat([idx, idx, idx, neg_img])
    labels = torch.cat([torch.ones(B), torch.zeros(3 * B)]).long()
    logits = m.itm(m.text.fuse(th[t_sel], mask[t_sel], vh[v_sel])[:, 0])
    l_itm = itm_loss(logits, labels)
    dids, _, dtgt = lm_batch(caps, tokv2.DEC)
    dl, _ = m.decoder(dids, vh)
    l_lm = ce_lm(dl, dtgt)
    acc = (logits.argmax(1) == labels).float()
    return {"itc": l_itc, "itm": l_itm, "lm": l_lm}, {"itm_acc": acc.mean().item(), "hardneg_acc": acc[B : 2 * B].mean().item()}


def vqa_logits(m, toks, questions):
    """The VQA head over the fusion encoder's pooled [CLS] for one question per image token set."""
    qids, qmask = taxo.texts(list(questions))
    return m.vqa(m.pooled(taxo.fusion_states(m, toks, qids, qmask)))


def fusion_multitask(m, toks, caps, negs, qs, ans, g, mlm_frac=0.5):
    """ITM (positive, hard negative, another caption), MLM on a share of the captions, VQA: ViLT and VLMo's
    fusion-side losses. toks: per-image tokens the fusion encoder reads (patch embeddings)."""
    B = len(caps)
    idx = torch.arange(B)
    other = torch.tensor(other_captions(caps))
    texts = caps + negs
    ids, mask = taxo.texts(texts)
    t_sel = torch.cat([idx, B + idx, other])
    v_sel = torch.cat([idx, idx, idx])
    labels = torch.cat([torch.ones(B), torch.zeros(2 * B)]).long()
    h = taxo.fusion_states(m, toks[v_sel], ids[t_sel], mask[t_sel])
    logits = m.itm(m.pooled(h))
    l_itm = itm_loss(logits, labels)
    nm = max(1, int(B * mlm_frac))
    mids, tgt = mlm_mask(ids[:nm], g)
    hm = taxo.fusion_states(m, toks[:nm], mids, mask[:nm])
    l_mlm = ce_lm(m.mlm(hm[:, : mids.shape[1]]), tgt)
    vq = vqa_logits(m, toks, qs)
    l_vqa = F.cross_entropy(vq, torch.from_numpy(ans))
    acc = (logits.argmax(1) == labels).float()
    logs = {"itm_acc": acc.mean().item(), "hardneg_acc": acc[B : 2 * B].mean().item(),
            "vqa_acc": (vq.argmax(1) == torch.from_numpy(ans)).float().mean().item()}
    return {"itm": l_itm, "mlm": l_mlm, "vqa": l_vqa}, logs


def step_vilt(m, b, g):
    imgs, scs, caps, negs, qs, ans = b
    toks = m.image_embed(taxo.pixels(imgs))
    return fusion_multitask(m, toks, caps, negs, qs, ans, g)


def step_vlmo(m, b, g):
    imgs, scs, caps, negs, qs, ans = b
    px = taxo.pixels(imgs)
    toks = m.image_tokens(px)
    x = toks
    for blk in m.blocks:
        x = blk(x, route="v")
    ie = m.iproj(m.ln(x)[:, 0])
    ids, mask = taxo.texts(caps + negs)
    te, _ = m.text_embed(ids, mask)
    scale = m.logit_scale.clamp(max=4.6052).exp()
    l_itc, _, _ = itc(ie, te, caps, negs, scale)
    losses, logs = fusion_multitask(m, toks, caps, negs, qs, ans, g)
    losses["itc"] = l_itc
    return losses, logs


def step_coca(m, b, g):
    imgs, scs, caps, negs, _, _ = b
    B = len(caps)
    ie, img_tokens = m.image(taxo.pixels(imgs))
    ids, mask, tgt = lm_batch(caps + negs, tokv2.CLS)
    te, uni = m.text_embed(ids, mask)
    scale = m.logit_scale.clamp(max=4.6052).exp()
    l_itc, _, _ = itc(ie, te, caps, negs, scale)
    from taxo_nets import coca_caption_logits

    logits = coca_caption_logits(m, uni[:B], img_tokens, mask[:B])
    l_cap = ce_lm(logits, tgt[:B])
    return {"itc": l_itc, "cap": 2 * l_cap}, {"scale": scale.item()}


# ---------------------------------------------------------------- VLMo's single-modality stages
def step_vlmo_image(m, heads, samp, bs):
    imgs, t = samp.vision_batch(bs)
    x = m.image_tokens(taxo.pixels(imgs))
    for blk in m.blocks:
        x = blk(x, route="v")
    l, acc = train_vit2.losses(heads(m.ln(x)), t)
    return l, acc


def step_vlmo_text(m, samp, bs, g):
    _, scs = samp.images_and_scenes(bs)
    rng = samp.rng
    xs = [sc["caption"] for sc in scs] + [vl2.sample_question(sc, rng)[0] for sc in scs]
    ids, mask = taxo.texts(xs)
    mids, tgt = mlm_mask(ids, g)
    _, h = m.text_embed(mids, mask)
    return {"mlm": ce_lm(m.mlm(h), tgt)}, {}


def step_vqa(m, samp, bs):
    """VQA alone (the seeds' fine-tuning): one question per image through the fusion encoder."""
    imgs, scs = samp.images_and_scenes(bs)
    qs, ans = zip(*(vl2.sample_question(sc, samp.rng) for sc in scs))
    px = taxo.pixels(imgs)
    toks = m.image_embed(px) if m.cfg["arch"] == "vilt" else m.image_tokens(px)
    vq = vqa_logits(m, toks, qs)
    target = torch.tensor(ans)
    return {"vqa": F.cross_entropy(vq, target)}, {"vqa_acc": (vq.argmax(1) == target).float().mean().item()}


STEPS = {"clip": step_clip, "blip": step_blip, "vilt": step_vilt, "vlmo": step_vlmo, "coca": step_coca}


def optimizer(params_named, lr):
    decay, keep = [], []
    for name, p in params_named:
        if not p.requires_grad:
            continue
        (keep if p.ndim < 2 or "pos" in name or "cls" in name or "tok" in name or "types" in name or "queries" in name
         else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": keep, "weight_decay": 0.0}], lr=lr)


def run_stage(name, model_params, step_fn, clock, lr, save, log_every=10, warm=0.05):
    opt = optimizer(model_params, lr)
    params = [p for _, p in model_params if p.requires_grad]
    step = 0
    while clock.frac() < 1.0:
        for gr in opt.param_groups:
            gr["lr"] = common.lr_at(clock.frac(), lr, warm=warm)
        t0 = time.time()
        losses, logs = step_fn()
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if step % log_every == 0:
            print(f"[{name}] step {step} " + " ".join(f"{k} {v.item():.3f}" for k, v in losses.items()) + " | "
                  + " ".join(f"{k} {v:.3f}" for k, v in logs.items())
                  + f" lr {opt.param_groups[0]['lr']:.1e} {time.time() - t0:.2f}s cpu {clock.cpu():.0f}s wall {clock.wall():.0f}s",
                  flush=True)
        if step % 50 == 0:
            save(step)
    save(step)
    return step


def vqa_finetune(a):
    if not taxo.has_vqa(a.arch):
        raise SystemExit(f"{a.arch} has no VQA head")
    m, cfg, meta = taxo.load(a.vqa_finetune)
    if cfg["arch"] != a.arch:
        raise SystemExit(f"{a.vqa_finetune} is a {cfg['arch']} checkpoint")
    m.train()
    torch.manual_seed(100)
    out = a.out or os.path.join(common.RUNS, f"{a.arch}-vqa")
    samp = vl2.Batches(*data2.load(a.cache.split(",")), seed=100)
    meta = dict(meta, vqa_finetune={"from": a.vqa_finetune, "cpu_minutes": a.cpu_minutes, "lr": a.lr, "steps": 0})

    def save(step):
        meta["vqa_finetune"]["steps"] = step
        common.save(m, cfg, os.path.join(out, "model.pt"), meta)

    run_stage(f"{a.arch}-vqa", list(m.named_parameters()), lambda: step_vqa(m, samp, a.bs), common.CpuClock(a.cpu_minutes),
              a.lr, save, warm=0.03)
    print("done", meta, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch", choices=taxo.ARCHS)
    ap.add_argument("--cpu-minutes", type=float, default=60)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--cache", default="v2train0,v2train1")
    ap.add_argument("--vit", default=taxo.VIT_CKPT)
    ap.add_argument("--out", default="")
    ap.add_argument("--stages", default="0.1,0.15,0.75", help="VLMo: shares of the budget for image, text, image-text")
    ap.add_argument("--resume", action="store_true",
                    help="continue the image-text stage of the checkpoint at --out for --cpu-minutes more (fresh schedule, "
                         "new data order); VLMo's single-modality stages are not repeated")
    ap.add_argument("--vqa-finetune", default="",
                    help="ViLT / VLMo: fine-tune this checkpoint on VQA alone for --cpu-minutes (all weights), saved "
                         "to --out, as the seeds fine-tune for VQA")
    a = ap.parse_args()
    if a.vqa_finetune:
        vqa_finetune(a)
        return
    out = a.out or os.path.join(common.RUNS, f"{a.arch}-v2")
    ck = os.path.join(out, "model.pt")
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    if a.resume:
        m, cfg, meta = taxo.load(ck)
        m.train()
        rounds = meta.setdefault("rounds", [{"cpu_minutes": meta["cpu_minutes"], "lr": meta["lr"]}])
        rounds.append({"cpu_minutes": a.cpu_minutes, "lr": a.lr})
        meta.update(cpu_minutes=sum(r["cpu_minutes"] for r in rounds), done=False)
        torch.manual_seed(len(rounds))
        g = torch.Generator().manual_seed(len(rounds))
    else:
        cfg = taxo.config(a.arch)
        m = taxo.build(cfg)
        taxo.init_from_vit(m, taxo.load_vit(a.vit))
        meta = {"arch": a.arch, "bs": a.bs, "lr": a.lr, "cpu_minutes": a.cpu_minutes, "vit": a.vit, "stages": {}}
    print(a.arch, "params", sum(p.numel() for p in m.parameters()), flush=True)
    # a continued round draws a new batch order, so it does not replay the first round's batches
    samp = vl2.Batches(*data2.load(a.cache.split(",")), seed=2 if not a.resume else 1 + len(meta["rounds"]))
    t_start = time.process_time()
    w_start = time.time()
    cpu_before, wall_before = meta.get("cpu_s", 0), meta.get("wall_s", 0)

    def saver(stage):
        def save(step):
            meta["stages"][stage] = step
            meta["cpu_s"] = cpu_before + round(time.process_time() - t_start)
            meta["wall_s"] = wall_before + round(time.time() - w_start)
            common.save(m, cfg, ck, meta)
        return save

    if a.resume:
        clock = common.CpuClock(a.cpu_minutes)
        stage = f"vl (round {len(meta['rounds'])})"
    elif a.arch == "vlmo":
        shares = [float(x) for x in a.stages.split(",")]
        heads = train_vit2.DenseHeads(cfg["dim"])
        vit_state = torch.load(a.vit, map_location="cpu")["state"]
        heads.load_state_dict({k[len("heads."):]: t for k, t in vit_state.items() if k.startswith("heads.")})
        # stage 1: image only (attention, V-FFN, patch embedding)
        named = [(n, p) for n, p in m.named_parameters() if n.startswith(("patch", "types", "ln.")) or ".attn." in n
                 or ".ln1." in n or ".v." in n] + [("heads." + n, p) for n, p in heads.named_parameters()]
        run_stage("vlmo-image", named, lambda: step_vlmo_image(m, heads, samp, a.bs), common.CpuClock(a.cpu_minutes * shares[0]),
                  a.lr, saver("image"))
        # stage 2: text only; attention and V-FFN frozen
        for n, p in m.named_parameters():
            p.requires_grad = n.startswith(("words", "mlm")) or ".l." in n
        run_stage("vlmo-text", list(m.named_parameters()), lambda: step_vlmo_text(m, samp, 2 * a.bs, g),
                  common.CpuClock(a.cpu_minutes * shares[1]), a.lr, saver("text"))
        for p in m.parameters():
            p.requires_grad = True
        clock = common.CpuClock(a.cpu_minutes * shares[2])
        stage = "vl"
    else:
        clock = common.CpuClock(a.cpu_minutes)
        stage = "vl"
    step_fn = STEPS[a.arch]
    run_stage(f"{a.arch}", list(m.named_parameters()), lambda: step_fn(m, samp.batch(a.bs, questions=taxo.has_vqa(a.arch)), g),
              clock, a.lr, saver(stage))
    meta["done"] = True
    common.save(m, cfg, ck, meta)
    print("done", meta, flush=True)


if __name__ == "__main__":
    main()
