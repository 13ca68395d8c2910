#!/usr/bin/env python3
"""The Hugging Face test corpus made here (Debian torch 1.13, no transformers): run from the repository root.

  /usr/bin/python3 scripts/make_hf_corpus.py             # tests/corpus/hf/{clip,siglip,blip}-export, references
  /usr/bin/python3 scripts/make_hf_corpus.py --base DIR  # + a ViT-B/16 CLIP (~150M parameters) in DIR (not in CI)

1. transformers' own exports (siglip-hf, blip-hf, made on a GPU machine by scripts/hf_export.py) are read back
   into scripts/hf_modules.py's modules (scripts/hf_weights.py, strict state-dict load) and must reproduce the
   reference.json transformers wrote (≤ 1e-5): the modules are the real architectures.
2. siglip-hf gets the SentencePiece-style tokenizer its GPU run could not build (a Unigram / Metaspace
   tokenizer.json over its 120-id vocabulary).
3. Tiny random CLIP, SigLIP and BLIP checkpoints (transformers' state-dict names) go through scripts/export_hf.py
   into clip-export, siglip-export and blip-export: what a user's checkpoint would become.
4. images/: two eval scenes at the corpus models' 32×32 input size.
5. Every folder gets reference-api.json: what the runtime's public API must return for real images and texts
   (Pillow preprocessing and the folder's tokenizer per scripts/hf_reference.py, then PyTorch), and each export a
   reference.json (seeded graph inputs and PyTorch outputs) in the GPU run's format.
"""
import argparse
import copy
import json
import os
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_hf  # noqa: E402
import hf_modules as hm  # noqa: E402
import hf_reference as ref  # noqa: E402
from hf_weights import load_into, state_dict_from_onnx  # noqa: E402

CORPUS = 'tests/corpus/hf'
IMAGES = ['models/data/eval/00000.png', 'models/data/eval/00001.png', 'models/data/eval/00002.png']
LABELS = ['red circle', 'blue square', 'green triangle', 'yellow star']
TEMPLATE = 'a photo of a {}'
TEXTS = ['a photo of a red circle', 'a small blue square', 'the large green triangle on the left']
PROMPT = 'a photo of'
CAPTION_TOKENS = 6
WORDS = ("a photo of red blue green yellow circle square triangle star small large left right above below the "
         "is there how many what colour shape object image two three one of and with on in").split()
torch.set_num_threads(2)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def save_json(path, value, indent=None):
    with open(path, 'w') as f:
        json.dump(value, f, indent=indent)
        f.write('\n')


def tensor(x, dtype):
    return torch.tensor(x['data'], dtype=dtype).reshape(x['dims'])


def as_ref(t):
    t = t.detach()
    data = [int(v) for v in t.flatten()] if not t.is_floating_point() else [round(float(v), 8) for v in t.flatten()]
    return {'dims': list(t.shape), 'data': data}


def max_diff(got, want):
    return float((got - want).abs().max())


# --- SigLIP tokenizer -----------------------------------------------------------------------------------------------

