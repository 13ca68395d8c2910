"""What transformers' processors do to an image and a text, re-stated without transformers, for PyTorch references:
Pillow resizing per preprocessor_config.json (as the slow image processors), and the three tokenizer kinds of the
test corpus reduced to what their tiny vocabularies need (whole words are in every vocabulary). The runtime's own
tokenizer (@huggingface/tokenizers over tokenizer.json) and preprocessing are checked against these.
"""
import re

import numpy as np
from PIL import Image


def preprocess(path, cfg):
    """[3, H, W] float32 pixel values of the image file, as a CLIP / SigLIP / BLIP image processor makes them."""
    img = Image.open(path).convert('RGB')
    if cfg.get('do_resize', True):
        size = cfg['size']
        if isinstance(size, int):
            clip = 'CLIP' in (cfg.get('image_processor_type') or cfg.get('feature_extractor_type') or '')
            size = {'shortest_edge': size} if clip else {'height': size, 'width': size}
        w, h = img.size
        if 'shortest_edge' in size:
            e = size['shortest_edge']
            nh, nw = (e, int(e * w / h)) if h <= w else (int(e * h / w), e)
        else:
            nh, nw = size['height'], size['width']
        if (nw, nh) != img.size:
            img = img.resize((nw, nh), cfg.get('resample', 3))
    arr = np.asarray(img).astype(np.float64)
    if cfg.get('do_center_crop'):
        c = cfg['crop_size']
        ch, cw = (c, c) if isinstance(c, int) else (c['height'], c['width'])
        top, left = (arr.shape[0] - ch) // 2, (arr.shape[1] - cw) // 2
        arr = arr[top:top + ch, left:left + cw]
    if cfg.get('do_rescale', True):
        arr = arr * cfg.get('rescale_factor', 1 / 255)
    if cfg.get('do_normalize', True):
        arr = (arr - np.array(cfg['image_mean'])) / np.array(cfg['image_std'])
    return arr.transpose(2, 0, 1).astype(np.float32)


def words(text):
    return re.sub(r'[^\w\s]', ' ', text.lower()).split()


def bert_ids(tokenizer_json, text):
    """BERT WordPiece: [CLS] words [SEP] (every word of the test texts is whole in the vocabulary)."""
    v = tokenizer_json['model']['vocab']
    return [v['[CLS]'], *[v[w] for w in words(text)], v['[SEP]']]


def bpe(word, ranks):
    """Byte-pair merges of one word (last symbol marked </w>), lowest-ranked pair first, as BPE applies them."""
    symbols = list(word[:-1]) + [word[-1] + '</w>']
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), float('inf')), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == float('inf'):
            break
        symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2:]
    return symbols


def clip_ids(tokenizer_json, text):
    """CLIP BPE: <|startoftext|> merged pieces… <|endoftext|> (the test texts are ASCII letters and spaces)."""
    model = tokenizer_json['model']
    v = model['vocab']
    ranks = {tuple(m if isinstance(m, list) else m.split(' ')): i for i, m in enumerate(model['merges'])}
    pieces = [p for w in words(text) for p in bpe(w, ranks)]
    return [v['<|startoftext|>'], *[v[p] for p in pieces], v['<|endoftext|>']]


def siglip_ids(tokenizer_json, text, length):
    """SigLIP SentencePiece: ▁word… </s>, padded with the pad token to the model's max_length."""
    v = {piece: i for i, (piece, _) in enumerate(tokenizer_json['model']['vocab'])}
    ids = [v['▁' + w] for w in words(text)] + [v['</s>']]
    return ids + [v['</s>']] * (length - len(ids))


def pad(rows, pad_id):
    """Right-padded ids and the attention mask, as padding='longest'."""
    n = max(len(r) for r in rows)
    ids = [r + [pad_id] * (n - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (n - len(r)) for r in rows]
    return ids, mask
