#!/usr/bin/env python3
"""Rebuild a train_llava.py checkpoint (and the frozen vision tower's) from an exported llava-tiny / blip2-tiny
folder, so that training can continue from a shipped model whose checkpoint is gone.

  python3 models/train/ckpt_from_onnx.py models/llava-tiny --out models/train/runs/llava-s2/model.pt \
      --vit-out models/train/runs/vit2/model.pt
  python3 models/train/ckpt_from_onnx.py models/blip2-tiny --connector qformer --out models/train/runs/blip2/model.pt

A twin with random weights goes through the same exporter; the initializers of both exports are walked in the
same order (graph by graph, If branches included), so each parameter is found in the twin's export (as is,
transposed or reshaped) and read at the same place in the shipped one. verify_llava.py then checks the result
against the shipped graphs token for token.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

import train_llava  # noqa: E402
from train_vit2 import VIT_CFG  # noqa: E402

GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")


def ordered_tensors(path: str) -> list[np.ndarray]:
    """Initializers and Constant values in a fixed walk order (subgraphs after their node's graph)."""
    out = []

    def walk(g):
        out.extend(numpy_helper.to_array(t) for t in g.initializer)
        for n in g.node:
            for a in n.attribute:
                if n.op_type == "Constant" and a.name == "value":
                    out.append(numpy_helper.to_array(a.t))
                if a.g is not None and a.g.node:
                    walk(a.g)

    walk(onnx.load(path).graph)
    return out


def locate(value: np.ndarray, tensors: dict[str, list[np.ndarray]]):
    for graph, ts in tensors.items():
        for i, t in enumerate(ts):
            if t.shape == value.shape and np.array_equal(t, value):
                return graph, i, "same"
            if value.ndim == 2 and t.shape == value.T.shape and np.array_equal(t, value.T):
                return graph, i, "transposed"
            if t.size == value.size > 1 and np.array_equal(t.reshape(-1), value.reshape(-1)):
                return graph, i, "reshaped"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--connector", default="projector", choices=["projector", "qformer"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--vit-out", default="", help="also write the vision tower as a train_vit2.py checkpoint")
    a = ap.parse_args()
    torch.manual_seed(0)
    model, cfg = train_llava.build(a.connector, VIT_CFG)
    with torch.no_grad():  # distinct random values, so no two parameters can be confused
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    with tempfile.TemporaryDirectory() as tmp:
        twin_ck = os.path.join(tmp, "twin.pt")
        common.save(model, cfg, twin_ck, {"stage": 2, "connector": a.connector})
        subprocess.run([sys.executable, os.path.join(common.HERE, "export_llava.py"), "--ckpt", twin_ck,
                        "--out", os.path.join(tmp, "twin")], check=True, stdout=subprocess.DEVNULL)
        twin = {g: ordered_tensors(os.path.join(tmp, "twin", "onnx", g + ".onnx")) for g in GRAPHS}
    shipped = {g: ordered_tensors(os.path.join(a.folder, "onnx", g + ".onnx")) for g in GRAPHS}
    state = {}
    for name, v in model.state_dict().items():
        hit = locate(v.numpy(), twin)
        if hit is None:
            sys.exit(f"{name}: not found in the twin's export")
        graph, i, how = hit
        s = shipped[graph][i]
        if s.size != v.numel():
            sys.exit(f"{name}: the shipped tensor {i} of {graph} has shape {s.shape}, not {tuple(v.shape)}")
        s = s.T if how == "transposed" else s.reshape(v.shape)
        state[name] = torch.from_numpy(np.array(s, dtype=np.float32))
    model.load_state_dict(state)
    meta = dict(json.load(open(os.path.join(a.folder, "config.json")))["webvl"]["training"], rebuilt_from=a.folder)
    common.save(model, cfg, a.out, meta)
    if a.vit_out:
        os.makedirs(os.path.dirname(a.vit_out), exist_ok=True)
        torch.save({"state": {k: v for k, v in state.items() if k.startswith("vision.")}, "cfg": cfg["vit"],
                    "meta": {"rebuilt_from": a.folder}}, a.vit_out)
    print("rebuilt", a.out, len(state), "tensors from", a.folder)


if __name__ == "__main__":
    main()
