#!/usr/bin/env python3
"""Base-size benchmark graphs as weightless skeletons: the graph exactly as torch.onnx.export writes it, with the
data of every weight dropped and a fill rule left in its doc_string. bench/base-models.ts fills them with seeded
random values at run time, so a 300 MB model travels as a few hundred KB and every machine gets the same bytes.

The modules are models/train/nets.py's (the layers of our real exports), at these sizes:
  vit-b16       CLIP ViT-B/16 vision tower: 224 px, 16 px patches, 12 × 768, MLP 3072, projection 512 (86 M)
  itm-base      BLIP ITM encoder, BERT-base size: 12 layers × 768 with cross-attention to 197 image tokens (~137 M)
  decoder-base  captioning decoder with KV cache: 12 layers × 1024, MLP 4096, cross-attention, vocab 30524,
                float16 weights (~259 M); exported as decoder_with_past (one token a step)
  llama-q4      LLaMA-style language model as decoder_model_merged.onnx (If on use_cache_branch; inputs_embeds, as
                transformers.js' LLaVA layout feeds it): 24 layers × 1024, 16 query / 4 key-value heads, SwiGLU 2816,
                vocab 32000, every matmul 4-bit (MatMulNBits, block 32, as transformers.js q4 files) (~300 M)
and each again at a tiny size (suffix -tiny) with the same graph structure, for quick runs on software adapters.

  /usr/bin/python3 bench/models/export_skeletons.py            # writes bench/models/*.skeleton.onnx
"""
import os
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models", "train"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import fp16  # noqa: E402
from llama_lm import LM, LmConfig, merged_decoder  # noqa: E402
import nets  # noqa: E402
import onnxutil  # noqa: E402

# Initializers at least this large lose their data; smaller ones (shape constants, scalars) keep it.
MIN_FILLED = 64

SIZES = {
    "base": dict(v_dim=768, v_layers=12, v_heads=12, v_mlp=3072, image=224, patch=16, proj=512,
                 t_dim=768, t_layers=12, t_heads=12, t_mlp=3072, vocab=30524, max_len=128,
                 d_dim=1024, d_layers=12, d_heads=16, d_mlp=4096),
    "tiny": dict(v_dim=64, v_layers=2, v_heads=4, v_mlp=128, image=32, patch=8, proj=32,
                 t_dim=64, t_layers=2, t_heads=4, t_mlp=128, vocab=512, max_len=64,
                 d_dim=64, d_layers=2, d_heads=4, d_mlp=128),
}


class ViT(nn.Module):
    """CLIP-style ViT: patchify conv, [CLS] + learned positions, pre-LN blocks, final LN, projection of [CLS]."""

    def __init__(self, c):
        super().__init__()
        n = (c["image"] // c["patch"]) ** 2
        self.patch = nn.Conv2d(3, c["v_dim"], c["patch"], c["patch"], bias=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, c["v_dim"]))
        self.pos = nn.Parameter(torch.randn(1, n + 1, c["v_dim"]) * 0.02)
        self.ln_pre = nn.LayerNorm(c["v_dim"])
        self.blocks = nn.ModuleList([nets.Block(c["v_dim"], c["v_heads"], c["v_mlp"]) for _ in range(c["v_layers"])])
        self.ln = nn.LayerNorm(c["v_dim"])
        self.proj = nn.Linear(c["v_dim"], c["proj"], bias=False)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.ln_pre(x)
        for b in self.blocks:
            x = b(x)
        h = self.ln(x)
        return h, self.proj(h[:, 0])


class ITM(nn.Module):
    """BLIP's ITM head over a BERT-base-size fusion encoder (self + cross-attention in every layer)."""

    def __init__(self, c):
        super().__init__()
        self.text = nets.TextEncoder(c["vocab"], c["t_dim"], 0, c["t_heads"], c["t_mlp"], c["max_len"],
                                     fusion_layers=c["t_layers"], cross_dim=c["v_dim"])
        self.itm = nn.Linear(c["t_dim"], 2)

    def forward(self, input_ids, attention_mask, encoder_hidden_states):
        x = self.text(input_ids, attention_mask)
        return self.itm(self.text.fuse(x, attention_mask, encoder_hidden_states)[:, 0])


