#!/usr/bin/env python3
"""A random-weight Qwen3-VL folder in transformers.js' layout (as onnx-community's Qwen3-VL exports have it:
model_type qwen3_vl, which transformers.js 4.x runs with Qwen2.5-VL's classes): Qwen2-VL's folder
(scripts/make_qwen2vl_random.py) with Qwen3-VL's vision tower, language model, config and preprocessing.

- onnx/vision_encoder.onnx: pixel_values [patches, 3 · temporal · patch²] and image_grid_thw [1, 3] →
  image_features [patches / merge², text width]. Qwen3VLVisionModel: a Conv3d patch embedding with a bias; the
  learned position embeddings (pos_embed, a 4 × 4 grid) resampled bilinearly to the image's patch grid and put in
  merge-window order (transformers' fast_pos_embed_interpolate, whose Python loop over the images is tensor ops on
  image_grid_thw here, so that the graph takes its sizes from that input: one image a call, as in the Qwen2
  scripts), added to the patches; 2-D rotary positions as Qwen2-VL's; LayerNorm blocks with GELU-tanh MLPs
  (linear_fc1, linear_fc2); and the patch merger (LayerNorm over the patch, the 2 × 2 merge, linear_fc1, GELU,
  linear_fc2 to the text width). State-dict names and shapes are transformers' Qwen3VLVisionModel's (visual.*).
  DeepStack: deepstack_visual_indexes is [] and there are no deepstack mergers, since transformers.js' runtime
  passes no DeepStack features to the decoder (its vision_encoder.onnx outputs image_features only and
  decoder_model_merged.onnx takes none); with DeepStack layers the exported model would not be the one
  transformers runs.
- onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx: a Qwen3 language model (scripts/llama_lm.py: no
  q/k/v bias, RMSNorm over head_dim on queries and keys before the rotary embedding, grouped-query attention)
  with Qwen3-VL's interleaved multimodal rotary embedding (transformers' Qwen3VLTextRotaryEmbedding.
  apply_interleaved_mrope): position_ids [3, batch, seq].
- config.json (model_type qwen3_vl; text_config qwen3_vl_text with rope_scaling.mrope_section and
  mrope_interleaved; vision_config with Qwen3-VL's field names), preprocessor_config.json (Qwen3-VL's:
  Qwen2VLImageProcessorFast, size.shortest_edge / longest_edge in pixels, mean and std 0.5), chat_template.json
  (Qwen3-VL-Instruct's template: no system message unless the conversation has one), generation_config.json and
  the Qwen2 scripts' word-level tokenizer with Qwen's special tokens.

reference.json holds what PyTorch computes, with the keys of Qwen2-VL's (q2.export_and_reference): the 45 × 29 test
image (48 × 32 after smart_resize), its patches (Pillow bicubic on 8 bits, as the Qwen2 scripts make them: the slow
Qwen2VLImageProcessor's resize; the fast one's torchvision resize differs a little), image features, prompt ids and
3-D positions, the greedy answers of a two-turn chat, a crop, a max_pixels=256 call, two images, a system message
and a repetition penalty. Checks made here: the
resampled position embeddings equal transformers' loop version for the test grids, the rotary tables equal
transformers' apply_interleaved_mrope, the chat template is Qwen3-VL-Instruct's (its SHA-256), the vision
state-dict names are Qwen3VLVisionModel's, and every exported graph passes onnx.checker.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/make_qwen3vl_random.py     # writes tests/corpus/qwen3vl-random/
"""
import hashlib
import json
import os
import sys

import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_qwen2vl_random as q2  # noqa: E402
from llama_lm import LM, LmConfig  # noqa: E402
from make_llava_random import export_language_model, spread, word_tokenizer  # noqa: E402

