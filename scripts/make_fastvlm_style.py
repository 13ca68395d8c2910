#!/usr/bin/env python3
"""A FastVLM-style folder (transformers.js' `llava_qwen2` layout) made from tests/corpus/llava-random's graphs, so
PyTorch's answers are llava-random's (its reference.json): config.json with the language model's fields at its top
level and no image_seq_length, processor_config.json with LlavaProcessor's patch size (an image's tokens are
counted from it), and a chat template that writes no image (as Qwen2's, which FastVLM's folders carry).

  /usr/bin/python3 scripts/make_fastvlm_style.py     # writes tests/corpus/fastvlm-style/ (no torch needed)
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "tests", "corpus", "llava-random")
OUT = os.path.join(HERE, "..", "tests", "corpus", "fastvlm-style")
GRAPHS = ["vision_encoder.onnx", "embed_tokens.onnx", "decoder_model_merged.onnx"]
TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}<|user|> {{ message['content'] }}"
    "{% else %}<|assistant|> {{ message['content'] }}</s>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def read(name):
    with open(os.path.join(SOURCE, name)) as fh:
        return json.load(fh)


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as fh:
        json.dump(obj, fh, indent=2)


def main():
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    for g in GRAPHS:
        shutil.copyfile(os.path.join(SOURCE, "onnx", g), os.path.join(OUT, "onnx", g))
    for f in ["generation_config.json", "tokenizer.json"]:
        shutil.copyfile(os.path.join(SOURCE, f), os.path.join(OUT, f))
    config = read("config.json")
    dump("config.json", {**config["text_config"], "architectures": ["LlavaQwen2ForCausalLM"],
                         "model_type": "llava_qwen2", "image_token_index": config["image_token_index"]})
    dump("preprocessor_config.json", {**read("preprocessor_config.json"), "processor_class": "LlavaProcessor"})
    patch = config["vision_config"]["patch_size"]
    dump("processor_config.json", {"image_token": "<image>", "patch_size": patch, "num_additional_image_tokens": 0,
                                   "processor_class": "LlavaProcessor"})
    dump("tokenizer_config.json", {**read("tokenizer_config.json"), "chat_template": TEMPLATE})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
