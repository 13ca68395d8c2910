#!/usr/bin/env python3
"""Check models/clip-tiny/onnx/*.onnx against torch (onnxruntime-web in Node runs the graphs)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
import nets  # noqa: E402
import tok  # noqa: E402


def t(x):
    x = x.detach().numpy() if isinstance(x, torch.Tensor) else x
    return {"dtype": "int64" if x.dtype.kind == "i" else "float32", "dims": list(x.shape), "data": x.reshape(-1).tolist()}


def run_cases(cases, folder):
    p = os.path.join(folder, ".verify.json")
    with open(p, "w") as f:
        json.dump({"cases": cases}, f)
    try:
        out = subprocess.run(["node", os.path.join(common.HERE, "verify_onnx.mjs"), p], capture_output=True, text=True, check=True)
    finally:
        os.remove(p)
    return json.loads(out.stdout)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(common.HERE, "..", "clip-tiny")
    ckpt = sys.argv[2] if len(sys.argv) > 2 else os.path.join(common.RUNS, "clip", "model.pt")
    ck = torch.load(ckpt, map_location="cpu")
    m = nets.CLIPTiny(ck["cfg"])
    m.load_state_dict(ck["state"])
    m.eval()
    imgs, recs = data.load_folder(os.path.join(common.HERE, "..", "data", "eval"))
    cases = []
    with torch.no_grad():
        for bs in (1, 3):
            px = torch.from_numpy(data.to_pixels(imgs[:bs]))
            e, h = m.image_embed(px)
            cases.append({"name": f"vision_b{bs}", "model": "onnx/vision_model.onnx", "feeds": {"pixel_values": t(px)},
                          "expected": {"image_embeds": t(e), "last_hidden_state": t(h)}})
        for caps in ([recs[0]["caption"]], [r["caption"] for r in recs[:4]]):
            ids, mask = tok.batch(caps)
            e, h = m.text_embed(torch.from_numpy(ids), torch.from_numpy(mask))
            cases.append({"name": f"text_b{len(caps)}_L{ids.shape[1]}", "model": "onnx/text_model.onnx",
                          "feeds": {"input_ids": t(ids), "attention_mask": t(mask)},
                          "expected": {"text_embeds": t(e), "last_hidden_state": t(h)}})
    rep = run_cases(cases, folder)
    print(json.dumps(rep, indent=1))
    return rep


if __name__ == "__main__":
    main()
