#!/usr/bin/env python3
"""Export llava-tiny / blip2-tiny in transformers.js' LLaVA layout:

  onnx/vision_encoder.onnx        pixel_values [B,3,64,64] -> image_features [B,N,D] (already in the LM's width:
                                  llava = projector over 2x2-merged patch tokens, blip2 = Q-Former + projection)
  onnx/embed_tokens.onnx          input_ids [B,L] -> inputs_embeds [B,L,D]
  onnx/decoder_model_merged.onnx  inputs_embeds [B,L,D], attention_mask [B,P+L], position_ids [B,L],
                                  past_key_values.{i}.key/value [B,KV,P,hd], use_cache_branch [1]
                                  -> logits [B,L,V], present.{i}.key/value [B,KV,P+L,hd]
                                  (If on use_cache_branch: else = first step, P = 0 and the past is ignored;
                                  then = a step on top of the cache, any L >= 1)

  python3 models/train/export_llava.py --ckpt models/train/runs/llava-s2/model.pt --out models/llava-tiny
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

import export_clip  # noqa: E402
import merge_decoder  # noqa: E402
import onnxutil  # noqa: E402
import tok2  # noqa: E402
import train_llava  # noqa: E402
import vlm_decode  # noqa: E402


class VisionEncoder(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.image_features(pixel_values)


class EmbedTokens(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.e = m.lm.embed_tokens

    def forward(self, input_ids):
        return self.e(input_ids)


class FirstStep(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.lm = m.lm

    def forward(self, inputs_embeds, attention_mask, position_ids):
        logits, pres = self.lm(inputs_embeds, attention_mask, position_ids)
        return (logits, *[t for kv in pres for t in kv])


class CachedStep(FirstStep):
    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, pres = self.lm(inputs_embeds, attention_mask, position_ids, pk)
        return (logits, *[t for kv in pres for t in kv])


def export_decoder(m, cfg, path):
    lm = cfg["lm"]
    D, V, NL, KV = lm["dim"], lm["vocab"], lm["layers"], lm["kv_heads"]
    hd = D // lm["heads"]
    pasts = [f"past_key_values.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    pres = [f"present.{i}.{kv}" for i in range(NL) for kv in ("key", "value")]
    seq = {0: "batch_size", 1: "sequence_length"}
    tot = {0: "batch_size", 1: "total_sequence_length"}
    x = torch.randn(2, 5, D)
    with tempfile.TemporaryDirectory() as tmp:
        first = os.path.join(tmp, "first.onnx")
        dyn = {"inputs_embeds": seq, "attention_mask": tot, "position_ids": seq, "logits": seq,
               **{p: {0: "batch_size", 2: "total_sequence_length"} for p in pres}}
        onnxutil.export(FirstStep(m), (x, torch.ones(2, 5, dtype=torch.long), torch.arange(5)[None].expand(2, 5)),
                        first, ["inputs_embeds", "attention_mask", "position_ids"], ["logits", *pres], dyn)
        cached = os.path.join(tmp, "cached.onnx")
        past = [torch.randn(2, KV, 4, hd) for _ in pasts]
        dyn = {"inputs_embeds": seq, "attention_mask": tot, "position_ids": seq, "logits": seq,
               **{p: {0: "batch_size", 2: "past_sequence_length"} for p in pasts},
               **{p: {0: "batch_size", 2: "total_sequence_length"} for p in pres}}
        onnxutil.export(CachedStep(m), (x[:, :3], torch.ones(2, 7, dtype=torch.long), (4 + torch.arange(3))[None].expand(2, 3), *past),
                        cached, ["inputs_embeds", "attention_mask", "position_ids", *pasts], ["logits", *pres], dyn)
        f = TensorProto.FLOAT
        inputs = [helper.make_tensor_value_info("inputs_embeds", f, ["batch_size", "sequence_length", D]),
                  helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
                  helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
                  *[helper.make_tensor_value_info(p, f, ["batch_size", KV, "past_sequence_length", hd]) for p in pasts]]
        outputs = [helper.make_tensor_value_info("logits", f, ["batch_size", "sequence_length", V]),
                   *[helper.make_tensor_value_info(p, f, ["batch_size", KV, "total_sequence_length", hd]) for p in pres]]
        merge_decoder.merge(first, cached, path, inputs, outputs)


def config_json(cfg, meta, n_img, name):
    lm, vit = cfg["lm"], cfg["vit"]
    hd = lm["dim"] // lm["heads"]
    text_config = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": lm["vocab"],
        "hidden_size": lm["dim"], "intermediate_size": lm["ffn"], "num_hidden_layers": lm["layers"],
        "num_attention_heads": lm["heads"], "num_key_value_heads": lm["kv_heads"], "head_dim": hd,
        "hidden_act": "silu", "rms_norm_eps": lm["eps"], "rope_theta": lm["rope_theta"],
        "max_position_embeddings": lm["max_positions"], "tie_word_embeddings": True,
        "bos_token_id": tok2.BOS, "eos_token_id": tok2.EOS, "pad_token_id": tok2.PAD,
    }
    vision_config = {
        "model_type": "webvl_tiny_vit", "image_size": 64, "patch_size": 8, "num_channels": 3,
        "hidden_size": vit["v_dim"], "intermediate_size": vit["v_mlp"], "num_hidden_layers": vit["v_layers"],
        "num_attention_heads": vit["heads"], "hidden_act": "gelu",
        "stem": "conv3x3/2(32)-gelu-conv3x3/2(64)-gelu-conv2x2/2(dim): 8x8 patch tokens + [CLS]",
    }
    c = {
        "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
        "image_token_index": tok2.IMAGE, "image_seq_length": n_img, "projector_hidden_act": "gelu",
        "vision_feature_select_strategy": "default", "vision_feature_layer": -1,
        "text_config": text_config, "vision_config": vision_config,
        "bos_token_id": tok2.BOS, "eos_token_id": tok2.EOS, "pad_token_id": tok2.PAD,
        "tie_word_embeddings": True, "torch_dtype": "float32",
    }
    if cfg["connector"] == "projector":
        c["webvl_connector"] = {"type": "mlp_projector", "merge": "2x2 neighbouring patch tokens concatenated "
                                "(raster order of the 4x4 blocks; within a block row-major)", "num_image_tokens": n_img}
    else:
        q = cfg["qformer"]
        c["architectures"] = ["Blip2ForConditionalGeneration"]
        c["webvl_connector"] = {"type": "qformer", "num_query_tokens": q["queries"], "hidden_size": q["dim"],
                                "num_hidden_layers": q["layers"], "num_attention_heads": q["heads"],
                                "intermediate_size": q["mlp"], "cross_attention_to": "all 65 vision tokens",
                                "language_projection": f"{q['dim']} -> {lm['dim']}"}
    c["webvl"] = {
        "name": name,
        "graphs": {
            "vision_encoder": f"pixel_values [B,3,64,64] -> image_features [B,{n_img},{lm['dim']}] (LM width)",
            "embed_tokens": f"input_ids [B,L] -> inputs_embeds [B,L,{lm['dim']}]",
            "decoder_model_merged": "inputs_embeds, attention_mask [B,P+L], position_ids [B,L], "
                                    f"past_key_values.i.key/value [B,{lm['kv_heads']},P,{hd}], use_cache_branch [1] "
                                    f"-> logits [B,L,{lm['vocab']}], present.i.key/value [B,{lm['kv_heads']},P+L,{hd}]",
        },
        "prompt": "chat template of tokenizer_config.json; its one <image> is expanded to "
                  f"{n_img} <image> tokens (processor_config.json), whose embeddings are replaced in order by the "
                  "image features",
        "answer": "greedy; stop at </s>; words joined by single spaces",
        "training": meta,
    }
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(common.RUNS, "llava-s2", "model.pt"))
    ap.add_argument("--out", default=os.path.join(common.HERE, "..", "llava-tiny"))
    a = ap.parse_args()
    m, cfg, meta = train_llava.load(a.ckpt)
    name = os.path.basename(os.path.normpath(a.out))
    n_img = train_llava.n_image_tokens(cfg)
    o = os.path.join(a.out, "onnx")
    os.makedirs(o, exist_ok=True)
    D = cfg["lm"]["dim"]
    b = {0: "batch_size"}
    onnxutil.export(VisionEncoder(m), (torch.randn(2, 3, 64, 64),), f"{o}/vision_encoder.onnx", ["pixel_values"],
                    ["image_features"], {"pixel_values": b, "image_features": b},
                    {"image_features": ["batch_size", n_img, D]})
    seq = {0: "batch_size", 1: "sequence_length"}
    onnxutil.export(EmbedTokens(m), (torch.tensor([[2, 5, 4, 4], [2, 5, 4, 9]]),), f"{o}/embed_tokens.onnx",
                    ["input_ids"], ["inputs_embeds"], {"input_ids": seq, "inputs_embeds": seq},
                    {"inputs_embeds": ["batch_size", "sequence_length", D]})
    export_decoder(m, cfg, f"{o}/decoder_model_merged.onnx")
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config_json(cfg, meta, n_img, name), f, indent=2)
    gen = {"bos_token_id": tok2.BOS, "eos_token_id": tok2.EOS, "pad_token_id": tok2.PAD,
           "max_new_tokens": vlm_decode.MAX_NEW, "do_sample": False, "num_beams": 1}
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
    with open(os.path.join(a.out, "preprocessor_config.json"), "w") as f:
        json.dump(dict(export_clip.preprocessor(), image_processor_type="CLIPImageProcessor"), f, indent=2)
    # LlavaProcessor: one <image> in the prompt becomes floor(64/patch_size)^2 + num_additional_image_tokens tokens
    with open(os.path.join(a.out, "processor_config.json"), "w") as f:
        json.dump({"processor_class": "LlavaProcessor", "image_token": "<image>", "patch_size": 64 // int(n_img**0.5),
                   "num_additional_image_tokens": 0, "vision_feature_select_strategy": "default"}, f, indent=2)
    tok2.write(a.out)
    print("exported", a.out, {k: os.path.getsize(os.path.join(o, k)) for k in sorted(os.listdir(o))}, meta)


if __name__ == "__main__":
    main()
