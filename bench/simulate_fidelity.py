"""Simulator fidelity on the CPU backend (issue 13 [D2], done-when 2):
measures this machine into a device profile (f32 GEMM, memory bandwidth,
AdamW, with offrt's own benchmarks), then for each case compiles a plan,
times `offrt train` on it and compares with `offc simulate --profile` of the
same plan. Prints one row per case: predicted ms, measured ms (median of the
timed steps), predicted / measured; with --ops, per kernel op the measured ms
per step (offrt train --profile) against the simulated (the trace's slices).

    python3 bench/simulate_fidelity.py [--build build] [--steps 8] [--json OUT]

Needs only offc, offrt and the standard library. The profile it measured is
written beside the plans (WORK/this-machine.json), every number with the
command, the date and the load average as its source.
"""

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

CASES = [
    # name, offc compile model options, extra options (memory decisions)
    ("tiny 8x128", ["--size", "tiny", "--batch", "8", "--seq", "128"], []),
    ("tiny 8x128, AdamW on the host", ["--size", "tiny", "--batch", "8", "--seq", "128"],
     ["--place", "optimizer=host"]),
    ("43M 4x256", ["--config", "bench/llama-43m.json", "--batch", "4", "--seq", "256"], []),
    ("43M 4x256, AdamW on the host, recompute",
     ["--config", "bench/llama-43m.json", "--batch", "4", "--seq", "256"],
     ["--place", "optimizer=host", "--remat", "all"]),
]
GEMM_SHAPE = "1024x512x1376"  # the 43M model's MLP at 4x256 tokens


def run(command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"$ {' '.join(map(str, command))}\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def load():
    return open("/proc/loadavg").read().split()[0]


def calibrate(offrt, threads):
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "?")
    command = [offrt, "bench", "gemm", "--shape", GEMM_SHAPE, "--threads", threads,
               "--no-onednn", "--rounds", "3"]
    text = run(command)
    rates = [float(m.group(1)) for m in re.finditer(
        r"^\S+\s+(?:fwd\s+x W\^T|dX\s+dY W|dW\s+dY\^T x)\s+([\d.]+)", text, re.M)]
    if len(rates) != 3:
        sys.exit("cannot read offrt bench gemm's output:\n" + text)
    gemm = statistics.mean(rates) * 1e9
    gemm_source = (f"measured {date} on {cpu} (load {load()}): `{' '.join(command[1:])}`, "
                   f"mean of fwd/dX/dW 'ours' {', '.join(map(str, rates))} GFLOP/s on "
                   f"{threads} threads, per core")
    command = [offrt, "bench", "adam", "--params", "16M", "--threads", threads, "--triad"]
    text = run(command)
    adam = re.search(r"([\d.e+]+) params/s", text)
    pattern = re.search(r"Adam's pattern, trivial arithmetic ([\d.]+) GB/s", text)
    if not adam or not pattern:
        sys.exit("cannot read offrt bench adam's output:\n" + text)
    adam_source = (f"measured {date} (load {load()}): `{' '.join(command[1:])}`: "
                   f"{adam.group(1)} params/s on {threads} threads, per core")
    bw_source = (f"measured {date} (load {load()}): `{' '.join(command[1:])}`: Adam's "
                 f"pattern (reads 16, writes 12 bytes per element) {pattern.group(1)} GB/s")
    cores = int(threads)

    def v(value, source):
        return {"value": value, "source": source}

    return {
        "name": "this-machine", "kind": "cpu",
        "description": f"{cpu}, {cores} threads, measured by bench/simulate_fidelity.py",
        "host": {
            "memory_bytes": v(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
                              "sysconf(_SC_PHYS_PAGES) x page size"),
            "memory_bandwidth_bytes_per_s": v(float(pattern.group(1)) * 1e9, bw_source),
            "cores": v(cores, "--threads given to offrt bench and offrt train"),
            "flops_per_s_per_core": {"f32": v(gemm / cores, gemm_source)},
            "adam_params_per_s_per_core": v(float(adam.group(1)) / cores, adam_source),
        },
        # Not used by these plans (no NVMe tier); kept from the cpu-host profile.
        "nvme": {"read_bytes_per_s": v(7.45e9, "not measured: the plans here use no NVMe"),
                 "write_bytes_per_s": v(6.9e9, "not measured: the plans here use no NVMe")},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", default=str(os.cpu_count()))
    parser.add_argument("--json")
    parser.add_argument("--ops", action="store_true", help="per-op table of each case")
    args = parser.parse_args()
    offc = os.path.join(args.build, "bin", "offc")
    offrt = os.path.join(args.build, "bin", "offrt")
    work = tempfile.mkdtemp(prefix="fidelity-")
    profile = calibrate(offrt, args.threads)
    profile_path = os.path.join(work, "this-machine.json")
    json.dump(profile, open(profile_path, "w"), indent=2)
    text = os.path.join(work, "corpus.txt")
    with open(text, "w") as out:
        for name in sorted(os.listdir("/usr/share/common-licenses")):
            path = os.path.join("/usr/share/common-licenses", name)
            if os.path.isfile(path):
                out.write(open(path, errors="replace").read())
    tokens = os.path.join(work, "tokens.bin")
    run([offrt, "tokenize", text, "-o", tokens])
    rows = []
    print(f"profile: {profile_path}")
    print(f"{'case':45} {'predicted ms':>12} {'measured ms':>12} {'pred/meas':>9}  load")
    for name, model, options in CASES:
        plan = os.path.join(work, "plan.bin")
        run([offc, "compile", "--model", "llama", *model, *options, "-o", plan])
        trace = os.path.join(work, "trace.json")
        report = json.loads(run([offc, "simulate", plan, "--profile", profile_path,
                                 "--report", "-", "--trace", trace]).split("offc simulate:")[0])
        log, ops = os.path.join(work, "train.jsonl"), os.path.join(work, "ops.json")
        run([offrt, "train", plan, "--data", tokens, "--steps", args.steps + 1,
             "--threads", args.threads, "--log", log, "--profile", ops])
        measured_ops = json.load(open(ops))
        simulated_ops = collections.defaultdict(float)
        for event in json.load(open(trace))["traceEvents"]:
            if event["ph"] == "X" and "flops" in event["args"]:
                simulated_ops[event["name"]] += event["dur"] / 1e3
        per_op = {op: {"measured_ms": measured_ops["ops"].get(op, {"ms": 0})["ms"] /
                       measured_ops["steps"], "simulated_ms": simulated_ops.get(op, 0.0)}
                  for op in sorted(set(measured_ops["ops"]) | set(simulated_ops))}
        steps = [json.loads(line)["ms"] for line in open(log)][1:]  # step 1 warms up
        measured = statistics.median(steps)
        predicted = report["step_s"] * 1e3
        rows.append({"case": name, "predicted_ms": predicted, "measured_ms": measured,
                     "ratio": predicted / measured, "load": load(),
                     "busy_s": {s["name"]: s["busy_s"] for s in report["streams"]},
                     "ops": per_op})
        print(f"{name:45} {predicted:12.2f} {measured:12.2f} {predicted / measured:9.2f}  "
              f"{load()}", flush=True)
        if args.ops:
            for op, t in sorted(per_op.items(), key=lambda kv: -kv[1]["measured_ms"]):
                print(f"    {op:22} measured {t['measured_ms']:9.2f} ms  simulated "
                      f"{t['simulated_ms']:9.2f} ms")
    if args.json:
        json.dump({"profile": profile, "cases": rows}, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
