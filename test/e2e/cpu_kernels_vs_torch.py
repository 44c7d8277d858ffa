#!/usr/bin/env python3
"""The CPU backend's fused kernels against PyTorch and Hugging Face's Llama code.

For each case, random fp32 inputs go to cpu_kernel_driver (the kernel table
of runtime/cpu, on raw files) and to the reference:
  rms_norm        transformers' LlamaRMSNorm
  rope            transformers' LlamaRotaryEmbedding tables + apply_rotary_pos_emb
  attention       torch scaled_dot_product_attention with repeat_kv (GQA, as
                  HF's sdpa path) and an explicit causal mask aligned so that
                  query t sees keys s <= t + (S - T)
  cross_entropy   torch.nn.functional.cross_entropy (mean)
  swiglu          silu(gate) * up
  embedding       torch.nn.functional.embedding
and each *_grad kernel against torch.autograd of the same expression with a
random output gradient. The error is max|ours - torch| / max|torch| per
output tensor and must be <= 1e-5 (fp32). The distance of both to a float64
evaluation of the same torch code is printed for information.

Run by ctest as cpu_kernels_vs_torch; standalone:
  python cpu_kernels_vs_torch.py --driver build/bin/cpu_kernel_driver
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import (
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
    repeat_kv,
)

TOLERANCE = 1e-5
DTYPE_NAMES = {np.float32: "f32", np.int32: "i32", np.int64: "i64"}


class Driver:
    def __init__(self, path, threads, workdir):
        self.path, self.threads, self.workdir = path, threads, workdir
        self.count = 0

    def run(self, op, inputs, outputs, attrs=None):
        """inputs: numpy arrays; outputs: shapes (f32); attrs: name -> value."""
        args = [self.path, op, "--threads", str(self.threads)]
        for name, value in (attrs or {}).items():
            if isinstance(value, bool):
                kind = f"b:{int(value)}"
            elif isinstance(value, int):
                kind = f"i:{value}"
            else:
                kind = f"f:{value!r}"
            args += ["--attr", f"{name}={kind}"]

        def spec(dtype, shape, path):
            dims = "x".join(str(d) for d in shape) if len(shape) else "scalar"
            return f"{DTYPE_NAMES[dtype]}:{dims}:{path}"

        for array in inputs:
            self.count += 1
            path = os.path.join(self.workdir, f"in{self.count}.bin")
            array = np.require(array, requirements="C")  # keeps rank 0
            array.tofile(path)
            args += ["--in", spec(array.dtype.type, array.shape, path)]
        out_paths = []
        for shape in outputs:
            self.count += 1
            path = os.path.join(self.workdir, f"out{self.count}.bin")
            out_paths.append((path, shape))
            args += ["--out", spec(np.float32, shape, path)]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{op}: driver failed: {result.stderr.strip()}")
        return [np.fromfile(p, dtype=np.float32).reshape(s) for p, s in out_paths]


def rel_error(ours, ref):
    ref = np.asarray(ref, dtype=np.float64)
    ours = np.asarray(ours, dtype=np.float64)
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(ours - ref))) / scale


class Report:
    def __init__(self):
        self.failures = 0

    def check(self, case, name, ours, torch32, torch64):
        err = rel_error(ours, torch32)
        ours64, t64 = rel_error(ours, torch64), rel_error(torch32, torch64)
        ok = err <= TOLERANCE
        self.failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {case:<44} {name:<12} vs torch {err:.2e}"
              f"   (vs float64: ours {ours64:.2e}, torch {t64:.2e})")


def both_precisions(fn, *arrays):
    """fn on float32 tensors and on float64 copies (requires_grad on all)."""
    results = []
    for dtype in (torch.float32, torch.float64):
        tensors = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        results.append((tensors, fn(*tensors)))
    return results


def grads_of(result, dy):
    """Runs backward with output gradient dy; returns the inputs' gradients."""
    tensors, out = result
    out.backward(torch.tensor(dy, dtype=out.dtype))
    return [t.grad.numpy() for t in tensors]


