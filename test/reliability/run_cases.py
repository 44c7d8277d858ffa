#!/usr/bin/env python3
"""Runs the reliability cases: one per row of the tables in cases/*.md.

Each row is  | id | input or condition | `command` | exit | message |
The command runs under bash (with lib.sh's helpers) in a fresh directory,
with offc/offrt on PATH and the shared fixtures in $FIX; it passes when it
exits with `exit` and its output (stdout and stderr together) holds every
fragment of `message` (fragments separated by ' && '; a fragment starting
with '!' must not appear). A command that runs past its time limit fails
(a hang is a failure). A command may call `need WHAT`, which exits 77 with
a reason when the condition cannot be had here (not root, no tmpfs): the
case is reported SKIP, never PASS.

    run_cases.py --build BUILD --fixtures DIR cases/config.md [...]
    run_cases.py ... --only ID          (one case, its full output)

Exit status: 1 when any case failed; otherwise 77 when every case was
skipped (ctest shows the file as skipped), else 0.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
DEFAULT_TIMEOUT = 60


class Case:
    def __init__(self, source, line, cells):
        self.source, self.line = source, line
        self.id, self.condition, command, exit_code, message = cells
        self.command = unquote(command)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.id):
            raise SystemExit(f"{source}:{line}: case id '{self.id}' must be lower-case "
                             "words joined by '-'")
        try:
            self.exit = int(exit_code)
        except ValueError:
            raise SystemExit(f"{source}:{line}: exit code '{exit_code}' is not a number")
        self.fragments = [f.strip() for f in unquote(message).split(" && ") if f.strip()]
        if not self.fragments:
            raise SystemExit(f"{source}:{line}: case {self.id} has no expected message")


def unquote(cell):
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == "`" and cell[-1] == "`":
        cell = cell[1:-1]
    return cell.replace("\\|", "|")


def split_row(row):
    """Cells of a markdown table row; '\\|' is a literal bar."""
    cells, current, i = [], "", 0
    body = row.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current += "\\|"
            i += 2
            continue
        if body[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += body[i]
        i += 1
    cells.append(current.strip())
    return cells


def read_cases(path):
    cases, in_table = [], False
    with open(path) as f:
        for number, row in enumerate(f, 1):
            if not row.lstrip().startswith("|"):
                in_table = False
                continue
            cells = split_row(row)
            if not in_table:  # the header row, then the |---| row
                in_table = True
                if [c.lower() for c in cells[:2]] != ["id", "input or condition"]:
                    raise SystemExit(f"{path}:{number}: a table must start with the header "
                                     "| id | input or condition | command | exit | message |")
                continue
            if set("".join(cells)) <= set("-: "):
                continue
            if len(cells) != 5:
                raise SystemExit(f"{path}:{number}: {len(cells)} cells, expected 5 "
                                 "(write a literal bar as \\|)")
            cases.append(Case(path, number, cells))
    return cases


def run_case(case, args, work_root):
    work = os.path.join(work_root, case.id)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ)
    env.update({
        "PATH": os.path.join(args.build, "bin") + os.pathsep + env.get("PATH", ""),
        "FIX": args.fixtures,
        "SRC": os.path.dirname(os.path.dirname(HERE)),
        "BUILD": args.build,
        "CASE": work,
        "LC_ALL": "C",
    })
    script = f"source {HERE}/lib.sh\ncd {work}\n{case.command}\n"
    start = time.monotonic()
    process = subprocess.Popen(["bash", "-c", script], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=args.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    finally:
        try:  # whatever the case left running in the background
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    seconds = time.monotonic() - start
    text = output.decode(errors="replace")
    problems = []
    if timed_out:
        problems.append(f"still running after {args.timeout} s (a hang)")
    elif process.returncode == SKIP and case.exit != SKIP:
        reason = [l for l in text.splitlines() if l.startswith("SKIP:")]
        return "SKIP", (reason[-1][5:].strip() if reason else "needs what it cannot get"), seconds
    else:
        if process.returncode != case.exit:
            problems.append(f"exit {process.returncode}, expected {case.exit}")
        for fragment in case.fragments:
            if fragment.startswith("!"):
                if fragment[1:] in text:
                    problems.append(f"output holds '{fragment[1:]}'")
            elif fragment not in text:
                problems.append(f"output lacks '{fragment}'")
    if problems:
        return "FAIL", "; ".join(problems) + "\n" + indent(text), seconds
    shutil.rmtree(work, ignore_errors=True)
    return "PASS", "", seconds


def indent(text, limit=3000):
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return "".join("    | " + line + "\n" for line in text.splitlines())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--only")
    parser.add_argument("tables", nargs="+")
    args = parser.parse_args()
    args.build = os.path.abspath(args.build)
    args.fixtures = os.path.abspath(args.fixtures)
    if not os.path.isfile(os.path.join(args.fixtures, "plan.bin")):
        print(f"error: the fixtures in {args.fixtures} are missing (the "
              "reliability_fixtures test makes them)", file=sys.stderr)
        return 1
    cases = [c for t in args.tables for c in read_cases(t)]
    seen = {}
    for case in cases:
        if case.id in seen:
            raise SystemExit(f"{case.source}:{case.line}: case id '{case.id}' repeats "
                             f"{seen[case.id]}")
        seen[case.id] = f"{case.source}:{case.line}"
    if args.only:
        cases = [c for c in cases if c.id == args.only]
        if not cases:
            raise SystemExit(f"no case '{args.only}'")
    work_root = os.path.join(args.build, "test", "reliability", "work")
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for case in cases:
        verdict, detail, seconds = run_case(case, args, work_root)
        counts[verdict] += 1
        where = f"{os.path.basename(case.source)}:{case.line}"
        line = f"{verdict} {case.id} ({where}, {seconds:.1f} s)"
        if verdict == "SKIP":
            line += f": {detail}"
        print(line, flush=True)
        if verdict == "FAIL":
            print(f"    {case.condition}\n    $ {case.command}\n{detail}", flush=True)
    print(f"{len(cases)} cases: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped")
    if counts["FAIL"]:
        return 1
    return SKIP if counts["SKIP"] == len(cases) else 0


if __name__ == "__main__":
    sys.exit(main())
