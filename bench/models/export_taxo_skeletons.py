#!/usr/bin/env python3
"""The seeds' five designs at the sizes models/train/taxo.py trains them (shapes world v2, 64 px images), as
weightless skeletons for the benchmark (see export_skeletons.py: weights dropped, a fill rule left in each
tensor's doc_string, filled with seeded values at run time). Speed does not depend on the weights, so these rows
measure the architectures before any of them is trained:

  taxo-clip-{vision,text}           dual encoder (CLIP)
  taxo-blip-itm                     fused encoders (ALBEF/BLIP): the ITM encoder over image tokens
  taxo-vilt-{vision,fusion}         single stream (ViLT): patch embedding, then one transformer per pair
  taxo-vlmo-{vision,text,fusion}    modality experts (VLMo): image / text experts, fusion mode
  taxo-coca-{vision,decoder}        contrastive captioner (CoCa): encoder + attentional pooling, decoder prompt

  /usr/bin/python3 bench/models/export_taxo_skeletons.py       # writes bench/models/taxo-*.skeleton.onnx
"""
import os
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models", "train"))
import export_taxo  # noqa: E402
import taxo  # noqa: E402
from export_skeletons import skeletonize  # noqa: E402

GRAPHS = {
    "clip": {"vision_model": "vision", "text_model": "text"},
    "blip": {"itm_model": "itm"},
    "vilt": {"vision_model": "vision", "fusion_model": "fusion"},
    "vlmo": {"vision_model": "vision", "text_model": "text", "fusion_model": "fusion"},
    "coca": {"vision_model": "vision", "decoder_model": "decoder"},
}


def main():
    torch.manual_seed(0)
    for arch, graphs in GRAPHS.items():
        cfg = taxo.config(arch)
        model = taxo.build(cfg).eval()
        params = sum(p.numel() for p in model.parameters())
        with tempfile.TemporaryDirectory() as tmp:
            export_taxo.export_graphs(model, cfg, tmp)
            for graph, short in graphs.items():
                dst = os.path.join(HERE, f"taxo-{arch}-{short}.skeleton.onnx")
                dropped, values = skeletonize(os.path.join(tmp, f"{graph}.onnx"), dst)
                print(f"{dst}: {arch} ({params / 1e6:.2f} M parameters), {graph}: {values / 1e6:.2f} M values "
                      f"in {dropped} tensors, {os.path.getsize(dst):,} bytes")


if __name__ == "__main__":
    main()
