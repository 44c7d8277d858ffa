#!/usr/bin/env python3
"""`offrt bench kernels` beside PyTorch eager on the same shapes, same threads.

Runs `offrt bench kernels --json` and the same ops in torch (fp32, CPU,
torch.set_num_threads(threads)), alternately for --rounds rounds; prints the
best ms per call of each and torch/ours (> 1: ours is faster). Backward ops are timed as torch.autograd.grad of the
forward expression (what a torch training step pays), forward ops without
autograd. Usage:
  python bench/kernels_compare.py --offrt build/bin/offrt [--model tiny|1b]
      [--batch 8] [--seq 256] [--threads 2] [--rounds 3]
"""

import argparse
import json
import subprocess
import time

import torch
import torch.nn.functional as F

MODELS = {"tiny": (64, 172, 4, 2, 256), "1b": (2048, 8192, 32, 8, 128256)}


def timed(fn, min_time=0.2):
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls * 1e3


def torch_cases(model, B, T):
    C, I, H, Hkv, V = MODELS[model]
    D, N = C // H, B * T
    r = lambda *s: torch.randn(*s)

    def with_grad(fn, *shapes, out_grad=True):
        xs = [r(*s).requires_grad_() for s in shapes]
        y = fn(*xs)
        dy = torch.randn_like(y) if out_grad else None
        return lambda: torch.autograd.grad(fn(*xs), xs, dy)

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

    cos, sin = r(T, D), r(T, D)

    def rope(x):
        half = torch.cat((-x[..., D // 2:], x[..., : D // 2]), dim=-1)
        return x * cos + half * sin

    g = H // Hkv

    def attn(q, k, v):
        return F.scaled_dot_product_attention(q, k.repeat_interleave(g, 1),
                                              v.repeat_interleave(g, 1), is_causal=True)

    ids = torch.randint(0, V, (N,))
    table = r(V, C)
    logits = r(N, V)
    x, w = r(N, C), r(C)
    q, k, v = r(B, H, T, D), r(B, Hkv, T, D), r(B, Hkv, T, D)
    gate, up = r(N, I), r(N, I)
    wqkv, wup, wdown, whead = r((H + 2 * Hkv) * D, C), r(I, C), r(C, I), r(V, C)
    xi = r(N, I)
    return {
        "rms_norm": lambda: rms(x, w),
        "rms_norm_grad": with_grad(rms, (N, C), (C,)),
        "rope": lambda: rope(q),
        "rope_grad": with_grad(rope, (B, H, T, D)),
        "attention": lambda: attn(q, k, v),
        "attention_grad": with_grad(attn, (B, H, T, D), (B, Hkv, T, D), (B, Hkv, T, D)),
        "swiglu": lambda: F.silu(gate) * up,
        "swiglu_grad": with_grad(lambda a, b: F.silu(a) * b, (N, I), (N, I)),
        "cross_entropy": lambda: F.cross_entropy(logits, ids),
        "cross_entropy_grad": with_grad(lambda l: F.cross_entropy(l, ids), (N, V)),
        "embedding": lambda: F.embedding(ids, table),
        "embedding_grad": with_grad(lambda t: F.embedding(ids, t), (V, C)),
        "matmul_qkv": lambda: x @ wqkv.T,
        "matmul_up": lambda: x @ wup.T,
        "matmul_down": lambda: xi @ wdown.T,
        "matmul_lm_head": lambda: x @ whead.T,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--offrt", required=True)
    p.add_argument("--model", default="tiny", choices=sorted(MODELS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cases = torch_cases(a.model, a.batch, a.seq)
    # Best of --rounds for both, rounds alternating between offrt and torch:
    # on a shared machine the slow rounds measure the neighbours.
    ours, theirs = {}, {}
    for _ in range(a.rounds):
        out = subprocess.run([a.offrt, "bench", "kernels", "--json", "--model", a.model,
                              "--batch", str(a.batch), "--seq", str(a.seq), "--threads",
                              str(a.threads)], check=True, capture_output=True, text=True).stdout
        for j in map(json.loads, out.splitlines()):
            ours[j["kernel"]] = min(ours.get(j["kernel"], 1e30), j["ms"])
        for name, fn in cases.items():
            theirs[name] = min(theirs.get(name, 1e30), timed(fn))
    print(f"model {a.model}, batch {a.batch}, seq {a.seq}, {a.threads} threads, "
          f"torch {torch.__version__}")
    print(f"{'kernel':<20} {'ours ms':>10} {'torch ms':>10} {'torch/ours':>11}")
    for name in cases:
        t = theirs[name]
        print(f"{name:<20} {ours[name]:>10.3f} {t:>10.3f} {t / ours[name]:>11.2f}")


if __name__ == "__main__":
    main()