def siglip_tokenizer(folder, vocab_size=120, max_length=16):
    """A SentencePiece Unigram tokenizer.json as transformers' converter writes SigLIP's: punctuation dropped,
    lower-cased, Metaspace (▁) pre-tokenizer and decoder, </s> appended, padded with </s>."""
    pieces = [['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0], ['▁', -4.0]]
    pieces += [[f'▁{w}', -5.0] for w in dict.fromkeys(WORDS)]
    pieces += [[c, -8.0] for c in 'abcdefghijklmnopqrstuvwxyz']
    extra = ['▁cat', '▁dog', '▁car', '▁tree', '▁house', '▁sky', '▁sun', '▁bird', 's', 'ed', 'ing', 'er']
    pieces += [[p, -6.0] for p in extra]
    pieces += [[f'▁{a}{b}', -9.0] for a in 'xyz' for b in 'abcdefghijklmnopqrstuvwxyz'][: vocab_size - len(pieces)]
    assert len(pieces) == vocab_size, len(pieces)
    special = {'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
    tokenizer = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{'id': i, 'content': p, **special} for i, p in enumerate(['<pad>', '</s>', '<unk>'])],
        'normalizer': {'type': 'Sequence', 'normalizers': [
            {'type': 'Replace', 'pattern': {'Regex': r'[!"#$%&\'()*+,\-./:;<=>?@\[\\\]^_`{|}~]'}, 'content': ''},
            {'type': 'Lowercase'},
            {'type': 'Replace', 'pattern': {'Regex': r'\s+'}, 'content': ' '},
            {'type': 'Strip', 'strip_left': True, 'strip_right': True},
        ]},
        'pre_tokenizer': {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'always', 'split': True},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [{'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '</s>', 'type_id': 0}}],
            'pair': [{'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '</s>', 'type_id': 0}},
                     {'Sequence': {'id': 'B', 'type_id': 0}}, {'SpecialToken': {'id': '</s>', 'type_id': 0}}],
            'special_tokens': {'</s>': {'id': '</s>', 'ids': [1], 'tokens': ['</s>']}},
        },
        'decoder': {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'always', 'split': True},
        'model': {'type': 'Unigram', 'unk_id': 2, 'vocab': pieces, 'byte_fallback': False},
    }
    save_json(f'{folder}/tokenizer.json', tokenizer, indent=1)
    save_json(f'{folder}/tokenizer_config.json', {
        'tokenizer_class': 'SiglipTokenizer', 'model_max_length': max_length, 'do_lower_case': True,
        'eos_token': '</s>', 'pad_token': '</s>', 'unk_token': '<unk>', 'additional_special_tokens': []}, indent=2)
    save_json(f'{folder}/special_tokens_map.json', {'eos_token': '</s>', 'pad_token': '</s>', 'unk_token': '<unk>'},
              indent=2)
    return tokenizer


# --- tiny checkpoints ----------------------------------------------------------------------------------------------

def shrink(config, hidden=16, intermediate=32, layers=1, heads=2):
    c = copy.deepcopy(config)
    for side in ('text_config', 'vision_config'):
        c[side].update(hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
                       num_attention_heads=heads)
    if 'projection_size' in c['text_config']:
        c['text_config']['projection_size'] = hidden  # SigLIP's text head
    return c


def randomize(module, seed):
    """Seeded random weights with enough spread that every input changes every output (transformers' own
    initialisers zero the biases and make BLIP's vision tower nearly constant)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if 'norm' in name.lower() and name.endswith('weight'):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith('bias'):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))
    return module


def write_checkpoint(folder, config, state, copy_from):
    os.makedirs(folder, exist_ok=True)
    save_json(f'{folder}/config.json', config, indent=2)
    torch.save({k: v.clone() for k, v in state.items()}, f'{folder}/pytorch_model.bin')
    for name in ('preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'):
        if os.path.exists(f'{copy_from}/{name}'):
            with open(f'{copy_from}/{name}', 'rb') as src, open(f'{folder}/{name}', 'wb') as dst:
                dst.write(src.read())


# --- references ----------------------------------------------------------------------------------------------------

def pixels_of(folder):
    cfg = load_json(f'{folder}/preprocessor_config.json')
    return torch.stack([torch.from_numpy(ref.preprocess(p, cfg)) for p in IMAGES])


def unit(t):
    return t / t.norm(dim=-1, keepdim=True)


def dual_reference(family, model, folder):
    tok = load_json(f'{folder}/tokenizer.json')
    prompts = [TEMPLATE.format(label) for label in LABELS]
    if family == 'clip':
        pad_id = tok['model']['vocab']['<|endoftext|>']
        ids, mask = ref.pad([ref.clip_ids(tok, t) for t in prompts], pad_id)
        text_ids, text_mask = ref.pad([ref.clip_ids(tok, t) for t in TEXTS], pad_id)
        run = lambda i, p, m: model(torch.tensor(i), p, torch.tensor(m))  # noqa: E731
    else:
        length = load_json(f'{folder}/tokenizer_config.json')['model_max_length']
        ids = [ref.siglip_ids(tok, t, length) for t in prompts]
        text_ids = [ref.siglip_ids(tok, t, length) for t in TEXTS]
        mask = text_mask = None
        run = lambda i, p, m: model(torch.tensor(i), p)  # noqa: E731
    pixels = pixels_of(folder)
    with torch.no_grad():
        logits, _, _, images = run(ids, pixels, mask)
        _, _, texts, _ = run(text_ids, pixels, text_mask)
    score = torch.sigmoid if family == 'siglip' else (lambda x: torch.softmax(x, dim=-1))
    return {
        'images': IMAGES, 'labels': LABELS, 'template': TEMPLATE, 'texts': TEXTS,
        'promptIds': ids,
        'classify': [[round(float(v), 8) for v in score(row)] for row in logits],
        'logits': [[round(float(v), 8) for v in row] for row in logits],
        'imageEmbeds': [[round(float(v), 8) for v in row] for row in unit(images)],
        'textEmbeds': [[round(float(v), 8) for v in row] for row in unit(texts)],
    }


def greedy(cap, tokens, start, eos, steps):
    ids, lp = list(start), 0.0
    new = []
    with torch.no_grad():
        for _ in range(steps):
            t = torch.tensor([ids])
            logits = cap.decode(t, torch.ones_like(t), tokens)[0][0, -1]
            logp = torch.log_softmax(logits, dim=-1)
            tok = int(logits.argmax())
            lp += float(logp[tok])
            if tok == eos:
                break
            ids.append(tok)
            new.append(tok)
    return new, lp


def blip_reference(itm, cap, folder, config):
    tok = load_json(f'{folder}/tokenizer.json')
    pad_id = tok['model']['vocab']['[PAD]']
    rows = [ref.bert_ids(tok, t) for t in TEXTS]
    ids, mask = (torch.tensor(x) for x in ref.pad(rows, pad_id))
    pixels = pixels_of(folder)
    t = config['text_config']
    out = {'images': IMAGES, 'texts': TEXTS, 'textIds': rows, 'match': [], 'captions': []}
    with torch.no_grad():
        tokens, image_embeds = itm.vision(pixels)
        text_embeds, _ = itm.text(ids, mask)
        for i in range(len(IMAGES)):
            cos = unit(text_embeds) @ unit(image_embeds[i])
            n = len(TEXTS)
            probs = torch.softmax(itm.itm(ids, mask, tokens[i:i + 1].expand(n, -1, -1)), dim=-1)[:, 1]
            out['match'].append({'itc': [round(float(v), 8) for v in cos], 'itm': [round(float(v), 8) for v in probs]})
            for prompt in (None, PROMPT):
                start = [t['bos_token_id']] + (ref.bert_ids(tok, prompt)[1:-1] if prompt else [])
                new, lp = greedy(cap, cap.vision_model(pixels[i:i + 1]), start, t['sep_token_id'], CAPTION_TOKENS)
                out['captions'].append({'image': i, 'prompt': prompt, 'maxTokens': CAPTION_TOKENS, 'tokenIds': new,
                                        'logProb': round(lp, 6)})
    return out


def seeded_inputs(vocab, seq, image, batch=2):
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[1, -2:] = 0
    # Four decimals, so the stored inputs are exactly those the outputs were computed from.
    pixels = torch.round((torch.rand(batch, 3, image, image, generator=g) * 2 - 1) * 1e4) / 1e4
    return ids, mask, pixels


def save_graph_reference(folder, inputs, outputs):
    save_json(f'{folder}/reference.json', {'inputs': {k: as_ref(v) for k, v in inputs.items()},
                                           'outputs': {k: as_ref(v) for k, v in outputs.items()}})


# --- families ------------------------------------------------------------------------------------------------------

def check_against_transformers():
    """transformers' exports → our modules; their outputs must be transformers' (reference.json)."""
    siglip_cfg = load_json(f'{CORPUS}/siglip-hf/config.json')
    siglip = load_into(hm.SiglipModel(siglip_cfg).eval(), state_dict_from_onnx(f'{CORPUS}/siglip-hf/onnx/model.onnx'))
    r = load_json(f'{CORPUS}/siglip-hf/reference.json')
    with torch.no_grad():
        lpi, _, te, ie = siglip(tensor(r['inputs']['input_ids'], torch.long),
                                tensor(r['inputs']['pixel_values'], torch.float32))
    diffs = {'siglip logits_per_image': max_diff(lpi, tensor(r['outputs']['logits_per_image'], torch.float32)),
             'siglip text_embeds': max_diff(te, tensor(r['outputs']['text_embeds'], torch.float32)),
             'siglip image_embeds': max_diff(ie, tensor(r['outputs']['image_embeds'], torch.float32))}
    blip_cfg = load_json(f'{CORPUS}/blip-hf/config.json')
    state = {}
    for g in ('vision_model', 'text_model', 'itm_model'):
        state.update(state_dict_from_onnx(f'{CORPUS}/blip-hf/onnx/{g}.onnx'))
    itm = load_into(hm.BlipForImageTextRetrieval(blip_cfg).eval(), state)
    dec = state_dict_from_onnx(f'{CORPUS}/blip-hf/onnx/decoder_model.onnx')
    dec.update({k: v for k, v in state.items() if k.startswith('vision_model.')})
    cap = load_into(hm.BlipForConditionalGeneration(blip_cfg).eval(), dec,
                    tied=[('text_decoder.cls.predictions.decoder.bias', 'text_decoder.cls.predictions.bias')])
    r = load_json(f'{CORPUS}/blip-hf/reference.json')
    i = {k: tensor(v, torch.float32 if k == 'pixel_values' else torch.long) for k, v in r['inputs'].items()}
    with torch.no_grad():
        tokens, image_embeds = itm.vision(i['pixel_values'])
        text_embeds, _ = itm.text(i['input_ids'], i['attention_mask'])
        itm_logits = itm.itm(i['input_ids'], i['attention_mask'], tokens)
        logits = cap.decode(i['decoder_input_ids'], i['attention_mask'], cap.vision_model(i['pixel_values']))[0]
    for name, got in [('image_embeds', image_embeds), ('text_embeds', text_embeds), ('itm_logits', itm_logits),
                      ('logits', logits)]:
        diffs[f'blip {name}'] = max_diff(got, tensor(r['outputs'][name], torch.float32))
    for k, v in diffs.items():
        print(f'  our module vs transformers 5.17, {k}: max |Δ| {v:.2e}')
        assert v < 1e-5, k
    return siglip, itm, cap


def clip_export(tmp):
    base = load_json(f'{CORPUS}/clip-hf/config.json')
    config = shrink(base)
    config['projection_dim'] = 8
    model = randomize(hm.CLIPModel(config).eval(), 11)
    with torch.no_grad():
        model.logit_scale.fill_(2.3)
    ckpt = f'{tmp}/clip-ckpt'
    write_checkpoint(ckpt, config, model.state_dict(), f'{CORPUS}/clip-hf')
    out = f'{CORPUS}/clip-export'
    export_hf.main([ckpt, out])
    save_json(f'{out}/reference-api.json', dual_reference('clip', model, out))
    ids, mask, pixels = seeded_inputs(config['text_config']['vocab_size'] - 2, 7, config['vision_config']['image_size'])
    ids[:, -1] = config['text_config']['eos_token_id']  # CLIP pools at the end-of-text token
    with torch.no_grad():
        lpi, _, te, ie = model(ids, pixels, mask)
    save_graph_reference(out, {'input_ids': ids, 'attention_mask': mask, 'pixel_values': pixels},
                         {'logits_per_image': lpi, 'text_embeds': te, 'image_embeds': ie})


def siglip_export(tmp):
    base = load_json(f'{CORPUS}/siglip-hf/config.json')
    config = shrink(base)
    model = randomize(hm.SiglipModel(config).eval(), 12)
    with torch.no_grad():
        model.logit_scale.fill_(2.0)
        model.logit_bias.fill_(-1.5)
    ckpt = f'{tmp}/siglip-ckpt'
    write_checkpoint(ckpt, config, model.state_dict(), f'{CORPUS}/siglip-hf')
    out = f'{CORPUS}/siglip-export'
    export_hf.main([ckpt, out])
    bnb4_variant(out, 'text_model')
    save_json(f'{out}/reference-api.json', dual_reference('siglip', model, out))
    ids, _, pixels = seeded_inputs(config['text_config']['vocab_size'], 16, config['vision_config']['image_size'])
    with torch.no_grad():
        lpi, _, te, ie = model(ids, pixels)
    save_graph_reference(out, {'input_ids': ids, 'pixel_values': pixels},
                         {'logits_per_image': lpi, 'text_embeds': te, 'image_embeds': ie})


def blip_export(tmp):
    base = load_json(f'{CORPUS}/blip-hf/config.json')
    config = shrink(base)
    config['text_config']['encoder_hidden_size'] = 16
    config['image_text_hidden_size'] = 8
    itm = randomize(hm.BlipForImageTextRetrieval(config).eval(), 13)
    cap = randomize(hm.BlipForConditionalGeneration(config).eval(), 14)
    cap.vision_model.load_state_dict(itm.vision_model.state_dict())
    state = {**cap.state_dict(), **itm.state_dict()}
    ckpt = f'{tmp}/blip-ckpt'
    write_checkpoint(ckpt, config, state, f'{CORPUS}/blip-hf')
    out = f'{CORPUS}/blip-export'
    export_hf.main([ckpt, out])
    save_json(f'{out}/reference-api.json', blip_reference(itm, cap, out, config))
    ids, mask, pixels = seeded_inputs(config['text_config']['vocab_size'], 7, config['vision_config']['image_size'])
    ids[:, 0] = 2  # [CLS]
    dec_ids = ids.clone()
    dec_ids[:, 0] = config['text_config']['bos_token_id']
    with torch.no_grad():
        tokens, image_embeds = itm.vision(pixels)
        text_embeds, _ = itm.text(ids, mask)
        itm_logits = itm.itm(ids, mask, tokens)
        logits = cap.decode(dec_ids, mask, tokens)[0]
    save_graph_reference(out, {'input_ids': ids, 'attention_mask': mask, 'pixel_values': pixels,
                               'decoder_input_ids': dec_ids},
                         {'image_embeds': image_embeds, 'text_embeds': text_embeds, 'itm_logits': itm_logits,
                          'logits': logits})


def base_clip(out, tmp):
    """ViT-B/16 CLIP with random weights (~150M parameters): proves export_hf.py and the runtime at real size."""
    config = load_json(f'{CORPUS}/clip-hf/config.json')
    config['text_config'].update(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                                 num_attention_heads=8, max_position_embeddings=77, bos_token_id=49406,
                                 eos_token_id=49407, pad_token_id=49407)
    config['vision_config'].update(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                   num_attention_heads=12, image_size=224, patch_size=16)
    config['projection_dim'] = 512
    model = randomize(hm.CLIPModel(config).eval(), 15)
    print(f'  base CLIP: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters')
    ckpt = f'{tmp}/clip-base-ckpt'
    write_checkpoint(ckpt, config, model.state_dict(), f'{CORPUS}/clip-hf')
    save_json(f'{ckpt}/preprocessor_config.json', {**load_json(f'{CORPUS}/clip-hf/preprocessor_config.json'),
                                                   'size': {'shortest_edge': 224},
                                                   'crop_size': {'height': 224, 'width': 224}}, indent=2)
    export_hf.main([ckpt, out])


NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]


def bnb4_variant(folder, graph, block_size=16):
    """onnx/<graph>_bnb4.onnx as transformers.js names bitsandbytes-4-bit files: every MatMul by a constant
    [K, N] weight becomes com.microsoft MatMulBnb4 (NF4 codes of Bᵀ in blocks of `block_size`, two per byte,
    high nibble first, with a float absmax per block). A variant webvl's engine has no kernel for, so 'auto' on a
    GPU must hand the graph to onnxruntime-web."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(f'{folder}/onnx/{graph}.onnx')
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    table = np.array(NF4, dtype=np.float32)
    nodes = []
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == 'MatMul' and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2:
            nodes.append(n)
            continue
        b = numpy_helper.to_array(w).astype(np.float32)  # [K, N]
        k, nn = b.shape
        flat = b.T.reshape(-1)  # Bᵀ, [N, K] row-major
        pad = (-flat.size) % block_size
        blocks = np.concatenate([flat, np.zeros(pad, np.float32)]).reshape(-1, block_size)
        absmax = np.abs(blocks).max(axis=1)
        scaled = blocks / np.where(absmax == 0, 1, absmax)[:, None]
        codes = np.abs(scaled[..., None] - table).argmin(axis=-1).reshape(-1)[: flat.size].astype(np.uint8)
        if codes.size % 2:
            codes = np.concatenate([codes, np.zeros(1, np.uint8)])
        packed = (codes[0::2] << 4) | codes[1::2]
        name = n.input[1]
        g.initializer.remove(inits[name])
        g.initializer.extend([numpy_helper.from_array(packed, f'{name}_bnb4'),
                              numpy_helper.from_array(absmax.astype(np.float32), f'{name}_absmax')])
        nodes.append(helper.make_node('MatMulBnb4', [n.input[0], f'{name}_bnb4', f'{name}_absmax'], list(n.output),
                                      name=n.name, domain='com.microsoft', K=k, N=nn, block_size=block_size,
                                      quant_type=1))
    del g.node[:]
    g.node.extend(nodes)
    m.opset_import.append(helper.make_opsetid('com.microsoft', 1))
    onnx.save(m, f'{folder}/onnx/{graph}_bnb4.onnx')


def model_sized_images():
    """32×32 scenes (the corpus models' input size), for comparisons with transformers.js, whose browser build resizes
    with a canvas rather than Pillow: at the model's size neither resizes."""
    from PIL import Image
    os.makedirs(f'{CORPUS}/images', exist_ok=True)
    for i in range(2):
        img = Image.open(IMAGES[i]).convert('RGB').resize((32, 32), Image.BICUBIC)
        img.save(f'{CORPUS}/images/scene-{i}-32.png', optimize=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--base', help='also export a ViT-B/16 CLIP with random weights into this folder')
    a = p.parse_args()
    print('transformers exports read back into scripts/hf_modules.py:')
    siglip, itm, cap = check_against_transformers()
    siglip_tokenizer(f'{CORPUS}/siglip-hf')
    save_json(f'{CORPUS}/siglip-hf/reference-api.json', dual_reference('siglip', siglip, f'{CORPUS}/siglip-hf'))
    save_json(f'{CORPUS}/blip-hf/reference-api.json',
              blip_reference(itm, cap, f'{CORPUS}/blip-hf', load_json(f'{CORPUS}/blip-hf/config.json')))
    model_sized_images()
    with tempfile.TemporaryDirectory() as tmp:
        clip_export(tmp)
        siglip_export(tmp)
        blip_export(tmp)
        if a.base:
            base_clip(a.base, tmp)


if __name__ == '__main__':
    main()
