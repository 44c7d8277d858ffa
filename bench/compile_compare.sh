#!/usr/bin/env bash
# offc compile of the Llama 3.1 8B / 70B / 405B training steps under the
# budgets of issue 12 (done-when 4): wall, CPU (user + sys) and peak RSS of
# each, for this build's offc and a reference offc (another build, e.g. an
# older commit's) in the same run, the two alternating, median of N runs.
#   bench/compile_compare.sh [--ref PATH/TO/offc] [--runs N] [--nvme-dir DIR]
# Prints one markdown table row per case; a compile that finds no plan
# that fits says so after its times.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ours=$root/build/bin/offc ref="" runs=3 nvme=/var/tmp/offload-compile-bench
while (($#)); do
  case $1 in
  --ref) ref=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --nvme-dir) nvme=$2; shift 2 ;;
  *) echo "compile_compare.sh: error: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$ours" ] || { echo "compile_compare.sh: error: $ours not built" >&2; exit 1; }
mkdir -p "$nvme"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cases=(
  "llama3.1-8b --vram 24G --host-ram 128G"
  "llama3.1-70b --vram 80G --host-ram 1.2T"
  "llama3.1-70b --vram 80G --host-ram 768G --nvme $nvme"
  "llama3.1-405b --vram 80G --host-ram 6.5T"
  "llama3.1-405b --vram 80G --host-ram 2T --nvme $nvme"
)
# median of the runs' "wall cpu rss" lines, by wall time
median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
measure() { # offc size args...
  local offc=$1 size=$2; shift 2
  for ((r = 0; r < runs; ++r)); do
    local status=""
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$offc" compile --model llama \
      --size "$size" --batch 1 --seq 4096 "$@" -o "$out/plan.bin" >"$out/log" 2>&1 ||
      status=" (no plan: $(grep -o -m1 -- '--[a-z-]* [0-9.]*[KMGT] is too small' "$out/log" || echo failed))"
    awk -v s="$status" '/^[0-9]/ {printf "%.2f, %.2f, %d%s\n", $1, $2 + $3, $4 / 1024, s}' "$out/time"
  done | median
}
echo "| case | ours: wall s, CPU s, RSS MB | reference: wall s, CPU s, RSS MB | device of budget |"
echo "| --- | --- | --- | --- |"
for c in "${cases[@]}"; do
  read -r size args <<<"$c"
  # shellcheck disable=SC2086
  mine=$(measure "$ours" "$size" $args)
  summary=$(grep -o 'device [0-9.]*[KMGT] of [0-9.]*[KMGT]' "$out/log" | head -1 || true)
  theirs="-"
  # shellcheck disable=SC2086
  [ -n "$ref" ] && theirs=$(measure "$ref" "$size" $args)
  echo "| \`$size ${args/$nvme/DIR}\` | $mine | $theirs | $summary |"
done
