"""The planner scenario suite of issue 13 ([D2]), as far as it is built: per
case (model x device profile x device budget, batch 1, seq 4096, 128 GiB of
host memory) the simulated step on the profile of the plan `offc compile`
makes by default (greedy: the ladder's first fitting decision set) and with
`--strategy auto` (today: the ladder's fastest fitting set), and the lower
bound (docs/planner.md). The LP planner and the emulated strategies of issue
13 are not built yet: this is the baseline they are to beat.

    python3 bench/planner_suite.py [--build build] [--json OUT] [--models a,b]

Standard library only; each case is one `offc compile --profile --report`.
A case that does not fit is listed with its reason.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODELS = ["llama3.2-1b", "llama3.2-3b", "llama3.1-8b"]
# profile -> device memory in GiB (the profile's) and the precision it runs
PROFILES = {"h100-80g": (80, "bf16-mixed"), "a100-40g": (40, "bf16-mixed"),
            "rtx4090-24g": (24, "bf16-mixed"), "l4-24g": (24, "bf16-mixed"),
            "t4-16g": (16, "fp32")}  # the T4 has no bf16


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--json")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    offc = os.path.join(args.build, "bin", "offc")
    work = tempfile.mkdtemp(prefix="planner-suite-")
    cases = []
    print(f"{'model':12} {'profile':12} {'vram':>5} {'greedy s':>9} {'auto s':>9} {'bound s':>9}"
          f" {'auto/bd':>7}  auto's plan")
    for model in args.models.split(","):
        for profile, (memory, precision) in PROFILES.items():
            for vram in (memory, memory // 2):
                plan, report = os.path.join(work, "p.bin"), os.path.join(work, "r.json")
                command = [offc, "compile", "--model", "llama", "--size", model, "--batch", "1",
                           "--seq", "4096", "--precision", precision, "--vram", f"{vram}G",
                           "--host-ram", "128G", "--profile", profile, "-o", plan,
                           "--report", report]
                started = time.monotonic()
                result = subprocess.run(command, capture_output=True, text=True)
                seconds = time.monotonic() - started
                case = {"model": model, "profile": profile, "vram_gib": vram,
                        "precision": precision, "compile_s": round(seconds, 2)}
                if result.returncode != 0:
                    case.update(greedy_s=None, auto_s=None, lower_bound_s=None,
                                reason=result.stderr.strip().splitlines()[-1])
                    print(f"{model:12} {profile:12} {vram:4}G {'-':>9} {'-':>9} {'-':>9} {'-':>7}  "
                          f"does not fit: {case['reason'][-80:]}", flush=True)
                    cases.append(case)
                    continue
                greedy = json.load(open(report))
                started = time.monotonic()
                subprocess.run(command + ["--strategy", "auto"], capture_output=True, check=True)
                case["auto_compile_s"] = round(time.monotonic() - started, 2)
                auto = json.load(open(report))
                case.update(greedy_s=greedy["predicted_step_s"], auto_s=auto["predicted_step_s"],
                            lower_bound_s=auto["lower_bound_s"],
                            auto_over_bound=auto["predicted_over_bound"],
                            greedy_plan=greedy["decisions"]["summary"],
                            auto_plan=auto["decisions"]["summary"])
                print(f"{model:12} {profile:12} {vram:4}G {case['greedy_s']:9.3f} "
                      f"{case['auto_s']:9.3f} {case['lower_bound_s']:9.3f} "
                      f"{case['auto_over_bound']:7.2f}  {case['auto_plan']}", flush=True)
                cases.append(case)
    if args.json:
        json.dump(cases, open(args.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
