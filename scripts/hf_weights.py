"""Weights back out of a TorchScript ONNX export of a transformers model: the state dict it was exported from.

torch.onnx keeps parameters as initializers named after them ('m.text_model.embeddings.token_embedding.weight'),
except weights it transposed for MatMul ('onnx::MatMul_751', used by node '/m/text_model/.../q_proj/MatMul') and
equal tensors it merged (Identity nodes alias them). The node's scope names the module, so every parameter can be
named again. Used to load transformers' own exports (tests/corpus/hf) into scripts/hf_modules.py's modules.
"""
import numpy as np
import onnx
import torch
from onnx import numpy_helper


def state_dict_from_onnx(path, wrapper='m'):
    model = onnx.load(path)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == 'Identity' and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    prefix = f'{wrapper}.'
    state = {k[len(prefix):]: v for k, v in inits.items() if k.startswith(prefix)}

    def module_of(node):
        parts = [p for p in node.name.split('/')[:-1] if p]
        if parts and parts[0] == wrapper:
            parts = parts[1:]
        return '.'.join(parts)

    for n in g.node:
        weights = [i for i in n.input if i in inits and not i.startswith(prefix)]
        if not weights:
            continue
        scope = module_of(n)
        if n.op_type == 'MatMul' and n.input[1] in inits:
            state.setdefault(f'{scope}.weight', inits[n.input[1]].T)
        elif n.op_type == 'Gemm' and n.input[1] in inits:
            trans_b = next((a.i for a in n.attribute if a.name == 'transB'), 0)
            w = inits[n.input[1]]
            state.setdefault(f'{scope}.weight', w if trans_b else w.T)
        elif n.op_type == 'Exp' and n.input[0] in inits:
            state.setdefault(f'{scope}.logit_scale'.lstrip('.'), inits[n.input[0]])
        elif n.op_type == 'Add' and n.output[0] == 'logits_per_text' and n.input[1] in inits:
            state.setdefault(f'{scope}.logit_bias'.lstrip('.'), inits[n.input[1]])  # SigLIP's bias
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def load_into(module, state, tied=()):
    """Loads with strict=True (names and shapes must all match); `tied` names parameters a checkpoint may lack
    because transformers ties them ((missing, source) pairs)."""
    state = dict(state)
    for missing, source in tied:
        if missing not in state and source in state:
            state[missing] = state[source]
    module.load_state_dict(state, strict=True)
    return module
