#!/usr/bin/env python3
"""Export blip-tiny: onnx/{vision_model,text_model,itm_model,decoder_model,decoder_with_past_model}.onnx + configs.

  python3 models/train/export_blip.py --ckpt models/train/runs/blip/model.pt --out models/blip-tiny
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import export_clip  # noqa: E402
import nets  # noqa: E402
import onnxutil  # noqa: E402
import tok  # noqa: E402

MAX_NEW = 24


class Vision(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        e, h = self.m.image_embed(pixel_values)
        return h, e


class Text(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        return self.m.text_embed(input_ids, attention_mask)


class ITM(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, encoder_hidden_states):
        return self.m.itm_logits(input_ids, attention_mask, encoder_hidden_states)


class Dec(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.d = m.decoder

    def forward(self, input_ids, encoder_hidden_states):
        logits, pres = self.d(input_ids, encoder_hidden_states)
        return (logits, *[t for kv in pres for t in kv])


class DecPast(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.d = m.decoder

    def forward(self, input_ids, encoder_hidden_states, *past):
        pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, pres = self.d(input_ids, encoder_hidden_states, past=pk)
        return (logits, *[t for kv in pres for t in kv])


def load(ckpt):
    ck = torch.load(ckpt, map_location="cpu")
    m = nets.BLIPTiny(ck["cfg"])
    m.load_state_dict(ck["state"])
    m.eval()
    return m, ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(common.RUNS, "blip", "model.pt"))
    ap.add_argument("--out", default=os.path.join(common.HERE, "..", "blip-tiny"))
    a = ap.parse_args()
    m, ck = load(a.ckpt)
    cfg = ck["cfg"]
    o = os.path.join(a.out, "onnx")
    os.makedirs(o, exist_ok=True)
    N1, Dv, D, H, NL = 65, cfg["v_dim"], cfg["t_dim"], cfg["heads"], cfg["d_layers"]
    hd = D // H
    px = torch.randn(2, 3, 64, 64)
    onnxutil.export(Vision(m), (px,), f"{o}/vision_model.onnx", ["pixel_values"], ["last_hidden_state", "image_embeds"],
                    {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
                    {"last_hidden_state": ["batch_size", N1, Dv], "image_embeds": ["batch_size", cfg["proj"]]})
    ids, mask = tok.batch(["a large red circle left of a small blue square", "a small green star"])
    ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    seq = {0: "batch_size", 1: "sequence_length"}
    onnxutil.export(Text(m), (ids, mask), f"{o}/text_model.onnx", ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
                    {"input_ids": seq, "attention_mask": seq, "text_embeds": {0: "batch_size"}, "last_hidden_state": seq},
                    {"text_embeds": ["batch_size", cfg["proj"]], "last_hidden_state": ["batch_size", "sequence_length", D]})
    enc = torch.randn(2, N1, Dv)
    encax = {0: "batch_size", 1: "encoder_sequence_length"}
    onnxutil.export(ITM(m), (ids, mask, enc), f"{o}/itm_model.onnx", ["input_ids", "attention_mask", "encoder_hidden_states"], ["itm_logits"],
                    {"input_ids": seq, "attention_mask": seq, "encoder_hidden_states": encax, "itm_logits": {0: "batch_size"}},
                    {"itm_logits": ["batch_size", 2]})
    pres = [f"present.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    dids = torch.tensor([[tok.DEC, 7, 8, 9], [tok.DEC, 9, 8, 7]])
    dyn = {"input_ids": seq, "encoder_hidden_states": encax, "logits": seq}
    shapes = {"logits": ["batch_size", "sequence_length", cfg["vocab"]]}
    for p in pres:
        dyn[p] = {0: "batch_size", 2: "sequence_length"}
        shapes[p] = ["batch_size", H, "sequence_length", hd]
    onnxutil.export(Dec(m), (dids, enc), f"{o}/decoder_model.onnx", ["input_ids", "encoder_hidden_states"], ["logits", *pres], dyn, shapes)
    pasts = [f"past_key_values.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    pt = [torch.randn(2, H, 4, hd) for _ in pasts]
    dyn = {"input_ids": {0: "batch_size"}, "encoder_hidden_states": encax, "logits": {0: "batch_size"}}
    shapes = {"logits": ["batch_size", 1, cfg["vocab"]]}
    for p in pasts:
        dyn[p] = {0: "batch_size", 2: "past_sequence_length"}
    for p in pres:
        dyn[p] = {0: "batch_size", 2: "total_sequence_length"}
        shapes[p] = ["batch_size", H, "total_sequence_length", hd]
    onnxutil.export(DecPast(m), (dids[:, :1], enc, *pt), f"{o}/decoder_with_past_model.onnx",
                    ["input_ids", "encoder_hidden_states", *pasts], ["logits", *pres], dyn, shapes)

    config = {
        "architectures": ["BlipForImageTextRetrieval", "BlipForConditionalGeneration"],
        "model_type": "blip",
        "projection_dim": cfg["proj"],
        "image_text_hidden_size": cfg["proj"],
        "logit_scale": float(m.logit_scale.detach().clamp(max=4.6052)),
        "vocab_size": cfg["vocab"],
        "pad_token_id": tok.PAD,
        "unk_token_id": tok.UNK,
        "cls_token_id": tok.CLS,
        "sep_token_id": tok.SEP,
        "mask_token_id": tok.MASK,
        "enc_token_id": tok.ENC,
        "dec_token_id": tok.DEC,
        "bos_token_id": tok.DEC,
        "eos_token_id": tok.SEP,
        "itc_bos_token_id": tok.CLS,
        "itm_bos_token_id": tok.CLS,
        "decoder_start_token_id": tok.DEC,
        "text_config": {
            "model_type": "blip_text_model",
            "vocab_size": cfg["vocab"],
            "hidden_size": cfg["t_dim"],
            "intermediate_size": cfg["t_mlp"],
            "num_attention_heads": H,
            "num_hidden_layers": cfg["t_layers"],
            "num_fusion_layers": cfg["f_layers"],
            "num_decoder_layers": NL,
            "head_dim": hd,
            "max_position_embeddings": cfg["max_len"],
            "encoder_hidden_size": Dv,
            "hidden_act": "gelu",
            "pad_token_id": tok.PAD,
            "bos_token_id": tok.DEC,
            "eos_token_id": tok.SEP,
            "sep_token_id": tok.SEP,
        },
        "vision_config": {
            "model_type": "blip_vision_model",
            "image_size": 64,
            "patch_size": 8,
            "num_channels": 3,
            "hidden_size": Dv,
            "intermediate_size": cfg["v_mlp"],
            "num_hidden_layers": cfg["v_layers"],
            "num_attention_heads": H,
            "num_image_tokens": N1,
            "hidden_act": "gelu",
            "stem": "conv3x3/2(32)-gelu-conv3x3/2(64)-gelu-conv2x2/2(dim): 8x8 tokens + [CLS]",
        },
        "webvl": {
            "graphs": {
                "vision_model": "pixel_values -> last_hidden_state [B,65,Dv] (image tokens, final LayerNorm), image_embeds [B,D] (ITC projection of [CLS], not normalized)",
                "text_model": "input_ids ([CLS] ... [SEP], padded with [PAD]=0), attention_mask -> text_embeds (ITC projection of [CLS], not normalized), last_hidden_state",
                "itm_model": "input_ids (same tokens as text_model: first token [CLS], itm_bos_token_id), attention_mask, encoder_hidden_states -> itm_logits [B,2]; softmax index 1 = match",
                "decoder_model": "input_ids [B,L] starting with [DEC] (unpadded), encoder_hidden_states -> logits [B,L,V], present.i.key/value [B,H,L,hd] (self-attention K/V)",
                "decoder_with_past_model": "input_ids [B,1], encoder_hidden_states, past_key_values.i.key/value [B,H,P,hd] -> logits [B,1,V], present.i.key/value [B,H,P+1,hd]",
            },
            "itc_similarity": "exp(logit_scale) * cos(image_embeds, text_embeds)",
            "caption_format": "drop [DEC] and everything from [SEP] on; words joined by single spaces",
            "training": ck["meta"],
        },
        "torch_dtype": "float32",
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    gen = {"bos_token_id": tok.DEC, "decoder_start_token_id": tok.DEC, "eos_token_id": tok.SEP, "pad_token_id": tok.PAD,
           "max_length": MAX_NEW, "num_beams": 1, "do_sample": False}
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
    with open(os.path.join(a.out, "preprocessor_config.json"), "w") as f:
        json.dump(dict(export_clip.preprocessor(), image_processor_type="BlipImageProcessor"), f, indent=2)
    tok.write(a.out)
    print("exported", a.out, ck["meta"])


if __name__ == "__main__":
    main()
