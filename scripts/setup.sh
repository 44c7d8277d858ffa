#!/usr/bin/env bash
# Idempotent set-up on Debian 12: apt packages, the test-side Python venv,
# CMake configure and build. Seconds when nothing changed.
#   bash scripts/setup.sh            # everything
#   OFF_SKIP_VENV=1 bash scripts/setup.sh   # no Python test tools (no network)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf '[setup] %s\n' "$*" >&2; }

packages=(
  build-essential cmake ninja-build ccache git pkg-config python3 python3-venv
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libprotobuf-dev protobuf-compiler libonnx-dev
  liburing-dev libopenblas-dev libdnnl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin
)

# 1. apt packages, only those missing.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    say "error: missing packages ${missing[*]} and apt-get is not available;"
    say "       install them with your package manager (see scripts/setup.sh)."
    exit 1
  fi
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Test-side Python in .venv (torch, onnxruntime, ... pinned), redone only
#    when scripts/requirements-test.txt changes.
req=scripts/requirements-test.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "${OFF_SKIP_VENV:-0}" != 1 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating .venv with $req (first time: several GB, a few minutes)"
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi

# 3. Configure (once) and build. ccache keys on paths relative to the clone,
#    so a fresh clone reuses earlier compilations.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
if [ ! -f build/build.ninja ]; then
  say "configuring build/"
  cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
fi
say "building (ninja -C build)"
ninja -C build "$@" >&2 || { say "error: the build failed (output above)"; exit 1; }
say "ready: build/bin/{offc,offrt,off-opt}"
