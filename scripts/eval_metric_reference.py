"""Reference values for eval/metrics.ts from models/train/evaluate.py's own bleu4 / cider_d (tests/eval fixture).
  /usr/bin/python3 scripts/eval_metric_reference.py > tests/eval/metrics-reference.json"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "models" / "train"))
import evaluate  # noqa: E402

CASES = [
    (["a large red circle", "a small blue square left of a large green star"],
     ["a large red circle", "a small blue square left of a large green star"]),
    (["a large red circle", "a small blue square"], ["a large red square", "a small blue square above a red star"]),
    (["a small green triangle below a large orange cross", "a large purple diamond", "a small red star"],
     ["a small green triangle above a large orange cross", "a large purple diamond", "a large red star"]),
    (["a red", "circle"], ["a large red circle", "a small blue square"]),
]
print(json.dumps([{"hyps": h, "refs": r, "bleu4": evaluate.bleu4(h, r), "cider_d": evaluate.cider_d(h, r)}
                  for h, r in CASES], indent=1))
