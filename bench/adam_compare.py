#!/usr/bin/env python3
"""CPU AdamW: ours (`offrt bench adam`) against torch.optim.AdamW (foreach and
fused), DeepSpeed's DeepSpeedCPUAdam and this machine's memory bandwidth, all
measured in this one run with the same parameter count and thread count.

  build/bench-venv/bin/python bench/adam_compare.py [--offrt build/bin/offrt] [--params 256M]
      [--threads N] [--steps 5] [--rounds 3] [--pages huge|4k] [--install]
      [--skip-deepspeed] [--json]

One fp32 parameter tensor with fp32 gradients, fp32 m and v (what every
contender supports); each side runs one warm-up step (state allocation) and
then --steps timed steps, median taken; the contenders take turns for
--rounds rounds and the best round is reported, with every round's figure
beside it (this VM is shared, so load from other processes comes in bursts
and the best round is the one least disturbed). GB/s counts the bytes AdamW
must move: read param, grad, m, v and write param, m, v, 28 B per parameter.

Memory: --pages huge (default) gives every contender transparent huge pages:
ours in memory allocated as the runtime's host arena is (mmap +
MADV_HUGEPAGE), torch's tensors (DeepSpeed's included) through torch's own
THP_MEM_ALLOC_ENABLE=1. --pages 4k gives all of them 4 KiB pages (torch's
default on a machine whose THP setting is "madvise").

The bandwidth bound is that byte count over the best of five bandwidth
measurements on the same threads: a STREAM triad a = b + s*c and an in-place
a = a + s*b, each by torch and by offrt (STREAM counting, 12 B per element),
and offrt's "Adam pattern": the same four arrays read and three written back
in place as Adam, with trivial arithmetic (28 B per element, no other
traffic), which is the bound for Adam's access pattern on this memory.

DeepSpeed (pinned in bench/requirements-bench.txt) lives in a bench-only
venv that bench/setup-bench-venv.sh makes (build/bench-venv; it reuses the
shared .venv's torch), so run this script with that venv's python. --install
runs that setup when DeepSpeed is missing; it never installs into the shared
.venv the tests use. When DeepSpeed is missing or its op cannot be built, it
is reported as unavailable with the reason. Its CPU Adam op is JIT-built with
the local compiler on first use (cached in ~/.cache/torch_extensions).
"""

import argparse
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BYTES_PER_PARAM = 28  # fp32 grads, no output copy: 4 reads + 3 writes of 4 bytes


