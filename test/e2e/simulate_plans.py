"""offc simulate on the plans offc compile writes (issue 13 [D2]): for the
tiny Llama under every rung of the greedy ladder and the forcing options
(host and NVMe tiers, recompute, bf16-mixed, grad-accum, forward), on the
CPU backend's profile and on GPU profiles:

* each tier's peak equals `offc compile --report`'s (the arena the runtime
  allocates), and the bytes alive at any time never exceed it;
* bytes per link equal the compiler's report;
* the Chrome trace (--trace) is well-formed JSON in the trace-event format:
  one named track per stream of the plan, each track's slices in order and
  not overlapping, their durations summing to the stream's busy time in
  --report, the last one ending at the step time; one memory counter track
  per tier the plan uses, whose largest value is the report's bytes alive
  at peak;
* the memory plot (--memory-plot) is well-formed SVG with one panel per
  tier in use whose line, read back through the panel's axes, peaks at the
  report's bytes alive at peak and whose arena line sits at the peak;
* the lower bound never exceeds the plan's simulated step, nor the step of
  any other plan of the same training step that fits the first one's device
  budget (the bound of a recomputing plan holds for the plan that keeps
  everything: recomputation must not count as work every plan does);
* `offc explain --report` attributes every kernel and copy to exactly one
  row: the rows' forward, recompute and backward time plus AdamW on the
  compute stream add up to the compute stream's busy time, their AdamW time
  to all AdamW kernels', their bytes per link to the step's;
* `offc compile --strategy auto --profile P` picks the fastest of the
  ladder's fitting decision sets: its prediction is the least of its
  candidates', never above the greedy plan's (whose prediction is the first
  fitting candidate's), and `offc simulate` of the plan it wrote agrees;
* `offc compile --profile P`'s predicted_step_s is offc simulate's step
  time for the plan it wrote, and its lower_bound_s is simulate's.

Needs only offc and the standard library.
"""

import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_harness import check, finish, run  # noqa: E402

# The cases that compile the same fp32 step (batch 2 x 32, one micro-batch):
# each one's bound must hold for the others.
SAME_STEP = {"unconstrained", "vram-2M (optimizer on the host)", "vram-1M (params streamed)",
             "remat-all", "nvme optimizer and params"}
CASES = [
    ("unconstrained", []),
    ("vram-2M (optimizer on the host)", ["--vram", "2M"]),
    ("vram-1M (params streamed)", ["--vram", "1M"]),
    ("remat-all", ["--remat", "all"]),
    ("host optimizer, recompute, grad-accum 3",
     ["--place", "optimizer=host", "--remat", "all", "--grad-accum", "3"]),
    ("nvme optimizer and params", ["--place", "optimizer=nvme", "--place", "params=nvme",
                                   "--place", "grads=host", "--place", "activations=host",
                                   "--remat", "all", "--nvme", "{nvme}"]),
    ("bf16-mixed", ["--precision", "bf16-mixed"]),
    ("bf16-mixed vram-1M", ["--precision", "bf16-mixed", "--vram", "1M"]),
    ("forward", ["--forward"]),
]
PROFILES = ["cpu-host", "rtx4090-24g", "h100-80g"]
TIERS = ("device", "host", "nvme")
PREDICT_ON = "rtx4090-24g"  # offc compile --profile


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


def check_trace(name, trace, report):
    events = trace.get("traceEvents")
    check(isinstance(events, list) and events, f"{name}: trace has a traceEvents list")
    if not isinstance(events, list):
        return
    check(all(isinstance(e, dict) and "ph" in e and "pid" in e for e in events),
          f"{name}: every trace event has ph and pid")
    streams = report["streams"]
    threads = {e["tid"]: e["args"]["name"] for e in events
               if e["ph"] == "M" and e["name"] == "thread_name"}
    check(sorted(threads) == list(range(len(streams))) and
          [threads[i] for i in range(len(streams))] == [s["name"] for s in streams],
          f"{name}: one named track per stream ({[s['name'] for s in streams]})")
    slices = [e for e in events if e["ph"] == "X"]
    check(all(e["tid"] in threads and e["ts"] >= 0 and e["dur"] >= 0 for e in slices),
          f"{name}: every slice is on a stream's track, at ts >= 0 with dur >= 0")
    last_end = 0.0
    for tid, stream in enumerate(streams):
        mine = [e for e in slices if e["tid"] == tid]
        ordered = all(a["ts"] + a["dur"] <= b["ts"] * (1 + 1e-12) + 1e-9
                      for a, b in zip(mine, mine[1:]))
        check(ordered, f"{name}: {stream['name']}: slices in order, none overlapping")
        busy_us = sum(e["dur"] for e in mine)
        check(close(busy_us, stream["busy_s"] * 1e6, 1e-6),
              f"{name}: {stream['name']}: slices sum to the busy time "
              f"({busy_us:.3f} us vs {stream['busy_s'] * 1e6:.3f} us)")
        check(len(mine) == stream["kernels"] + stream["copies"],
              f"{name}: {stream['name']}: one slice per kernel and copy")
        if mine:
            last_end = max(last_end, mine[-1]["ts"] + mine[-1]["dur"])
    check(close(last_end, report["step_s"] * 1e6, 1e-6),
          f"{name}: the last slice ends at the step time")
    counters = {}
    for e in events:
        if e["ph"] == "C":
            counters.setdefault(e["name"], []).append(e)
    used = [t for t in TIERS if report["tiers"][t]["peak_bytes"] > 0]
    check(sorted(counters) == sorted("memory " + t for t in used),
          f"{name}: one memory counter per tier in use ({used})")
    for t in used:
        samples = counters.get("memory " + t, [])
        times = [e["ts"] for e in samples]
        peak = max((e["args"]["bytes"] for e in samples), default=-1)
        check(times == sorted(times) and peak == report["tiers"][t]["peak_live_bytes"],
              f"{name}: memory {t}: samples in time order, largest = peak_live_bytes ({peak})")


