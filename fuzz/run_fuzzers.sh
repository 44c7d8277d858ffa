#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build (OFF_BUILD_FUZZERS=ON), each for
# SECONDS, PARALLEL at a time (default 1: machines here are shared).
#
#   bash fuzz/run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# Inputs that find new coverage go to $FUZZ_WORK/<target>/ (default
# /tmp/off-fuzz), never into the committed seeds in fuzz/corpus/<target>/;
# crashes, leaks, timeouts and OOMs go to $FUZZ_WORK/artifacts/, and each
# run's output to $FUZZ_WORK/<target>.log, whose last lines (cov, ft, execs)
# this script prints. Exit status: non-zero when any target found something.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK:-/tmp/off-fuzz}
parallel=${PARALLEL:-1}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(plan safetensors token_data json trainer_state)
mkdir -p "$work/artifacts"

run_one() {
  local name=$1 binary="$build/bin/fuzz_$1" dict=()
  if [ ! -x "$binary" ]; then
    echo "$binary: missing (configure with -DOFF_BUILD_FUZZERS=ON, ninja fuzzers)" >&2
    return 1
  fi
  [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
  mkdir -p "$work/$name"
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/artifacts/$name-" \
    "$work/$name" "$here/corpus/$name" >"$work/$name.log" 2>&1
}

status=0
pids=()
for name in "${targets[@]}"; do
  run_one "$name" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$parallel" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

for name in "${targets[@]}"; do
  echo "== $name: $(grep -E '^#[0-9]+' "$work/$name.log" | tail -1)"
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY' "$work/$name.log"
done
ls "$work/artifacts"
exit $status