def parse_human(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)(?:i?B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size (e.g. 256M, 1G)")
    scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(float(match.group(1)) * scale[match.group(2).upper()])


def timed_steps(step, steps):
    step()  # warm-up: allocates optimizer state, faults pages in
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def run_ours(offrt, n, threads, steps, extra=()):
    cmd = [offrt, "bench", "adam", "--params", str(n), "--threads", str(threads),
           "--steps", str(steps), "--json", *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def torch_bandwidth(torch, n, repeats=5):
    """STREAM triad a = b + s*c and in-place a += s*b with torch's kernels."""
    a = torch.zeros(n)
    b = torch.ones(n)
    c = torch.full((n,), 2.0)
    triad = timed_steps(lambda: torch.add(b, c, alpha=3.0, out=a), repeats)
    inplace = timed_steps(lambda: a.add_(b, alpha=3.0), repeats)
    return 12 * n / triad / 1e9, 12 * n / inplace / 1e9


def make_param(torch, n):
    p = torch.nn.Parameter(torch.empty(n).uniform_(-0.5, 0.5))
    p.grad = torch.empty(n).uniform_(-1.0, 1.0)
    return p


def time_torch_adamw(torch, n, steps, **mode):
    p = make_param(torch, n)
    opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                            **mode)
    seconds = timed_steps(opt.step, steps)
    del opt, p
    gc.collect()
    return seconds


def ensure_deepspeed(install):
    """Returns (module, None) or (None, reason it is unavailable)."""
    try:
        import deepspeed  # noqa: F401
        return deepspeed, None
    except Exception as e:  # ImportError, or a broken install
        missing = f"not importable ({type(e).__name__}: {e})"
    if not install:
        return None, f"{missing}; rerun with --install to pip-install the pinned version"
    setup = os.path.join(SOURCE_DIR, "bench", "setup-bench-venv.sh")
    venv = os.path.join(SOURCE_DIR, "build", "bench-venv")
    print(f"making the bench venv {venv} ({setup}) ...", file=sys.stderr)
    done = subprocess.run([setup, venv], capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"{setup} failed: " + done.stderr.strip()[-2000:]
    return None, (f"{missing} in this interpreter; DeepSpeed is now in {venv}: rerun with "
                  f"{venv}/bin/python")


def time_deepspeed(torch, n, steps):
    """Returns (median seconds, None) or (None, why it failed)."""
    try:
        from deepspeed.ops.adam import DeepSpeedCPUAdam
        p = make_param(torch, n)
        opt = DeepSpeedCPUAdam([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                               adamw_mode=True, fp32_optimizer_states=True)
        seconds = timed_steps(opt.step, steps)
        del opt, p
        gc.collect()
        return seconds, None
    except Exception as e:
        text = f"{type(e).__name__}: {e}"
        return None, "DeepSpeedCPUAdam failed: " + text.strip()[-2000:]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offrt", default=os.path.join(SOURCE_DIR, "build", "bin", "offrt"))
    parser.add_argument("--params", type=parse_human, default=parse_human("256M"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure every contender this many times, taking turns")
    parser.add_argument("--pages", choices=("huge", "4k"), default="huge",
                        help="page size for every contender's tensors (see above)")
    parser.add_argument("--skip-deepspeed", action="store_true")
    parser.add_argument("--install", action="store_true",
                        help="make the bench venv (bench/setup-bench-venv.sh) if DeepSpeed "
                             "is missing")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    n, threads = args.params, args.threads

    # Before torch (and DeepSpeed's OpenMP op) load: one thread count for all,
    # and torch's allocations in huge pages when ours are.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["THP_MEM_ALLOC_ENABLE"] = "1" if args.pages == "huge" else "0"
    import torch
    torch.set_num_threads(threads)

    print(f"AdamW on {n} fp32 params ({n / 2**20:.0f}M), {threads} threads, "
          f"{args.steps} timed steps each, {args.pages} pages; CPU: {cpu_model()}; "
          f"torch {torch.__version__}", file=sys.stderr)
    results = {"params": n, "threads": threads, "steps": args.steps, "pages": args.pages,
               "cpu": cpu_model(), "torch": torch.__version__,
               "load_average_before": os.getloadavg()}

    def report(name, seconds, note="", per_round=None, bytes_per_param=BYTES_PER_PARAM):
        if seconds is None:
            print(f"  {name:36s} unavailable: {note}")
            results[name] = {"unavailable": note}
            return
        gbs = bytes_per_param * n / seconds / 1e9
        spread = ""
        if per_round and len(per_round) > 1:
            spread = "  rounds: " + " ".join(f"{bytes_per_param * n / s / 1e9:.1f}"
                                            for s in per_round)
        print(f"  {name:36s} {seconds:8.4f} s/step {n / seconds:10.3e} params/s "
              f"{gbs:7.2f} GB/s{spread} {note}")
        results[name] = {"seconds_per_step": seconds, "params_per_s": n / seconds,
                         "gb_per_s": gbs, "bytes_per_param": bytes_per_param,
                         "rounds_seconds": per_round}

    ds_reason, ds_version = None, None
    if args.skip_deepspeed:
        ds_reason = "skipped (--skip-deepspeed)"
    else:
        _, ds_reason = ensure_deepspeed(args.install)
        if ds_reason is None:
            import deepspeed
            ds_version = deepspeed.__version__
    # Contenders take turns, round after round, so that a burst of load from
    # other processes hits all of them alike; each reports its best round.
    rounds = {k: [] for k in ("ours", "mixed", "fused", "foreach", "single", "ds")}
    bandwidth_rounds = {"triad torch": [], "a += s*b torch": [], "triad offrt": [],
                        "a += s*b offrt": [], "Adam pattern offrt": []}
    ours = mixed = None
    pages = ["--pages", args.pages]
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr)
        ours = run_ours(args.offrt, n, threads, args.steps, ["--triad", *pages])
        rounds["ours"].append(ours["seconds_per_step"])
        bandwidth_rounds["triad offrt"].append(ours["triad_gb_per_s"])
        bandwidth_rounds["a += s*b offrt"].append(ours["inplace_triad_gb_per_s"])
        bandwidth_rounds["Adam pattern offrt"].append(ours["adam_pattern_gb_per_s"])
        mixed = run_ours(args.offrt, n, threads, args.steps,
                         ["--grad-dtype", "bf16", "--out-dtype", "bf16", *pages])
        rounds["mixed"].append(mixed["seconds_per_step"])
        rounds["fused"].append(time_torch_adamw(torch, n, args.steps, fused=True))
        rounds["foreach"].append(time_torch_adamw(torch, n, args.steps, foreach=True))
        if r == 0:  # the slow default path: once is enough to place it
            rounds["single"].append(time_torch_adamw(torch, n, args.steps, foreach=False))
        if ds_reason is None:
            seconds, ds_reason = time_deepspeed(torch, n, args.steps)
            if seconds is not None:
                rounds["ds"].append(seconds)
        triad, inplace = torch_bandwidth(torch, n)
        bandwidth_rounds["triad torch"].append(triad)
        bandwidth_rounds["a += s*b torch"].append(inplace)
    results["load_average_after"] = os.getloadavg()

    def best(key):
        return min(rounds[key]) if rounds[key] else None

    ours_s = best("ours")
    report(f"ours (offrt bench adam, {ours['isa']})", ours_s, per_round=rounds["ours"])
    mixed_s = best("mixed")
    report("ours, bf16 grads + bf16 copy", mixed_s, f"({mixed['bytes_per_param']} B/param)",
           per_round=rounds["mixed"], bytes_per_param=mixed["bytes_per_param"])
    torch_fused = best("fused")
    report("torch.optim.AdamW fused", torch_fused, per_round=rounds["fused"])
    torch_foreach = best("foreach")
    report("torch.optim.AdamW foreach", torch_foreach, per_round=rounds["foreach"])
    report("torch.optim.AdamW for-loop (default)", best("single"), per_round=rounds["single"])
    ds_seconds = best("ds")
    report(f"DeepSpeedCPUAdam {ds_version or ''}".strip(), ds_seconds, ds_reason or "",
           per_round=rounds["ds"])

    bandwidth = {k: max(v) for k, v in bandwidth_rounds.items()}
    best_name = max(bandwidth, key=bandwidth.get)
    print("  memory bandwidth (best of rounds): " +
          ", ".join(f"{k} {v:.2f} GB/s" for k, v in bandwidth.items()))
    bound_s = BYTES_PER_PARAM * n / (bandwidth[best_name] * 1e9)
    report(f"bandwidth bound ({best_name})", bound_s)
    results["bandwidth_gb_per_s"] = bandwidth
    print(f"  load average before {results['load_average_before'][0]:.1f}, "
          f"after {results['load_average_after'][0]:.1f}")

    print("ratios (higher is better for ours):")
    ratios = {}

    def ratio(name, other_s, goal):
        if other_s is None:
            print(f"  {name:34s} n/a")
            return
        value = other_s / ours_s
        ratios[name] = value
        print(f"  {name:34s} {value:6.2f}  (goal >= {goal}) {'met' if value >= goal else 'NOT met'}")

    ratio("ours / DeepSpeedCPUAdam", ds_seconds, 1.2)
    ratio("ours / torch fused", torch_fused, 1.0)
    ratio("ours / torch foreach", torch_foreach, 1.0)
    ratio("ours / bandwidth bound", bound_s, 0.8)
    results["ratios"] = ratios
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
