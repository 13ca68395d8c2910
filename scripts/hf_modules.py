"""PyTorch modules whose state-dict names and shapes equal transformers' CLIPModel, SiglipModel,
BlipForImageTextRetrieval and BlipForConditionalGeneration, so a real checkpoint loads into them (strict=True), and
whose forward passes do the same arithmetic. For machines without `transformers` (Debian's torch 1.13 here):
scripts/export_hf.py exports real checkpoints through them, scripts/make_hf_corpus.py makes the test models and
their PyTorch references. The facts come from transformers' modeling_clip.py, modeling_siglip.py, modeling_blip.py
and modeling_blip_text.py; the test corpus checks them against transformers' own outputs (tests/corpus/hf/*-hf,
exported with transformers 5.17 on a GPU machine: reference.json).
"""
import math

import torch
from torch import nn
from torch.nn import functional as F


class Cfg:
    """A config.json section with transformers' defaults for what it leaves out."""

    def __init__(self, values, **defaults):
        self.__dict__.update(defaults)
        self.__dict__.update(values or {})


def act(name):
    if name == 'quick_gelu':
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name in ('gelu_pytorch_tanh', 'gelu_new'):
        return lambda x: F.gelu(x, approximate='tanh')
    if name == 'gelu':
        return F.gelu
    raise ValueError(f'activation {name} is not implemented')


def additive_mask(keep, dtype=torch.float32):
    """1 = attend, 0 = masked → 0 / dtype min, as transformers' masks."""
    return (1.0 - keep.to(dtype)) * torch.finfo(dtype).min


# --- shared by CLIP and SigLIP: CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder ---------------------------

class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x, mask=None):
        b, s, d = x.shape

        def heads(t):
            return t.view(b, s, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        w = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if mask is not None:
            w = w + mask
        w = torch.softmax(w, dim=-1)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, s, d)
        return self.out_proj(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.activation_fn = act(c.hidden_act)
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = MLP(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


# --- CLIP -------------------------------------------------------------------------------------------------------

def clip_text_config(v):
    return Cfg(v, vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
               num_attention_heads=8, max_position_embeddings=77, hidden_act='quick_gelu', layer_norm_eps=1e-5,
               eos_token_id=49407, projection_dim=512)


def clip_vision_config(v):
    return Cfg(v, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
               num_channels=3, image_size=224, patch_size=32, hidden_act='quick_gelu', layer_norm_eps=1e-5,
               projection_dim=512)


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embedding = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.register_buffer('position_ids', torch.arange(c.max_position_embeddings).expand((1, -1)),
                             persistent=False)

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(self.position_ids[:, :ids.shape[-1]])


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.eos_token_id = c.eos_token_id
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, attention_mask=None):
        x = self.embeddings(input_ids)
        s = input_ids.shape[1]
        keep = torch.tril(torch.ones(s, s, dtype=torch.long))[None, None]
        if attention_mask is not None:
            keep = keep * attention_mask[:, None, None, :]
        h = self.final_layer_norm(self.encoder(x, additive_mask(keep)))
        # Pooled at the first end-of-text token (transformers since PR #24773); checkpoints whose config still says
        # eos_token_id 2 pool at the highest id, as transformers does for them.
        ids = input_ids.to(torch.int32)
        at = ids.argmax(dim=-1) if self.eos_token_id == 2 else (ids == self.eos_token_id).int().argmax(dim=-1)
        return h, h[torch.arange(h.shape[0]), at]


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(c.hidden_size))
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size, bias=False)
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(n, c.hidden_size)
        self.register_buffer('position_ids', torch.arange(n).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixel_values.shape[0], 1, -1)
        return torch.cat([cls, p], dim=1) + self.position_embedding(self.position_ids)


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        h = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return h, self.post_layernorm(h[:, 0, :])


class CLIPModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        t, v = clip_text_config(config.get('text_config')), clip_vision_config(config.get('vision_config'))
        projection = config.get('projection_dim', 512)
        self.text_model = CLIPTextTransformer(t)
        self.vision_model = CLIPVisionTransformer(v)
        self.visual_projection = nn.Linear(v.hidden_size, projection, bias=False)
        self.text_projection = nn.Linear(t.hidden_size, projection, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.get('logit_scale_init_value', 2.6592)))

    def text_embeds(self, input_ids, attention_mask=None):
        h, pooled = self.text_model(input_ids, attention_mask)
        return self.text_projection(pooled), h

    def image_embeds(self, pixel_values):
        h, pooled = self.vision_model(pixel_values)
        return self.visual_projection(pooled), h

    def forward(self, input_ids, pixel_values, attention_mask=None):
        """logits_per_image, logits_per_text, text_embeds, image_embeds (normalized), as CLIPModel.forward."""
        image = self.image_embeds(pixel_values)[0]
        text = self.text_embeds(input_ids, attention_mask)[0]
        image = image / image.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        per_text = torch.matmul(text, image.t()) * self.logit_scale.exp()
        return per_text.t(), per_text, text, image


# --- SigLIP -----------------------------------------------------------------------------------------------------

def siglip_text_config(v):
    c = Cfg(v, vocab_size=32000, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
            max_position_embeddings=64, hidden_act='gelu_pytorch_tanh', layer_norm_eps=1e-6)
    c.projection_size = (v or {}).get('projection_size', c.hidden_size)
    return c


def siglip_vision_config(v):
    return Cfg(v, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
               num_channels=3, image_size=224, patch_size=16, hidden_act='gelu_pytorch_tanh', layer_norm_eps=1e-6,
               vision_use_head=True)


class SiglipVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size)
        n = (c.image_size // c.patch_size) ** 2
        self.position_embedding = nn.Embedding(n, c.hidden_size)
        self.register_buffer('position_ids', torch.arange(n).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        return p + self.position_embedding(self.position_ids)


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.probe = nn.Parameter(torch.randn(1, 1, c.hidden_size))
        self.attention = nn.MultiheadAttention(c.hidden_size, c.num_attention_heads, batch_first=True)
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = MLP(c)

    def forward(self, h):
        probe = self.probe.repeat(h.shape[0], 1, 1)
        x = self.attention(probe, h, h)[0]
        x = x + self.mlp(self.layernorm(x))
        return x[:, 0]


class SiglipVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = SiglipVisionEmbeddings(c)
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.use_head = c.vision_use_head
        if self.use_head:
            self.head = SiglipMultiheadAttentionPoolingHead(c)

    def forward(self, pixel_values):
        h = self.post_layernorm(self.encoder(self.embeddings(pixel_values)))
        return h, (self.head(h) if self.use_head else None)


class SiglipTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.head = nn.Linear(c.hidden_size, c.projection_size)

    def forward(self, input_ids, attention_mask=None):
        mask = None if attention_mask is None else additive_mask(attention_mask[:, None, None, :])
        h = self.final_layer_norm(self.encoder(self.embeddings(input_ids), mask))
        # SigLIP pools the last position: text is padded to max_length for it.
        return h, self.head(h[:, -1, :])


class SiglipModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.text_model = SiglipTextTransformer(siglip_text_config(config.get('text_config')))
        self.vision_model = SiglipVisionTransformer(siglip_vision_config(config.get('vision_config')))
        self.logit_scale = nn.Parameter(torch.randn(1))
        self.logit_bias = nn.Parameter(torch.randn(1))

    def text_embeds(self, input_ids, attention_mask=None):
        h, pooled = self.text_model(input_ids, attention_mask)
        return pooled, h

    def image_embeds(self, pixel_values):
        h, pooled = self.vision_model(pixel_values)
        return pooled, h

    def forward(self, input_ids, pixel_values):
        """logits_per_image, logits_per_text, text_embeds, image_embeds (normalized), as SiglipModel.forward."""
        image = self.image_embeds(pixel_values)[0]
        text = self.text_embeds(input_ids)[0]
        image = image / image.norm(p=2, dim=-1, keepdim=True)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        per_text = torch.matmul(text, image.t()) * self.logit_scale.exp() + self.logit_bias
        return per_text.t(), per_text, text, image


# --- BLIP -------------------------------------------------------------------------------------------------------

def blip_vision_config(v):
    return Cfg(v, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
               image_size=384, patch_size=16, hidden_act='gelu', layer_norm_eps=1e-5)


def blip_text_config(v):
    return Cfg(v, vocab_size=30524, hidden_size=768, encoder_hidden_size=768, intermediate_size=3072,
               num_hidden_layers=12, num_attention_heads=8, max_position_embeddings=512, hidden_act='gelu',
               layer_norm_eps=1e-12, is_decoder=True, bos_token_id=30522, sep_token_id=102, pad_token_id=0)


class BlipVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(1, 1, c.hidden_size))
        self.patch_embedding = nn.Conv2d(3, c.hidden_size, c.patch_size, c.patch_size)
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.position_embedding = nn.Parameter(torch.randn(1, n, c.hidden_size))

    def forward(self, pixel_values):
        p = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(pixel_values.shape[0], 1, -1), p], dim=1)
        return x + self.position_embedding[:, :x.shape[1], :]


class BlipAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(c.hidden_size, 3 * c.hidden_size)
        self.projection = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        b, s, d = x.shape
        qkv = self.qkv(x).reshape(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # indexed as transformers does (Gather in ONNX, not Split)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.projection(torch.matmul(w, v).permute(0, 2, 1, 3).reshape(b, s, d))


class BlipEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = BlipAttention(c)
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = MLP(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class BlipEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([BlipEncoderLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class BlipVisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BlipVisionEmbeddings(c)
        self.encoder = BlipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        """last_hidden_state: the image tokens every head reads."""
        return self.post_layernorm(self.encoder(self.embeddings(pixel_values)))


class BlipTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.register_buffer('position_ids', torch.arange(c.max_position_embeddings).expand((1, -1)),
                             persistent=False)

    def forward(self, ids, past=0):
        pos = self.position_ids[:, past:past + ids.shape[1]]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class BlipTextSelfAttention(nn.Module):
    def __init__(self, c, cross):
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        kv_in = c.encoder_hidden_size if cross else c.hidden_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(kv_in, c.hidden_size)
        self.value = nn.Linear(kv_in, c.hidden_size)

    def heads(self, t):
        return t.view(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask, kv=None, past=None):
        """Self-attention (kv None, optionally after cached keys/values `past`) or cross-attention over kv.
        Returns the context and this layer's (key, value) for a KV cache."""
        source = x if kv is None else kv
        k, v = self.heads(self.key(source)), self.heads(self.value(source))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        q = self.heads(self.query(x))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        out = torch.matmul(torch.softmax(w, dim=-1), v).transpose(1, 2)
        return out.reshape(x.shape[0], x.shape[1], -1), (k, v)


class BlipTextSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BlipTextAttention(nn.Module):
    def __init__(self, c, cross=False):
        super().__init__()
        self.self = BlipTextSelfAttention(c, cross)
        self.output = BlipTextSelfOutput(c)

    def forward(self, x, mask, kv=None, past=None):
        out, present = self.self(x, mask, kv, past)
        return self.output(out, x), present


class BlipTextIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = act(c.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class BlipTextOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BlipTextLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BlipTextAttention(c)
        if c.is_decoder:
            self.crossattention = BlipTextAttention(c, cross=True)
        self.intermediate = BlipTextIntermediate(c)
        self.output = BlipTextOutput(c)

    def forward(self, x, mask, states=None, states_mask=None, past=None):
        x, present = self.attention(x, mask, past=past)
        if states is not None:
            x = self.crossattention(x, states_mask, states)[0]
        return self.output(self.intermediate(x), x), present


class BlipTextEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BlipTextLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, mask, states=None, states_mask=None, past=None):
        presents = []
        for i, layer in enumerate(self.layer):
            x, present = layer(x, mask, states, states_mask, None if past is None else past[i])
            presents.append(present)
        return x, presents


class BlipTextModel(nn.Module):
    """BlipTextModel(add_pooling_layer=False): the text encoder (bidirectional) or, with causal=True, the decoder."""

    def __init__(self, c):
        super().__init__()
        self.embeddings = BlipTextEmbeddings(c)
        self.encoder = BlipTextEncoder(c)

    def forward(self, input_ids, attention_mask, states=None, causal=False, past=None):
        """Hidden states and the self-attention (key, value) per layer. `attention_mask` covers the cached
        positions too ([B, past + S]); with `causal`, query i sees keys up to past + i."""
        b, s = input_ids.shape
        before = 0 if past is None else past[0][0].shape[2]
        keep = attention_mask[:, None, None, :]
        if causal:
            rows = torch.arange(s)[:, None] + before
            keep = keep * (torch.arange(before + s)[None, :] <= rows).to(attention_mask.dtype)[None, None]
        states_mask = None
        if states is not None:
            states_mask = additive_mask(torch.ones(states.shape[:2], dtype=torch.long)[:, None, None, :])
        return self.encoder(self.embeddings(input_ids, before), additive_mask(keep), states, states_mask, past)


class BlipTextPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.transform_act_fn = act(c.hidden_act)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.transform_act_fn(self.dense(x)))


class BlipTextLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BlipTextPredictionHeadTransform(c)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder.bias = self.bias  # as transformers: one parameter under both names

    def forward(self, x):
        return self.decoder(self.transform(x))


class BlipTextOnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = BlipTextLMPredictionHead(c)

    def forward(self, x):
        return self.predictions(x)


class BlipTextLMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BlipTextModel(c)
        self.cls = BlipTextOnlyMLMHead(c)

    def forward(self, input_ids, attention_mask, states, past=None):
        """logits and the KV cache (one (key, value) [B, heads, past + S, head_dim] per layer)."""
        h, presents = self.bert(input_ids, attention_mask, states, causal=True, past=past)
        return self.cls(h), presents


def blip_configs(config):
    return blip_text_config(config.get('text_config')), blip_vision_config(config.get('vision_config'))


class BlipForImageTextRetrieval(nn.Module):
    def __init__(self, config):
        super().__init__()
        t, v = blip_configs(config)
        hidden = config.get('image_text_hidden_size', 256)
        self.vision_model = BlipVisionModel(v)
        self.text_encoder = BlipTextModel(t)
        self.vision_proj = nn.Linear(v.hidden_size, hidden)
        self.text_proj = nn.Linear(t.hidden_size, hidden)
        self.itm_head = nn.Linear(t.hidden_size, 2)

    def vision(self, pixel_values):
        """last_hidden_state (image tokens) and image_embeds (ITC projection of [CLS], not normalized)."""
        h = self.vision_model(pixel_values)
        return h, self.vision_proj(h[:, 0, :])

    def text(self, input_ids, attention_mask):
        """text_embeds (ITC projection of [CLS], not normalized) and last_hidden_state."""
        h = self.text_encoder(input_ids, attention_mask)[0]
        return self.text_proj(h[:, 0, :]), h

    def itm(self, input_ids, attention_mask, encoder_hidden_states):
        h = self.text_encoder(input_ids, attention_mask, encoder_hidden_states)[0]
        return self.itm_head(h[:, 0, :])


class BlipForConditionalGeneration(nn.Module):
    def __init__(self, config):
        super().__init__()
        t, v = blip_configs(config)
        self.vision_model = BlipVisionModel(v)
        self.text_decoder = BlipTextLMHeadModel(t)

    def decode(self, input_ids, attention_mask, encoder_hidden_states, past=None):
        return self.text_decoder(input_ids, attention_mask, encoder_hidden_states, past)


FAMILIES = {'clip': CLIPModel, 'siglip': SiglipModel}
