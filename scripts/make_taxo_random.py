#!/usr/bin/env python3
"""Random-weight ViLT, VLMo and CoCa folders for the runtime's tests (tests/corpus/{vilt,vlmo,coca}-random/), in
the layout models/train/export_taxo.py writes for the trained models: the same nets (models/train/taxo_nets.py),
the same graphs, config.json, tokenizer and preprocessor, only tiny (width 32, two heads, one or two layers, an
8x8-patchify stem) and untrained. They test the runtime, never a model's quality:

  vilt-random  vision_model (patch_embeds: patches + position + modality type 1), fusion_model (ITM, VQA heads)
  vlmo-random  vision_model (image expert: image_embeds, patch_embeds), text_model (text expert), fusion_model
               (shared attention; bottom layer splits text/image tokens to L-/V-FFN, top layer VL-FFN)
  coca-random  vision_model (ViT + attentional pooler: image_embeds from query 0, last_hidden_state from 1..4),
               text_model (unimodal decoder, [CLS] appended), decoder_model + decoder_with_past_model

reference.json (export_taxo.api_reference on two shapes-world-v2 test images) holds what PyTorch computes:
embeddings, ITC, ITM, VQA answers with their probabilities, greedy captions. The weights are scaled up from
PyTorch's init so that answers and caption tokens are decided by clear margins (the script checks them), and
backends that agree to float rounding agree on every argmax.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/make_taxo_random.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import torch  # noqa: E402

import export_taxo  # noqa: E402
import taxo  # noqa: E402
import taxo_nets  # noqa: E402
import tokv2  # noqa: E402
import vl2  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus")
D, HEADS, MLP, PROJ = 32, 2, 64, 16
MAX_NEW = 12  # caption tokens (generation_config.json's max_length)
SPREAD = 3.0  # weight scale over PyTorch's init: sharper attention, decisive heads
MIN_MARGIN = 2e-3  # smallest top-1 - top-2 logit gap allowed in any argmax the tests compare


def tiny_cfg(arch: str) -> dict:
    v = len(tokv2.VOCAB)
    small = {"dim": D, "heads": HEADS, "mlp": MLP, "proj": PROJ}
    if arch == "vilt":
        return taxo_nets.base_cfg(v, len(vl2.ANSWERS), arch=arch, layers=2, **small)
    if arch == "vlmo":
        return taxo_nets.base_cfg(v, len(vl2.ANSWERS), arch=arch, layers=2, vl_layers=1, **small)
    if arch == "coca":
        return taxo_nets.base_cfg(v, arch=arch, n_queries=4, uni_layers=1, multi_layers=1, **small)
    raise ValueError(arch)


def build(arch: str, seed: int):
    torch.manual_seed(seed)
    cfg = tiny_cfg(arch)
    if arch == "coca":
        m = taxo_nets.CoCa(cfg, {"v_dim": D, "v_layers": 1, "heads": HEADS, "v_mlp": MLP})
        m.vision.stem = torch.nn.Conv2d(3, D, 8, 8)
    else:
        m = taxo.build(cfg)
        m.patch.stem = torch.nn.Conv2d(3, D, 8, 8)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() >= 2 and "stem" not in name:
                p.mul_(SPREAD)
            elif name.endswith(("pos", "cls", "queries")) or "types" in name:
                p.normal_(0, 0.5)  # position, modality-type and query tables start near zero; make them count
    return m.eval(), cfg


def margins(logits: torch.Tensor) -> float:
    top = logits.topk(2, dim=-1).values
    return float((top[..., 0] - top[..., 1]).min())


@torch.no_grad()
def check_margins(m, cfg, ref) -> float:
    """The smallest top-2 gap of the VQA logits and of every greedy caption step in the reference."""
    a = cfg["arch"]
    imgs = torch.tensor([im["rgb"] for im in ref["images"]], dtype=torch.uint8).reshape(-1, 64, 64, 3).numpy()
    _, toks = taxo.image_side(m, imgs)
    gaps = []
    if taxo.has_vqa(a):
        qs = [" ".join(x["content"] for x in q["messages"]) for q in ref["questions"]]
        ids, mask = taxo.texts(qs)
        gaps.append(margins(taxo.vqa_logits(m, toks[[1] * len(qs)], ids, mask)))
    if taxo.has_caption(a):
        for b in range(toks.shape[0]):
            ids = torch.full((1, 1), tokv2.CLS, dtype=torch.long)
            lg, past = m.decode(ids, toks[b : b + 1])
            for _ in range(MAX_NEW):
                gaps.append(margins(lg[0, -1]))
                nxt = int(lg[0, -1].argmax())
                if nxt == tokv2.SEP:
                    break
                lg, past = m.decode(torch.tensor([[nxt]]), toks[b : b + 1], past)
    return min(gaps) if gaps else float("inf")


def make(arch: str) -> None:
    out = os.path.join(OUT, f"{arch}-random")
    for seed in range(100, 140):
        m, cfg = build(arch, seed)
        ref = export_taxo.api_reference(m, cfg)
        gap = check_margins(m, cfg, ref)
        if gap >= MIN_MARGIN:
            break
    else:
        raise SystemExit(f"{arch}: no seed gives argmax margins >= {MIN_MARGIN}")
    meta = {"random_weights": True, "seed": seed, "note": "untrained: for runtime tests only"}
    export_taxo.write_folder(m, cfg, meta, out)
    ref["seed"] = seed
    ref["min_argmax_margin"] = round(gap, 6)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"{arch}: seed {seed}, smallest argmax margin {gap:.4f}, {size / 1024:.0f} KiB")


def main():
    export_taxo.MAX_NEW = MAX_NEW  # generation_config.json's max_length and the reference captions' bound
    for arch in sys.argv[1:] or ["vilt", "vlmo", "coca"]:
        make(arch)


if __name__ == "__main__":
    main()
