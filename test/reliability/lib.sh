# Helpers for the reliability cases (sourced before each case's command).
# The case runs in its own empty directory ($CASE); $FIX holds the shared
# fixtures (read them, copy what you change); $SRC is the source tree.

# Cleanups run when the case exits, whatever its status (which they keep).
__cleanups=()
__kept=()
__on_exit() {
  local rc=$?
  local status=$rc
  for path in "${__kept[@]}"; do
    if [ "$(__digest "$path")" != "$(cat "$CASE/.kept/$(__key "$path")")" ]; then
      echo "KEPT FILE CHANGED: $path"
      status=98
    fi
  done
  local i
  for ((i = ${#__cleanups[@]} - 1; i >= 0; i--)); do eval "${__cleanups[i]}" >/dev/null 2>&1; done
  exit $status
}
trap __on_exit EXIT
at_exit() { __cleanups+=("$*"); }

skip() { echo "SKIP: $*"; exit 77; }

# need root | tmpfs | setpriv | strace | cpus N: skips the case when it cannot be had here.
need() {
  case $1 in
    root) [ "$(id -u)" = 0 ] || skip "needs root (runs as $(id -un))" ;;
    tmpfs)
      need root
      mkdir -p "$CASE/.probe"
      mount -t tmpfs -o size=64k tmpfs "$CASE/.probe" 2>/dev/null ||
        skip "cannot mount a tmpfs here (no CAP_SYS_ADMIN in this container?)"
      umount "$CASE/.probe"; rmdir "$CASE/.probe" ;;
    setpriv)
      need root
      command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
      command -v prlimit >/dev/null || skip "prlimit (util-linux) is not installed" ;;
    cpus) # need cpus N: N CPUs in this process's affinity (nproc)
      [ "$(nproc)" -ge "$2" ] || skip "needs $2 CPUs, this process may run on $(nproc)" ;;
    strace)
      command -v strace >/dev/null || skip "strace is not installed"
      strace -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace refused)" ;;
    *) echo "need: unknown condition '$1'"; exit 99 ;;
  esac
}

# small_disk DIR SIZE: a tmpfs of SIZE (e.g. 300k) mounted on DIR for this case.
small_disk() {
  need tmpfs
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" || skip "cannot mount a tmpfs on $1"
  at_exit "umount -l '$1'"
}

__key() { printf '%s' "$1" | sha256sum | cut -c1-16; }
__digest() {
  if [ -d "$1" ]; then
    (cd "$1" && find . -print0 | LC_ALL=C sort -z | xargs -0 -I{} sh -c \
      'if [ -f "{}" ]; then printf "%s %s\n" "{}" "$(sha256sum < "{}")"; else echo "{}"; fi')
  elif [ -e "$1" ] || [ -L "$1" ]; then
    stat -c '%F' "$1"; [ -f "$1" ] && sha256sum < "$1"
  else
    echo missing
  fi | sha256sum
}
# keep PATH...: the case fails (exit 98) when any of them differs at its end
# (contents, or for a directory its whole tree).
keep() {
  mkdir -p "$CASE/.kept"
  for path in "$@"; do
    __digest "$path" > "$CASE/.kept/$(__key "$path")"
    __kept+=("$path")
  done
}

# deep_json N OPEN CLOSE: N levels of nesting (default arrays).
deep_json() {
  python3 -c "import sys; n=int(sys.argv[1]); sys.stdout.write(sys.argv[2]*n + '1' + sys.argv[3]*n)" \
    "$1" "${2:-[}" "${3:-]}"
}

# config_with KEY=JSON...: the tiny config with fields set (KEY=- removes it).
config_with() {
  python3 - "$FIX/tiny.json" "$@" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
for item in sys.argv[2:]:
    key, value = item.split("=", 1)
    if value == "-":
        config.pop(key, None)
    else:
        config[key] = json.loads(value)
print(json.dumps(config, indent=1))
EOF
}

# flip_byte FILE OFFSET: inverts one byte in place.
flip_byte() {
  python3 - "$1" "$2" <<'EOF'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(offset); b = f.read(1); f.seek(offset); f.write(bytes([b[0] ^ 0xFF]))
EOF
}

# plan_edit IN OUT SED_SCRIPT: the plan's protobuf as text (protoc
# --decode), edited with sed, encoded and framed again (header, CRC-32), so
# that the result passes the framing checks and reaches validation.
plan_edit() {
  python3 - "$1" "$2" "$3" "$SRC/runtime/plan" <<'EOF'
import struct, subprocess, sys, zlib
src, dst, script, proto_dir = sys.argv[1:]
data = open(src, "rb").read()
length = struct.unpack_from("<Q", data, 8)[0]
payload = data[16:16 + length]
run = lambda args, inp: subprocess.run(args, input=inp, capture_output=True, check=True).stdout
text = run(["protoc", "-I", proto_dir, "--decode=off.plan.Plan", "plan.proto"], payload)
text = run(["sed", "-E", script], text)
payload = run(["protoc", "-I", proto_dir, "--encode=off.plan.Plan", "plan.proto"], text)
out = data[:8] + struct.pack("<Q", len(payload)) + payload + struct.pack("<I", zlib.crc32(payload))
open(dst, "wb").write(out)
EOF
}