def check_explain(name, rows, trace, report):
    compute = next(s for s in report["streams"] if s["name"] == "compute")
    adam_on_compute = sum(r["adam_s"] for r in rows if r["adam_stream"] == "compute")
    attributed = sum(r["forward_s"] + r["recompute_s"] + r["backward_s"] for r in rows)
    check(close(attributed + adam_on_compute, compute["busy_s"], 1e-9),
          f"{name}: explain: rows' compute time {attributed + adam_on_compute:.4e} s == the "
          f"compute stream's busy {compute['busy_s']:.4e} s")
    adam_total = sum(e["dur"] for e in trace["traceEvents"]
                     if e["ph"] == "X" and e["name"] == "adam_step") / 1e6
    check(close(sum(r["adam_s"] for r in rows), adam_total, 1e-6) if adam_total else
          all(r["adam_s"] == 0 for r in rows), f"{name}: explain: rows' AdamW time == all AdamW")
    for link in ("h2d", "d2h", "nvme-read", "nvme-write"):
        key = link.replace("-", "_")
        total = sum(r["bytes"].get(link, 0) for r in rows)
        check(total == report["bytes_per_step"][key],
              f"{name}: explain: rows' {link} bytes {total} == the step's")


def check_plot(name, path, report):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    check(root.tag == ns + "svg", f"{name}: memory plot is an SVG document")
    panels = {g.get("data-tier"): g for g in root.iter(ns + "g") if g.get("class") == "tier"}
    used = [t for t in TIERS if report["tiers"][t]["peak_bytes"] > 0]
    check(sorted(panels) == sorted(used), f"{name}: one memory panel per tier in use ({used})")
    for tier, g in panels.items():
        axis = float(g.get("data-axis-bytes"))
        x0, x1 = float(g.get("data-x0")), float(g.get("data-x1"))
        y0, y1 = float(g.get("data-y0")), float(g.get("data-y1"))

        def to_bytes(y):
            return (y0 - y) / (y0 - y1) * axis

        points = [tuple(map(float, p.split(","))) for p in
                  g.find(ns + "polyline").get("points").split()]
        tolerance = axis * 0.01 / (y0 - y1)  # coordinates are written to 0.01 px
        peak = max(to_bytes(y) for _, y in points)
        want = report["tiers"][tier]["peak_live_bytes"]
        check(abs(peak - want) <= tolerance and all(x0 <= x <= x1 for x, _ in points) and
              points[-1][0] == x1,
              f"{name}: memory plot {tier}: the line peaks at {peak:.0f} ~ {want} bytes alive "
              f"and spans the step")
        arena = [line for line in g.iter(ns + "line") if line.get("class") == "arena"]
        check(len(arena) == 1 and abs(to_bytes(float(arena[0].get("y1"))) -
                                      report["tiers"][tier]["peak_bytes"]) <= tolerance,
              f"{name}: memory plot {tier}: the arena line at peak_bytes")


