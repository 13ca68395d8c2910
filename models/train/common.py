"""Shared training helpers: threads, ITC loss with duplicate-caption-aware targets, schedules, checkpoints."""
from __future__ import annotations

import json
import math
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "2")))

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")

CFG = {
    "vocab": 0,  # filled from tok
    "v_dim": 128, "v_layers": 4, "v_mlp": 256,
    "t_dim": 128, "t_layers": 3, "t_mlp": 256,
    "heads": 4, "proj": 128, "max_len": 32,
    "f_layers": 2, "d_layers": 3,
}


def same_text(a: list[str], b: list[str]) -> torch.Tensor:
    return torch.tensor([[x == y for y in b] for x in a], dtype=torch.float32)


def soft_ce(logits: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a uniform distribution over all positives (identical captions count as positives)."""
    t = pos / pos.sum(1, keepdim=True)
    return -(t * F.log_softmax(logits, 1)).sum(1).mean()


def itc_loss(img, txt, neg, caps, negs, scale):
    """img/txt/neg: normalized [B,D]. i2t over [true captions + swapped captions], t2i over images."""
    bank = torch.cat([txt, neg], 0)
    pos_i2t = same_text(caps, caps + negs)
    li2t = soft_ce(scale * img @ bank.t(), pos_i2t)
    lt2i = soft_ce(scale * txt @ img.t(), same_text(caps, caps))
    return (li2t + lt2i) / 2


def lr_at(frac: float, base: float, warm: float = 0.05) -> float:
    if frac < warm:
        return base * frac / warm
    p = min(1.0, (frac - warm) / (1 - warm))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))


class CpuClock:
    """Progress by process CPU time (all threads), so a run's compute does not depend on what else runs."""

    def __init__(self, minutes: float, start: float = 0.0, end: float = 1.0):
        self.t0 = time.process_time()
        self.w0 = time.time()
        self.budget = minutes * 60
        self.start, self.end = start, end

    def frac(self) -> float:
        return min(1.0, (time.process_time() - self.t0) / self.budget)

    def cpu(self) -> float:
        return time.process_time() - self.t0

    def wall(self) -> float:
        return time.time() - self.w0

    elapsed = wall  # Clock's name for it


class Clock:
    """Time-based progress so a run fits a wall-clock budget."""

    def __init__(self, minutes: float):
        self.t0 = time.time()
        self.budget = minutes * 60

    def frac(self) -> float:
        return min(1.0, (time.time() - self.t0) / self.budget)

    def elapsed(self) -> float:
        return time.time() - self.t0


def save(model, cfg, path, meta):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"state": model.state_dict(), "cfg": cfg, "meta": meta}, path + ".tmp")
    os.replace(path + ".tmp", path)
    with open(path + ".json", "w") as f:
        json.dump(meta, f, indent=2)
