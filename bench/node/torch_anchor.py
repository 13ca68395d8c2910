#!/usr/bin/env python3
"""PyTorch on CUDA, the physical-limit anchor of the Node benchmark: the same rows, by the same ids, on the same GPU.

  node dist/bench-node/bench.mjs --print-suite suite.json      # the rows the Node bench runs
  python3 bench/node/torch_anchor.py suite.json anchor.json     # needs torch with CUDA
  node dist/bench-node/bench.mjs --anchor anchor.json          # merged as the 'torch-cuda' engine

Model rows (the base-size architectures of bench/models/export_skeletons.py, random weights) are timed end to end
as the Node bench times them: inputs from host memory, every output read back. fp32 rows run with TF32 off, so
they do the arithmetic our f32 kernels do. Kernel rows are GPU time per call (CUDA events over many calls), in
fp32 and fp16.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import export_skeletons as skel  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
# ANCHOR_DEVICE=cpu runs the same code without a GPU (a smoke test of this script, not a figure to report).
DEV = os.environ.get("ANCHOR_DEVICE", "cuda")


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def sdpa(q, k, v, is_causal):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    a = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
    if is_causal:
        a = a.masked_fill(torch.ones_like(a, dtype=torch.bool).triu(1), float("-inf"))
    return a.softmax(-1) @ v


def summary(times):
    s = sorted(times)
    return statistics.median(s), s[min(len(s) - 1, max(0, int(0.9 * len(s) + 0.5) - 1))]


def row(id_, times, warmup, **extra):
    median, p90 = summary(times)
    return dict(id=id_, engine="torch-cuda", warmupMs=warmup, medianMs=median, p90Ms=p90, repeats=len(times), **extra)


def wall(fn, repeats):
    t0 = time.perf_counter()
    fn()
    sync()
    warmup = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    return times, warmup


def gpu_time(fn, target_ms=40.0, batches=5):
    """GPU ms per call: CUDA events around a batch of calls sized to run about target_ms."""
    if DEV != "cuda":
        return wall(fn, batches)
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    once = max(start.elapsed_time(end), 1e-3)
    n = max(1, min(1000, round(target_ms / once)))
    times = []
    for _ in range(batches):
        start.record()
        for _ in range(n):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / n)
    return times, once


def feed(spec):
    g = torch.Generator().manual_seed(1234)
    if spec.get("fill") is not None:
        return torch.full(spec["dims"], spec["fill"], dtype=torch.int64 if spec["dtype"] == "int64" else torch.float32)
    if spec["dtype"] == "int64":
        return torch.randint(spec.get("low", 0), spec.get("high", 2), spec["dims"], generator=g)
    return torch.rand(spec["dims"], generator=g) * 2 - 1


def init_like_skeleton(module):
    """The skeleton's fill rules: LayerNorm scale 1, biases 0, other weights uniform with std 0.02."""
    a = 0.02 * 3 ** 0.5
    with torch.no_grad():
        for name, p in module.named_parameters():
            low = name.lower()
            if p.dim() == 1 and ("ln" in low or "norm" in low) and low.endswith("weight"):
                p.fill_(1)
            elif p.dim() == 1 and low.endswith("bias"):
                p.zero_()
            else:
                p.uniform_(-a, a)
    return module


def skeleton_of(url):
    """('vit-b16', config) for '/bench/models/vit-b16-tiny.skeleton.onnx'; None for other models."""
    name = os.path.basename(url)
    if not name.endswith(".skeleton.onnx"):
        return None
    name = name[: -len(".skeleton.onnx")]
    size = "tiny" if name.endswith("-tiny") else "base"
    return name.removesuffix("-tiny"), skel.SIZES[size]


def model_rows(suite, repeats):
    out = []
    for r in suite["graphRows"]:
        arch, c = skeleton_of(r["model"]) or (None, None)
        if arch == "vit-b16":
            m = skel.ViT(c)
        elif arch == "itm-base":
            m = skel.ITM(c)
        else:
            continue
        m = init_like_skeleton(m).to(DEV).eval()
        host = [feed(f) for f in r["feeds"]]

        def run():
            with torch.inference_mode():
                res = m(*[t.to(DEV, non_blocking=False) for t in host])
                for t in res if isinstance(res, tuple) else (res,):
                    t.cpu()

        times, warmup = wall(run, repeats)
        out.append(row(r["id"], times, warmup))
        print(f"{r['id']}: {out[-1]['medianMs']:.3f} ms", flush=True)
        del m
        if DEV == "cuda":
            torch.cuda.empty_cache()
    return out