class DecPast(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.d = nets.Decoder(c["vocab"], c["d_dim"], c["d_layers"], c["d_heads"], c["d_mlp"], c["max_len"], c["v_dim"])

    def forward(self, input_ids, encoder_hidden_states, *past):
        pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, pres = self.d(input_ids, encoder_hidden_states, past=pk)
        return (logits, *[t for kv in pres for t in kv])


LLAMA = {
    "base": LmConfig(vocab=32000, dim=1024, layers=24, heads=16, kv_heads=4, ffn=2816),
    "tiny": LmConfig(vocab=512, dim=64, layers=2, heads=4, kv_heads=2, ffn=192),
}
Q4_BLOCK = 32


def matmul_nbits(model: onnx.ModelProto) -> int:
    """Every MatMul by a constant [K, N] weight, in the graph and its If branches, becomes a 4-bit MatMulNBits
    (symmetric, block 32: uint8 codes [N, K/32, 16] and float scales [N · K/32], as onnxruntime's quantizer
    writes them). The codes and scales are placeholders: the skeleton drops them and fills them at run time."""
    inits = {t.name: t for t in model.graph.initializer}
    replaced, dropped = 0, set()

    def rewrite(graph):
        nonlocal replaced
        for i, node in enumerate(graph.node):
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    rewrite(a.g)
            w = inits.get(node.input[1]) if node.op_type == "MatMul" else None
            if w is None or len(w.dims) != 2 or w.dims[0] % Q4_BLOCK:
                continue
            k, n = w.dims
            blocks = k // Q4_BLOCK
            codes = onnx.helper.make_tensor(f"{w.name}_q4", onnx.TensorProto.UINT8, [n, blocks, Q4_BLOCK // 2],
                                            np.zeros(n * blocks * Q4_BLOCK // 2, np.uint8).tobytes(), raw=True)
            scales = onnx.numpy_helper.from_array(np.zeros(n * blocks, np.float32), f"{w.name}_scales")
            if codes.name not in inits:
                model.graph.initializer.extend([codes, scales])
                inits[codes.name] = codes
            dropped.add(w.name)
            q = onnx.helper.make_node("MatMulNBits", [node.input[0], codes.name, scales.name], list(node.output),
                                      name=f"{node.name}_q4", domain="com.microsoft", K=k, N=n, bits=4,
                                      block_size=Q4_BLOCK)
            graph.node.remove(node)
            graph.node.insert(i, q)
            replaced += 1

    rewrite(model.graph)
    used = {i for n in model.graph.node for i in n.input}
    keep = [t for t in model.graph.initializer if t.name not in dropped]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return replaced


def fill_rule(name: str, dims) -> str:
    """LayerNorm scales start at one and biases at zero, as torch initializes them; weights are N(0, 0.02)."""
    lower = name.lower()
    if lower.endswith("_q4"):
        return "bytes"
    if lower.endswith("_scales"):
        # (code − 8) has a standard deviation of ~4.6 over uniform codes: weights come out at ~0.02.
        return "normal:0.0043"
    if len(dims) == 1 and ("ln" in lower or "norm" in lower or lower.endswith("n1.weight") or lower.endswith("n2.weight")) and lower.endswith("weight"):
        return "ones"
    if len(dims) == 1 and lower.endswith("bias"):
        return "zeros"
    return "normal:0.02"


def skeletonize(src: str, dst: str) -> tuple[int, int]:
    m = onnx.load(src)
    dropped, total = 0, 0
    for init in m.graph.initializer:
        n = int(np.prod(init.dims)) if init.dims else 1
        if n < MIN_FILLED:
            continue
        total += n
        # The fp16 pass renames weights to <name>_fp16; the rule follows the original name.
        init.doc_string = "webvl-fill:" + fill_rule(init.name.removesuffix("_fp16"), init.dims)
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.ClearField("int32_data")
        init.ClearField("int64_data")
        dropped += 1
    onnx.save(m, dst)
    return dropped, total


def export(name: str, module: nn.Module, args, inputs, outputs, dyn, half: bool, size: str):
    suffix = "" if size == "base" else "-tiny"
    dst = os.path.join(HERE, f"{name}{suffix}.skeleton.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        onnxutil.export(module, args, path, inputs, outputs, dyn)
        if half:
            fp16.convert(path, path)
        dropped, params = skeletonize(path, dst)
    print(f"{dst}: {params / 1e6:.1f} M weights in {dropped} tensors, {os.path.getsize(dst):,} bytes")


def main():
    torch.manual_seed(0)
    for size, c in SIZES.items():
        n = (c["image"] // c["patch"]) ** 2 + 1
        vit = ViT(c).eval()
        export("vit-b16", vit, (torch.randn(1, 3, c["image"], c["image"]),), ["pixel_values"],
               ["last_hidden_state", "image_embeds"],
               {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
               False, size)
        seq = {0: "batch_size", 1: "sequence_length"}
        enc_axes = {0: "batch_size", 1: "encoder_sequence_length"}
        ids = torch.randint(5, c["vocab"], (2, 12))
        export("itm-base", ITM(c).eval(), (ids, torch.ones_like(ids), torch.randn(2, n, c["v_dim"])),
               ["input_ids", "attention_mask", "encoder_hidden_states"], ["itm_logits"],
               {"input_ids": seq, "attention_mask": seq, "encoder_hidden_states": enc_axes, "itm_logits": {0: "batch_size"}},
               False, size)
        hd = c["d_dim"] // c["d_heads"]
        layers = c["d_layers"]
        pasts = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        pres = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
        dyn = {"input_ids": {0: "batch_size"}, "encoder_hidden_states": enc_axes, "logits": {0: "batch_size"}}
        for p in pasts:
            dyn[p] = {0: "batch_size", 2: "past_sequence_length"}
        for p in pres:
            dyn[p] = {0: "batch_size", 2: "total_sequence_length"}
        past = [torch.randn(1, c["d_heads"], 4, hd) for _ in pasts]
        export("decoder-base", DecPast(c).eval(), (ids[:1, :1], torch.randn(1, n, c["v_dim"]), *past),
               ["input_ids", "encoder_hidden_states", *pasts], ["logits", *pres], dyn, True, size)


def export_llama(size: str):
    """The q4 merged decoder: torch's two steps merged under an If, then every matmul 4-bit."""
    torch.manual_seed(0)
    lm = LM(LLAMA[size]).eval()
    model = merged_decoder(lm)
    replaced = matmul_nbits(model)
    suffix = "" if size == "base" else "-tiny"
    dst = os.path.join(HERE, f"llama-q4{suffix}.skeleton.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        onnx.save(model, path)
        dropped, params = skeletonize(path, dst)
    print(f"{dst}: {replaced} MatMulNBits, {params / 1e6:.1f} M stored values in {dropped} tensors, "
          f"{os.path.getsize(dst):,} bytes")


if __name__ == "__main__":
    if sys.argv[1:] == ["llama"]:
        for size in SIZES:
            export_llama(size)
        sys.exit(0)
    main()
