#!/usr/bin/env python3
"""Write models/<name>/README.md, the model card of an architecture-comparison model, from its config.json, the
checkpoint's training record, metrics-torch.json (evaluate_taxo.py on 1,000 test images) and, when present,
metrics-runtime.json (`npm run eval` through the runtime) beside metrics-torch-<n>.json (PyTorch on that split).

  python3 models/train/card_taxo.py vilt-tiny
"""
import json
import os
import sys

from card import files_table

HERE = os.path.dirname(os.path.abspath(__file__))

DESIGN = {
    "clip": ("dual encoder (CLIP)", "A ViT image encoder and a text transformer, each ending in a projection; a pair "
             "is scored by the cosine of the two embeddings."),
    "blip": ("fused encoders (ALBEF/BLIP)", "A ViT image encoder, a text encoder whose upper layers cross-attend to "
             "the image for ITM, and a causal decoder with cross-attention for captions."),
    "vilt": ("single stream (ViLT)", "Patch embeddings and word embeddings, each with its modality-type embedding, "
             "go through one transformer together: no image or text encoder of their own, so every image-text pair "
             "is a forward pass. Heads: ITM and a VQA classifier over the answer list."),
    "vlmo": ("mixture of modality experts (VLMo)", "One transformer with shared self-attention and three "
             "feed-forward experts (V-FFN, L-FFN, VL-FFN). Exported as three graphs from one checkpoint: the image "
             "expert and the text expert make a dual encoder (retrieval), the fusion mode a fusion encoder (ITM, "
             "VQA)."),
    "coca": ("contrastive captioner (CoCa)", "An image encoder with attentional pooling (learned queries: one for "
             "the contrastive embedding, 16 for the decoder), a unimodal text decoder whose final [CLS] token is the "
             "text embedding, and multimodal decoder layers that cross-attend to the pooled tokens. One image pass "
             "gives both the embedding and the caption."),
}
LOSSES = {
    "clip": "ITC with a learned temperature; each image's hard-negative caption is an extra text.",
    "blip": "ITC + ITM on the fusion encoder (the positive, the hard negative, and an in-batch negative sampled from "
            "ITC similarity for each image and each caption) + captioning LM.",
    "vilt": "ITM (the positive, the hard negative, another caption of the batch) + MLM on 15 % of caption words + "
            "VQA, jointly.",
    "vlmo": "Stage-wise, as VLMo trains: image only (dense targets through attention and V-FFN), text only (MLM; "
            "attention and V-FFN frozen), then image-text (ITC on the experts + ITM, MLM and VQA in fusion mode).",
    "coca": "ITC ([CLS] at the end of the unimodal decoder against the contrastive pooling query) + 2 x captioning LM.",
}
TASKS = {
    "clip": "classify, match (ITC), embedImage/embedText, index search",
    "blip": "classify, match (ITC + ITM), embedImage/embedText, index search (re-rank with ITM), caption",
    "vilt": "classify and match (ITM, a pass per label or text), index search (a pass per image), ask (VQA "
            "classifier); no embeddings: UNSUPPORTED_TASK",
    "vlmo": "classify, match (ITC + ITM), embedImage/embedText, index search (re-rank in fusion mode), ask (VQA "
            "classifier)",
    "coca": "classify, match (ITC), embedImage/embedText, index search, caption",
}

VQA_ONLY_TASKS = ("ask (VQA classifier) only: config.json names the VQA head alone, so classify, match, embeddings "
                  "and index search are UNSUPPORTED_TASK")
VQA_FINETUNE = (" Then, as the seeds fine-tune for VQA, {cpu_minutes:g} more CPU-minutes on the VQA loss alone, all "
                "weights, from lr {lr:g} ({steps} steps; train_taxo.py --vqa-finetune). The fine-tuned encoder no "
                "longer matches its ITM head (nor, for VLMo, its experts' embeddings), so this folder ships the VQA "
                "head only, as ViLT's VQA checkpoint is a release of its own.")


def rounds(meta: dict) -> list[dict]:
    """Training rounds: the first from scratch (after the shared vision pre-training), then continuations."""
    return meta.get("rounds", [{"cpu_minutes": meta["cpu_minutes"], "lr": meta["lr"]}])


def schedule(meta: dict) -> str:
    return "; ".join(f"round {i + 1}: {r['cpu_minutes']:g} CPU-minutes from lr {r['lr']:g}"
                     for i, r in enumerate(rounds(meta)))


def train_commands(arch: str, meta: dict) -> list[str]:
    cmd = f"TRAIN_THREADS=1 nice -n 15 /usr/bin/python3 models/train/train_taxo.py {arch}"
    first, *more = rounds(meta)
    out = ([f"{cmd} --cpu-minutes {first['cpu_minutes']:g} --lr {first['lr']:g}"]
           + [f"{cmd} --resume --cpu-minutes {r['cpu_minutes']:g} --lr {r['lr']:g}" for r in more])
    if "vqa_finetune" in meta:
        v = meta["vqa_finetune"]
        out.append(f"{cmd} --vqa-finetune models/train/runs/{arch}-v2/model.pt --cpu-minutes {v['cpu_minutes']:g} "
                   f"--lr {v['lr']:g} --out models/train/runs/{arch}-vqa")
    return out


def f4(x):
    return "—" if x is None else f"{x:.3f}"


