#!/usr/bin/env python3
"""A Hugging Face CLIP, SigLIP or BLIP checkpoint → exactly the model folder webvl loads.

  python3 scripts/export_hf.py CHECKPOINT_DIR OUT_DIR [--fp16] [--opset 14]

CHECKPOINT_DIR is a transformers folder (config.json, model.safetensors or pytorch_model.bin, preprocessor_config.json,
tokenizer.json + tokenizer_config.json). Needs torch and onnx; not transformers: the weights go into
scripts/hf_modules.py's modules, whose state-dict names equal transformers' classes (a checkpoint that does not fit
them fails to load, strict) and whose outputs equal transformers' (tests/corpus/hf). OUT_DIR gets:

  clip    onnx/model.onnx (input_ids, pixel_values, attention_mask → logits_per_image, logits_per_text, text_embeds,
          image_embeds), onnx/text_model.onnx (input_ids → text_embeds, last_hidden_state), onnx/vision_model.onnx
          (pixel_values → image_embeds, last_hidden_state): Optimum's names and opset 14, as transformers.js loads them.
  siglip  the same three graphs with SigLIP's outputs (towers: last_hidden_state, pooler_output).
  blip    webvl's BLIP layout (transformers.js has none): onnx/vision_model.onnx (pixel_values → last_hidden_state
          [, image_embeds]), and per head in the checkpoint — retrieval: onnx/text_model.onnx (input_ids,
          attention_mask → text_embeds, last_hidden_state), onnx/itm_model.onnx (+ encoder_hidden_states →
          itm_logits); captioning: onnx/decoder_model.onnx (input_ids, attention_mask, encoder_hidden_states → logits,
          present.N.key/value) and onnx/decoder_with_past_model.onnx (+ past_key_values.N.key/value).

config.json is copied with the trained `logit_scale` (and SigLIP's `logit_bias`) added, so webvl can score with the
separate towers; the processor and tokenizer files are copied as they are. --fp16 adds onnx/<graph>_fp16.onnx
(float16 weights, widened in the graph), named as transformers.js names dtypes. Quantized variants (q8, q4) are
onnxruntime's tools' job: onnxruntime.quantization.quantize_dynamic / MatMulNBitsQuantizer on these files.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_modules as hm  # noqa: E402

COPIED = ['preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
          'generation_config.json']
SAFETENSORS_DTYPES = {'F32': np.float32, 'F16': np.float16, 'BF16': None, 'I64': np.int64, 'F64': np.float64}


def read_safetensors(path):
    """The safetensors format (8-byte header size, JSON header, raw little-endian data), without the package."""
    with open(path, 'rb') as f:
        size = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == '__metadata__':
            continue
        start, end = meta['data_offsets']
        raw = data[start:end]
        if meta['dtype'] == 'BF16':
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=SAFETENSORS_DTYPES[meta['dtype']])
        out[name] = torch.from_numpy(arr.reshape(meta['shape']).astype(np.float32 if arr.dtype.kind == 'f' else arr.dtype))
    return out


def read_checkpoint(folder):
    st = os.path.join(folder, 'model.safetensors')
    if os.path.exists(st):
        return read_safetensors(st)
    return torch.load(os.path.join(folder, 'pytorch_model.bin'), map_location='cpu')


def fit_state(state, module):
    """The checkpoint's tensors under the module's names: a base-model prefix ('clip.', 'model.') dropped, and
    buffers older checkpoints saved (position_ids) left out. Names the module lacks then fail the strict load."""
    own = set(module.state_dict().keys())
    for prefix in ('', 'model.', 'clip.', 'siglip.', 'blip.'):
        candidate = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if own <= set(candidate):
            return {k: v for k, v in candidate.items() if k in own or not k.endswith('position_ids')}
    missing = sorted(own - set(state))[:5]
    raise SystemExit(f'the checkpoint lacks {missing}… for this model type')


def export(module, args, path, inputs, outputs, dynamic, opset):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=opset, do_constant_folding=True)


class Fn(torch.nn.Module):
    """A module whose forward is one function of the model (the graph's inputs → its outputs)."""

    def __init__(self, model, fn):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *a):
        return self.fn(self.model, *a)


SEQ = {0: 'batch_size', 1: 'sequence_length'}
BATCH = {0: 'batch_size'}
PIXELS = {0: 'batch_size', 1: 'num_channels', 2: 'height', 3: 'width'}


