#!/usr/bin/env python3
"""Random-weight Gemma3 and PaliGemma folders in transformers.js' layout, for the ask pipeline's tests. Both are
llava-shaped (vision_encoder, embed_tokens, decoder_model_merged), with a SigLIP vision tower whose state-dict names
are transformers' (scripts/hf_modules.py) and a Gemma language model (scripts/llama_lm.py):

- tests/corpus/gemma3-random: Gemma3ForConditionalGeneration. The vision tower's patches average-pooled 2 × 2,
  RMSNorm'd (1 + weight) and projected (Gemma3MultiModalProjector: mm_soft_emb_norm, mm_input_projection_weight);
  the embedding scaled by sqrt(hidden) inside embed_tokens (Gemma3TextScaledWordEmbedding); a decoder with RMSNorm
  on each head's queries and keys, norms around attention and the MLP, GELU (tanh) gates, queries scaled by
  query_pre_attn_scalar, and a local layer that sees the last `sliding_window` positions (rotary base
  rope_local_base_freq) before a global one. Gemma3's chat template writes <start_of_image>, which Gemma3Processor
  expands to "\\n\\n<start_of_image>" + mm_tokens_per_image × <image_soft_token> + "<end_of_image>\\n\\n".
- tests/corpus/paligemma-random: PaliGemmaForConditionalGeneration. The vision tower's patches through a linear
  projector, divided by sqrt(hidden) (get_image_features); a Gemma 1 decoder that scales inputs_embeds by
  sqrt(hidden) itself and, on its first step (no past), lets the prompt attend both ways (PaliGemma's prefix LM).
  No chat template: PaliGemmaProcessor writes image_seq_length × <image>, then <bos>, the prompt and "\\n".

reference.json of each: the pixel values Pillow made for a 45 × 29 image (transformers' Pillow backend), the image
features, the prompt ids and PyTorch's greedy answers (a two-turn chat for Gemma3; two prompts about the same image
for PaliGemma), generated with a KV cache as transformers' generate does.

  /usr/bin/python3 scripts/make_gemma_random.py     # writes tests/corpus/gemma3-random/ and paligemma-random/
"""
import json
import os
import sys
from dataclasses import replace

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models", "train"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "runtime", "fixtures"))
import onnxutil  # noqa: E402
from hf_modules import SiglipVisionTransformer, siglip_vision_config  # noqa: E402
from llama_lm import LM, LmConfig  # noqa: E402
from make_llava_random import export_language_model, spread, word_ids, word_tokenizer  # noqa: E402

CORPUS = os.path.join(HERE, "..", "tests", "corpus")
IMAGE_SIDE, PATCH = 32, 8
PATCHES = (IMAGE_SIDE // PATCH) ** 2
D, L, H, KVH, FF = 32, 2, 4, 2, 64
MAX_POSITIONS = 128
NEWLINE = "\n"
WORDS = ["user", "model"] + [f"w{i}" for i in range(80)]
VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
          "image_size": IMAGE_SIDE, "patch_size": PATCH, "vision_use_head": False, "model_type": "siglip_vision_model"}
QUESTIONS = ["w3 w10 w7", "w5 w6"]


class Vocab:
    def __init__(self, specials):
        self.specials = specials
        self.tokens = specials + [NEWLINE] + WORDS
        self.id = {w: i for i, w in enumerate(self.tokens)}

    def ids(self, text):
        return word_ids(text, self.specials + [NEWLINE], self.id)

    def words(self, ids):
        """An answer's text as a chat puts it back: decoded without special tokens."""
        return " ".join(self.tokens[t] for t in ids if t >= len(self.specials))

    def tokenizer(self):
        return word_tokenizer(self.id, [(t, True) for t in self.specials] + [(NEWLINE, False)])


def rms_plus_one(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1 + weight)


class Gemma3MultiModalProjector(nn.Module):
    """transformers' Gemma3MultiModalProjector: patches pooled to mm_tokens_per_image, RMSNorm'd, projected."""

    def __init__(self, vision_hidden, text_hidden, tokens):
        super().__init__()
        self.mm_input_projection_weight = nn.Parameter(torch.randn(vision_hidden, text_hidden) * 0.5)
        self.mm_soft_emb_norm = nn.Module()
        self.mm_soft_emb_norm.weight = nn.Parameter(0.1 * torch.randn(vision_hidden))
        self.side = IMAGE_SIDE // PATCH
        self.kernel = self.side // int(tokens ** 0.5)

    def forward(self, h):
        b, _, width = h.shape
        grid = h.transpose(1, 2).reshape(b, width, self.side, self.side)
        pooled = nn.functional.avg_pool2d(grid, self.kernel, self.kernel).flatten(2).transpose(1, 2)
        return rms_plus_one(pooled, self.mm_soft_emb_norm.weight) @ self.mm_input_projection_weight


