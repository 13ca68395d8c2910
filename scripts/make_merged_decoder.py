#!/usr/bin/env python3
"""A merged decoder as Optimum writes decoder_model_merged.onnx: one graph whose If on `use_cache_branch` runs
the first step (no cache) or a cached step, both branches reading the same inputs and shared weights. Built
from a tiny captioning decoder (models/train/nets.py) exported both ways with torch, for the engine's If tests.

  /usr/bin/python3 scripts/make_merged_decoder.py      # writes tests/corpus/merged/decoder_model_merged.onnx
"""
import os
import sys
import tempfile

import onnx
import torch
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
import merge_decoder  # noqa: E402
import nets  # noqa: E402
import onnxutil  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "merged", "decoder_model_merged.onnx")
V, D, L, H, ENC = 64, 32, 2, 4, 24


class First(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d

    def forward(self, input_ids, encoder_hidden_states):
        logits, pres = self.d(input_ids, encoder_hidden_states)
        return (logits, *[t for kv in pres for t in kv])


class Cached(First):
    def forward(self, input_ids, encoder_hidden_states, *past):
        pk = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, pres = self.d(input_ids, encoder_hidden_states, past=pk)
        return (logits, *[t for kv in pres for t in kv])


def main():
    torch.manual_seed(5)
    dec = nets.Decoder(V, D, L, H, 2 * D, 32, ENC).eval()
    past_names = [f"past_key_values.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    ids = torch.randint(5, V, (2, 1))
    enc = torch.randn(2, 5, ENC)
    with tempfile.TemporaryDirectory() as tmp:
        seq = {0: "batch_size", 1: "sequence_length"}
        dyn = {"input_ids": seq, "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"}}
        first = os.path.join(tmp, "first.onnx")
        onnxutil.export(First(dec), (ids, enc), first, ["input_ids", "encoder_hidden_states"], ["logits", *present],
                        {**dyn, **{p: {0: "batch_size", 2: "total"} for p in present}})
        cached = os.path.join(tmp, "cached.onnx")
        past = [torch.randn(2, H, 3, D // H) for _ in past_names]
        onnxutil.export(Cached(dec), (ids, enc, *past), cached, ["input_ids", "encoder_hidden_states", *past_names],
                        ["logits", *present],
                        {**dyn, **{p: {0: "batch_size", 2: "past"} for p in past_names},
                         **{p: {0: "batch_size", 2: "total"} for p in present}})
        f = TensorProto.FLOAT
        inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
                  helper.make_tensor_value_info("encoder_hidden_states", f,
                                                ["batch_size", "encoder_sequence_length", ENC]),
                  *[helper.make_tensor_value_info(p, f, ["batch_size", H, "past", D // H]) for p in past_names]]
        outputs = [helper.make_tensor_value_info("logits", f, ["batch_size", "sequence_length", V]),
                   *[helper.make_tensor_value_info(p, f, ["batch_size", H, "total", D // H]) for p in present]]
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        model = merge_decoder.merge(first, cached, OUT, inputs, outputs)
    print(f"wrote {OUT}: {os.path.getsize(OUT):,} bytes, {len(model.graph.initializer)} shared initializers")


if __name__ == "__main__":
    main()
