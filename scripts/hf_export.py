#!/usr/bin/env python3
"""Tiny random-weight models of the real Hugging Face classes, exported as Optimum / transformers.js lay them out.

Needs Python with transformers, torch 2.x, onnx and onnxruntime (the GPU machine has them; this machine does not):

  python3 scripts/hf_export.py OUTDIR          # OUTDIR/<family>/... and OUTDIR/export-log.json

For each family, a model folder: config.json, preprocessor_config.json, tokenizer files, onnx/*.onnx, and
reference.json (seeded inputs and the PyTorch outputs for them, for tests of the runtime against PyTorch):
  clip-hf      CLIPModel: onnx/model.onnx (logits_per_image …), text_model.onnx, vision_model.onnx
  siglip-hf    SiglipModel: the same three graphs
  blip-hf      BlipForImageTextRetrieval + BlipForConditionalGeneration: vision_model, text_model, itm_model,
               decoder_model (full sequence) in webvl's BLIP layout
  llama-hf     LlamaForCausalLM (GQA, RoPE, RMSNorm, SwiGLU): onnx/model.onnx (no cache)
Graphs come from both exporters where they work (onnx/ = TorchScript, as Optimum and transformers.js ship;
onnx-dynamo/ = torch.export), plus onnxruntime's quantized forms (q8 = quantize_dynamic, q4 = MatMulNBits) and
transformer-optimizer rewrites (com.microsoft fused ops) under onnx/, named as transformers.js names dtypes.
Every step is tried on its own and logged: a failure loses that file, not the run.
"""
import json
import os
import sys
import tempfile
import traceback

import torch

torch.set_num_threads(int(os.environ.get("EXPORT_THREADS", "4")))
OUT = sys.argv[1] if len(sys.argv) > 1 else "hf-exports"
LOG = []
WORDS = ("a photo of red blue green yellow circle square triangle star small large left right above below the "
         "is there how many what colour shape object image two three one of and with on in").split()


def step(name):
    def wrap(fn):
        def run(*a, **k):
            try:
                r = fn(*a, **k)
                LOG.append({"step": name, "ok": True})
                print(f"ok   {name}", flush=True)
                return r
            except Exception as e:  # noqa: BLE001 — every step is optional
                LOG.append({"step": name, "ok": False, "error": repr(e), "trace": traceback.format_exc()[-2000:]})
                print(f"FAIL {name}: {e!r}", flush=True)
                return None
        return run
    return wrap


def export(module, args, path, inputs, outputs, dynamic, dynamo=False, opset=17):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        kw = dict(input_names=inputs, output_names=outputs, dynamic_axes=dynamic, opset_version=opset,
                  do_constant_folding=True)
        if dynamo:
            torch.onnx.export(module, args, path, dynamo=True, opset_version=18, input_names=inputs,
                              output_names=outputs, dynamic_axes=dynamic, external_data=False)
        else:
            try:
                torch.onnx.export(module, args, path, dynamo=False, **kw)
            except TypeError:
                torch.onnx.export(module, args, path, **kw)


def both_exporters(tag, module, args, folder, name, inputs, outputs, dynamic):
    step(f"{tag} {name} torchscript")(export)(module, args, f"{folder}/onnx/{name}.onnx", inputs, outputs, dynamic)
    step(f"{tag} {name} dynamo")(export)(module, args, f"{folder}/onnx-dynamo/{name}.onnx", inputs, outputs, dynamic,
                                         dynamo=True)