class PaliGemmaMultiModalProjector(nn.Module):
    def __init__(self, vision_hidden, text_hidden):
        super().__init__()
        self.linear = nn.Linear(vision_hidden, text_hidden)

    def forward(self, h):
        return self.linear(h)


class VisionEncoder(nn.Module):
    """pixel_values → image_features in the language model's width, as the folder's vision_encoder.onnx."""

    def __init__(self, projector, divide_by_sqrt_hidden):
        super().__init__()
        self.vision_tower = SiglipVisionTransformer(siglip_vision_config(VISION))
        self.multi_modal_projector = projector
        self.divide = divide_by_sqrt_hidden

    def forward(self, pixel_values):
        features = self.multi_modal_projector(self.vision_tower(pixel_values)[0])
        return features / D ** 0.5 if self.divide else features


class ScaledEmbed(nn.Module):
    """Gemma3TextScaledWordEmbedding: the embedding times sqrt(hidden)."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm.embed(input_ids) * torch.tensor(D ** 0.5)


def generate(lm, embed, emb, steps, eos):
    """Greedy tokens as transformers' generate makes them: the prompt in one step without a past, then one token a
    step on the KV cache."""
    n = emb.shape[1]
    logits, past = lm(emb, torch.ones(1, n, dtype=torch.int64), torch.arange(n)[None])
    tokens = []
    for _ in range(steps):
        tok = int(logits[0, -1].argmax())
        if tok in eos:
            break
        tokens.append(tok)
        pos = n + len(tokens) - 1
        logits, past = lm(embed(torch.tensor([[tok]])), torch.ones(1, pos + 1, dtype=torch.int64),
                          torch.tensor([[pos]]), past)
    return tokens


def prompt_embeds(embed, vision, pixels, ids, image_id):
    emb = embed(torch.tensor([ids]))
    emb[0, torch.tensor(ids) == image_id] = vision(pixels).reshape(-1, D)
    return emb


def test_image():
    from make_preprocess_fixture import smooth_image
    rgba = np.random.default_rng(7).integers(0, 256, (29, 45, 4), dtype=np.uint8)
    return (0.6 * smooth_image(29, 45) + 0.4 * rgba).astype(np.uint8)


def dump(folder, name, obj):
    with open(os.path.join(folder, name), "w") as fh:
        json.dump(obj, fh, indent=2)


def preprocessor(processor_type, resample, **more):
    return {"image_processor_type": processor_type, "do_convert_rgb": True, "do_resize": True,
            "size": {"height": IMAGE_SIDE, "width": IMAGE_SIDE}, "resample": resample, "do_rescale": True,
            "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3, **more}


def export_vision(vision, folder):
    onnxutil.export(vision, (torch.randn(1, 3, IMAGE_SIDE, IMAGE_SIDE),),
                    os.path.join(folder, "onnx", "vision_encoder.onnx"), ["pixel_values"], ["image_features"],
                    {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}})


# --- Gemma3 -----------------------------------------------------------------------------------------------------

GEMMA3_TOKENS = 4  # mm_tokens_per_image: the 4 × 4 patches pooled 2 × 2
GEMMA3_WINDOW = 6
# Gemma3's chat template (gemma-3-*-it), as its folders carry it.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n"
    "{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n"
)
GEMMA3 = Vocab(["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                "<end_of_image>", "<image_soft_token>"])
GEMMA3_LM = LmConfig(vocab=len(GEMMA3.tokens), dim=D, layers=L, heads=H, kv_heads=KVH, ffn=FF, theta=1e6,
                     gemma_norm=True, gelu_gate=True, attn_scalar=12.0, qk_norm=True, sandwich_norms=True,
                     sliding_window=GEMMA3_WINDOW, global_every=2, local_theta=1e4, head_size=16)


def gemma3_chat(turns):
    """Gemma3's template rendered for [(question, answer or None), …], the image's <start_of_image> expanded as
    Gemma3Processor expands it."""
    image = "\n\n<start_of_image>" + "<image_soft_token>" * GEMMA3_TOKENS + "<end_of_image>\n\n"
    text = "<bos>"
    for k, (question, reply) in enumerate(turns):
        text += "<start_of_turn>user\n" + (image if k == 0 else "") + question + "<end_of_turn>\n"
        if reply is not None:
            text += "<start_of_turn>model\n" + reply + "<end_of_turn>\n"
    return text + "<start_of_turn>model\n"


def make_gemma3(rgba):
    from make_preprocess_fixture import run
    out = os.path.join(CORPUS, "gemma3-random")
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    v = GEMMA3.id
    torch.manual_seed(61)
    lm = LM(GEMMA3_LM).eval()
    spread(lm)
    with torch.no_grad():
        # Scaled by sqrt(hidden), unit embeddings would outweigh the normed layer outputs, and the tied head would
        # echo the last token.
        lm.embed.weight.mul_(0.08)
    vision = VisionEncoder(Gemma3MultiModalProjector(VISION["hidden_size"], D, GEMMA3_TOKENS), False).eval()
    export_language_model(lm, out, ScaledEmbed(lm))
    with torch.no_grad():
        export_vision(vision, out)
    eos = [v["<eos>"], v["<end_of_turn>"]]
    dump(out, "config.json", {
        "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
        "boi_token_index": v["<start_of_image>"], "eoi_token_index": v["<end_of_image>"],
        "image_token_index": v["<image_soft_token>"], "mm_tokens_per_image": GEMMA3_TOKENS,
        "text_config": {"model_type": "gemma3_text", "vocab_size": len(GEMMA3.tokens), "hidden_size": D,
                        "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": KVH,
                        "head_dim": GEMMA3_LM.head_dim, "intermediate_size": FF,
                        "max_position_embeddings": MAX_POSITIONS, "sliding_window": GEMMA3_WINDOW,
                        "sliding_window_pattern": 2, "layer_types": ["sliding_attention", "full_attention"],
                        "rope_theta": 1e6, "rope_local_base_freq": 1e4, "query_pre_attn_scalar": 12,
                        "hidden_activation": "gelu_pytorch_tanh", "bos_token_id": v["<bos>"], "eos_token_id": eos},
        "vision_config": VISION,
    })
    dump(out, "generation_config.json", {"bos_token_id": v["<bos>"], "eos_token_id": eos, "pad_token_id": 0})
    config = preprocessor("Gemma3ImageProcessor", 2, do_pan_and_scan=None, processor_class="Gemma3Processor")
    dump(out, "preprocessor_config.json", config)
    dump(out, "processor_config.json", {"image_seq_length": GEMMA3_TOKENS, "processor_class": "Gemma3Processor"})
    with open(os.path.join(out, "chat_template.jinja"), "w") as fh:
        fh.write(GEMMA3_TEMPLATE)
    dump(out, "tokenizer.json", GEMMA3.tokenizer())
    dump(out, "tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<bos>",
        "eos_token": "<eos>", "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
        "image_token": "<image_soft_token>", "processor_class": "Gemma3Processor",
    })
    embed = ScaledEmbed(lm)
    with torch.no_grad():
        pixels = torch.from_numpy(run(rgba, config))[None]
        features = vision(pixels)
        ids1 = GEMMA3.ids(gemma3_chat([(QUESTIONS[0], None)]))
        turn1 = generate(lm, embed, prompt_embeds(embed, vision, pixels, ids1, v["<image_soft_token>"]), 8, eos)
        ids2 = GEMMA3.ids(gemma3_chat([(QUESTIONS[0], GEMMA3.words(turn1)), (QUESTIONS[1], None)]))
        turn2 = generate(lm, embed, prompt_embeds(embed, vision, pixels, ids2, v["<image_soft_token>"]), 8, eos)
        # What the model would answer if its local layer saw everything: the window must show in the answers.
        full = LM(replace(GEMMA3_LM, sliding_window=None)).eval()
        full.load_state_dict(lm.state_dict())
        unwindowed = generate(full, embed, prompt_embeds(embed, vision, pixels, ids1, v["<image_soft_token>"]), 8,
                              eos)
    assert unwindowed != turn1, "the sliding window makes no difference to the first answer"
    write_reference(out, rgba, pixels, features, [ids1, ids2], [turn1, turn2], unwindowed_answer=unwindowed)
    print(f"wrote {out}: prompts of {len(ids1)} and {len(ids2)} positions; answers {turn1}, {turn2}")


# --- PaliGemma --------------------------------------------------------------------------------------------------

PALIGEMMA = Vocab(["<pad>", "<eos>", "<bos>", "<unk>", "<image>"])
PALIGEMMA_LM = LmConfig(vocab=len(PALIGEMMA.tokens), dim=D, layers=L, heads=H, kv_heads=1, ffn=FF,
                        gemma_norm=True, gelu_gate=True, embed_scale=True, prefix_lm=True)


def paligemma_prompt(prompt, images=1):
    """PaliGemmaProcessor's input string: the image tokens, <bos>, the prompt, a line break."""
    return "<image>" * (PATCHES * images) + "<bos>" + prompt + "\n"


