"""Checks an `offc compile --report` file against the budgets it was given.

usage: report_within_budget.py REPORT.json TIER=SIZE...

For each TIER=SIZE (device, host, nvme; SIZE as offc reads it: 24G, 1.5T),
the report's budget_bytes must be SIZE and its peak_bytes at most that and
above zero; every other tier must hold nothing. Prints one line per tier
with the peak in bytes, and exits 1 naming the first problem.
"""
import json
import sys

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text):
    number = text.rstrip("KMGT")
    return int(float(number) * UNITS[text[len(number):]])


def main():
    report = json.load(open(sys.argv[1]))
    budgets = {}
    for arg in sys.argv[2:]:
        tier, size = arg.split("=")
        budgets[tier] = parse_size(size)
    problems = []
    for tier, entry in sorted(report["tiers"].items()):
        peak, budget = entry["peak_bytes"], entry["budget_bytes"]
        if tier not in budgets:
            if peak:
                problems.append(f"{tier}: holds {peak} bytes without a budget")
            continue
        if budget != budgets[tier]:
            problems.append(f"{tier}: budget_bytes {budget}, not {budgets[tier]}")
        elif not 0 < peak <= budget:
            problems.append(f"{tier}: peak_bytes {peak} is not within (0, {budget}]")
        else:
            print(f"{tier}: peak {peak} <= budget {budget}")
    for problem in problems:
        print(f"error: {sys.argv[1]}: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