def variants(tag, folder, name, model_type=None, heads=4, hidden=64):
    """transformers.js dtype files next to onnx/<name>.onnx, from onnxruntime's own tools."""
    src = f"{folder}/onnx/{name}.onnx"
    if not os.path.exists(src):
        return

    @step(f"{tag} {name} q8 (quantize_dynamic)")
    def q8():
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(src, f"{folder}/onnx/{name}_quantized.onnx", weight_type=QuantType.QUInt8)
        quantize_dynamic(src, f"{folder}/onnx/{name}_int8.onnx", weight_type=QuantType.QInt8)

    @step(f"{tag} {name} q4 (MatMulNBits)")
    def q4():
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        m = onnx.load(src)
        q = MatMulNBitsQuantizer(m, block_size=32, is_symmetric=False)
        q.process()
        q.model.save_model_to_file(f"{folder}/onnx/{name}_q4.onnx", False)

    @step(f"{tag} {name} fp16")
    def fp16():
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        m = onnx.load(src)
        g = m.graph
        keep, halves, casts = [], [], []
        for init in g.initializer:
            if init.data_type != TensorProto.FLOAT or len(init.dims) < 2:
                keep.append(init)
                continue
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16")
            halves.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
        del g.initializer[:]
        g.initializer.extend(keep + halves)
        nodes = list(g.node)
        del g.node[:]
        g.node.extend(casts + nodes)
        onnx.save(m, f"{folder}/onnx/{name}_fp16.onnx")

    @step(f"{tag} {name} ORT transformer optimizer")
    def ortopt():
        from onnxruntime.transformers import optimizer
        opt = optimizer.optimize_model(src, model_type=model_type or "bert", num_heads=heads, hidden_size=hidden,
                                       opt_level=1, use_gpu=False)
        opt.save_model_to_file(f"{folder}/onnx/{name}_ortopt.onnx")
        LOG.append({"step": f"{tag} {name} ortopt ops", "ok": True,
                    "ops": sorted({f"{n.domain}:{n.op_type}" for n in opt.model.graph.node})})

    q8()
    q4()
    fp16()
    if model_type:
        ortopt()


def seeded_inputs(vocab, batch=2, seq=7, image=32):
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[1, -2:] = 0
    pixels = torch.rand(batch, 3, image, image, generator=g) * 2 - 1
    return ids, mask, pixels


def save_reference(folder, inputs, outputs):
    ref = {"inputs": {k: {"dims": list(v.shape), "data": v.flatten().tolist()} for k, v in inputs.items()},
           "outputs": {k: {"dims": list(v.shape), "data": v.detach().flatten().tolist()} for k, v in outputs.items()}}
    with open(f"{folder}/reference.json", "w") as f:
        json.dump(ref, f)


@step("tokenizer: CLIP BPE")
def clip_tokenizer(folder):
    from transformers import CLIPTokenizer, CLIPTokenizerFast
    with tempfile.TemporaryDirectory() as tmp:
        # Byte-level symbols for a-z plus whole words with </w>, and the merges that build them.
        vocab, merges = {}, []
        for ch in "abcdefghijklmnopqrstuvwxyz":
            vocab[ch] = len(vocab)
            vocab[ch + "</w>"] = len(vocab)
        for w in WORDS:
            parts = list(w[:-1]) + [w[-1] + "</w>"]
            while len(parts) > 1:
                pair = (parts[0], parts[1])
                merged = parts[0] + parts[1]
                if " ".join(pair) not in merges:
                    merges.append(" ".join(pair))
                if merged not in vocab:
                    vocab[merged] = len(vocab)
                parts = [merged] + parts[2:]
        for special in ("<|startoftext|>", "<|endoftext|>"):
            vocab[special] = len(vocab)
        json.dump(vocab, open(f"{tmp}/vocab.json", "w"))
        open(f"{tmp}/merges.txt", "w").write("#version: 0.2\n" + "\n".join(merges) + "\n")
        slow = CLIPTokenizer(f"{tmp}/vocab.json", f"{tmp}/merges.txt")
        slow.save_pretrained(tmp)
        fast = CLIPTokenizerFast.from_pretrained(tmp, from_slow=True)
        fast.model_max_length = 77
        fast.save_pretrained(folder)
    return len(vocab)


