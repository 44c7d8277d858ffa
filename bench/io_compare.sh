#!/usr/bin/env bash
# Our NVMe engine against fio on the same disk, in the same run: sequential
# write then read of one file of --size bytes, --block bytes per request,
# --qd requests in flight, O_DIRECT, io_uring. Prints GB/s (1e9 bytes/s) for
# both and the ratios ours/fio (goal: >= 0.95 for write and read).
#
#   bench/io_compare.sh --dir /work/iobench [--size 4G] [--qd 32] [--block 1M]
#                       [--repeat 3] [--offrt build/bin/offrt] [-- EXTRA...]
#
# Each repeat runs both writes, then both reads (ours with --phase
# write/read), alternating which tool goes first: a virtual disk's write
# cache and its neighbours make single runs noisy, so runs are paired and
# medians compared. Arguments after "--" go to `offrt bench io` (e.g.
# --fixed-buffers off, --thread-pool). fio runs with its defaults otherwise
# (preallocated file, no fixed buffers, no fsync at the end); ours
# preallocates too and does not fsync either.
set -euo pipefail

dir="" size="4G" qd=32 block="1M" repeat=3 offrt="" extra=()
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --qd) qd="$2"; shift 2 ;;
    --block) block="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --offrt) offrt="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "io_compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n "$dir" && -d "$dir" ]] || { echo "io_compare.sh: --dir DIR (an existing directory) is required" >&2; exit 2; }

if [[ -z "$offrt" ]]; then
  for candidate in "${OFFRT:-}" "$here/../build/bin/offrt" "$here"/../build-*/bin/offrt; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then offrt="$candidate"; break; fi
  done
fi
[[ -x "$offrt" ]] || { echo "io_compare.sh: no offrt found; pass --offrt PATH" >&2; exit 2; }

if ! command -v fio >/dev/null; then
  echo "io_compare.sh: installing fio (apt-get install -y fio)" >&2
  apt-get install -y fio >/dev/null || { echo "io_compare.sh: fio is missing and could not be installed" >&2; exit 1; }
fi

# Both tools read 1024-based suffixes the same way; give fio plain bytes anyway.
size_bytes=$(numfmt --from=iec "${size%B}")
block_bytes=$(numfmt --from=iec "${block%B}")
fio_file="$dir/fio-bench-io.bin"
trap 'rm -f "$fio_file" "$dir/offrt-bench-io.bin"' EXIT

run_fio() { # write|read -> GB/s
  fio --name="offload-$1" --filename="$fio_file" --size="$size_bytes" \
      --bs="$block_bytes" --iodepth="$qd" --ioengine=io_uring --direct=1 \
      --rw="$1" --output-format=json |
    python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print(round(j['$1']['bw_bytes']/1e9, 4))"
}

run_ours() { # write|read -> "GB/s mode fixed"
  local keep=()
  if [[ $1 == write ]]; then keep=(--keep); fi
  "$offrt" bench io --dir "$dir" --size "$size" --qd "$qd" --block "$block" \
      --phase "$1" "${keep[@]}" --json "${extra[@]}" |
    python3 -c "import json,sys; j=json.load(sys.stdin); print(j['$1_GBps'], j['mode'].replace(' ', '_'), j['fixed_buffers'])"
}

echo "io_compare: $size file, block $block, queue depth $qd, O_DIRECT, io_uring, $repeat repeats, dir $dir"
echo "io_compare: offrt $offrt ${extra[*]}; $(fio --version)"
ours_w=() ours_r=() fio_w=() fio_r=() mode="" fixed=""
for ((i = 1; i <= repeat; i++)); do
  if ((i % 2)); then order="ours fio"; else order="fio ours"; fi
  rm -f "$fio_file"
  for phase in write read; do # both writes, then both reads: pairs adjacent
    for who in $order; do
      if [[ $who == ours ]]; then
        read -r g mode fixed < <(run_ours "$phase")
      else
        g=$(run_fio "$phase")
      fi
      case "$who-$phase" in
        ours-write) ours_w+=("$g") ;; ours-read) ours_r+=("$g") ;;
        fio-write) fio_w+=("$g") ;; fio-read) fio_r+=("$g") ;;
      esac
      echo "  run $i $phase $who: $g GB/s"
    done
  done
  rm -f "$fio_file"
done
echo "  (ours: engine $mode, fixed buffers $fixed)"

python3 - "${ours_w[*]}" "${ours_r[*]}" "${fio_w[*]}" "${fio_r[*]}" "$mode" <<'PY'
import json, statistics, sys
ow, orr, fw, fr = ([float(x) for x in a.split()] for a in sys.argv[1:5])
med = statistics.median
m = dict(ours_write=med(ow), ours_read=med(orr), fio_write=med(fw), fio_read=med(fr))
# Ratios of the medians, and the median of each repeat's ratio (the two runs
# of a pair are adjacent in time, so slow drifts of the disk cancel).
rw, rr = m["ours_write"] / m["fio_write"], m["ours_read"] / m["fio_read"]
pw = med([o / f for o, f in zip(ow, fw)])
pr = med([o / f for o, f in zip(orr, fr)])
print(f"median  ours: write {m['ours_write']:.3f} GB/s, read {m['ours_read']:.3f} GB/s  (engine: {sys.argv[5]})")
print(f"median  fio:  write {m['fio_write']:.3f} GB/s, read {m['fio_read']:.3f} GB/s")
print(f"ratio ours/fio, of medians:      write {rw:.3f}, read {rr:.3f}")
print(f"ratio ours/fio, median of pairs: write {pw:.3f}, read {pr:.3f}  (goal >= 0.95: "
      f"{'met' if min(pw, pr) >= 0.95 else 'NOT met'})")
print(json.dumps({**{k: round(v, 4) for k, v in m.items()},
                  "ratio_write": round(rw, 4), "ratio_read": round(rr, 4),
                  "paired_ratio_write": round(pw, 4), "paired_ratio_read": round(pr, 4)}))
PY
