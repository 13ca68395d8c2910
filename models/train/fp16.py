#!/usr/bin/env python3
"""Writes the fp16 variant of every graph of a model folder: onnx/<name>.onnx -> onnx/<name>_fp16.onnx.

Weights (float32 initializers with at least 16 elements) are stored as float16 and widened back by a Cast node
at the top of the graph; activations, inputs, outputs and small constants (scales, epsilons, shape data) stay
float32. This is the weight-only layout transformers.js loads with `dtype: 'fp16'`: half the download, and the
same graph interface, so the runtime needs nothing but the file name.

  /usr/bin/python3 models/train/fp16.py models/clip-tiny models/blip-tiny
"""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_ELEMENTS = 16


def convert(src: str, dst: str) -> tuple[int, int]:
    m = onnx.load(src)
    g = m.graph
    keep, halves, casts = [], [], []
    for init in g.initializer:
        n = int(np.prod(init.dims)) if init.dims else 1
        if init.data_type != TensorProto.FLOAT or n < MIN_ELEMENTS:
            keep.append(init)
            continue
        w = numpy_helper.to_array(init)
        if np.abs(w).max() > 65504:
            raise RuntimeError(f"{src}: {init.name} does not fit float16")
        half = numpy_helper.from_array(w.astype(np.float16), init.name + "_fp16")
        halves.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}_widen"))
    del g.initializer[:]
    g.initializer.extend(keep + halves)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return len(halves), len(keep)


def main():
    for folder in sys.argv[1:]:
        for src in sorted(glob.glob(os.path.join(folder, "onnx", "*.onnx"))):
            if src.endswith("_fp16.onnx"):
                continue
            dst = src[: -len(".onnx")] + "_fp16.onnx"
            halves, kept = convert(src, dst)
            print(f"{dst}: {halves} weights -> float16, {kept} kept float32, "
                  f"{os.path.getsize(src):,} -> {os.path.getsize(dst):,} bytes")


if __name__ == "__main__":
    main()
