#!/usr/bin/env python3
"""Python ids vs @huggingface/tokenizers ids for every caption of the eval splits (+ a few odd strings)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tok  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
texts = ["A Large RED circle", "a purple  banana", "a small green triangle.", ""]
for split in ("eval", "eval-comp"):
    texts += [json.loads(l)["caption"] for l in open(os.path.join(HERE, "..", "data", split, "captions.jsonl"))]
cases = [{"text": t, "ids": tok.encode(t)} for t in texts]
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(cases, f)
for d in sys.argv[1:] or ["clip-tiny"]:
    r = subprocess.run(["node", os.path.join(HERE, "check_tokenizer.mjs"), os.path.join(HERE, "..", d), f.name], capture_output=True, text=True)
    print(d, r.stdout.strip().splitlines()[-1] if r.stdout else r.stderr)
os.remove(f.name)