# safetensors_edit IN OUT PYTHON: runs PYTHON with `tensors` (name ->
# [dtype, shape, bytearray]) and `meta` loaded from IN, writes OUT.
safetensors_edit() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, struct, sys
src, dst, code = sys.argv[1:]
data = open(src, "rb").read()
n = struct.unpack_from("<Q", data, 0)[0]
header = json.loads(data[8:8 + n])
meta = header.pop("__metadata__", {})
body = data[8 + n:]
tensors = {k: [v["dtype"], v["shape"], bytearray(body[v["data_offsets"][0]:v["data_offsets"][1]])]
           for k, v in header.items()}
exec(code)
out_header, blobs, offset = {}, [], 0
for name, (dtype, shape, blob) in tensors.items():
    out_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(bytes(blob)); offset += len(blob)
if meta:
    out_header["__metadata__"] = meta
text = json.dumps(out_header).encode()
text += b" " * (-len(text) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
EOF
}

# set_f32 TENSORS_PY: python for safetensors_edit that writes float VALUE at
# element INDEX of tensor NAME:  set_f32 NAME INDEX VALUE
set_f32() {
  echo "import struct; struct.pack_into('<f', tensors['$1'][2], 4 * $2, float('$3'))"
}

# start_train LOG ARGS...: offrt train ARGS in the background, output to LOG;
# returns once it has printed its first progress line (or exited).
# TRAIN_PID is its pid.
start_train() {
  local log=$1; shift
  offrt train "$@" > "$log" 2>&1 &
  TRAIN_PID=$!
  at_exit "kill -9 $TRAIN_PID"
  wait_for "$log" '^step ' 30
}

# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX; false
# when the time runs out.
wait_for() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  echo "wait_for: no line matching '$2' in $1 after $3 s"; return 1
}

# llmc_tokens N OUT: an llm.c token file of N tokens (ids 0..255 repeating).
llmc_tokens() {
  python3 - "$1" "$2" <<'EOF'
import struct, sys
n, out = int(sys.argv[1]), sys.argv[2]
header = [20240520, 1, n] + [0] * 253
open(out, "wb").write(struct.pack("<256i", *header) + struct.pack(f"<{n}H", *[(i * 7) % 256 for i in range(n)]))
EOF
}

# pids_limit MAX CMD...: runs CMD (at most 30 s) alone in a fresh pids cgroup
# whose pids.max is MAX (threads count: every thread is a task), cgroup v2
# or v1; removed afterwards. Skips the case where no such cgroup can be made
# (not root, no pids controller, a v2 parent that cannot delegate it).
pids_limit() {
  need root
  local max=$1 root cg
  shift
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    root=/sys/fs/cgroup
    grep -qw pids "$root/cgroup.controllers" || skip "cgroup v2 without the pids controller"
    grep -qw pids "$root/cgroup.subtree_control" ||
      echo +pids > "$root/cgroup.subtree_control" 2>/dev/null ||
      skip "cannot enable the pids controller for child cgroups of $root"
  elif [ -d /sys/fs/cgroup/pids ]; then
    root=/sys/fs/cgroup/pids
  else
    skip "no pids cgroup controller mounted"
  fi
  cg=$root/off-reliability-$$-$RANDOM
  mkdir "$cg" 2>/dev/null || skip "cannot create a cgroup under $root"
  at_exit "rmdir '$cg'"
  echo "$max" > "$cg/pids.max" 2>/dev/null || skip "cannot set pids.max in $cg"
  # The child joins the cgroup, then becomes CMD: only CMD's threads count.
  timeout -k 5 30 bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$cg" "$@"
}

# task_count PID: the threads of a running process.
task_count() { ls "/proc/$1/task" | wc -l; }

# paused_after_map FILE OUT CMD...: runs CMD in the background (output to
# OUT) under strace, which holds it for 1 s right after it maps FILE (the
# mmap's return is delayed); returns once the map is made, so that the case
# can change FILE before CMD reads a byte of it. PAUSED_PID is strace's pid.
paused_after_map() {
  need strace
  local file=$1 out=$2
  shift 2
  strace -f -qq -o "$CASE/.strace" -P "$(realpath "$file")" -e trace=mmap \
    -e inject=mmap:delay_exit=1000000 "$@" > "$out" 2>&1 &
  PAUSED_PID=$!
  at_exit "kill -9 $PAUSED_PID"
  wait_for "$CASE/.strace" 'mmap\(' 30
}
