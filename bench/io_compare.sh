#!/usr/bin/env bash
# Our NVMe engine against fio on the same disk, in the same run: sequential
# write then read of one file of --size bytes, --block bytes per request,
# --qd requests in flight, O_DIRECT, io_uring. Prints GB/s (1e9 bytes/s) for
# both and the ratios ours/fio (goal: >= 0.95 for write and read).
#
#   bench/io_compare.sh [--dir DIR] [--size 4G] [--qd 32] [--block 1M]
#                       [--repeat 3] [--fio-huge] [--offrt build/bin/offrt]
#                       [-- EXTRA...]
#
# --dir defaults to /var/tmp/offload-iobench (made if missing; use a real
# disk, not tmpfs). Each repeat runs the writes, then the reads (ours with
# --phase write/read), rotating which tool goes first: a virtual disk's
# write cache and its neighbours make single runs noisy, so runs are grouped
# and medians compared. Arguments after "--" go to `offrt bench io` (e.g.
# --pages 4k, --fixed-buffers off, --thread-pool). fio runs with its
# defaults otherwise (preallocated file, buffers from malloc, no fixed
# buffers, no fsync at the end); ours preallocates too and does not fsync.
# --fio-huge also runs fio with its buffers in 2 MiB huge pages
# (--iomem=mmaphuge), as ours are by default: the same memory on both
# sides. It needs hugetlb pages reserved, e.g. as root
# `echo 40 > /proc/sys/vm/nr_hugepages` (and back to 0 afterwards).
set -euo pipefail

dir="/var/tmp/offload-iobench" size="4G" qd=32 block="1M" repeat=3 offrt="" extra=() fio_huge=0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --qd) qd="$2"; shift 2 ;;
    --block) block="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --fio-huge) fio_huge=1; shift ;;
    --offrt) offrt="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "io_compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir" 2>/dev/null || true
[[ -d "$dir" ]] || { echo "io_compare.sh: --dir $dir is not a directory and cannot be made" >&2; exit 2; }

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
if ((fio_huge)); then
  free_pages=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
  page_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
  need=$(( (qd * block_bytes) / (page_kb * 1024) + 2 ))
  if (( page_kb != 2048 || free_pages < need )); then
    echo "io_compare.sh: --fio-huge needs $need free 2 MiB hugetlb pages (have ${free_pages:-0} of ${page_kb:-?} kB);" >&2
    echo "  reserve them as root: echo $((need + 8)) > /proc/sys/vm/nr_hugepages" >&2
    exit 2
  fi
fi
# The disk's request counters (/sys/class/block/DEV/stat), to show the
# request sizes the device saw: the block layer splits and merges requests.
dev_stat="/sys/class/block/$(basename "$(df --output=source "$dir" | tail -1)")/stat"
[[ -r "$dev_stat" ]] || dev_stat=""
disk_counters() { # write|read -> "ios sectors"
  if [[ -z "$dev_stat" ]]; then echo "0 0"; return; fi
  if [[ $1 == write ]]; then awk '{print $5, $7}' "$dev_stat"; else awk '{print $1, $3}' "$dev_stat"; fi
}
fio_file="$dir/fio-bench-io.bin"
trap 'rm -f "$fio_file" "$dir/offrt-bench-io.bin"' EXIT

run_fio() { # write|read [fio options] -> GB/s
  local phase=$1; shift
  fio --name="offload-$phase" --filename="$fio_file" --size="$size_bytes" \
      --bs="$block_bytes" --iodepth="$qd" --ioengine=io_uring --direct=1 \
      --rw="$phase" --output-format=json "$@" |
    python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print(round(j['$phase']['bw_bytes']/1e9, 4))"
}

run_ours() { # write|read -> "GB/s mode fixed pages"
  "$offrt" bench io --dir "$dir" --size "$size" --qd "$qd" --block "$block" \
      --phase "$1" --keep --json "${extra[@]}" |
    python3 -c "import json,sys; j=json.load(sys.stdin); print(j['$1_GBps'], j['mode'].replace(' ', '_'), j['fixed_buffers'], j['pages'])"
}

tools=(ours fio); ((fio_huge)) && tools+=(fio-huge)
echo "io_compare: $size file, block $block, queue depth $qd, O_DIRECT, io_uring, $repeat repeats, dir $dir ($(df --output=fstype "$dir" | tail -1))"
echo "io_compare: offrt $offrt ${extra[*]}; $(fio --version); load $(cut -d' ' -f1-3 /proc/loadavg)"
results=() mode="" fixed="" pages=""
for ((i = 1; i <= repeat; i++)); do
  k=$(( (i - 1) % ${#tools[@]} ))
  order=("${tools[@]:k}" "${tools[@]:0:k}")
  for phase in write read; do # the writes, then the reads: each group adjacent in time
    for who in "${order[@]}"; do
      read -r ios0 sectors0 < <(disk_counters "$phase")
      case "$who" in
        ours) read -r g mode fixed pages < <(run_ours "$phase") ;;
        fio) [[ $phase == write ]] && rm -f "$fio_file"; g=$(run_fio "$phase") ;;
        fio-huge) [[ $phase == write ]] && rm -f "$fio_file"
                  g=$(run_fio "$phase" --iomem=mmaphuge --hugepage-size=2M) ;;
      esac
      read -r ios1 sectors1 < <(disk_counters "$phase")
      requests=""
      if (( ios1 > ios0 )); then
        requests=" ($((ios1 - ios0)) disk requests, $(( (sectors1 - sectors0) / 2 / (ios1 - ios0) )) KiB each on average)"
      fi
      results+=("$i $who $phase $g")
      echo "  run $i $phase $who: $g GB/s$requests"
    done
  done
done
echo "  (ours: engine $mode, fixed buffers $fixed, $pages pages)"

python3 - "${results[@]}" <<'PY'
import collections, json, statistics, sys
med = statistics.median
runs = collections.defaultdict(dict)  # (repeat, phase) -> tool -> GB/s
for result in sys.argv[1:]:
    i, who, phase, g = result.split()
    runs[(int(i), phase)][who] = float(g)
tools = sorted({w for d in runs.values() for w in d}, key=["ours", "fio", "fio-huge"].index)
summary = {}
for who in tools:
    for phase in ("write", "read"):
        summary[f"{who}_{phase}"] = med([d[who] for (i, p), d in runs.items() if p == phase])
    label = who + ":"
    print(f"median  {label:9} write {summary[who + '_write']:.3f} GB/s, "
          f"read {summary[who + '_read']:.3f} GB/s")
for ref in [t for t in tools if t != "ours"]:
    ratios = {}
    for phase in ("write", "read"):
        # Each repeat runs the tools back to back, so slow drifts of the disk cancel.
        ratios[phase] = med([d["ours"] / d[ref] for (i, p), d in runs.items() if p == phase])
        summary[f"paired_ratio_{phase}_vs_{ref}"] = ratios[phase]
    verdict = "met" if min(ratios.values()) >= 0.95 else "NOT met"
    print(f"ratio ours/{ref}, median of pairs: write {ratios['write']:.3f}, "
          f"read {ratios['read']:.3f}  (goal >= 0.95: {verdict})")
print(json.dumps({k: round(v, 4) for k, v in summary.items()}))
PY