def dual_encoder(family, model, config, out, opset):
    """CLIP / SigLIP: the combined graph and both towers, as Optimum exports them."""
    v = config.get('vision_config', {})
    size = v.get('image_size', 224)
    text_len = min(8, config.get('text_config', {}).get('max_position_embeddings', 8))
    ids = torch.full((2, text_len), 1, dtype=torch.long)
    ids[:, -1] = config.get('text_config', {}).get('eos_token_id', 2) if family == 'clip' else 1
    pixels = torch.zeros(2, 3, size, size)
    mask = torch.ones_like(ids)
    combined_out = ['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds']
    combined_axes = {'logits_per_image': {0: 'image_batch_size', 1: 'text_batch_size'},
                     'logits_per_text': {0: 'text_batch_size', 1: 'image_batch_size'},
                     'text_embeds': {0: 'text_batch_size'}, 'image_embeds': {0: 'image_batch_size'}}
    text_in = {'input_ids': {0: 'text_batch_size', 1: 'sequence_length'}}
    if family == 'clip':
        export(Fn(model, lambda m, i, p, a: m(i, p, a)), (ids, pixels, mask), f'{out}/onnx/model.onnx',
               ['input_ids', 'pixel_values', 'attention_mask'], combined_out,
               {**text_in, 'pixel_values': {0: 'image_batch_size', 1: 'num_channels', 2: 'height', 3: 'width'},
                'attention_mask': text_in['input_ids'], **combined_axes}, opset)
        export(Fn(model, lambda m, i: m.text_embeds(i)), (ids,), f'{out}/onnx/text_model.onnx', ['input_ids'],
               ['text_embeds', 'last_hidden_state'], {'input_ids': SEQ, 'text_embeds': BATCH, 'last_hidden_state': SEQ},
               opset)
        export(Fn(model, lambda m, p: m.image_embeds(p)), (pixels,), f'{out}/onnx/vision_model.onnx', ['pixel_values'],
               ['image_embeds', 'last_hidden_state'], {'pixel_values': PIXELS, 'image_embeds': BATCH,
                                                       'last_hidden_state': BATCH}, opset)
        return {'logit_scale': float(model.logit_scale)}
    export(Fn(model, lambda m, i, p: m(i, p)), (ids, pixels), f'{out}/onnx/model.onnx', ['input_ids', 'pixel_values'],
           combined_out, {**text_in, 'pixel_values': {0: 'image_batch_size', 1: 'num_channels', 2: 'height', 3: 'width'},
                          **combined_axes}, opset)
    export(Fn(model, lambda m, i: m.text_model(i)), (ids,), f'{out}/onnx/text_model.onnx', ['input_ids'],
           ['last_hidden_state', 'pooler_output'], {'input_ids': SEQ, 'last_hidden_state': SEQ, 'pooler_output': BATCH},
           opset)
    export(Fn(model, lambda m, p: m.vision_model(p)), (pixels,), f'{out}/onnx/vision_model.onnx', ['pixel_values'],
           ['last_hidden_state', 'pooler_output'], {'pixel_values': PIXELS, 'last_hidden_state': BATCH,
                                                    'pooler_output': BATCH}, opset)
    return {'logit_scale': float(model.logit_scale[0]), 'logit_bias': float(model.logit_bias[0])}


