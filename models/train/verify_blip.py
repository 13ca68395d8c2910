#!/usr/bin/env python3
"""Check models/blip-tiny/onnx/*.onnx against torch (onnxruntime-web in Node), incl. greedy decoding with past K/V."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
import decode  # noqa: E402
import export_blip  # noqa: E402
import tok  # noqa: E402
from verify_clip import run_cases, t  # noqa: E402


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(common.HERE, "..", "blip-tiny")
    ckpt = sys.argv[2] if len(sys.argv) > 2 else os.path.join(common.RUNS, "blip", "model.pt")
    m, ck = export_blip.load(ckpt)
    imgs, recs = data.load_folder(os.path.join(common.HERE, "..", "data", "eval"))
    cases = []
    with torch.no_grad():
        for bs in (1, 3):
            px = torch.from_numpy(data.to_pixels(imgs[:bs]))
            e, h = m.image_embed(px)
            cases.append({"name": f"vision_b{bs}", "model": "onnx/vision_model.onnx", "feeds": {"pixel_values": t(px)},
                          "expected": {"image_embeds": t(e), "last_hidden_state": t(h)}})
        px = torch.from_numpy(data.to_pixels(imgs[:4]))
        _, enc = m.image_embed(px)
        caps = [r["caption"] for r in recs[:4]]
        for cs in ([caps[0]], caps):
            ids, mask = tok.batch(cs)
            ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
            e, h = m.text_embed(ids_t, mask_t)
            cases.append({"name": f"text_b{len(cs)}_L{ids.shape[1]}", "model": "onnx/text_model.onnx",
                          "feeds": {"input_ids": t(ids), "attention_mask": t(mask)},
                          "expected": {"text_embeds": t(e), "last_hidden_state": t(h)}})
            il = m.itm_logits(ids_t, mask_t, enc[: len(cs)])
            cases.append({"name": f"itm_b{len(cs)}_L{ids.shape[1]}", "model": "onnx/itm_model.onnx",
                          "feeds": {"input_ids": t(ids), "attention_mask": t(mask), "encoder_hidden_states": t(enc[: len(cs)])},
                          "expected": {"itm_logits": t(il)}})
        # full decoder on a teacher-forced prefix, and one past step on top of it
        NL = ck["cfg"]["d_layers"]
        dids = torch.tensor([[tok.DEC] + tok.encode(caps[1])[1:6], [tok.DEC] + tok.encode(caps[2])[1:6]])
        lg, pres = m.decoder(dids, enc[:2])
        exp = {"logits": t(lg)}
        for i, (k, v) in enumerate(pres):
            exp[f"present.{i}.key"], exp[f"present.{i}.value"] = t(k), t(v)
        cases.append({"name": "decoder_L6", "model": "onnx/decoder_model.onnx",
                      "feeds": {"input_ids": t(dids), "encoder_hidden_states": t(enc[:2])}, "expected": exp})
        nxt = torch.tensor([[9], [10]])
        lg2, pres2 = m.decoder(nxt, enc[:2], past=pres)
        feeds = {"input_ids": t(nxt), "encoder_hidden_states": t(enc[:2])}
        exp = {"logits": t(lg2)}
        for i, (k, v) in enumerate(pres):
            feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = t(k), t(v)
        for i, (k, v) in enumerate(pres2):
            exp[f"present.{i}.key"], exp[f"present.{i}.value"] = t(k), t(v)
        cases.append({"name": "decoder_with_past_P6", "model": "onnx/decoder_with_past_model.onnx", "feeds": feeds, "expected": exp})
        # full-recompute logits at the last position == past-step logits (torch vs torch, sanity)
        lg_full, _ = m.decoder(torch.cat([dids, nxt], 1), enc[:2])
        torch_past_vs_full = float((lg_full[:, -1] - lg2[:, 0]).abs().max())
        # greedy decoding over 8 eval images
        px = torch.from_numpy(data.to_pixels(imgs[:8]))
        _, enc8 = m.image_embed(px)
        toks = decode.greedy(m, enc8)
        cases.append({"name": "greedy_8_images", "kind": "greedy", "model": "onnx/decoder_model.onnx",
                      "model_with_past": "onnx/decoder_with_past_model.onnx", "encoder_hidden_states": t(enc8),
                      "bos": tok.DEC, "eos": tok.SEP, "max_new": decode.MAX_NEW, "layers": NL, "expected_tokens": toks})
    rep = run_cases(cases, folder)
    rep["torch_past_vs_full_recompute"] = torch_past_vs_full
    rep["greedy_8_images"]["captions"] = [decode.text(x) for x in toks]
    print(json.dumps(rep, indent=1))
    return rep


if __name__ == "__main__":
    main()
