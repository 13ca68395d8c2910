#!/usr/bin/env python3
"""Exported llava-tiny / blip2-tiny vs torch: greedy tokens with the KV cache (single- and multi-turn, the later
turns prefilled on top of the cache through the merged decoder's cached branch), image features and first-step
logits, on test-split images (seed 91001). Runs the graphs with onnxruntime-node (verify_llava.ts, tests/support/llava-ort.ts).

  python3 models/train/verify_llava.py models/llava-tiny models/train/runs/llava-s2/model.pt [--reference FILE]

--reference also writes the cases (image index, prompts, torch tokens) for the committed vitest check.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import torch  # noqa: E402

import data2  # noqa: E402
import tok2  # noqa: E402
import train_llava  # noqa: E402
import vlm_decode  # noqa: E402

SEED, N_IMAGES = 91001, 6


def flat(t):
    return [round(float(x), 7) for x in t.reshape(-1).tolist()]


@torch.no_grad()
def conversation_case(m, n_img, px, questions):
    """Turn 1 = full prompt; turn k>1 = the unfed last answer token + <|user|> q <|assistant|> on top of the cache."""
    feats = m.image_features(px)
    turns, past, past_len, last = [], None, 0, None
    for k, q in enumerate(questions):
        if k == 0:
            prompt = tok2.chat_ids([(q, None)], n_img)[0]
        else:
            prompt = [last, tok2.USER] + tok2.encode_words(q) + [tok2.ASSISTANT]
        out, past = vlm_decode.greedy(m, feats, [prompt], past=past, past_len=past_len)
        toks = out[0]
        past_len += len(prompt) + len(toks) - 1
        last = toks[-1]
        turns.append({"question": q, "prompt": prompt, "expected_tokens": toks, "answer": vlm_decode.answer_text(toks)})
    return feats, turns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("ckpt")
    ap.add_argument("--reference", default="")
    a = ap.parse_args()
    m, cfg, _ = train_llava.load(a.ckpt)
    n_img = train_llava.n_image_tokens(cfg)
    imgs, scenes, recs = data2.gen_split(SEED, N_IMAGES, "test")
    cases = []
    for i in range(N_IMAGES):
        qa = recs[i]["qa"]
        qs = [q["question"] for q in qa if "history" not in q]
        # image 0: a five-question chat; the others: a describe turn then two questions
        chosen = qs[:5] if i == 0 else [qs[-1], qs[0], qs[len(qs) // 2]]
        px = torch.from_numpy(data2.to_pixels(imgs[i : i + 1]))
        feats, turns = conversation_case(m, n_img, px, chosen)
        c = {"name": f"test_{i}", "image": i, "pixel_values": flat(px), "image_features": flat(feats), "turns": turns}
        if i == 0:
            with torch.no_grad():
                ids = torch.tensor([turns[0]["prompt"]])
                x = m.embed(ids, feats, tok2.IMAGE)
                lg, _ = m.lm(x, torch.ones_like(ids), torch.arange(ids.shape[1])[None])
            c["first_logits"] = flat(lg)
        cases.append(c)
    spec = {"max_new": vlm_decode.MAX_NEW, "cases": cases}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    r = subprocess.run(["npx", "tsx", os.path.join(common.HERE, "verify_llava.ts"), a.folder, f.name],
                       capture_output=True, text=True)
    os.remove(f.name)
    if r.returncode:
        raise SystemExit(r.stderr)
    rep = json.loads(r.stdout)
    for c, rc in zip(cases, rep["cases"]):
        for t, rt in zip(c["turns"], rc["turns"]):
            rt["question"], rt["answer"] = t["question"], t["answer"]
    print(json.dumps(rep, indent=1))
    if a.reference:
        # the images travel as zlib-deflated 64x64x3 RGB bytes, base64 (the test preprocesses them itself)
        ref = {"model": os.path.basename(os.path.normpath(a.folder)), "split": "test", "seed": SEED,
               "max_new": vlm_decode.MAX_NEW,
               "cases": [{"image": c["image"], "rgb_zlib_base64": base64.b64encode(zlib.compress(imgs[c["image"]].tobytes(), 9)).decode(),
                          "turns": [{"question": t["question"], "prompt": t["prompt"], "expected_tokens": t["expected_tokens"],
                                     "answer": t["answer"]} for t in c["turns"]]} for c in cases]}
        with open(a.reference, "w") as f:
            json.dump(ref, f, indent=1)
    return rep


if __name__ == "__main__":
    main()
