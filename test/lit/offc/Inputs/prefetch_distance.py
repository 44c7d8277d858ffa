"""Reads offc compile --emit-mlir and says how many copies to the device the
compute stream waits for on the very next line (issued at their use, no
overlap) out of all of them: what --strategy accelerate-offload promises."""
import re
import sys

lines = open(sys.argv[1]).read().splitlines()
total = at_use = 0
for i, line in enumerate(lines):
    m = re.search(r"%\S+, (%\S+) = off\.prefetch .* to <device>", line)
    if not m:
        continue
    total += 1
    if i + 1 < len(lines) and re.match(r"\s*off\.wait " + re.escape(m.group(1)) + r"\b",
                                       lines[i + 1]):
        at_use += 1
print(f"copies to the device: {total}, issued at their use: {at_use}, "
      f"all at use: {'yes' if total and total == at_use else 'no'}")
