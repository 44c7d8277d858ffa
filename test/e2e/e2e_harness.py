"""What every e2e script shares: where the sources and the build are, the
check list, and running offc/offrt.

    from e2e_harness import BUILD_DIR, SOURCE_DIR, check, failures, finish, run

`check(condition, message)` prints ok/FAIL and records failures; `finish()`
prints the summary and gives the exit code; `run(command)` runs a program,
and ends the script with its output when the exit code is not `expect`.
"""

import os
import subprocess
import time

SOURCE_DIR = os.environ.get("OFF_SOURCE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD_DIR = os.environ.get("OFF_BUILD_DIR") or os.getcwd()

failures = []


def check(condition, message):
    print(("ok:   " if condition else "FAIL: ") + message, flush=True)
    if not condition:
        failures.append(message)


def run(command, expect=0, echo=False):
    """Runs `command` (a list); returns the CompletedProcess (text). With
    `echo`, prints the command, its output and how long it took."""
    command = [str(part) for part in command]
    started = time.monotonic()
    if echo:
        print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if echo:
        for stream in (result.stdout, result.stderr):
            if stream.strip():
                print(stream.rstrip())
    if expect is not None and result.returncode != expect:
        if not echo:
            print("$ " + " ".join(command))
            print(result.stdout + result.stderr)
        raise SystemExit(f"FAIL: {' '.join(command[:2])} exited with {result.returncode}, "
                         f"expected {expect}")
    if echo:
        print(f"  ({time.monotonic() - started:.1f} s)", flush=True)
    return result


def finish(passed="all checks passed"):
    """The exit code: 1 (and the count) when a check failed."""
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print(passed)
    return 0