def main():
    family = {}  # profile -> [(label, bound, step, budget or None, device peak)]
    with tempfile.TemporaryDirectory() as tmp:
        nvme = os.path.join(tmp, "nvme")
        os.mkdir(nvme)
        for label, options in CASES:
            options = [o.replace("{nvme}", nvme) for o in options]
            plan = os.path.join(tmp, "p.bin")
            compiled = os.path.join(tmp, "compile.json")
            run(["offc", "compile", "--model", "llama", "--size", "tiny", "--batch", "2",
                 "--seq", "32", *options, "-o", plan, "--report", compiled,
                 "--profile", PREDICT_ON])
            want = json.load(open(compiled))
            for profile in PROFILES:
                name = f"{label} on {profile}"
                report_path = os.path.join(tmp, "sim.json")
                trace_path = os.path.join(tmp, "trace.json")
                plot_path = os.path.join(tmp, "memory.svg")
                run(["offc", "simulate", plan, "--profile", profile, "--report", report_path,
                     "--trace", trace_path, "--memory-plot", plot_path])
                got = json.load(open(report_path))
                for t in TIERS:
                    check(got["tiers"][t]["peak_bytes"] == want["tiers"][t]["peak_bytes"],
                          f"{name}: {t} peak {got['tiers'][t]['peak_bytes']} == compile "
                          f"--report's {want['tiers'][t]['peak_bytes']}")
                    check(got["tiers"][t]["peak_live_bytes"] <= got["tiers"][t]["peak_bytes"],
                          f"{name}: {t} bytes alive at most "
                          f"{got['tiers'][t]['peak_live_bytes']} <= peak")
                check(got["bytes_per_step"] == want["bytes_per_step"],
                      f"{name}: bytes per link {got['bytes_per_step']} == compile --report's")
                check(0 < got["lower_bound_s"] <= got["step_s"] * (1 + 1e-12),
                      f"{name}: lower bound {got['lower_bound_s']:.3e} s <= step "
                      f"{got['step_s']:.3e} s ({got['bound']['limit']})")
                check(got["step_s"] > 0 and got["step_s"] >= max(
                    s["busy_s"] for s in got["streams"]) * (1 - 1e-12),
                      f"{name}: step {got['step_s']:.3e} s >= every stream's busy time")
                if label in SAME_STEP:
                    family.setdefault(profile, []).append(
                        (label, got["lower_bound_s"], got["step_s"],
                         want["tiers"]["device"]["budget_bytes"] or None,
                         want["tiers"]["device"]["peak_bytes"]))
                check_trace(name, json.load(open(trace_path)), got)
                explained = os.path.join(tmp, "explain.json")
                run(["offc", "explain", plan, "--profile", profile, "--report", explained])
                check_explain(name, json.load(open(explained))["layers"],
                              json.load(open(trace_path)), got)
                check_plot(name, plot_path, got)
                if profile == PREDICT_ON:
                    check(want.get("profile") == profile and
                          want.get("predicted_step_s") == got["step_s"] and
                          want.get("lower_bound_s") == got["lower_bound_s"],
                          f"{name}: offc compile --profile's predicted_step_s "
                          f"{want.get('predicted_step_s')} == offc simulate's step_s")
        for budget in ("2M", "1M"):
            for profile in ("rtx4090-24g", "h100-80g"):
                name = f"--strategy auto, --vram {budget}, {profile}"
                plans = {}
                for strategy in ("greedy", "auto"):
                    plan = os.path.join(tmp, f"{strategy}.bin")
                    report = os.path.join(tmp, f"{strategy}.json")
                    run(["offc", "compile", "--model", "llama", "--size", "tiny", "--batch", "2",
                         "--seq", "32", "--vram", budget, "--profile", profile,
                         "--strategy", strategy, "-o", plan, "--report", report])
                    plans[strategy] = (plan, json.load(open(report)))
                auto = plans["auto"][1]
                greedy = plans["greedy"][1]
                fitting = [c["predicted_step_s"] for c in auto["candidates"]
                           if c["predicted_step_s"] is not None]
                check(fitting and auto["predicted_step_s"] == min(fitting),
                      f"{name}: the fastest of {len(fitting)} fitting candidates "
                      f"({auto['predicted_step_s']:.3e} s)")
                check(fitting[0] == greedy["predicted_step_s"] and
                      auto["predicted_step_s"] <= greedy["predicted_step_s"],
                      f"{name}: greedy's plan is the first fitting candidate "
                      f"({greedy['predicted_step_s']:.3e} s), auto's no slower")
                simulated = json.loads(run(["offc", "simulate", plans["auto"][0], "--profile",
                                            profile, "--report", "-"]).stdout)
                check(simulated["step_s"] == auto["predicted_step_s"] and
                      auto["tiers"]["device"]["peak_bytes"] <= auto["tiers"]["device"]["budget_bytes"],
                      f"{name}: offc simulate agrees and the plan fits the budget")
    for profile, plans in family.items():
        for x_label, x_bound, _, x_budget, _ in plans:
            fitting = [(y_label, y_step) for y_label, _, y_step, _, y_peak in plans
                       if x_budget is None or y_peak <= x_budget]
            worst = min(fitting, key=lambda y: y[1])
            check(x_bound <= worst[1] * (1 + 1e-12),
                  f"{x_label} on {profile}: its bound {x_bound:.3e} s holds for the "
                  f"{len(fitting)} plans of the same step that fit its budget (fastest: "
                  f"{worst[0]}, {worst[1]:.3e} s)")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