@step("tokenizer: BERT WordPiece")
def bert_tokenizer(folder):
    from transformers import BertTokenizer, BertTokenizerFast
    with tempfile.TemporaryDirectory() as tmp:
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "[ENC]"] + list("abcdefghijklmnopqrstuvwxyz") + \
            ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"] + WORDS
        open(f"{tmp}/vocab.txt", "w").write("\n".join(vocab) + "\n")
        slow = BertTokenizer(f"{tmp}/vocab.txt", do_lower_case=True)
        slow.save_pretrained(tmp)
        fast = BertTokenizerFast.from_pretrained(tmp, from_slow=True)
        fast.model_max_length = 35
        fast.save_pretrained(folder)
    return len(vocab)


@step("tokenizer: SigLIP SentencePiece")
def siglip_tokenizer(folder):
    import sentencepiece as spm
    from transformers import SiglipTokenizer
    with tempfile.TemporaryDirectory() as tmp:
        corpus = f"{tmp}/corpus.txt"
        with open(corpus, "w") as f:
            for i in range(400):
                f.write(" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6)) + "\n")
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=f"{tmp}/spiece", vocab_size=120, model_type="unigram",
                                       pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
        tok = SiglipTokenizer(f"{tmp}/spiece.model", model_max_length=16)
        tok.save_pretrained(folder)
        try:
            from transformers import AutoTokenizer
            fast = AutoTokenizer.from_pretrained(folder, use_fast=True)
            fast.save_pretrained(folder)
        except Exception as e:  # noqa: BLE001
            LOG.append({"step": "siglip fast tokenizer", "ok": False, "error": repr(e)})
    return 120


def clip_family():
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTextModelWithProjection,
                              CLIPVisionModelWithProjection)
    folder = f"{OUT}/clip-hf"
    os.makedirs(folder, exist_ok=True)
    vocab = clip_tokenizer(folder) or 100
    cfg = CLIPConfig(
        text_config=dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77, eos_token_id=vocab - 1,
                         bos_token_id=vocab - 2, pad_token_id=vocab - 1),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=32)
    torch.manual_seed(0)
    model = CLIPModel(cfg).eval()
    model.save_pretrained(folder, safe_serialization=True)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    text = CLIPTextModelWithProjection.from_pretrained(folder).eval()
    vision = CLIPVisionModelWithProjection.from_pretrained(folder).eval()
    os.remove(f"{folder}/model.safetensors")
    ids, mask, pixels = seeded_inputs(vocab)
    ids[:, -1] = vocab - 1  # CLIP pools at the end-of-text token

    class Full(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, pixel_values, attention_mask):
            o = self.m(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)
            return o.logits_per_image, o.logits_per_text, o.text_embeds, o.image_embeds

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            o = self.m(input_ids=input_ids, attention_mask=attention_mask)
            return o.text_embeds, o.last_hidden_state

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            o = self.m(pixel_values=pixel_values)
            return o.image_embeds, o.last_hidden_state

    seq = {0: "batch_size", 1: "sequence_length"}
    img = {0: "batch_size"}
    both_exporters("clip", Full(model), (ids, pixels, mask), folder, "model",
                   ["input_ids", "pixel_values", "attention_mask"],
                   ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                   {"input_ids": seq, "attention_mask": seq, "pixel_values": {0: "image_batch_size"},
                    "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                    "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                    "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}})
    both_exporters("clip", Text(text), (ids, mask), folder, "text_model", ["input_ids", "attention_mask"],
                   ["text_embeds", "last_hidden_state"],
                   {"input_ids": seq, "attention_mask": seq, "text_embeds": img, "last_hidden_state": seq})
    both_exporters("clip", Vision(vision), (pixels,), folder, "vision_model", ["pixel_values"],
                   ["image_embeds", "last_hidden_state"], {"pixel_values": img, "image_embeds": img, "last_hidden_state": img})
    for name in ("model", "text_model", "vision_model"):
        variants("clip", folder, name, model_type="clip" if name == "text_model" else "vit" if name == "vision_model" else None)
    with torch.no_grad():
        o = model(input_ids=ids, pixel_values=pixels, attention_mask=mask)
    save_reference(folder, {"input_ids": ids, "attention_mask": mask, "pixel_values": pixels},
                   {"logits_per_image": o.logits_per_image, "text_embeds": o.text_embeds, "image_embeds": o.image_embeds})


def siglip_family():
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipTextModel, SiglipVisionModel
    folder = f"{OUT}/siglip-hf"
    os.makedirs(folder, exist_ok=True)
    vocab = siglip_tokenizer(folder) or 120
    cfg = SiglipConfig(
        text_config=dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8))
    torch.manual_seed(1)
    model = SiglipModel(cfg).eval()
    model.save_pretrained(folder, safe_serialization=True)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    text = SiglipTextModel.from_pretrained(folder).eval()
    vision = SiglipVisionModel.from_pretrained(folder).eval()
    os.remove(f"{folder}/model.safetensors")
    ids, _, pixels = seeded_inputs(vocab, seq=16)

    class Full(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, pixel_values):
            o = self.m(input_ids=input_ids, pixel_values=pixel_values)
            return o.logits_per_image, o.logits_per_text, o.text_embeds, o.image_embeds

    class Tower(torch.nn.Module):
        def __init__(self, m, key):
            super().__init__()
            self.m, self.key = m, key

        def forward(self, x):
            o = self.m(**{self.key: x})
            return o.last_hidden_state, o.pooler_output

    seq = {0: "batch_size", 1: "sequence_length"}
    img = {0: "batch_size"}
    both_exporters("siglip", Full(model), (ids, pixels), folder, "model", ["input_ids", "pixel_values"],
                   ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                   {"input_ids": seq, "pixel_values": {0: "image_batch_size"},
                    "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                    "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                    "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}})
    both_exporters("siglip", Tower(text, "input_ids"), (ids,), folder, "text_model", ["input_ids"],
                   ["last_hidden_state", "pooler_output"], {"input_ids": seq, "last_hidden_state": seq, "pooler_output": img})
    both_exporters("siglip", Tower(vision, "pixel_values"), (pixels,), folder, "vision_model", ["pixel_values"],
                   ["last_hidden_state", "pooler_output"], {"pixel_values": img, "last_hidden_state": img, "pooler_output": img})
    for name in ("model", "text_model", "vision_model"):
        variants("siglip", folder, name)
    with torch.no_grad():
        o = model(input_ids=ids, pixel_values=pixels)
    save_reference(folder, {"input_ids": ids, "pixel_values": pixels},
                   {"logits_per_image": o.logits_per_image, "text_embeds": o.text_embeds, "image_embeds": o.image_embeds})


def blip_family():
    from transformers import (BlipConfig, BlipForConditionalGeneration, BlipForImageTextRetrieval,
                              BlipImageProcessor)
    folder = f"{OUT}/blip-hf"
    os.makedirs(folder, exist_ok=True)
    vocab = bert_tokenizer(folder) or 100
    cfg = BlipConfig(
        text_config=dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=35, encoder_hidden_size=64,
                         bos_token_id=5, sep_token_id=3, pad_token_id=0),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=32, image_text_hidden_size=32)
    torch.manual_seed(2)
    itm = BlipForImageTextRetrieval(cfg).eval()
    cap = BlipForConditionalGeneration(cfg).eval()
    cfg.architectures = ["BlipForImageTextRetrieval", "BlipForConditionalGeneration"]
    cfg.save_pretrained(folder)
    BlipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    ids, mask, pixels = seeded_inputs(vocab)
    ids[:, 0] = 2  # [CLS]

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            h = self.m.vision_model(pixel_values=pixel_values).last_hidden_state
            return h, self.m.vision_proj(h[:, 0])

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            h = self.m.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.m.text_proj(h[:, 0]), h

    class ITM(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, encoder_hidden_states):
            enc_mask = torch.ones(encoder_hidden_states.shape[:2], dtype=torch.long)
            h = self.m.text_encoder(input_ids=input_ids, attention_mask=attention_mask,
                                    encoder_hidden_states=encoder_hidden_states,
                                    encoder_attention_mask=enc_mask).last_hidden_state
            return self.m.itm_head(h[:, 0])

    class Decoder(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, encoder_hidden_states):
            return self.m.text_decoder(input_ids=input_ids, attention_mask=attention_mask,
                                       encoder_hidden_states=encoder_hidden_states, use_cache=False).logits

    seq = {0: "batch_size", 1: "sequence_length"}
    img = {0: "batch_size"}
    enc = {0: "batch_size", 1: "encoder_sequence_length"}
    with torch.no_grad():
        tokens, image_embeds = Vision(itm)(pixels)
    both_exporters("blip", Vision(itm), (pixels,), folder, "vision_model", ["pixel_values"],
                   ["last_hidden_state", "image_embeds"], {"pixel_values": img, "last_hidden_state": img, "image_embeds": img})
    both_exporters("blip", Text(itm), (ids, mask), folder, "text_model", ["input_ids", "attention_mask"],
                   ["text_embeds", "last_hidden_state"],
                   {"input_ids": seq, "attention_mask": seq, "text_embeds": img, "last_hidden_state": seq})
    both_exporters("blip", ITM(itm), (ids, mask, tokens), folder, "itm_model",
                   ["input_ids", "attention_mask", "encoder_hidden_states"], ["itm_logits"],
                   {"input_ids": seq, "attention_mask": seq, "encoder_hidden_states": enc, "itm_logits": img})
    dec_ids = ids.clone()
    dec_ids[:, 0] = 5  # [DEC]
    with torch.no_grad():
        cap.vision_model.load_state_dict(itm.vision_model.state_dict())
        cap_tokens = cap.vision_model(pixel_values=pixels).last_hidden_state
    both_exporters("blip", Decoder(cap), (dec_ids, mask, cap_tokens), folder, "decoder_model",
                   ["input_ids", "attention_mask", "encoder_hidden_states"], ["logits"],
                   {"input_ids": seq, "attention_mask": seq, "encoder_hidden_states": enc, "logits": seq})
    for name in ("vision_model", "text_model", "itm_model", "decoder_model"):
        variants("blip", folder, name)
    with torch.no_grad():
        text_embeds, _ = Text(itm)(ids, mask)
        itm_logits = ITM(itm)(ids, mask, tokens)
        logits = Decoder(cap)(dec_ids, mask, cap_tokens)
    save_reference(folder, {"input_ids": ids, "attention_mask": mask, "pixel_values": pixels, "decoder_input_ids": dec_ids},
                   {"image_embeds": image_embeds, "text_embeds": text_embeds, "itm_logits": itm_logits, "logits": logits})


def llama_family():
    from transformers import LlamaConfig, LlamaForCausalLM
    folder = f"{OUT}/llama-hf"
    os.makedirs(folder, exist_ok=True)
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=False)
    torch.manual_seed(3)
    model = LlamaForCausalLM(cfg).eval()
    cfg.save_pretrained(folder)
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(3, 256, (1, 9), generator=g)
    mask = torch.ones_like(ids)
    pos = torch.arange(9).unsqueeze(0)

    class LM(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, position_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          use_cache=False).logits

    seq = {0: "batch_size", 1: "sequence_length"}
    both_exporters("llama", LM(model), (ids, mask, pos), folder, "model",
                   ["input_ids", "attention_mask", "position_ids"], ["logits"],
                   {"input_ids": seq, "attention_mask": seq, "position_ids": seq, "logits": seq})
    variants("llama", folder, "model")
    with torch.no_grad():
        logits = LM(model)(ids, mask, pos)
    save_reference(folder, {"input_ids": ids, "attention_mask": mask, "position_ids": pos}, {"logits": logits})


def main():
    import transformers
    os.makedirs(OUT, exist_ok=True)
    LOG.append({"step": "versions", "ok": True, "torch": torch.__version__, "transformers": transformers.__version__})
    for family in (clip_family, siglip_family, blip_family, llama_family):
        step(family.__name__)(family)()
        with open(f"{OUT}/export-log.json", "w") as f:
            json.dump(LOG, f, indent=1)
    print(f"{sum(e['ok'] for e in LOG)} steps ok, {sum(not e['ok'] for e in LOG)} failed")


if __name__ == "__main__":
    main()