def check_rms_norm(drv, rep, rng):
    x = rng.standard_normal((3, 37, 96)).astype(np.float32) * 2
    w = (rng.random(96) + 0.5).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    eps = 1e-5

    def fn(xt, wt):
        if xt.dtype == torch.float64:  # LlamaRMSNorm always computes in fp32
            return wt * (xt * torch.rsqrt(xt.pow(2).mean(-1, keepdim=True) + eps))
        norm = LlamaRMSNorm(96, eps=eps)
        return torch.func.functional_call(norm, {"weight": wt}, (xt,))

    (y,) = drv.run("rms_norm", [x, w], [x.shape], {"eps": eps})
    dx, dw = drv.run("rms_norm_grad", [x, w, dy], [x.shape, w.shape], {"eps": eps})
    r32, r64 = both_precisions(fn, x, w)
    rep.check("rms_norm [3,37,96]", "y", y, r32[1].detach(), r64[1].detach())
    g32, g64 = grads_of(r32, dy), grads_of(r64, dy)
    rep.check("rms_norm_grad", "dx", dx, g32[0], g64[0])
    rep.check("rms_norm_grad", "dweight", dw, g32[1], g64[1])


def check_rope(drv, rep, rng):
    B, H, T, D = 2, 4, 37, 16
    config = LlamaConfig(hidden_size=H * D, num_attention_heads=H, rope_theta=10000.0,
                         max_position_embeddings=64)
    x = rng.standard_normal((B, H, T, D)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    rotary = LlamaRotaryEmbedding(config)
    cos, sin = rotary(torch.tensor(x), torch.arange(T)[None])
    cos, sin = cos[0].numpy(), sin[0].numpy()  # [T, D]

    def fn(xt):
        c, s = torch.tensor(cos, dtype=xt.dtype)[None], torch.tensor(sin, dtype=xt.dtype)[None]
        return apply_rotary_pos_emb(xt, xt, c, s)[0]

    (y,) = drv.run("rope", [x, cos, sin], [x.shape])
    (dx,) = drv.run("rope_grad", [dy, cos, sin], [x.shape])
    r32, r64 = both_precisions(fn, x)
    rep.check("rope [2,4,37,16] (HF tables)", "y", y, r32[1].detach(), r64[1].detach())
    rep.check("rope_grad", "dx", dx, grads_of(r32, dy)[0], grads_of(r64, dy)[0])


def check_attention(drv, rep, rng, B, Hq, Hkv, T, S, D, Dv, causal, scale):
    q = rng.standard_normal((B, Hq, T, D)).astype(np.float32)
    k = rng.standard_normal((B, Hkv, S, D)).astype(np.float32)
    v = rng.standard_normal((B, Hkv, S, Dv)).astype(np.float32)
    dout = rng.standard_normal((B, Hq, T, Dv)).astype(np.float32)
    attrs = {"causal": causal}
    if scale is not None:
        attrs["scale"] = scale
    mask = None
    if causal:
        mask = torch.tensor(np.arange(S)[None, :] <= np.arange(T)[:, None] + (S - T))

    def fn(qt, kt, vt):
        groups = Hq // Hkv
        return F.scaled_dot_product_attention(qt, repeat_kv(kt, groups), repeat_kv(vt, groups),
                                              attn_mask=mask, scale=scale)

    (out,) = drv.run("attention", [q, k, v], [dout.shape], attrs)
    dq, dk, dv = drv.run("attention_grad", [q, k, v, dout], [q.shape, k.shape, v.shape], attrs)
    r32, r64 = both_precisions(fn, q, k, v)
    case = (f"attention B{B} Hq{Hq} Hkv{Hkv} T{T} S{S} D{D}"
            f"{' causal' if causal else ''}{f' scale {scale}' if scale else ''}")
    rep.check(case, "out", out, r32[1].detach(), r64[1].detach())
    g32, g64 = grads_of(r32, dout), grads_of(r64, dout)
    for name, ours, a, b in zip(("dq", "dk", "dv"), (dq, dk, dv), g32, g64):
        rep.check("attention_grad", name, ours, a, b)


def check_cross_entropy(drv, rep, rng):
    N, V = 2 * 37, 300
    logits = (rng.standard_normal((2, 37, V)) * 3).astype(np.float32)
    targets = rng.integers(0, V, size=(2, 37)).astype(np.int64)
    dloss = np.array(0.5, dtype=np.float32)

    def fn(lt):
        return F.cross_entropy(lt.reshape(N, V), torch.tensor(targets.reshape(N)))

    (loss,) = drv.run("cross_entropy", [logits, targets], [()])
    (dlogits,) = drv.run("cross_entropy_grad", [logits, targets.astype(np.int32), dloss],
                         [logits.shape])
    r32, r64 = both_precisions(fn, logits)
    rep.check("cross_entropy [2,37,300]", "loss", loss, r32[1].detach(), r64[1].detach())
    rep.check("cross_entropy_grad dloss 0.5", "dlogits", dlogits, grads_of(r32, dloss)[0],
              grads_of(r64, dloss)[0])


def check_swiglu(drv, rep, rng):
    gate = (rng.standard_normal((2, 37, 172)) * 3).astype(np.float32)
    up = rng.standard_normal(gate.shape).astype(np.float32)
    dy = rng.standard_normal(gate.shape).astype(np.float32)
    (y,) = drv.run("swiglu", [gate, up], [gate.shape])
    dg, du = drv.run("swiglu_grad", [gate, up, dy], [gate.shape, gate.shape])
    r32, r64 = both_precisions(lambda g, u: F.silu(g) * u, gate, up)
    rep.check("swiglu [2,37,172]", "y", y, r32[1].detach(), r64[1].detach())
    g32, g64 = grads_of(r32, dy), grads_of(r64, dy)
    rep.check("swiglu_grad", "dgate", dg, g32[0], g64[0])
    rep.check("swiglu_grad", "dup", du, g32[1], g64[1])


def check_embedding(drv, rep, rng):
    V, C = 50, 24
    table = rng.standard_normal((V, C)).astype(np.float32)
    ids = rng.integers(0, V, size=(3, 41)).astype(np.int32)  # repeats on purpose
    dy = rng.standard_normal((3, 41, C)).astype(np.float32)
    (y,) = drv.run("embedding", [table, ids], [dy.shape])
    (dt,) = drv.run("embedding_grad", [ids, dy], [table.shape], {"vocab_size": V})
    r32, r64 = both_precisions(lambda t: F.embedding(torch.tensor(ids, dtype=torch.long), t),
                               table)
    rep.check("embedding [50,24] ids [3,41]", "y", y, r32[1].detach(), r64[1].detach())
    rep.check("embedding_grad", "dtable", dt, grads_of(r32, dy)[0], grads_of(r64, dy)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(1234)
    rep = Report()
    with tempfile.TemporaryDirectory() as workdir:
        drv = Driver(args.driver, args.threads, workdir)
        check_rms_norm(drv, rep, rng)
        check_rope(drv, rep, rng)
        # GQA with T == S and with T < S (causal, bottom-right aligned),
        # non-causal with an explicit scale, and more than two query blocks.
        check_attention(drv, rep, rng, 2, 8, 2, 37, 37, 16, 16, True, None)
        check_attention(drv, rep, rng, 2, 6, 3, 20, 45, 16, 12, True, None)
        check_attention(drv, rep, rng, 1, 4, 1, 23, 31, 8, 8, False, 0.3)
        check_attention(drv, rep, rng, 1, 4, 2, 150, 150, 32, 32, True, None)
        check_cross_entropy(drv, rep, rng)
        check_swiglu(drv, rep, rng)
        check_embedding(drv, rep, rng)
    if rep.failures:
        print(f"{rep.failures} comparison(s) above {TOLERANCE:g}", file=sys.stderr)
        return 1
    print(f"all within {TOLERANCE:g} of torch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
