"""docs/passes.md against what off-opt registers.

usage: off-opt --help | check_passes_doc.py docs/passes.md

Every pass and pipeline named `--off-...` in the help must have a paragraph
in the page that starts with its name in bold (`**off-place**`), and every
option the help lists under it must appear in backticks in that paragraph
(`` `place` `` or `` `place=...` ``). Prints one line per pass checked;
exits 1 naming each omission.
"""
import re
import sys

help_text = sys.stdin.read()
page = open(sys.argv[1]).read()

passes = {}  # name -> [option names]
current = None
for line in help_text.splitlines():
    top = re.match(r"^      --(off-[a-z-]+)\s", line)
    if top:
        current = top.group(1)
        passes[current] = []
        continue
    option = re.match(r"^        --([a-z0-9-]+)", line)
    if option and current:
        passes[current].append(option.group(1))
        continue
    if not line.startswith("        "):
        current = None

problems = []
for name, options in sorted(passes.items()):
    start = page.find(f"**{name}**")
    if start < 0:
        problems.append(f"{name}: no paragraph starting with **{name}**")
        continue
    end = page.find("\n\n", start)
    paragraph = page[start:end if end >= 0 else len(page)]
    for option in options:
        if not re.search(r"`" + re.escape(option) + r"[`=]", paragraph):
            problems.append(f"{name}: option '{option}' is not in its paragraph")
    print(f"{name}: {len(options)} options")
for problem in problems:
    print(f"error: {sys.argv[1]}: {problem}", file=sys.stderr)
if not passes:
    print("error: no --off- pass in the help text", file=sys.stderr)
sys.exit(1 if problems or not passes else 0)
