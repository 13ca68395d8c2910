#!/usr/bin/env python3
"""Export a model of the architecture comparison to a webvl folder (config.json names the family) and check every
graph against PyTorch with onnxruntime-web in Node (verify_onnx.mjs).

  python3 models/train/export_taxo.py --ckpt models/train/runs/vilt-v2/model.pt --out models/vilt-tiny

Graphs (onnx/):
  clip  vision_model (image_embeds, last_hidden_state), text_model (text_embeds)              CLIPModel layout
  blip  vision_model, text_model, itm_model, decoder_model, decoder_with_past_model           blip-tiny's layout
  vilt  vision_model: pixel_values -> patch_embeds [B,65,D] (patches + position + modality type 1)
        fusion_model: input_ids, attention_mask, patch_embeds -> itm_logits [B,2], vqa_logits [B,A]
  vlmo  vision_model (image expert): pixel_values -> image_embeds [B,P], patch_embeds [B,65,D]
        text_model (text expert): input_ids, attention_mask -> text_embeds [B,P]
        fusion_model (fusion mode): as ViLT's
  coca  vision_model: pixel_values -> image_embeds [B,P] (pooler query 0), last_hidden_state [B,N,D] (queries 1..N)
        text_model: input_ids, attention_mask -> text_embeds (unimodal decoder, [CLS] query appended)
        decoder_model / decoder_with_past_model: BLIP's decoder contract over the unimodal + multimodal layers
A checkpoint from train_taxo.py --vqa-finetune exports its VQA head alone (taxo.heads): fusion_model -> vqa_logits,
VLMo's vision_model -> patch_embeds and no text_model; config.json names ViltForQuestionAnswering /
VlmoForQuestionAnswering, so the runtime refuses image-text scoring on it (UNSUPPORTED_TASK).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import export_blip  # noqa: E402
import export_clip  # noqa: E402
import onnxutil  # noqa: E402
import taxo  # noqa: E402
import tokv2  # noqa: E402
import vl2  # noqa: E402
from verify_clip import run_cases, t  # noqa: E402

MAX_NEW = 30  # a five-object caption is 24 words
SEQ = {0: "batch_size", 1: "sequence_length"}
B = {0: "batch_size"}


class M(torch.nn.Module):
    """forward = f(model, *inputs), so each graph is a small function of the trained model."""

    def __init__(self, m, f):
        super().__init__()
        self.m, self.f = m, f

    def forward(self, *xs):
        return self.f(self.m, *xs)


def vlmo_vision(m, px):
    toks = m.image_tokens(px)
    x = toks
    for b in m.blocks:
        x = b(x, route="v")
    return m.iproj(m.ln(x)[:, 0]), toks


def fusion_heads(m, ids, mask, patches):
    p = m.pooled(taxo.fusion_states(m, patches, ids, mask))
    return m.itm(p), m.vqa(p)


def fusion_vqa(m, ids, mask, patches):
    return m.vqa(m.pooled(taxo.fusion_states(m, patches, ids, mask)))


def coca_dec(m, ids, enc):
    logits, pres = m.decode(ids, enc)
    return (logits, *[x for kv in pres for x in kv])


def coca_dec_past(m, ids, enc, *past):
    pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
    logits, pres = m.decode(ids, enc, past=pk)
    return (logits, *[x for kv in pres for x in kv])


def sample_texts():
    ids, mask = tokv2.batch(["a large red circle left of a small blue square", "is there a green star?"])
    return torch.from_numpy(ids), torch.from_numpy(mask)


def export_graphs(m, cfg, heads, o):
    a = cfg["arch"]
    scoring = bool(heads & {"itc", "itm"})
    px = torch.randn(2, 3, 64, 64)
    ids, mask = sample_texts()
    D, P = cfg.get("dim", cfg.get("t_dim")), cfg["proj"]
    text_io = (["input_ids", "attention_mask"], {"input_ids": SEQ, "attention_mask": SEQ})
    if a in ("clip", "blip"):
        if a == "clip":
            onnxutil.export(export_clip.VisionWrap(m), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                            ["image_embeds", "last_hidden_state"],
                            {"pixel_values": B, "image_embeds": B, "last_hidden_state": B},
                            {"image_embeds": ["batch_size", P], "last_hidden_state": ["batch_size", 65, cfg["v_dim"]]})
            onnxutil.export(export_clip.TextWrap(m), (ids, mask), f"{o}/text_model.onnx", text_io[0],
                            ["text_embeds", "last_hidden_state"],
                            {**text_io[1], "text_embeds": B, "last_hidden_state": SEQ}, {"text_embeds": ["batch_size", P]})
        else:
            export_blip_graphs(m, cfg, o)
        return
    if a == "vilt":
        onnxutil.export(M(m, lambda m, x: m.image_embed(x)), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                        ["patch_embeds"], {"pixel_values": B, "patch_embeds": B}, {"patch_embeds": ["batch_size", 65, D]})
    if a == "vlmo" and not scoring:  # VQA alone: the fusion graph's input, no image expert embedding nor text expert
        onnxutil.export(M(m, lambda m, x: m.image_tokens(x)), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                        ["patch_embeds"], {"pixel_values": B, "patch_embeds": B}, {"patch_embeds": ["batch_size", 65, D]})
    elif a == "vlmo":
        onnxutil.export(M(m, vlmo_vision), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                        ["image_embeds", "patch_embeds"], {"pixel_values": B, "image_embeds": B, "patch_embeds": B},
                        {"image_embeds": ["batch_size", P], "patch_embeds": ["batch_size", 65, D]})
        onnxutil.export(M(m, lambda m, i, k: m.text_embed(i, k)[0]), (ids, mask), f"{o}/text_model.onnx",
                        text_io[0], ["text_embeds"], {**text_io[1], "text_embeds": B}, {"text_embeds": ["batch_size", P]})
    if a in ("vilt", "vlmo") and not scoring:
        onnxutil.export(M(m, fusion_vqa), (ids, mask, torch.randn(2, 65, D)), f"{o}/fusion_model.onnx",
                        [*text_io[0], "patch_embeds"], ["vqa_logits"], {**text_io[1], "patch_embeds": B, "vqa_logits": B},
                        {"vqa_logits": ["batch_size", cfg["n_answers"]]})
    elif a in ("vilt", "vlmo"):
        patches = torch.randn(2, 65, D)
        onnxutil.export(M(m, fusion_heads), (ids, mask, patches), f"{o}/fusion_model.onnx",
                        [*text_io[0], "patch_embeds"], ["itm_logits", "vqa_logits"],
                        {**text_io[1], "patch_embeds": B, "itm_logits": B, "vqa_logits": B},
                        {"itm_logits": ["batch_size", 2], "vqa_logits": ["batch_size", cfg["n_answers"]]})
    if a == "coca":
        NQ = cfg["n_queries"]
        onnxutil.export(M(m, lambda m, x: m.image(x)), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                        ["image_embeds", "last_hidden_state"], {"pixel_values": B, "image_embeds": B, "last_hidden_state": B},
                        {"image_embeds": ["batch_size", P], "last_hidden_state": ["batch_size", NQ, D]})
        onnxutil.export(M(m, lambda m, i, k: m.text_embed(i, k)[0]), (ids, mask), f"{o}/text_model.onnx",
                        text_io[0], ["text_embeds"], {**text_io[1], "text_embeds": B}, {"text_embeds": ["batch_size", P]})
        export_decoder(M(m, coca_dec), M(m, coca_dec_past), cfg["uni_layers"] + cfg["multi_layers"], cfg["heads"], D,
                       cfg["vocab"], NQ, D, o)


def export_decoder(dec, dec_past, NL, H, D, vocab, N1, Dv, o):
    """BLIP's decoder contract: decoder_model (ids, encoder_hidden_states -> logits, present.i.key/value) and
    decoder_with_past_model (one token + past_key_values.i.*)."""
    hd = D // H
    enc = torch.randn(2, N1, Dv)
    encax = {0: "batch_size", 1: "encoder_sequence_length"}
    pres = [f"present.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    dids = torch.tensor([[tokv2.CLS, 20, 21, 22], [tokv2.CLS, 22, 21, 20]])
    dyn = {"input_ids": SEQ, "encoder_hidden_states": encax, "logits": SEQ}
    shapes = {"logits": ["batch_size", "sequence_length", vocab]}
    for p in pres:
        dyn[p] = {0: "batch_size", 2: "sequence_length"}
        shapes[p] = ["batch_size", H, "sequence_length", hd]
    onnxutil.export(dec, (dids, enc), f"{o}/decoder_model.onnx", ["input_ids", "encoder_hidden_states"], ["logits", *pres],
                    dyn, shapes)
    pasts = [f"past_key_values.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    pt = [torch.randn(2, H, 4, hd) for _ in pasts]
    dyn = {"input_ids": B, "encoder_hidden_states": encax, "logits": B}
    shapes = {"logits": ["batch_size", 1, vocab]}
    for p in pasts:
        dyn[p] = {0: "batch_size", 2: "past_sequence_length"}
    for p in pres:
        dyn[p] = {0: "batch_size", 2: "total_sequence_length"}
        shapes[p] = ["batch_size", H, "total_sequence_length", hd]
    onnxutil.export(dec_past, (dids[:, :1], enc, *pt), f"{o}/decoder_with_past_model.onnx",
                    ["input_ids", "encoder_hidden_states", *pasts], ["logits", *pres], dyn, shapes)


def export_blip_graphs(m, cfg, o):
    px = torch.randn(2, 3, 64, 64)
    ids, mask = sample_texts()
    onnxutil.export(export_blip.Vision(m), (px,), f"{o}/vision_model.onnx", ["pixel_values"],
                    ["last_hidden_state", "image_embeds"], {"pixel_values": B, "last_hidden_state": B, "image_embeds": B},
                    {"last_hidden_state": ["batch_size", 65, cfg["v_dim"]], "image_embeds": ["batch_size", cfg["proj"]]})
    onnxutil.export(export_blip.Text(m), (ids, mask), f"{o}/text_model.onnx", ["input_ids", "attention_mask"],
                    ["text_embeds", "last_hidden_state"], {"input_ids": SEQ, "attention_mask": SEQ, "text_embeds": B,
                                                           "last_hidden_state": SEQ},
                    {"text_embeds": ["batch_size", cfg["proj"]], "last_hidden_state": ["batch_size", "sequence_length", cfg["t_dim"]]})
    enc = torch.randn(2, 65, cfg["v_dim"])
    onnxutil.export(export_blip.ITM(m), (ids, mask, enc), f"{o}/itm_model.onnx",
                    ["input_ids", "attention_mask", "encoder_hidden_states"], ["itm_logits"],
                    {"input_ids": SEQ, "attention_mask": SEQ, "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
                     "itm_logits": B}, {"itm_logits": ["batch_size", 2]})
    export_decoder(export_blip.Dec(m), export_blip.DecPast(m), cfg["d_layers"], cfg["heads"], cfg["t_dim"], cfg["vocab"], 65,
                   cfg["v_dim"], o)


# ---------------------------------------------------------------- configs
TEXT_TOKENS = {"pad_token_id": tokv2.PAD, "bos_token_id": tokv2.CLS, "eos_token_id": tokv2.SEP, "sep_token_id": tokv2.SEP}


def vision_config(cfg):
    return {"image_size": 64, "patch_size": 8, "num_channels": 3, "hidden_size": 128, "num_patches": 64,
            "stem": "seven 3x3 convs (three of stride 2) -> 8x8 patch tokens, + [CLS]; initialized from train_vit2.py"}


def config_json(m, cfg, meta):
    a = cfg["arch"]
    if taxo.heads(a, meta) == {"vqa"}:
        return vqa_config_json(m, cfg, meta)
    scale = float(m.logit_scale.detach().clamp(max=4.6052)) if hasattr(m, "logit_scale") else None
    base = {"torch_dtype": "float32", "webvl": {"architecture": a, "training": meta}}
    answers = {"id2label": {str(i): x for i, x in enumerate(vl2.ANSWERS)},
               "label2id": {x: i for i, x in enumerate(vl2.ANSWERS)}}
    if a == "clip":
        return {**base, "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": cfg["proj"],
                "logit_scale": scale,
                "text_config": {"model_type": "clip_text_model", "vocab_size": cfg["vocab"], "hidden_size": cfg["t_dim"],
                                "num_hidden_layers": cfg["t_layers"], "num_attention_heads": cfg["heads"],
                                "max_position_embeddings": cfg["max_len"], **TEXT_TOKENS},
                "vision_config": {"model_type": "clip_vision_model", **vision_config(cfg), "num_hidden_layers": cfg["v_layers"]}}
    if a == "blip":
        return {**base, "architectures": ["BlipForImageTextRetrieval", "BlipForConditionalGeneration"], "model_type": "blip",
                "projection_dim": cfg["proj"], "logit_scale": scale, "itm_bos_token_id": tokv2.CLS,
                "text_config": {"model_type": "blip_text_model", "vocab_size": cfg["vocab"], "hidden_size": cfg["t_dim"],
                                "num_hidden_layers": cfg["t_layers"], "num_fusion_layers": cfg["f_layers"],
                                "num_decoder_layers": cfg["d_layers"], "num_attention_heads": cfg["heads"],
                                "max_position_embeddings": cfg["max_len"], **TEXT_TOKENS, "bos_token_id": tokv2.DEC},
                "vision_config": {"model_type": "blip_vision_model", **vision_config(cfg), "num_hidden_layers": cfg["v_layers"]}}
    common_text = {"vocab_size": cfg["vocab"], "hidden_size": cfg["dim"], "num_attention_heads": cfg["heads"],
                   "max_position_embeddings": cfg["max_len"], **TEXT_TOKENS}
    if a == "vilt":
        return {**base, "architectures": ["ViltForQuestionAnswering", "ViltForImageAndTextRetrieval"], "model_type": "vilt",
                "hidden_size": cfg["dim"], "num_hidden_layers": cfg["layers"], "modality_type_vocab_size": 2,
                "num_labels": cfg["n_answers"], **answers, "text_config": common_text, "vision_config": vision_config(cfg)}
    if a == "vlmo":
        return {**base, "architectures": ["VlmoModel"], "model_type": "vlmo", "projection_dim": cfg["proj"],
                "logit_scale": scale, "hidden_size": cfg["dim"], "num_hidden_layers": cfg["layers"],
                "num_vl_expert_layers": cfg["vl_layers"], "modality_type_vocab_size": 2, "num_labels": cfg["n_answers"],
                **answers, "text_config": common_text, "vision_config": vision_config(cfg)}
    if a == "coca":
        return {**base, "architectures": ["CoCaModel"], "model_type": "coca", "projection_dim": cfg["proj"],
                "logit_scale": scale, "num_image_queries": cfg["n_queries"],
                "text_config": {**common_text, "num_unimodal_layers": cfg["uni_layers"],
                                "num_multimodal_layers": cfg["multi_layers"]},
                "vision_config": {**vision_config(cfg), "num_hidden_layers": 4}}
    raise ValueError(a)


def vqa_config_json(m, cfg, meta):
    """A checkpoint fine-tuned for VQA alone: its VQA head only (ViltForQuestionAnswering; VLMo likewise)."""
    full = config_json(m, cfg, {})
    drop = ("architectures", "logit_scale", "projection_dim")
    name = "ViltForQuestionAnswering" if cfg["arch"] == "vilt" else "VlmoForQuestionAnswering"
    return {**{k: v for k, v in full.items() if k not in drop}, "architectures": [name],
            "webvl": {"architecture": cfg["arch"], "heads": ["vqa"], "training": meta}}


def write_folder(m, cfg, meta, out):
    o = os.path.join(out, "onnx")
    os.makedirs(o, exist_ok=True)
    export_graphs(m, cfg, taxo.heads(cfg["arch"], meta), o)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config_json(m, cfg, meta), f, indent=2)
    if taxo.has_caption(cfg["arch"]):
        bos = tokv2.DEC if cfg["arch"] == "blip" else tokv2.CLS
        gen = {"bos_token_id": bos, "decoder_start_token_id": bos, "eos_token_id": tokv2.SEP, "pad_token_id": tokv2.PAD,
               "max_length": MAX_NEW, "num_beams": 1, "do_sample": False}
        with open(os.path.join(out, "generation_config.json"), "w") as f:
            json.dump(gen, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(export_clip.preprocessor(), f, indent=2)
    tokv2.write(out)


# ---------------------------------------------------------------- verification (torch vs onnxruntime-web)
@torch.no_grad()
def verify_cases(m, cfg, heads):
    a = cfg["arch"]
    imgs, _, recs = vl2.eval_split(91001, 8, "test")
    cases = []
    texts = [recs[1]["caption"], recs[2]["qa"][0]["question"], recs[3]["negatives"].get("binding", recs[3]["caption"])]
    for bs in (1, 3):
        px = taxo.pixels(imgs[:bs])
        if a == "vilt":
            exp = {"patch_embeds": t(m.image_embed(px))}
        elif a == "vlmo" and "itc" not in heads:
            exp = {"patch_embeds": t(m.image_tokens(px))}
        elif a == "vlmo":
            e, toks = vlmo_vision(m, px)
            exp = {"image_embeds": t(e), "patch_embeds": t(toks)}
        elif a == "coca":
            e, toks = m.image(px)
            exp = {"image_embeds": t(e), "last_hidden_state": t(toks)}
        else:
            e, h = m.image_embed(px)
            exp = {"image_embeds": t(e), "last_hidden_state": t(h)}
        cases.append({"name": f"vision_b{bs}", "model": "onnx/vision_model.onnx", "feeds": {"pixel_values": t(px)},
                      "expected": exp})
    ie, toks = taxo.image_side(m, imgs[:3])
    for xs in (texts[:1], texts):
        ids, mask = taxo.texts(xs)
        feeds = {"input_ids": t(ids), "attention_mask": t(mask)}
        if "itc" in heads:
            e, _ = m.text_embed(ids, mask)
            cases.append({"name": f"text_b{len(xs)}_L{ids.shape[1]}", "model": "onnx/text_model.onnx", "feeds": feeds,
                          "expected": {"text_embeds": t(e)}})
        if a in ("vilt", "vlmo"):
            il, vq = fusion_heads(m, ids, mask, toks[: len(xs)])
            exp = {"itm_logits": t(il), "vqa_logits": t(vq)} if "itm" in heads else {"vqa_logits": t(vq)}
            cases.append({"name": f"fusion_b{len(xs)}_L{ids.shape[1]}", "model": "onnx/fusion_model.onnx",
                          "feeds": {**feeds, "patch_embeds": t(toks[: len(xs)])}, "expected": exp})
        if a == "blip":
            cases.append({"name": f"itm_b{len(xs)}_L{ids.shape[1]}", "model": "onnx/itm_model.onnx",
                          "feeds": {**feeds, "encoder_hidden_states": t(toks[: len(xs)])},
                          "expected": {"itm_logits": t(m.itm_logits(ids, mask, toks[: len(xs)]))}})
    if "caption" in heads:
        _, toks8 = taxo.image_side(m, imgs)
        bos = tokv2.DEC if a == "blip" else tokv2.CLS
        NL = cfg["d_layers"] if a == "blip" else cfg["uni_layers"] + cfg["multi_layers"]
        caps = taxo.captions(m, toks8, MAX_NEW)
        step = m.decoder if a == "blip" else (lambda ids, enc, past=None: m.decode(ids, enc, past))
        expected = []
        for b in range(len(imgs)):  # the tokens greedy decoding produced, up to and including [SEP]
            ids = torch.full((1, 1), bos, dtype=torch.long)
            lg, past = step(ids, toks8[b : b + 1])
            seq = []
            for _ in range(MAX_NEW):
                nxt = int(lg[0, -1].argmax())
                seq.append(nxt)
                if nxt == tokv2.SEP:
                    break
                lg, past = step(torch.tensor([[nxt]]), toks8[b : b + 1], past)
            expected.append(seq)
        cases.append({"name": "greedy_8_images", "kind": "greedy", "model": "onnx/decoder_model.onnx",
                      "model_with_past": "onnx/decoder_with_past_model.onnx", "encoder_hidden_states": t(toks8),
                      "bos": bos, "eos": tokv2.SEP, "max_new": MAX_NEW, "layers": NL, "expected_tokens": expected,
                      "captions": caps})
    return cases


def messages_of(x: dict) -> list[dict]:
    """A question with its gold history as chat messages (what rt.chat is given)."""
    msgs = []
    for q, a in x.get("history", []):
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": x["question"]}]


@torch.no_grad()
def api_reference(m, cfg, heads) -> dict:
    """What the runtime API must give for two test images (RGB bytes included, so a Node test needs no PNG
    decoder): embeddings, match scores, VQA answers, greedy captions, as PyTorch computes them."""
    a = cfg["arch"]
    imgs, _, recs = vl2.eval_split(91001, 2, "test")
    rec = recs[1]
    texts = [rec["caption"], rec["negatives"]["binding"], rec["negatives"]["relation"], recs[0]["caption"]]
    q = [x for x in rec["qa"] if x["type"] != "describe"]
    questions = [vl2.question_text(x["question"], x.get("history")) for x in q]
    r6 = lambda xs: [round(float(v), 6) for v in xs]  # noqa: E731
    out = {"arch": a, "images": [{"width": 64, "height": 64, "rgb": im.reshape(-1).tolist()} for im in imgs],
           "texts": texts}
    ie, toks = taxo.image_side(m, imgs)
    if "itc" in heads:
        te = taxo.text_embeds(m, texts)
        out["image_embeds"] = [r6(e) for e in ie]
        out["text_embeds"] = [r6(e) for e in te]
        out["itc"] = r6(te @ ie[1])
    if "itm" in heads:
        out["itm"] = r6(taxo.itm_prob(m, toks, texts, [1] * len(texts)))
    if "vqa" in heads:
        ids, mask = taxo.texts(questions)
        logits = taxo.vqa_logits(m, toks[[1] * len(questions)], ids, mask)
        out["questions"] = [{"messages": messages_of(x), "gold": x["answer"], "answer": vl2.ANSWERS[int(lg.argmax())],
                             "probability": round(float(lg.softmax(-1).max()), 6)} for x, lg in zip(q, logits)]
    if "caption" in heads:
        out["captions"] = taxo.captions(m, toks, MAX_NEW)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-verify", action="store_true")
    a = ap.parse_args()
    m, cfg, meta = taxo.load(a.ckpt)
    heads = taxo.heads(cfg["arch"], meta)
    write_folder(m, cfg, meta, a.out)
    with open(os.path.join(a.out, "reference-api.json"), "w") as f:
        json.dump(api_reference(m, cfg, heads), f)
    print("exported", a.out)
    if not a.no_verify:
        cases = verify_cases(m, cfg, heads)
        caps = {c["name"]: c.pop("captions") for c in cases if "captions" in c}
        rep = run_cases(cases, a.out)
        for name, cs in caps.items():
            rep[name]["captions"] = cs
        with open(os.path.join(a.out, "verify-onnx.json"), "w") as f:
            json.dump(rep, f, indent=1)
        print(json.dumps(rep, indent=1)[:4000])


if __name__ == "__main__":
    main()