def decode_rows(suite, repeats):
    out = []
    for r in suite["decodeRows"]:
        m = init_like_skeleton(skel.DecPast(skeleton_of(r["model"])[1])).to(DEV).eval()
        g = torch.Generator().manual_seed(77)
        enc = torch.rand(1, r["encoderTokens"], r["encoderDim"], generator=g) * 2 - 1
        past0 = [torch.rand(1, r["heads"], r["pastLength"], r["headDim"], generator=g) * 2 - 1 for _ in range(2 * r["layers"])]
        tokens = torch.randint(5, r["vocab"], (r["tokens"],), generator=g)

        def once():
            steps = []
            past = [p.to(DEV) for p in past0]
            with torch.inference_mode():
                for t in range(r["tokens"]):
                    t0 = time.perf_counter()
                    res = m(tokens[t:t + 1].view(1, 1).to(DEV), enc.to(DEV), *past)
                    int(res[0].cpu().argmax())
                    steps.append((time.perf_counter() - t0) * 1e3)
                    past = list(res[1:])
            return steps

        w0 = time.perf_counter()
        once()
        warmup = (time.perf_counter() - w0) * 1e3
        runs = [once() for _ in range(repeats)]
        per_token = [statistics.median(run[t] for run in runs) for t in range(r["tokens"])]
        out.append(row(r["id"], [sum(run) for run in runs], warmup, perTokenMs=per_token))
        print(f"{r['id']}: {out[-1]['medianMs']:.3f} ms", flush=True)
        del m
        if DEV == "cuda":
            torch.cuda.empty_cache()
    return out


def index_rows(suite, repeats):
    out = []
    for r in suite["indexRows"]:
        g = torch.Generator().manual_seed(99)
        mat = F.normalize(torch.rand(r["rows"], r["dim"], generator=g) * 2 - 1, dim=1).to(DEV)
        queries = [F.normalize(torch.rand(r["dim"], generator=g) * 2 - 1, dim=0) for _ in range(repeats + 1)]
        i = [0]

        def run():
            q = queries[i[0] % len(queries)].to(DEV)
            i[0] += 1
            torch.topk(mat @ q, r["k"]).indices.cpu()

        times, warmup = wall(run, repeats)
        out.append(row(r["id"], times, warmup, bytesMoved=r["rows"] * r["dim"] * 4))
        print(f"{r['id']}: {out[-1]['medianMs']:.3f} ms", flush=True)
        del mat
    return out


# Half precision only where it runs fast: on CUDA (CPU half matmul is emulated).
DTYPES = ((torch.float32, "fp32"), (torch.float16, "fp16")) if DEV == "cuda" else ((torch.float32, "fp32"),)


def kernel_rows(suite):
    out = []
    k = suite["kernels"]
    n = k["copyBytes"] // 4
    src, dst = torch.empty(n, device=DEV), torch.empty(n, device=DEV)
    times, warm = gpu_time(lambda: dst.copy_(src))
    out.append(row(f"copy {k['copyBytes'] >> 20} MiB", times, warm, variant="fp32", bytesMoved=2 * k["copyBytes"]))
    del src, dst
    for s in k["matmuls"]:
        for dtype, variant in DTYPES:
            a = torch.rand(s["m"], s["k"], device=DEV, dtype=dtype)
            b = torch.rand(s["k"], s["n"], device=DEV, dtype=dtype)
            times, warm = gpu_time(lambda: a @ b)
            out.append(row(s["id"], times, warm, variant=variant, flops=2 * s["m"] * s["n"] * s["k"]))
    for s in k["attentions"]:
        for dtype, variant in DTYPES:
            q = torch.rand(1, s["heads"], s["queries"], s["headDim"], device=DEV, dtype=dtype)
            kk = torch.rand(1, s["heads"], s["keys"], s["headDim"], device=DEV, dtype=dtype)
            v = torch.rand_like(kk)
            # One query attends every cached key; a square causal call masks the upper triangle.
            causal = s["causal"] and s["queries"] == s["keys"]
            times, warm = gpu_time(lambda: sdpa(q, kk, v, causal))
            pairs = s["queries"] * s["keys"]
            out.append(row(s["id"], times, warm, variant=variant, flops=4 * s["heads"] * s["headDim"] * pairs))
    for r in out:
        print(f"{r['id']} {r['variant']}: {r['medianMs']:.4f} ms", flush=True)
    return out


def main():
    suite_path, out_path = sys.argv[1], sys.argv[2]
    repeats = int(os.environ.get("ANCHOR_REPEATS", "10"))
    with open(suite_path) as f:
        suite = json.load(f)
    results = []
    for part in (kernel_rows, lambda s: index_rows(s, repeats), lambda s: model_rows(s, repeats),
                 lambda s: decode_rows(s, min(repeats, 5))):
        try:
            results += part(suite)
        except Exception as e:  # one failing part must not lose the others
            print(f"anchor part failed: {e!r}", flush=True)
    device = torch.cuda.get_device_name() if DEV == "cuda" else "cpu"
    info = dict(device=device, torch=torch.__version__, cuda=torch.version.cuda, results=results)
    with open(out_path, "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote {out_path}: {len(results)} rows")


if __name__ == "__main__":
    main()