OUT = os.path.join(HERE, "..", "tests", "corpus", "qwen3vl-random")
E, MLP = q2.EMBED, 48  # vision width and MLP size
NUM_POSITIONS = 16  # pos_embed: a 4 × 4 grid of learned position embeddings
# Their scale: about the patch embeddings' (nn.Embedding's N(0, 1) times this). Where transformers' torch.linspace
# and the graph's differ in the last bit at a grid point, a corner's weight moves by ~2e-7 times the difference of
# neighbouring embeddings: well inside the 1e-6 of the interpolation check at this scale.
POS_STD = 0.25
DEEPSTACK = []  # deepstack_visual_indexes: none (see the docstring)
# Interleaved over head_dim / 2 = 8 frequencies: T H W T H W T T (height at 1 and 4, width at 2 and 5, the rest
# temporal), the layout of Qwen3-VL's [24, 20, 20] over 64 at a small size.
MROPE = (4, 2, 2)
QK_SPREAD = 2.0  # the language model's q_norm and k_norm weights scaled, so that greedy answers wander
MEAN = STD = [0.5, 0.5, 0.5]
PREPROCESSOR = {
    "image_processor_type": "Qwen2VLImageProcessorFast", "processor_class": "Qwen3VLProcessor",
    "do_convert_rgb": True, "do_resize": True, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255,
    "do_normalize": True, "image_mean": MEAN, "image_std": STD,
    "size": {"shortest_edge": q2.MIN_PIXELS, "longest_edge": q2.MAX_PIXELS},
    "patch_size": q2.PATCH, "temporal_patch_size": q2.TEMPORAL, "merge_size": q2.MERGE,
}
# Qwen3-VL-Instruct's chat template: tokenizer.chat_template of Qwen/Qwen3-VL-8B-Instruct-GGUF (5292 bytes, the
# SHA-256 below). Unlike Qwen2-VL's it writes no system message unless the conversation has one.
CHAT_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' }}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content_item in message.content %}
                {%- if 'text' in content_item %}
                    {{- content_item.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and message.content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""
CHAT_TEMPLATE_SHA256 = "3636d0f0bd6bef02654cdffdc447b79cb2cef8ab02cc75267345946291a489e4"


class PatchEmbed(q2.PatchEmbed):
    """Qwen3VLVisionPatchEmbed: Qwen2-VL's, with a bias."""

    def __init__(self):
        nn.Module.__init__(self)
        k = (q2.TEMPORAL, q2.PATCH, q2.PATCH)
        self.proj = nn.Conv3d(3, E, kernel_size=k, stride=k, bias=True)


class Qwen3VLVisionMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_fc1 = nn.Linear(E, MLP)
        self.linear_fc2 = nn.Linear(MLP, E)

    def forward(self, x):
        return self.linear_fc2(nn.functional.gelu(self.linear_fc1(x), approximate="tanh"))  # gelu_pytorch_tanh


class Qwen3VLVisionBlock(q2.Qwen2VLVisionBlock):
    def __init__(self):
        nn.Module.__init__(self)
        self.norm1 = nn.LayerNorm(E, eps=1e-6)
        self.norm2 = nn.LayerNorm(E, eps=1e-6)
        self.attn = q2.VisionAttention()
        self.mlp = Qwen3VLVisionMLP()


class Qwen3VLVisionPatchMerger(nn.Module):
    """use_postshuffle_norm False: LayerNorm over each patch, then the merge window's patches side by side."""

    def __init__(self):
        super().__init__()
        self.hidden_size = E * q2.MERGE ** 2
        self.norm = nn.LayerNorm(E, eps=1e-6)
        self.linear_fc1 = nn.Linear(self.hidden_size, self.hidden_size)
        self.act_fn = nn.GELU()
        self.linear_fc2 = nn.Linear(self.hidden_size, q2.D)

    def forward(self, x):
        return self.linear_fc2(self.act_fn(self.linear_fc1(self.norm(x).view(-1, self.hidden_size))))


class Qwen3VLVisionModel(q2.Qwen2VisionTransformer):
    def __init__(self):
        nn.Module.__init__(self)
        self.patch_embed = PatchEmbed()
        self.pos_embed = nn.Embedding(NUM_POSITIONS, E)
        with torch.no_grad():
            self.pos_embed.weight.mul_(POS_STD)
        self.num_grid_per_side = int(NUM_POSITIONS ** 0.5)
        self.rotary_pos_emb = q2.VisionRotaryEmbedding(E // q2.V_HEADS // 2)
        self.blocks = nn.ModuleList([Qwen3VLVisionBlock() for _ in range(q2.V_DEPTH)])
        self.merger = Qwen3VLVisionPatchMerger()
        self.deepstack_merger_list = nn.ModuleList([])  # one merger per deepstack_visual_indexes entry: none

    def linspace(self, n):
        """torch.linspace(0, num_grid_per_side - 1, n) for a 0-d tensor n ≥ 2 with torch's formula: the first half
        start + step · i, the second end - step · (n - 1 - i) (its vectorized CPU loop can differ in the last bit)."""
        end = float(self.num_grid_per_side - 1)
        i = torch.arange(n).float()
        last = (n - 1).float()
        step = end / last
        return torch.where(i < (n // 2).float(), i * step, end - (last - i) * step)

    def fast_pos_embed_interpolate(self, grid_thw):
        """transformers' fast_pos_embed_interpolate for one image, with tensor ops on grid_thw: the learned grid
        sampled bilinearly at linspace(0, side - 1, h) × linspace(0, side - 1, w) (the four corners' indices and
        weights as transformers computes them, summed in its order), repeated over the frames, in merge-window
        order."""
        side, m = self.num_grid_per_side, q2.MERGE
        t, h, w = grid_thw[0, 0], grid_thw[0, 1], grid_thw[0, 2]
        hi, wi = self.linspace(h), self.linspace(w)
        hf, wf = hi.long(), wi.long()  # .int(): truncation, the floor of these non-negative values
        top = torch.tensor(side - 1)
        hc, wc = torch.minimum(hf + 1, top), torch.minimum(wf + 1, top)  # .clip(max=side - 1)
        dh, dw = (hi - hf)[:, None], (wi - wf)[None, :]
        bf, bc = (hf * side)[:, None], (hc * side)[:, None]
        wf, wc = wf[None, :], wc[None, :]
        pos = (self.pos_embed(bf + wf) * ((1 - dh) * (1 - dw))[..., None]
               + self.pos_embed(bf + wc) * ((1 - dh) * dw)[..., None]
               + self.pos_embed(bc + wf) * (dh * (1 - dw))[..., None]
               + self.pos_embed(bc + wc) * (dh * dw)[..., None])
        pos = pos.reshape(h * w, E).repeat(t, 1)
        pos = pos.reshape(t, h // m, m, w // m, m, E).permute(0, 1, 3, 2, 4, 5)
        return pos.reshape(-1, E)

    def forward(self, pixel_values, grid_thw):
        x = self.patch_embed(pixel_values) + self.fast_pos_embed_interpolate(grid_thw)
        rotary = self.rot_pos_emb(grid_thw)
        emb = torch.cat((rotary, rotary), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.merger(x)


def transformers_pos_embed_interpolate(visual, grid_thw):
    """transformers' Qwen3VLVisionModel.fast_pos_embed_interpolate, transcribed (its Python loop over the images)."""
    num_grid_per_side, merge_size = visual.num_grid_per_side, q2.MERGE
    grid_ts, grid_hs, grid_ws = grid_thw[:, 0], grid_thw[:, 1], grid_thw[:, 2]
    idx_list = [[] for _ in range(4)]
    weight_list = [[] for _ in range(4)]
    for t, h, w in zip(grid_ts, grid_hs, grid_ws):
        h_idxs = torch.linspace(0, num_grid_per_side - 1, h)
        w_idxs = torch.linspace(0, num_grid_per_side - 1, w)
        h_idxs_floor = h_idxs.int()
        w_idxs_floor = w_idxs.int()
        h_idxs_ceil = (h_idxs.int() + 1).clip(max=num_grid_per_side - 1)
        w_idxs_ceil = (w_idxs.int() + 1).clip(max=num_grid_per_side - 1)
        dh = h_idxs - h_idxs_floor
        dw = w_idxs - w_idxs_floor
        base_h = h_idxs_floor * num_grid_per_side
        base_h_ceil = h_idxs_ceil * num_grid_per_side
        indices = [
            (base_h[None].T + w_idxs_floor[None]).flatten(),
            (base_h[None].T + w_idxs_ceil[None]).flatten(),
            (base_h_ceil[None].T + w_idxs_floor[None]).flatten(),
            (base_h_ceil[None].T + w_idxs_ceil[None]).flatten(),
        ]
        weights = [
            ((1 - dh)[None].T * (1 - dw)[None]).flatten(),
            ((1 - dh)[None].T * dw[None]).flatten(),
            (dh[None].T * (1 - dw)[None]).flatten(),
            (dh[None].T * dw[None]).flatten(),
        ]
        for i in range(4):
            idx_list[i].extend(indices[i].tolist())
            weight_list[i].extend(weights[i].tolist())
    idx_tensor = torch.tensor(idx_list, dtype=torch.long)
    weight_tensor = torch.tensor(weight_list, dtype=visual.pos_embed.weight.dtype)
    pos_embeds = visual.pos_embed(idx_tensor) * weight_tensor[:, :, None]
    patch_pos_embeds = pos_embeds[0] + pos_embeds[1] + pos_embeds[2] + pos_embeds[3]
    patch_pos_embeds = patch_pos_embeds.split([h * w for h, w in zip(grid_hs, grid_ws)])
    patch_pos_embeds_permute = []
    for pos_embed, t, h, w in zip(patch_pos_embeds, grid_ts, grid_hs, grid_ws):
        pos_embed = pos_embed.repeat(t, 1)
        pos_embed = (
            pos_embed.view(t, h // merge_size, merge_size, w // merge_size, merge_size, -1)
            .permute(0, 1, 3, 2, 4, 5)
            .flatten(0, 4)
        )
        patch_pos_embeds_permute.append(pos_embed)
    return torch.cat(patch_pos_embeds_permute)


def transformers_rotary(position_ids, head_dim, theta, mrope_section):
    """transformers' Qwen3VLTextRotaryEmbedding.forward (default rope, attention_scaling 1), transcribed."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    inv_freq_expanded = inv_freq[None, None, :, None].float().expand(3, position_ids.shape[1], -1, 1)
    position_ids_expanded = position_ids[:, :, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(2, 3)
    freqs_t = freqs[0]  # apply_interleaved_mrope
    for dim, offset in enumerate((1, 2), start=1):
        length = mrope_section[dim] * 3
        idx = slice(offset, length, 3)
        freqs_t[..., idx] = freqs[dim, ..., idx]
    emb = torch.cat((freqs_t, freqs_t), dim=-1)
    return emb.cos(), emb.sin()


# transformers' Qwen3VLVisionModel state dict for this config (its rotary inv_freq is not persistent).
VISION_STATE = ["patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed.weight"] + [
    f"blocks.{i}.{name}" for i in range(q2.V_DEPTH)
    for name in ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.qkv.weight", "attn.qkv.bias",
                 "attn.proj.weight", "attn.proj.bias", "mlp.linear_fc1.weight", "mlp.linear_fc1.bias",
                 "mlp.linear_fc2.weight", "mlp.linear_fc2.bias"]
] + ["merger.norm.weight", "merger.norm.bias", "merger.linear_fc1.weight", "merger.linear_fc1.bias",
     "merger.linear_fc2.weight", "merger.linear_fc2.bias"]


def language_model(seed):
    torch.manual_seed(seed)
    lm = LM(LmConfig(vocab=q2.V, dim=q2.D, layers=q2.L, heads=q2.H, kv_heads=q2.KVH, ffn=q2.FF, qk_norm=True,
                     mrope_section=MROPE, mrope_interleaved=True)).eval()
    spread(lm)
    with torch.no_grad():  # RMSNorm on queries and keys undoes spread's larger q and k: sharpen attention here
        for name, p in lm.named_parameters():
            if name.endswith(("q_norm.weight", "k_norm.weight")):
                p.mul_(QK_SPREAD)
    return lm


def write_folder(out=OUT):
    """The folder's JSON files: Qwen3-VL's config fields, preprocessing and chat template; the Qwen2 scripts'
    tokenizer and generation config."""
    def dump(name, obj):
        with open(os.path.join(out, name), "w") as fh:
            json.dump(obj, fh, indent=2)

    hd = q2.D // q2.H
    dump("config.json", {
        "architectures": ["Qwen3VLForConditionalGeneration"], "model_type": "qwen3_vl",
        "image_token_id": q2.IMAGE, "video_token_id": q2.ID["<|video_pad|>"], "vision_start_token_id": q2.VISION_START,
        "vision_end_token_id": q2.ID["<|vision_end|>"], "tie_word_embeddings": True,
        "text_config": {
            "model_type": "qwen3_vl_text", "vocab_size": q2.V, "hidden_size": q2.D, "num_hidden_layers": q2.L,
            "num_attention_heads": q2.H, "num_key_value_heads": q2.KVH, "head_dim": hd, "intermediate_size": q2.FF,
            "hidden_act": "silu", "attention_bias": False, "max_position_embeddings": q2.MAX_POSITIONS,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
            "rope_scaling": {"rope_type": "default", "mrope_section": list(MROPE), "mrope_interleaved": True},
            "tie_word_embeddings": True, "bos_token_id": q2.EOS, "eos_token_id": q2.IM_END,
        },
        "vision_config": {
            "model_type": "qwen3_vl", "depth": q2.V_DEPTH, "hidden_size": E, "intermediate_size": MLP,
            "num_heads": q2.V_HEADS, "in_channels": 3, "patch_size": q2.PATCH, "spatial_merge_size": q2.MERGE,
            "temporal_patch_size": q2.TEMPORAL, "out_hidden_size": q2.D, "num_position_embeddings": NUM_POSITIONS,
            "deepstack_visual_indexes": DEEPSTACK, "hidden_act": "gelu_pytorch_tanh",
        },
    })
    dump("generation_config.json", {"bos_token_id": q2.EOS, "eos_token_id": [q2.IM_END, q2.EOS],
                                    "pad_token_id": q2.EOS})
    dump("preprocessor_config.json", PREPROCESSOR)
    dump("chat_template.json", {"chat_template": CHAT_TEMPLATE})
    dump("tokenizer.json", word_tokenizer(q2.ID, [(t, True) for t in q2.SPECIALS] + [(q2.NEWLINE, False)]))
    dump("tokenizer_config.json", {
        "model_max_length": q2.MAX_POSITIONS, "pad_token": "<|endoftext|>", "unk_token": "<unk>",
        "bos_token": None, "eos_token": "<|im_end|>", "processor_class": "Qwen3VLProcessor",
    })


def check(visual, lm):
    """The checks of the docstring, before anything is written."""
    assert hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest() == CHAT_TEMPLATE_SHA256, "chat template"
    assert sorted(visual.state_dict()) == sorted(VISION_STATE), sorted(visual.state_dict())
    # The test image (29 × 45), its crop (24 × 40), the image at max_pixels=256, and a square one; the grids.
    grids = [[1, h // q2.PATCH, w // q2.PATCH] for h, w in
             [q2.smart_resize(29, 45), q2.smart_resize(24, 40), q2.smart_resize(29, 45, max_pixels=256),
              q2.smart_resize(64, 64)]]
    with torch.no_grad():
        for g in grids:
            ours = visual.fast_pos_embed_interpolate(torch.tensor([g]))
            theirs = transformers_pos_embed_interpolate(visual, torch.tensor([g]))
            assert ours.shape == theirs.shape and torch.allclose(ours, theirs, atol=1e-6, rtol=0), g
        positions = torch.randint(0, 200, (3, 1, 11))
        cos, sin = lm.rotary(positions, lm.c.theta)
        tcos, tsin = transformers_rotary(positions, lm.c.head_dim, lm.c.theta, MROPE)
        assert torch.allclose(cos[:, 0], tcos, atol=1e-6) and torch.allclose(sin[:, 0], tsin, atol=1e-6), "mrope"
    return grids


def main():
    lm = language_model(53)
    torch.manual_seed(59)
    visual = Qwen3VLVisionModel().eval()
    with torch.no_grad():
        for p in visual.merger.parameters():
            p.mul_(q2.SPREAD)
    grids = check(visual, lm)
    export_language_model(lm, OUT)
    write_folder()
    ref = q2.export_and_reference(lm, visual, OUT, "image_grid_thw", MEAN, STD, default_system=None)
    for name in ("vision_encoder", "embed_tokens", "decoder_model_merged"):
        onnx.checker.check_model(onnx.load(os.path.join(OUT, "onnx", f"{name}.onnx")))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({size // 1024} KiB): grid {ref['grid_thw']} → {len(ref['image_features']['data']) // q2.D} "
          f"image tokens; prompts of {len(ref['prompt_ids'][0])} and {len(ref['prompt_ids'][1])} positions (delta "
          f"{ref['rope_delta']}); answers {ref['answers'][0]}, {ref['answers'][1]}; pos_embed interpolation checked "
          f"for grids {grids}")


if __name__ == "__main__":
    main()
