#!/usr/bin/env bash
# Runs every test (unit, lit, e2e) through ctest after setting up; ends with
# ctest's summary. Extra arguments go to ctest (e.g. -R lit_, -L python).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root/build"
exec ctest --output-on-failure -j"$(nproc)" "$@"
