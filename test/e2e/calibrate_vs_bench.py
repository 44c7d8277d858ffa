"""offrt calibrate against offrt bench gemm, measured in the same run (issue 13
[D2], Profiles): the calibrated f32 matmul rate of the CPU backend must agree
within 1.5x (tight enough to catch a FLOP count off by 2) with what `offrt
bench gemm` measures for the same product
(a [1024, 1024] x [1024, 1024]^T forward, on the same single thread) a moment
later, two different timing loops around the same kernel. Also: every number
finite and > 0, every source naming the tool, the CPU and what was timed, and
the host's memory and core count those of this process. Standard library only.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

build = os.environ.get("OFF_BUILD_DIR", "build")
offrt = os.path.join(build, "bin", "offrt")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"$ {' '.join(command)} exited {result.returncode}\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def numbers(node, path=""):
    """Every {"value", "source"} leaf of a profile, by its dotted path."""
    if isinstance(node, dict) and set(node) == {"value", "source"}:
        yield path, node
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from numbers(child, f"{path}.{key}" if path else key)


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def main():
    failures = []
    with tempfile.TemporaryDirectory(dir=build) as work:
        profile_path = os.path.join(work, "me.json")
        run([offrt, "calibrate", "--quick", "--threads", "1", "--nvme", work, "-o", profile_path])
        bench = run([offrt, "bench", "gemm", "--threads", "1", "--shape", "1024x1024x1024",
                     "--rounds", "2", "--min-time", "0.3", "--no-onednn"])
        profile = json.load(open(profile_path))
        leftovers = [f for f in os.listdir(work) if f != "me.json"]
        if leftovers:
            failures.append(f"calibrate left files behind: {leftovers}")

    model = cpu_model()
    for path, entry in numbers(profile):
        value, source = entry["value"], entry["source"]
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            failures.append(f"{path}: value {value!r} is not finite and > 0")
        if path == "host.memory_bytes":
            continue
        if not source.startswith("measured by offrt calibrate on "):
            failures.append(f"{path}: source does not say it was measured: {source!r}")
        if model and model not in source:
            failures.append(f"{path}: source does not name the CPU ({model}): {source!r}")
    if profile["host"]["cores"]["value"] != 1:
        failures.append(f"cores {profile['host']['cores']['value']}, ran with --threads 1")
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if profile["host"]["memory_bytes"]["value"] != physical:
        failures.append(f"memory_bytes {profile['host']['memory_bytes']['value']} != {physical}")

    row = re.search(r"^1024x1024x1024\s+fwd\s+x W\^T\s+([\d.]+)", bench, re.M)
    if not row:
        sys.exit("cannot read offrt bench gemm's output:\n" + bench)
    bench_gflops = float(row.group(1))
    calibrated = profile["host"]["flops_per_s_per_core"]["f32"]["value"] / 1e9
    ratio = calibrated / bench_gflops
    print(f"f32 matmul 1024^3, 1 thread: calibrate {calibrated:.1f} GFLOP/s, "
          f"offrt bench gemm {bench_gflops:.1f} GFLOP/s, ratio {ratio:.2f}")
    if not 1 / 1.5 <= ratio <= 1.5:
        failures.append(f"calibrated f32 rate {calibrated:.1f} GFLOP/s is not within 1.5x of "
                        f"offrt bench gemm's {bench_gflops:.1f}")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