def blip(state, config, out, opset):
    """webvl's BLIP layout from one checkpoint: the vision tower its heads share, then each head it has."""
    retrieval = any(k.startswith('text_encoder.') for k in state)
    captioning = any(k.startswith('text_decoder.') for k in state)
    v = config.get('vision_config', {})
    t = config.get('text_config', {})
    size = v.get('image_size', 384)
    pixels = torch.zeros(1, 3, size, size)
    ids = torch.tensor([[t.get('bos_token_id', 30522), 5, 6, 7]])
    mask = torch.ones_like(ids)
    tokens = torch.zeros(1, (size // v.get('patch_size', 16)) ** 2 + 1, v.get('hidden_size', 768))
    enc = {0: 'batch_size', 1: 'encoder_sequence_length'}
    heads = []
    if retrieval:
        model = hm.BlipForImageTextRetrieval(config).eval()
        own = {k: v for k, v in fit_state(state, model).items() if k in model.state_dict()}
        model.load_state_dict(own, strict=True)
        export(Fn(model, lambda m, p: m.vision(p)), (pixels,), f'{out}/onnx/vision_model.onnx', ['pixel_values'],
               ['last_hidden_state', 'image_embeds'], {'pixel_values': PIXELS, 'last_hidden_state': BATCH,
                                                       'image_embeds': BATCH}, opset)
        export(Fn(model, lambda m, i, a: m.text(i, a)), (ids, mask), f'{out}/onnx/text_model.onnx',
               ['input_ids', 'attention_mask'], ['text_embeds', 'last_hidden_state'],
               {'input_ids': SEQ, 'attention_mask': SEQ, 'text_embeds': BATCH, 'last_hidden_state': SEQ}, opset)
        export(Fn(model, lambda m, i, a, s: m.itm(i, a, s)), (ids, mask, tokens), f'{out}/onnx/itm_model.onnx',
               ['input_ids', 'attention_mask', 'encoder_hidden_states'], ['itm_logits'],
               {'input_ids': SEQ, 'attention_mask': SEQ, 'encoder_hidden_states': enc, 'itm_logits': BATCH}, opset)
        heads.append('BlipForImageTextRetrieval')
    if captioning:
        model = hm.BlipForConditionalGeneration(config).eval()
        own = {k: state[k] for k in model.state_dict() if k in state}
        own.setdefault('text_decoder.cls.predictions.decoder.bias', state.get('text_decoder.cls.predictions.bias'))
        if 'text_decoder.cls.predictions.decoder.weight' not in own:  # tied to the word embeddings
            own['text_decoder.cls.predictions.decoder.weight'] = state['text_decoder.bert.embeddings.word_embeddings.weight']
        model.load_state_dict(own, strict=True)
        if retrieval and not torch.equal(state['vision_model.embeddings.patch_embedding.weight'],
                                         model.vision_model.embeddings.patch_embedding.weight):
            raise SystemExit('the retrieval and captioning heads must share one vision tower')
        if not retrieval:
            export(Fn(model, lambda m, p: m.vision_model(p)), (pixels,), f'{out}/onnx/vision_model.onnx',
                   ['pixel_values'], ['last_hidden_state'], {'pixel_values': PIXELS, 'last_hidden_state': BATCH}, opset)
        layers = t.get('num_hidden_layers', 12)
        present = [f'present.{i}.{kv}' for i in range(layers) for kv in ('key', 'value')]
        past = [f'past_key_values.{i}.{kv}' for i in range(layers) for kv in ('key', 'value')]
        cache_axes = {n: {0: 'batch_size', 2: 'past_sequence_length'} for n in past}
        present_axes = {n: {0: 'batch_size', 2: 'past_sequence_length + sequence_length'} for n in present}

        def first(m, i, a, s):
            logits, presents = m.decode(i, a, s)
            return (logits, *[x for kv in presents for x in kv])

        def step(m, i, a, s, *cache):
            pairs = [(cache[2 * j], cache[2 * j + 1]) for j in range(layers)]
            logits, presents = m.decode(i, a, s, pairs)
            return (logits, *[x for kv in presents for x in kv])

        with torch.no_grad():
            _, warm = model.decode(ids, mask, tokens)
        export(Fn(model, first), (ids, mask, tokens), f'{out}/onnx/decoder_model.onnx',
               ['input_ids', 'attention_mask', 'encoder_hidden_states'], ['logits', *present],
               {'input_ids': SEQ, 'attention_mask': SEQ, 'encoder_hidden_states': enc, 'logits': SEQ, **present_axes},
               opset)
        one = ids[:, :1]
        export(Fn(model, step), (one, torch.ones(1, ids.shape[1] + 1, dtype=torch.long), tokens,
                                 *[x for kv in warm for x in kv]),
               f'{out}/onnx/decoder_with_past_model.onnx',
               ['input_ids', 'attention_mask', 'encoder_hidden_states', *past], ['logits', *present],
               {'input_ids': SEQ, 'attention_mask': {0: 'batch_size', 1: 'past_sequence_length + 1'},
                'encoder_hidden_states': enc, 'logits': SEQ, **cache_axes, **present_axes}, opset)
        heads.append('BlipForConditionalGeneration')
    if not heads:
        raise SystemExit('a BLIP checkpoint needs text_encoder.* (retrieval) or text_decoder.* (captioning) weights')
    return {'architectures': heads}


def fp16_variant(path):
    """onnx/<graph>_fp16.onnx: float16 weights (matrices), widened back by Cast nodes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(path)
    g = m.graph
    keep, halves, casts = [], [], []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or len(init.dims) < 2:
            keep.append(init)
            continue
        halves.append(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + '_fp16'))
        casts.append(helper.make_node('Cast', [init.name + '_fp16'], [init.name], to=TensorProto.FLOAT))
    del g.initializer[:]
    g.initializer.extend(keep + halves)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.save(m, path.replace('.onnx', '_fp16.onnx'))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('checkpoint')
    p.add_argument('out')
    p.add_argument('--fp16', action='store_true', help='also write onnx/<graph>_fp16.onnx')
    p.add_argument('--opset', type=int, default=14)
    a = p.parse_args(argv)
    with open(os.path.join(a.checkpoint, 'config.json')) as f:
        config = json.load(f)
    family = config.get('model_type')
    state = read_checkpoint(a.checkpoint)
    os.makedirs(a.out, exist_ok=True)
    if family in hm.FAMILIES:
        model = hm.FAMILIES[family](config).eval()
        model.load_state_dict(fit_state(state, model), strict=True)
        extra = dual_encoder(family, model, config, a.out, a.opset)
    elif family == 'blip':
        extra = blip(state, config, a.out, a.opset)
    else:
        raise SystemExit(f"model_type {family!r}: export_hf.py exports clip, siglip and blip")
    with open(os.path.join(a.out, 'config.json'), 'w') as f:
        json.dump({**config, **extra}, f, indent=2)
        f.write('\n')
    for name in COPIED:
        src = os.path.join(a.checkpoint, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(a.out, name))
    if a.fp16:
        for g in sorted(os.listdir(os.path.join(a.out, 'onnx'))):
            if g.endswith('.onnx') and not g.endswith('_fp16.onnx'):
                fp16_variant(os.path.join(a.out, 'onnx', g))
    print(f'{a.out}: {family} → {", ".join(sorted(os.listdir(os.path.join(a.out, "onnx"))))}')


if __name__ == '__main__':
    main()
