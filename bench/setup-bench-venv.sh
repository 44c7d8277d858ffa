#!/usr/bin/env bash
# Makes the benchmark-only Python environment (default build/bench-venv): the
# packages of bench/requirements-bench.txt (DeepSpeed) installed there, never
# into the shared .venv that the tests use. torch and numpy are not installed
# a second time: a .pth file puts the shared .venv's site-packages behind the
# bench venv's own, so both compare scripts see the torch the tests see.
#
#   bench/setup-bench-venv.sh [VENV_DIR]      then
#   build/bench-venv/bin/python bench/adam_compare.py ...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="${1:-$root/build/bench-venv}"
shared="$root/.venv"
[[ -x "$shared/bin/python" ]] || { echo "setup-bench-venv.sh: $shared is missing (run scripts/setup.sh first)" >&2; exit 1; }

# The interpreter the shared venv was made with, so that its packages load.
base="$(sed -n 's/^executable = //p' "$shared/pyvenv.cfg")"
[[ -x "$base" ]] || base="$(command -v python3)"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-bench-venv.sh: creating $venv with $base" >&2
  "$base" -m venv "$venv"
fi
site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
shared_site="$(cd "$shared" && site_of "$shared/bin/python")"
echo "$shared_site" > "$(site_of "$venv/bin/python")/offload-shared-venv.pth"
# The pinned packages themselves go into the bench venv even when the shared
# venv happens to hold a copy (--ignore-installed --no-deps); their
# dependencies come from the shared venv where it has them, else land here.
"$venv/bin/python" -m pip install --quiet --ignore-installed --no-deps -r "$here/requirements-bench.txt"
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-bench.txt"
"$venv/bin/python" -c 'import torch, deepspeed; print("bench venv ready: torch", torch.__version__, "from", torch.__file__, "; deepspeed", deepspeed.__version__, "from", deepspeed.__file__)'