def make_paligemma(rgba):
    from make_preprocess_fixture import run
    out = os.path.join(CORPUS, "paligemma-random")
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    v = PALIGEMMA.id
    torch.manual_seed(67)
    lm = LM(PALIGEMMA_LM).eval()
    spread(lm)
    vision = VisionEncoder(PaliGemmaMultiModalProjector(VISION["hidden_size"], D), True).eval()
    with torch.no_grad():
        vision.multi_modal_projector.linear.weight.mul_(8.0)  # features on the scale of the embeddings
    export_language_model(lm, out)
    with torch.no_grad():
        export_vision(vision, out)
    eos = [v["<eos>"]]
    dump(out, "config.json", {
        "architectures": ["PaliGemmaForConditionalGeneration"], "model_type": "paligemma",
        "image_token_index": v["<image>"], "projection_dim": D, "hidden_size": D,
        "text_config": {"model_type": "gemma", "vocab_size": len(PALIGEMMA.tokens), "hidden_size": D,
                        "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": 1,
                        "head_dim": D // H, "intermediate_size": FF, "max_position_embeddings": MAX_POSITIONS,
                        "hidden_activation": "gelu_pytorch_tanh", "num_image_tokens": PATCHES},
        "vision_config": {**VISION, "num_image_tokens": PATCHES, "projection_dim": D},
        "bos_token_id": v["<bos>"], "eos_token_id": v["<eos>"], "pad_token_id": 0,
    })
    dump(out, "generation_config.json", {"bos_token_id": v["<bos>"], "eos_token_id": v["<eos>"], "pad_token_id": 0})
    config = preprocessor("SiglipImageProcessor", 3, image_seq_length=PATCHES, processor_class="PaliGemmaProcessor")
    dump(out, "preprocessor_config.json", config)
    dump(out, "tokenizer.json", PALIGEMMA.tokenizer())
    dump(out, "tokenizer_config.json", {
        "model_max_length": MAX_POSITIONS, "pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<bos>",
        "eos_token": "<eos>", "processor_class": "PaliGemmaProcessor",
    })
    with torch.no_grad():
        pixels = torch.from_numpy(run(rgba, config))[None]
        features = vision(pixels)
        ids = [PALIGEMMA.ids(paligemma_prompt(q)) for q in QUESTIONS]
        answers = [generate(lm, lm.embed, prompt_embeds(lm.embed, vision, pixels, i, v["<image>"]), 8, eos)
                   for i in ids]
        # What a causal first step would answer instead: the prefix LM must show in the answers.
        causal = LM(replace(PALIGEMMA_LM, prefix_lm=False)).eval()
        causal.load_state_dict(lm.state_dict())
        causal_answers = [generate(causal, lm.embed, prompt_embeds(lm.embed, vision, pixels, i, v["<image>"]), 8,
                                   eos) for i in ids]
    assert causal_answers != answers, "the prefix LM makes no difference to these answers"
    write_reference(out, rgba, pixels, features, ids, answers, causal_answers=causal_answers)
    print(f"wrote {out}: prompts of {[len(i) for i in ids]} positions; answers {answers} (causal: {causal_answers})")


def write_reference(folder, rgba, pixels, features, prompt_ids, answers, **more):
    dump(folder, "reference.json", {
        "image": {"width": rgba.shape[1], "height": rgba.shape[0], "rgba": rgba.flatten().tolist()},
        "pixel_values": {"dims": list(pixels.shape), "data": pixels.flatten().tolist()},
        "image_features": {"dims": list(features.shape), "data": features.flatten().tolist()},
        "questions": QUESTIONS, "prompt_ids": prompt_ids, "answers": answers, **more,
    })


def main():
    rgba = test_image()
    make_gemma3(rgba)
    make_paligemma(rgba)


if __name__ == "__main__":
    main()