def metric_rows(m: dict) -> list[tuple[str, object]]:
    rows = []
    if "zero_shot" in m:  # a VQA-only checkpoint scores no image-text pairs
        rows += scoring_rows(m)
    for split, v in m.get("vqa", {}).items():
        rows.append((f"VQA overall, {split} ({v['n_images']} images, {v['n_questions']} questions)", v["vqa_overall"]))
        rows.append((f"VQA counting / relations, {split}", f"{f4(v['counting'])} / {f4(v['relations'])}"))
    if "captioning" in m:
        c = m["captioning"]
        rows.append((f"caption exact match / CIDEr-D ({c['n']} images, greedy)", f"{f4(c['exact_match'])} / "
                     f"{f4(c['cider_d'])}"))
    return rows


def scoring_rows(m: dict) -> list[tuple[str, object]]:
    rows = []
    zs = m["zero_shot"]
    rows.append((f"zero-shot, whole object (72 prompts, {zs['n_images']} single-object images, by {zs['scored_by']})",
                 zs["object"]))
    r = m["retrieval"]
    for key, label in (("itc", "ITC"), ("itc_top16_itm_rerank", "ITC top 16 re-ranked by ITM"),
                       ("itm_all_pairs", "ITM on every pair")):
        if key in r:
            n = f"{r[key]['queries']} queries × {r['n']}" if key == "itm_all_pairs" else str(r["n"])
            rows.append((f"i2t R@1, {label} ({n})", r[key]["i2t"]["R@1"]))
            rows.append((f"t2i R@1, {label} ({n})", r[key]["t2i"]["R@1"]))
    for kind, h in m["hard_negatives"].items():
        for by in ("itc", "itm"):
            if by in h:
                rows.append((f"hard negatives, {kind} swaps, by {by.upper()} (n={h['n']})", h[by]))
    return rows


def fmt(v):
    return f4(v) if isinstance(v, float) or isinstance(v, int) else str(v)


def main():
    name = sys.argv[1]
    d = os.path.join(HERE, "..", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = cfg["webvl"]["architecture"]
    m = json.load(open(os.path.join(d, "metrics-torch.json")))
    meta = m["checkpoint_meta"]
    design, what = DESIGN[arch]
    vqa_ft = meta.get("vqa_finetune")
    run = f"{arch}-vqa" if vqa_ft else f"{arch}-v2"
    tasks = VQA_ONLY_TASKS if vqa_ft else TASKS[arch]
    losses = LOSSES[arch] + (VQA_FINETUNE.format(**vqa_ft) if vqa_ft else "")
    if vqa_ft:
        what += " This folder exports the VQA head only (no ITM logits; VLMo: no text expert, no image embedding)."
    out = [f"# {name}: {design}{', fine-tuned for VQA' if vqa_ft else ''}, trained on shapes world v2", "",
           "A tiny model of the seeds' architecture comparison (see the README's taxonomy table), trained here on CPU "
           "from procedurally generated 64×64 scenes. It knows shapes world v2 only (6 shapes, 6 colours, 2 sizes, "
           "1–5 objects, pairwise relations); it is a test and benchmark model, not a general one.", "",
           "## Architecture", "", what, "",
           f"{m['params']:,} parameters in the exported graphs. Every model of the comparison starts from the same "
           "vision pre-training (train_vit2.py: conv stem + 4-layer ViT, dense patch targets) and sees 8×8 patch "
           "tokens of 128 channels.", "",
           f"Runtime tasks: {tasks}.", "",
           "## Training", "", losses, "",
           f"Budget: {meta['cpu_minutes']:g} CPU-minutes of process time (the same for all five models of the "
           f"comparison), batch {meta['bs']}, AdamW with a cosine schedule per round ({schedule(meta)}); steps per "
           "stage: " + ", ".join(f"{k} {v}" for k, v in meta["stages"].items())
           + f". Data: the v2 training caches (models/train/data2.py), each image with one hard-negative caption "
           "(binding swap, relation swap or a replaced attribute). Commands:", "", "```bash",
           *train_commands(arch, meta),
           f"/usr/bin/python3 models/train/export_taxo.py --ckpt models/train/runs/{run}/model.pt --out models/{name}",
           f"/usr/bin/python3 models/train/evaluate_taxo.py --ckpt models/train/runs/{run}/model.pt --out "
           f"models/{name}/metrics-torch.json", "```", "",
           "## Evaluation", "",
           f"PyTorch (models/train/evaluate_taxo.py) on the test split: seed {m['split']['seed']}, {m['split']['n']} "
           "images that training never saw (the first 1,000 of models/data/v2-taxo); VQA on its first 500 images "
           "and on the comp split (seed 91002, held-out colour–shape pairs and counts).", "",
           "| metric | PyTorch |", "| --- | --- |"]
    out += [f"| {k} | {fmt(v)} |" for k, v in metric_rows(m)]
    for file, what, flag in (("metrics-runtime.json", "the runtime's default backend here", ""),
                             ("metrics-runtime-webgpu.json", "our engine", " --backend webgpu")):
        if not os.path.exists(os.path.join(d, file)):
            continue
        rt = json.load(open(os.path.join(d, file)))
        n = rt["split"]["n"]
        torch_n = json.load(open(os.path.join(d, f"metrics-torch-{n}.json")))
        a, b = dict(metric_rows(rt)), dict(metric_rows(torch_n))
        same = sum(1 for k in a if k in b and a[k] == b[k])
        out += ["", f"Through the runtime on the first {n} images ({what}: {rt['backend']}; `npm run eval -- --model "
                f"models/{name} --data models/data/v2-taxo --limit {n}{flag}`) against PyTorch on the same images: "
                f"{same} of {len(a)} figures equal.", "", "| metric | runtime | PyTorch |", "| --- | --- | --- |"]
        out += [f"| {k} | {fmt(v)} | {fmt(b.get(k))} |" for k, v in a.items()]
    out += ["", "## Files", ""] + files_table(d)
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", os.path.join(d, "README.md"))


if __name__ == "__main__":
    main()
