"""torch.onnx.export wrapper (opset 17, TorchScript exporter) + a check that graphs stay plain ONNX."""
import onnx
import torch

BANNED = {"If", "Loop", "Scan", "SequenceConstruct"}


def export(module, args, path, inputs, outputs, dynamic_axes, out_shapes=None):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes,
            opset_version=17, do_constant_folding=True,
        )
    m = onnx.load(path)
    # name the output dims plainly (the exporter invents names like 'LayerNormalization..._dim_1')
    for o in m.graph.output:
        shape = (out_shapes or {}).get(o.name)
        if shape is None:
            continue
        for d, v in zip(o.type.tensor_type.shape.dim, shape):
            if isinstance(v, int):
                d.ClearField("dim_param")
                d.dim_value = v
            else:
                d.ClearField("dim_value")
                d.dim_param = v
    onnx.save(m, path)
    onnx.checker.check_model(m)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
        if n.op_type in BANNED or n.domain not in ("", "ai.onnx"):
            raise RuntimeError(f"{path}: non-plain op {n.domain}:{n.op_type}")
    return ops
