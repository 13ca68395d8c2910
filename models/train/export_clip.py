#!/usr/bin/env python3
"""Export clip-tiny to the HF/Optimum layout: models/clip-tiny/{config,tokenizer*,preprocessor}.json + onnx/*.onnx

  python3 models/train/export_clip.py --ckpt models/train/runs/clip/model.pt --out models/clip-tiny
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402,F401
import torch  # noqa: E402

import data  # noqa: E402
import nets  # noqa: E402
import onnxutil  # noqa: E402
import tok  # noqa: E402


class VisionWrap(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        e, h = self.m.image_embed(pixel_values)
        return e, h


class TextWrap(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        e, h = self.m.text_embed(input_ids, attention_mask)
        return e, h


def preprocessor() -> dict:
    return {
        "do_resize": True,
        "size": {"height": 64, "width": 64},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 0.00392156862745098,
        "do_normalize": True,
        "image_mean": data.MEAN.tolist(),
        "image_std": data.STD.tolist(),
        "do_center_crop": False,
        "do_convert_rgb": True,
        "image_processor_type": "CLIPImageProcessor",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(common.RUNS, "clip", "model.pt"))
    ap.add_argument("--out", default=os.path.join(common.HERE, "..", "clip-tiny"))
    a = ap.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = ck["cfg"]
    m = nets.CLIPTiny(cfg)
    m.load_state_dict(ck["state"])
    m.eval()
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    px = torch.randn(2, 3, 64, 64)
    onnxutil.export(VisionWrap(m), (px,), os.path.join(a.out, "onnx", "vision_model.onnx"),
                    ["pixel_values"], ["image_embeds", "last_hidden_state"],
                    {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"},
                     "last_hidden_state": {0: "batch_size"}},
                    {"image_embeds": ["batch_size", cfg["proj"]], "last_hidden_state": ["batch_size", 65, cfg["v_dim"]]})
    ids, mask = tok.batch(["a large red circle left of a small blue square", "a small green star"])
    onnxutil.export(TextWrap(m), (torch.from_numpy(ids), torch.from_numpy(mask)),
                    os.path.join(a.out, "onnx", "text_model.onnx"),
                    ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
                    {"input_ids": {0: "batch_size", 1: "sequence_length"},
                     "attention_mask": {0: "batch_size", 1: "sequence_length"},
                     "text_embeds": {0: "batch_size"},
                     "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
    config = {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": cfg["proj"],
        "logit_scale": float(m.logit_scale.detach().clamp(max=4.6052)),
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": cfg["vocab"],
            "hidden_size": cfg["t_dim"],
            "intermediate_size": cfg["t_mlp"],
            "num_hidden_layers": cfg["t_layers"],
            "num_attention_heads": cfg["heads"],
            "max_position_embeddings": cfg["max_len"],
            "projection_dim": cfg["proj"],
            "hidden_act": "gelu",
            "pad_token_id": tok.PAD,
            "bos_token_id": tok.CLS,
            "eos_token_id": tok.SEP,
            "pooling": "first token ([CLS]), bidirectional attention with attention_mask",
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "image_size": 64,
            "patch_size": 8,
            "num_channels": 3,
            "hidden_size": cfg["v_dim"],
            "intermediate_size": cfg["v_mlp"],
            "num_hidden_layers": cfg["v_layers"],
            "num_attention_heads": cfg["heads"],
            "projection_dim": cfg["proj"],
            "hidden_act": "gelu",
            "stem": "conv3x3/2(32)-gelu-conv3x3/2(64)-gelu-conv2x2/2(dim): 8x8 tokens + [CLS]",
        },
        "webvl": {
            "image_embeds": "projection of the final-LayerNorm [CLS] token, not normalized",
            "text_embeds": "projection of the final-LayerNorm [CLS] token, not normalized",
            "similarity": "exp(logit_scale) * cos(image_embeds, text_embeds)",
            "training": ck["meta"],
        },
        "torch_dtype": "float32",
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out, "preprocessor_config.json"), "w") as f:
        json.dump(preprocessor(), f, indent=2)
    tok.write(a.out)
    print("exported", a.out, ck["meta"])


if __name__ == "__main__":
    main()
