#!/usr/bin/env python3
"""Our CPU AdamW (runtime/optim) against torch.optim.AdamW, several steps.

For each case: random fp32 params and state of an odd size, K random
gradients (fp32, or bf16 as the kernel reads them), weight decay on or off.
torch runs K optimizer.step() calls (default single-tensor CPU path); our
kernel runs the same K steps through adamw_file_driver on raw files, on every
kernel (ISA) this CPU has, with several thread counts and tilings. The fp32
results (param, exp_avg, exp_avg_sq) must agree with torch's to 1e-6
relative; the bf16/fp32 copy of the param must be the param rounded.

Relative error is |ours - torch| / max(|torch|, lr * steps): a weight that
sits nearer to zero than the distance K steps can move it is measured against
that distance. Why a floor: torch 2.15's CPU float sqrt is not correctly
rounded (measured: about 1 element in 5 is 1 ulp off), so the update of a weight near
zero carries torch's last-bit difference, which alone can be 1e-4 of such a
weight's value. m and v do not involve the sqrt and match torch's bit for bit
here. The unfloored error and each side's distance to a float64 evaluation
are printed for information. Run by ctest as
adamw_vs_torch; standalone: python adam_vs_torch.py --driver PATH.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

TOLERANCE = 1e-6


def relative_error(ours, ref, floor=1e-30):
    ours = ours.astype(np.float64)
    ref = ref.astype(np.float64)
    return float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), floor)))


def float64_adamw(param, exp_avg, exp_avg_sq, grads, h):
    """AdamW's textbook recurrence in float64: the yardstick both fp32
    implementations are measured against (informational)."""
    p, m, v = (a.astype(np.float64) for a in (param, exp_avg, exp_avg_sq))
    for step, g in enumerate(grads, start=1):
        g = g.numpy().astype(np.float64)
        p = p * (1 - h["lr"] * h["wd"])
        m = m + (1 - h["beta1"]) * (g - m)
        v = h["beta2"] * v + (1 - h["beta2"]) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - h["beta2"] ** step) + h["eps"]
        p = p - h["lr"] / (1 - h["beta1"] ** step) * m / denom
    return p


def torch_adamw(param, exp_avg, exp_avg_sq, grads, hyper, zero_state):
    p = torch.nn.Parameter(torch.from_numpy(param.copy()))
    opt = torch.optim.AdamW([p], lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                            eps=hyper["eps"], weight_decay=hyper["wd"], foreach=False)
    if not zero_state:
        # Start from a mid-training state: torch keeps its own state only if
        # it is present before the first step.
        opt.state[p] = {"step": torch.tensor(0.0),
                        "exp_avg": torch.from_numpy(exp_avg.copy()),
                        "exp_avg_sq": torch.from_numpy(exp_avg_sq.copy())}
    for g in grads:
        p.grad = g.clone()
        opt.step()
    st = opt.state[p]
    return p.detach().numpy(), st["exp_avg"].numpy(), st["exp_avg_sq"].numpy()


def run_case(driver, isa, case, rng, workdir):
    n, steps = case["n"], case["steps"]
    param = rng.standard_normal(n).astype(np.float32)
    if case["zero_state"]:
        exp_avg = np.zeros(n, np.float32)
        exp_avg_sq = np.zeros(n, np.float32)
    else:
        exp_avg = (0.1 * rng.standard_normal(n)).astype(np.float32)
        exp_avg_sq = (0.01 * np.abs(rng.standard_normal(n))).astype(np.float32)
    grads = [torch.from_numpy(rng.standard_normal(n).astype(np.float32)) for _ in range(steps)]
    if case["grad"] == "bf16":
        grads_bf16 = [g.to(torch.bfloat16) for g in grads]
        grad_bytes = b"".join(g.view(torch.int16).numpy().tobytes() for g in grads_bf16)
        grads = [g.float() for g in grads_bf16]  # what the kernel sees, exactly
    else:
        grad_bytes = b"".join(g.numpy().tobytes() for g in grads)

    param.tofile(os.path.join(workdir, "param.bin"))
    exp_avg.tofile(os.path.join(workdir, "exp_avg.bin"))
    exp_avg_sq.tofile(os.path.join(workdir, "exp_avg_sq.bin"))
    with open(os.path.join(workdir, "grad.bin"), "wb") as f:
        f.write(grad_bytes)

    h = case["hyper"]
    cmd = [driver, workdir, f"count={n}", f"steps={steps}", f"lr={h['lr']!r}",
           f"beta1={h['beta1']!r}", f"beta2={h['beta2']!r}", f"eps={h['eps']!r}",
           f"wd={h['wd']!r}", f"grad={case['grad']}", f"out={case['out']}", f"isa={isa}",
           f"threads={case['threads']}", f"tile={case['tile']}"]
    subprocess.run(cmd, check=True)

    ours_p = np.fromfile(os.path.join(workdir, "param.out"), np.float32)
    ours_m = np.fromfile(os.path.join(workdir, "exp_avg.out"), np.float32)
    ours_v = np.fromfile(os.path.join(workdir, "exp_avg_sq.out"), np.float32)
    ref_p, ref_m, ref_v = torch_adamw(param, exp_avg, exp_avg_sq, grads, h, case["zero_state"])

    floor = h["lr"] * steps
    errors = {"param": relative_error(ours_p, ref_p, floor),
              "exp_avg": relative_error(ours_m, ref_m),
              "exp_avg_sq": relative_error(ours_v, ref_v)}
    failures = [f"{k} rel err {v:.3g} > {TOLERANCE}" for k, v in errors.items() if v > TOLERANCE]
    # Informational: the unfloored error, and each side's distance to float64.
    exact = float64_adamw(param, exp_avg, exp_avg_sq, grads, h)
    errors["param_unfloored"] = relative_error(ours_p, ref_p)
    errors["ours_vs_f64"] = relative_error(ours_p, exact, floor)
    errors["torch_vs_f64"] = relative_error(ref_p, exact, floor)

    # The copy is our own fp32 param, rounded to the output dtype by torch.
    if case["out"] != "none":
        path = os.path.join(workdir, "param_copy.out")
        if case["out"] == "f32":
            if not np.array_equal(np.fromfile(path, np.float32).view(np.uint32),
                                  ours_p.view(np.uint32)):
                failures.append("f32 copy differs from the updated param")
        else:
            copy = np.fromfile(path, np.uint16)
            expected = torch.from_numpy(ours_p).to(torch.bfloat16).view(torch.int16).numpy()
            if not np.array_equal(copy, expected.view(np.uint16)):
                failures.append("bf16 copy differs from torch's rounding of the updated param")
    return errors, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True, help="path to adamw_file_driver")
    args = parser.parse_args()

    isas = subprocess.run([args.driver, "--list-isas"], check=True, capture_output=True,
                          text=True).stdout.split()
    print(f"kernels on this CPU: {' '.join(isas)}")
    torch.set_num_threads(1)

    defaults = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 1e-2}
    strong = {"lr": 3e-2, "beta1": 0.3, "beta2": 0.95, "eps": 1e-6, "wd": 0.1}  # 1-beta1 >= 0.5
    no_wd = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.0}
    cases = [
        {"n": 1, "steps": 3, "hyper": defaults, "grad": "f32", "out": "none"},
        {"n": 13, "steps": 5, "hyper": strong, "grad": "f32", "out": "f32"},
        {"n": 1027, "steps": 6, "hyper": defaults, "grad": "bf16", "out": "bf16"},
        {"n": 1027, "steps": 4, "hyper": no_wd, "grad": "f32", "out": "bf16", "zero_state": True},
        {"n": 40961, "steps": 5, "hyper": defaults, "grad": "f32", "out": "none", "threads": 2},
        {"n": 40961, "steps": 3, "hyper": strong, "grad": "bf16", "out": "f32", "threads": 3,
         "tile": 10001},
        {"n": 100003, "steps": 4, "hyper": no_wd, "grad": "f32", "out": "bf16", "threads": 2,
         "tile": 65536, "zero_state": True},
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as workdir:
        for isa in isas:
            for index, case in enumerate(cases):
                case = {"threads": 1, "tile": 0, "zero_state": False, **case}
                rng = np.random.default_rng(1000 + index)
                errors, failures = run_case(args.driver, isa, case, rng, workdir)
                label = (f"{isa:6s} n={case['n']:6d} steps={case['steps']} grad={case['grad']:4s} "
                         f"out={case['out']:4s} wd={case['hyper']['wd']:<5g} "
                         f"beta1={case['hyper']['beta1']} threads={case['threads']} "
                         f"tile={case['tile']}")
                detail = " ".join(f"{k}={v:.2e}" for k, v in errors.items())
                print(f"{'FAIL' if failures else 'ok  '} {label}  max rel err {detail}")
                for failure in failures:
                    print(f"     {failure}")
                failed += bool(failures)
    if failed:
        print(f"{failed} case(s) differ from torch.optim.AdamW by more than {TOLERANCE}")
        return 1
    print("all cases within", TOLERANCE, "of torch.optim.AdamW")
    return 0


if __name__ == "__main__":
    sys.exit(main())
