"""The planner scenario suite of issue 13 ([D2], done-when 1): per case
(model x device profile x budgets, batch 1, seq 4096, bf16-mixed) one
`offc compile --strategy auto --profile P --report`, which compiles the
greedy ladder and every emulated strategy (none, recompute-all,
zero-offload, zero-infinity, accelerate-offload) the same way, replays each
that fits on the profile and keeps the fastest. Printed per case: auto's
simulated step (auto_s), the lower bound (lower_bound_s, docs/planner.md),
the greedy default's step and each emulated strategy's (null: does not fit
the budgets), read from the report's candidates. The summary checks the
goals: auto <= 1.10x the bound, never slower than any emulated strategy,
strictly faster than the best of them on at least half the cases.

    python3 bench/planner_suite.py [--build build] [--json OUT] [--models a,b]

Standard library only. A case where nothing fits is listed with its reason.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

STRATEGIES = ["none", "recompute-all", "zero-offload", "zero-infinity", "accelerate-offload"]
PROFILES = ["h100-80g", "a100-40g", "rtx4090-24g"]
# model -> (cases: (profile, --vram GiB, extra budget options))
SMALL = [(p, v, ["--host-ram", "128G"]) for p, m in
         (("h100-80g", 80), ("a100-40g", 40), ("rtx4090-24g", 24)) for v in (m, m // 2)]
CASES = {
    "llama3.2-1b": SMALL,
    "llama3.2-3b": SMALL,
    "llama3.1-8b": SMALL,
    # 70B and 405B: the host holds what the device cannot (fp32 masters and
    # Adam moments: 16 bytes a parameter), or NVMe does.
    "llama3.1-70b": [("h100-80g", 80, ["--host-ram", "1.2T"]),
                     ("a100-40g", 40, ["--host-ram", "1.2T"]),
                     ("h100-80g", 80, ["--host-ram", "768G", "--nvme", "NVME"])],
    "llama3.1-405b": [("h100-80g", 80, ["--host-ram", "6.5T"])],
}


def fmt(x, width=8):
    return f"{x:{width}.3f}" if x is not None else f"{'-':>{width}}"


def choice(case):
    """auto's winner; a ladder set with an emulated strategy's time is named
    by both (the ladder comes first on a tie)."""
    same = [s for s, v in case["strategies"].items() if v == case["auto_s"]]
    if case["chosen"] == "greedy" and same:
        return "ladder = " + ", ".join(same)
    return case["chosen"] if case["chosen"] != "greedy" else "ladder"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--json")
    parser.add_argument("--models", default=",".join(CASES))
    args = parser.parse_args()
    offc = os.path.join(args.build, "bin", "offc")
    work = tempfile.mkdtemp(prefix="planner-suite-")
    nvme = os.path.join(work, "nvme")
    os.makedirs(nvme)
    cases = []
    short = {"none": "none", "recompute-all": "rc-all", "zero-offload": "zero-off",
             "zero-infinity": "zero-inf", "accelerate-offload": "accel"}
    print(f"{'model':13} {'profile':12} {'budgets':22} {'auto s':>8} {'bound s':>8} "
          f"{'auto/bd':>7} {'greedy':>8} " + " ".join(f"{short[s]:>8}" for s in STRATEGIES)
          + "  auto's choice")
    for model in args.models.split(","):
        for profile, vram, extra in CASES[model]:
            extra = [nvme if e == "NVME" else e for e in extra]
            plan, report = os.path.join(work, "p.bin"), os.path.join(work, "r.json")
            command = [offc, "compile", "--model", "llama", "--size", model, "--batch", "1",
                       "--seq", "4096", "--precision", "bf16-mixed", "--vram", f"{vram}G",
                       *extra, "--profile", profile, "--strategy", "auto", "-o", plan,
                       "--report", report]
            budgets = f"{vram}G " + " ".join(extra).replace(nvme, "DIR").replace(
                "--host-ram ", "host ").replace("--nvme DIR", "+nvme")
            started = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True)
            case = {"model": model, "profile": profile, "vram_gib": vram,
                    "budgets": budgets, "compile_s": round(time.monotonic() - started, 2)}
            if result.returncode != 0:
                case.update(auto_s=None, lower_bound_s=None, greedy_s=None,
                            strategies={s: None for s in STRATEGIES},
                            reason=result.stderr.strip().splitlines()[-1])
                print(f"{model:13} {profile:12} {budgets:22} nothing fits: "
                      f"{case['reason'][-90:]}", flush=True)
                cases.append(case)
                continue
            r = json.load(open(report))
            strategies = {s: None for s in STRATEGIES}
            greedy = None
            for c in r["candidates"]:
                if c["strategy"] in strategies:
                    strategies[c["strategy"]] = c["predicted_step_s"]
                elif greedy is None and c["predicted_step_s"] is not None:
                    greedy = c["predicted_step_s"]  # the ladder's first fitting set
            case.update(auto_s=r["predicted_step_s"], lower_bound_s=r["lower_bound_s"],
                        auto_over_bound=r["predicted_over_bound"], greedy_s=greedy,
                        strategies=strategies, chosen=r["chosen"],
                        auto_plan=r["decisions"]["summary"])
            print(f"{model:13} {profile:12} {budgets:22} {fmt(case['auto_s'])} "
                  f"{fmt(case['lower_bound_s'])} {case['auto_over_bound']:7.2f} "
                  f"{fmt(greedy)} " + " ".join(fmt(strategies[s]) for s in STRATEGIES)
                  + f"  {choice(case)} ({case['compile_s']:.1f} s)", flush=True)
            cases.append(case)

    solved = [c for c in cases if c["auto_s"] is not None]
    within = [c for c in solved if c["auto_over_bound"] <= 1.10]
    fitting = [c for c in solved if any(v is not None for v in c["strategies"].values())]
    never_slower = [c for c in fitting
                    if all(v is None or c["auto_s"] <= v for v in c["strategies"].values())]
    faster = [c for c in fitting
              if all(v is None or c["auto_s"] < v for v in c["strategies"].values())]
    print(f"\n{len(cases)} cases, {len(solved)} with a plan; auto <= 1.10x the bound: "
          f"{len(within)}/{len(solved)}; never slower than an emulated strategy: "
          f"{len(never_slower)}/{len(fitting)}; strictly faster than every fitting one: "
          f"{len(faster)}/{len(fitting)} (cases where at least one fits)")
    if args.json:
        json.dump(cases, open(args.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
