#!/usr/bin/env python3
"""Line coverage of chosen functions of one source file, from a clang
source-based coverage profile (how docs/fuzzing.md measures what a corpus
reaches of a parser; standard library only).

    python3 fuzz/coverage.py BINARY PROFDATA FILE_SUFFIX FUNCTION_REGEX [--missed]

BINARY was built with -fprofile-instr-generate -fcoverage-mapping, PROFDATA
merged by llvm-profdata from its runs; FILE_SUFFIX picks the source file
(e.g. runtime/model/Safetensors.cpp); FUNCTION_REGEX is searched in the
mangled function names. A function spans from its first line to the next
function's first line in the file (lambdas are functions of their own).
Prints "covered/total lines (percent)" and with --missed the lines never run.
"""
import re
import subprocess
import sys


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    binary, profdata, suffix, pattern = argv[1:5]
    show_missed = "--missed" in argv[5:]
    lcov = subprocess.run(
        ["llvm-cov-14", "export", "-format=lcov", binary, "-instr-profile=" + profdata],
        check=True, capture_output=True, text=True).stdout

    starts, hits, source = [], {}, None
    for line in lcov.splitlines():
        if line.startswith("SF:"):
            source = line[3:] if line[3:].endswith(suffix) else None
        elif source and line.startswith("FN:"):
            first, name = line[3:].split(",", 1)
            starts.append((int(first), name))
        elif source and line.startswith("DA:"):
            number, count = line[3:].split(",")[:2]
            hits[int(number)] = max(hits.get(int(number), 0), int(count))
    if not hits:
        print("%s: no coverage data for a file ending in %s" % (binary, suffix), file=sys.stderr)
        return 1

    starts.sort()
    chosen = set()
    for i, (first, name) in enumerate(starts):
        if re.search(pattern, name):
            end = starts[i + 1][0] if i + 1 < len(starts) else max(hits) + 1
            chosen.update(n for n in hits if first <= n < end)
    if not chosen:
        print("no function matches %r in %s" % (pattern, suffix), file=sys.stderr)
        return 1
    covered = sum(1 for n in chosen if hits[n] > 0)
    print("%d/%d lines (%.1f%%)" % (covered, len(chosen), 100.0 * covered / len(chosen)))
    if show_missed:
        print("never run: " + ", ".join(str(n) for n in sorted(chosen) if hits[n] == 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
