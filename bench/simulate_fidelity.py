"""Simulator fidelity on the CPU backend (issue 13 [D2], done-when 2):
measures this machine into a device profile (`offrt calibrate`), then for each case compiles a plan,
times `offrt train` on it and compares with `offc simulate --profile` of the
same plan. Prints one row per case: predicted ms, measured ms (median of the
timed steps), predicted / measured; with --ops, per kernel op the measured ms
per step (offrt train --profile) against the simulated (the trace's slices).

    python3 bench/simulate_fidelity.py [--build build] [--steps 8] [--json OUT]

Needs only offc, offrt and the standard library. The profile it measured is
written beside the plans (WORK/this-machine.json), every number with what
was timed and the date as its source.
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

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


def run(command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"$ {' '.join(map(str, command))}\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def load():
    return open("/proc/loadavg").read().split()[0]


def calibrate(offrt, threads, path):
    """This machine's profile, measured by `offrt calibrate` (runtime/calibrate)
    on the threads offrt train will use."""
    run([offrt, "calibrate", "--threads", threads, "-o", path])
    return json.load(open(path))


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
    profile_path = os.path.join(work, "this-machine.json")
    profile = calibrate(offrt, args.threads, profile_path)
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
