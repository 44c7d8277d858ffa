#!/usr/bin/env bash
# The one prepared GPU check of the CUDA backend (issue [F]; docs/gpu-check.md).
#
#   scripts/gpu-check.sh prepare [--build DIR]
#       Here, where offc is built: compiles the plans the run needs, makes the
#       token file, packs stripped offrt, cuda_tests and cpu_kernel_tests, all
#       into DIR/gpu-check (default build/gpu-check, < 64 MiB: what the device
#       tool carries with the working tree).
#   scripts/gpu-check.sh run [--build DIR] [--out DIR] [--quick]
#       On the GPU machine (needs only the NVIDIA driver; cuBLASLt and PyTorch
#       are used where present): the CUDA tests, the CUDA-vs-CPU conformance
#       suite, training on the GPU against the CPU backend, the benchmarks.
#       Results go to --out (default $OUT, else ./gpu-check-out), at most 8
#       files. Without a usable GPU it does every check that needs none (the
#       binaries run and link, the plans load, the kernel table is complete)
#       and stops there with "no GPU", exit 0: the dry run.
#       --no-gpu: behave as if there were no GPU (ctest gpu_check_dry_run).
#       OFF_GPU_CHECK_SKIP_TORCH=1: skip the PyTorch baseline (a rerun).
#       --plumbing: without a GPU, run the rest with the CPU backend standing in
#       (tiny as the benchmark model; the device-only steps skipped), to test
#       this script's own comparisons and result files.
#
# Every step has a time limit; the whole run is sized for under 8 minutes on
# one H200. Exit status: 0 when every check that ran passed, 1 otherwise.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
shift || true
build="$here/build"
out="${OUT:-$PWD/gpu-check-out}"
quick=0
plumbing=0
nogpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --plumbing) plumbing=1; shift ;;
    --no-gpu) nogpu=1; shift ;;
    *) echo "gpu-check.sh: error: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bundle="$build/gpu-check"

# The plans: NAME and offc arguments. tiny and tiny_offload are one model at
# two budgets (everything on the device; params and optimizer on the host,
# AdamW on the host optimizer's stream, every layer recomputed): their GPU
# losses must agree bit for bit. m43 is the larger test model. big does not
# fit its --vram cap: the training-step benchmark.
plans=(
  "tiny|--model llama --size tiny --batch 4 --seq 64"
  "tiny_offload|--model llama --size tiny --batch 4 --seq 64 --place params=host --place optimizer=host --remat all"
  "tiny_nvme|--model llama --size tiny --batch 4 --seq 64 --place params=nvme --place optimizer=nvme --place grads=host --place activations=host --remat all"
  "m43|--model llama --config $here/bench/llama-43m.json --batch 4 --seq 256"
  "big|--model llama --size llama3.2-1b --batch 4 --seq 1024 --vram 8G"
  "big_bf16|--model llama --size llama3.2-1b --batch 4 --seq 1024 --vram 8G --precision bf16-mixed"
)

die() { echo "gpu-check.sh: error: $*" >&2; exit 1; }

prepare() {
  local offc="$build/bin/offc" offrt="$build/bin/offrt"
  for b in offc offrt cuda_tests cpu_kernel_tests; do
    [ -x "$build/bin/$b" ] || die "$build/bin/$b is missing: build first (ninja -C $build offc offrt cuda_tests cpu_kernel_tests)"
  done
  "$offrt" --version | grep -q "CUDA: on" || die "$offrt is not a CUDA build (offrt --version says CUDA: off)"
  rm -rf "$bundle" && mkdir -p "$bundle/plans" || die "cannot create $bundle"
  # Tokens: this repository's sources, byte-level (vocab 256; every model's
  # vocabulary holds them).
  (cd "$here" && { git ls-files '*.cpp' '*.h' '*.md' '*.cu' 2>/dev/null ||
    find runtime compiler docs -name '*.cpp' -o -name '*.h' -o -name '*.md'; } | xargs cat) \
    >"$bundle/text.txt"
  "$offrt" tokenize "$bundle/text.txt" -o "$bundle/tokens.bin" >/dev/null || die "tokenize failed"
  rm -f "$bundle/text.txt"
  for entry in "${plans[@]}"; do
    local name="${entry%%|*}" args="${entry#*|}"
    echo "prepare: offc compile $args"
    # shellcheck disable=SC2086
    timeout 600 "$offc" compile $args --report "$bundle/plans/$name.report.json" \
      -o "$bundle/plans/$name.bin" >"$bundle/plans/$name.offc.txt" 2>&1 \
      || { cat "$bundle/plans/$name.offc.txt" >&2; die "offc compile $name failed"; }
    "$offrt" inspect "$bundle/plans/$name.bin" >"$bundle/plans/$name.inspect.txt" \
      || die "offrt inspect $name failed"
  done
  # Parameter counts for the TFLOPS figure (6 x params x tokens/s).
  for entry in "${plans[@]}"; do
    local name="${entry%%|*}"
    "$offrt" inspect "$bundle/plans/$name.bin" --tensors 2>/dev/null |
      awk -F'\t' '$2 ~ /^param/ && $3 == "f32" { total += $7 / 4 } END { printf "%d\n", total }' >"$bundle/plans/$name.params"
  done
  local staging
  staging="$(mktemp -d)"
  for b in offrt cuda_tests cpu_kernel_tests; do
    strip -o "$staging/$b" "$build/bin/$b" || die "strip $b failed"
  done
  # The shared libraries a bare GPU machine lacks (oneDNN and what it needs):
  # everything ldd resolves except the C and C++ runtimes every Linux has.
  mkdir -p "$staging/lib"
  ldd "$staging/offrt" "$staging/cuda_tests" "$staging/cpu_kernel_tests" |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
    grep -vE '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$staging/lib/" || exit 1; done || die "copying the shared libraries failed"
  tar -C "$staging" -czf "$bundle/bin.tar.gz" offrt cuda_tests cpu_kernel_tests lib || die "tar failed"
  rm -rf "$staging"
  (cd "$here" && git rev-parse HEAD 2>/dev/null || echo unknown) >"$bundle/commit"
  local size
  size=$(du -sb "$bundle" | cut -f1)
  echo "prepare: $bundle holds $((size / 1048576)) MiB (the device tool carries 64 MiB with the tree)"
  [ "$size" -lt $((56 * 1048576)) ] || die "$bundle is over 56 MiB"
  echo "prepare: done; on the GPU machine: bash scripts/gpu-check.sh run (carry build/gpu-check)"
}

# ---------------------------------------------------------------- run ------
log=""
summary=""
failures=0
note() { echo "$*" | tee -a "$log"; }
result() { # STATUS NAME DETAIL
  printf '%-5s %-34s %s\n' "$1" "$2" "$3" | tee -a "$summary" "$log"
  [ "$1" = FAIL ] && failures=$((failures + 1))
  return 0
}
step() { # NAME SECONDS COMMAND...: runs, logs, PASS/FAIL by exit status
  local name="$1" limit="$2"
  shift 2
  note "== $name: $*"
  local start end rc
  start=$(date +%s.%N)
  timeout "$limit" "$@" >>"$log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  local took
  took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f s", b - a }')
  if [ $rc -eq 0 ]; then result PASS "$name" "$took"
  elif [ $rc -eq 124 ]; then result FAIL "$name" "timed out after $limit s"
  else result FAIL "$name" "exit $rc ($took; see log.txt)"; fi
  return $rc
}

# Max relative difference of the losses of two train logs (JSON lines).
loss_diff() {
  paste -d' ' <(grep -o '"loss":[^,]*' "$1" | cut -d: -f2) <(grep -o '"loss":[^,]*' "$2" | cut -d: -f2) |
    awk '{ d = $1 - $2; if (d < 0) d = -d; s = $2 < 0 ? -$2 : $2; r = d / (s > 1e-30 ? s : 1e-30); if (r > m) m = r; n++ }
         END { if (n == 0) print "nan"; else printf "%.3g\n", m }'
}

find_cublaslt() {
  [ -n "${OFF_CUBLASLT:-}" ] && return
  local dir
  for py in python3 /opt/torch/.venv/bin/python3; do
    dir=$("$py" -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null) || continue
    if [ -f "$dir/libcublasLt.so.13" ]; then export OFF_CUBLASLT="$dir/libcublasLt.so.13"; return; fi
  done
  for f in /usr/local/cuda/lib64/libcublasLt.so.13 /usr/lib/x86_64-linux-gnu/libcublasLt.so.13; do
    if [ -f "$f" ]; then export OFF_CUBLASLT="$f"; return; fi
  done
}

run() {
  mkdir -p "$out" || die "cannot create $out"
  log="$out/log.txt"
  summary="$out/summary.txt"
  : >"$log"
  : >"$summary"
  [ -f "$bundle/bin.tar.gz" ] || die "$bundle/bin.tar.gz is missing: run 'scripts/gpu-check.sh prepare' where offc is built, and carry $bundle"
  local bin
  bin="$(mktemp -d)/bin"
  mkdir -p "$bin" && tar -C "$bin" -xzf "$bundle/bin.tar.gz" || die "cannot unpack $bundle/bin.tar.gz"
  local offrt="$bin/offrt" plans="$bundle/plans" tokens="$bundle/tokens.bin"
  note "gpu-check: $(date -u +%FT%TZ) on $(hostname), commit $(cat "$bundle/commit" 2>/dev/null)"
  note "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(free -g | awk '/Mem:/ { print $2 " GiB" }')"
  if command -v nvidia-smi >/dev/null; then nvidia-smi -L 2>&1 | tee -a "$log"; else note "nvidia-smi: not available"; fi

  # -- what needs no GPU -----------------------------------------------------
  # The bundle's own lib/ first: oneDNN and its needs travel with the binaries.
  export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # Run each binary rather than trust ldd's report (under some sandboxes ldd
  # says nothing of a library the loader then cannot find).
  if "$offrt" --version >/dev/null 2>>"$log" && "$bin/cuda_tests" --gtest_list_tests >/dev/null 2>>"$log" &&
    "$bin/cpu_kernel_tests" --gtest_list_tests >/dev/null 2>>"$log"; then
    result PASS binaries-link "offrt, cuda_tests, cpu_kernel_tests start (bundled: $(ls "$bin/lib" | tr '\n' ' '))"
  else
    ldd "$offrt" "$bin/cuda_tests" "$bin/cpu_kernel_tests" >>"$log" 2>&1
    result FAIL binaries-link "a binary does not start: a shared library is missing? (log.txt)"
  fi
  local version
  version="$("$offrt" --version 2>&1)"
  note "$version"
  if echo "$version" | grep -q "CUDA: on"; then result PASS offrt-cuda-build "CUDA: on"
  else result FAIL offrt-cuda-build "offrt --version: $(echo "$version" | grep CUDA)"; fi
  step cuda-kernel-table 60 "$bin/cuda_tests" "--gtest_filter=CudaKernelTable.*:CudaVsCpuCoverage.*"
  for p in "$plans"/*.bin; do
    step "plan-loads-$(basename "$p" .bin)" 60 "$offrt" inspect "$p"
  done

  local cudaLine
  cudaLine="$(echo "$version" | grep 'CUDA: on')"
  local gpu=cuda big=big
  if [ $nogpu -eq 1 ] || ! echo "$cudaLine" | grep -q 'CUDA: on ([1-9]'; then
    if [ $nogpu -eq 1 ]; then result SKIP gpu "--no-gpu"
    else result SKIP gpu "no GPU: ${cudaLine#CUDA: on }"; fi
    if [ $plumbing -eq 0 ]; then
      note "gpu-check: no usable GPU: stopped after the checks that need none (dry run)"
      [ $failures -eq 0 ]
      return
    fi
    note "gpu-check: --plumbing: the CPU backend stands in for the GPU from here on"
    gpu=cpu big=tiny quick=1
  fi
  device() { # NAME: runs the rest of the line only where there is a GPU
    if [ "$gpu" = cuda ]; then return 0; fi
    result SKIP "$1" "needs a GPU (--plumbing)"
    return 1
  }

  # -- the GPU ------------------------------------------------------------------
  find_cublaslt
  note "cuBLASLt: ${OFF_CUBLASLT:-not found: matmul runs on our own GEMM}"
  local results="$out/results.json"
  echo "{" >"$results"
  device cuda-device-tests && step cuda-device-tests 180 "$bin/cuda_tests" --needs-device "--gtest_filter=-CudaKernelTable.*:CudaVsCpuCoverage.*" \
    "--gtest_output=xml:$out/cuda_tests.xml"
  device cuda-own-gemm && step cuda-own-gemm 60 env OFF_CUDA_GEMM=own "$bin/cuda_tests" --needs-device "--gtest_filter=Ops/CudaVsCpu.*/*matmul*"
  device cuda-conformance && step cuda-conformance 180 "$bin/cpu_kernel_tests" "--gtest_filter=*/cuda" "--gtest_output=xml:$out/conformance.xml"

  # Training: the GPU against the CPU backend (fp32 both: losses within
  # 1e-3 relative over the steps), and across budgets on the GPU (bitwise).
  local t="$out/.train"
  mkdir -p "$t"
  local steps=20
  [ $quick -eq 1 ] && steps=5
  local train=("$offrt" train --data "$tokens" --seed 7 --quiet)
  step train-tiny-cpu 120 "${train[@]}" "$plans/tiny.bin" --steps $steps --log "$t/tiny_cpu.jsonl"
  step train-tiny-cuda 120 "${train[@]}" "$plans/tiny.bin" --steps $steps --backend $gpu --log "$t/tiny_cuda.jsonl"
  step train-tiny-offload-cuda 120 "${train[@]}" "$plans/tiny_offload.bin" --steps $steps --backend $gpu --log "$t/tiny_offload_cuda.jsonl"
  mkdir -p "$t/nvme"
  step train-tiny-nvme-cuda 120 "${train[@]}" "$plans/tiny_nvme.bin" --steps $steps --backend $gpu --nvme "$t/nvme" --log "$t/tiny_nvme_cuda.jsonl"
  local d
  d=$(loss_diff "$t/tiny_cuda.jsonl" "$t/tiny_cpu.jsonl")
  if awk -v d="$d" 'BEGIN { exit !(d <= 1e-3) }'; then result PASS tiny-cuda-vs-cpu "max relative loss difference $d over $steps steps"
  else result FAIL tiny-cuda-vs-cpu "max relative loss difference $d over $steps steps (> 1e-3)"; fi
  if cmp -s <(cut -d, -f1-3 "$t/tiny_cuda.jsonl") <(cut -d, -f1-3 "$t/tiny_offload_cuda.jsonl") &&
    cmp -s <(cut -d, -f1-3 "$t/tiny_cuda.jsonl") <(cut -d, -f1-3 "$t/tiny_nvme_cuda.jsonl") && [ -s "$t/tiny_cuda.jsonl" ]; then
    result PASS tiny-budgets-bitwise "device-resident, host-offloaded and NVMe plans: the same losses and norms, bit for bit"
  else
    result FAIL tiny-budgets-bitwise "losses differ between the two budgets (log.txt)"
  fi
  local msteps=5
  [ $quick -eq 1 ] && msteps=2
  step train-m43-cpu 240 "${train[@]}" "$plans/m43.bin" --steps $msteps --log "$t/m43_cpu.jsonl"
  step train-m43-cuda 120 "${train[@]}" "$plans/m43.bin" --steps $msteps --backend $gpu --log "$t/m43_cuda.jsonl"
  d=$(loss_diff "$t/m43_cuda.jsonl" "$t/m43_cpu.jsonl")
  if awk -v d="$d" 'BEGIN { exit !(d <= 1e-3) }'; then result PASS m43-cuda-vs-cpu "max relative loss difference $d over $msteps steps"
  else result FAIL m43-cuda-vs-cpu "max relative loss difference $d over $msteps steps (> 1e-3)"; fi
  # The tiled attention kernels (OFF_CUDA_ATTENTION=auto; not yet the
  # default): the same models against the CPU backend.
  if [ "$gpu" = cuda ]; then
    for m in tiny m43; do
      local n=$steps
      [ $m = m43 ] && n=$msteps
      step "train-$m-cuda-tiled" 120 env OFF_CUDA_ATTENTION=auto "${train[@]}" "$plans/$m.bin" --steps $n --backend cuda --log "$t/${m}_cuda_tiled.jsonl"
      d=$(loss_diff "$t/${m}_cuda_tiled.jsonl" "$t/${m}_cpu.jsonl")
      if awk -v d="$d" 'BEGIN { exit !(d <= 1e-3) }'; then result PASS "$m-cuda-tiled-vs-cpu" "max relative loss difference $d over $n steps"
      else result FAIL "$m-cuda-tiled-vs-cpu" "max relative loss difference $d over $n steps (> 1e-3)"; fi
    done
  fi
  for f in "$t"/*.jsonl; do note "-- $(basename "$f")"; cat "$f" >>"$log"; done

  # Benchmark 1: PCIe from the pinned arena vs cudaMemcpy peak.
  device bench-cuda-copy && step bench-cuda-copy 120 sh -c "'$offrt' bench cuda-copy --json > '$t/copy.json'"
  [ -s "$t/copy.json" ] && echo "\"cuda_copy\": $(cat "$t/copy.json")," >>"$results"

  # The machine measured into a device profile ([D2], offrt calibrate): on a
  # GPU calibrated.json (the GPU: matmul f32/bf16, memory, PCIe) and
  # calibrated.host.json (its host: CPU matmul, memory, AdamW, and the disk
  # under $t through the NVMe engine, a 256 MiB file); with --plumbing the
  # CPU profile alone.
  step calibrate 90 "$offrt" calibrate --backend $gpu --quick --nvme "$t" -o "$out/calibrated.json"

  # Benchmark 2: a training step of a model over its --vram cap, fp32 and
  # bf16-mixed (fp32 master weights and AdamW on the host).
  bench_big() { # KEY PLAN
    local key="$1" plan="$2" smi=""
    if [ "$gpu" = cuda ] && command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 >"$t/$key.smi.csv" 2>/dev/null &
      smi=$!
    fi
    local bsteps=4
    [ $quick -eq 1 ] && bsteps=2
    step "bench-$key" 300 "${train[@]}" "$plans/$plan.bin" --steps $bsteps --backend $gpu --log "$t/$key.jsonl"
    [ -n "$smi" ] && kill "$smi" 2>/dev/null && wait "$smi" 2>/dev/null
    [ -s "$t/$key.jsonl" ] || return 0
    cat "$t/$key.jsonl" >>"$log"
    local params tokens_per_step=$((4 * 1024))
    params=$(cat "$plans/$plan.params" 2>/dev/null || echo 0)
    [ "$plan" = tiny ] && tokens_per_step=$((4 * 64))
    # Steps after the first (warm-up): mean ms; tokens/s; 6*P*tokens/s; the
    # GPU busy fraction over the timed steps' window (nvidia-smi samples).
    local busy="null"
    if [ -s "$t/$key.smi.csv" ]; then
      busy=$(awk -F', ' '{ u[NR] = $2 } END { first = 0; for (i = 1; i <= NR; i++) if (u[i] > 0) { first = i; break }
                          last = 0; for (i = NR; i >= 1; i--) if (u[i] > 0) { last = i; break }
                          if (!first) { print "null"; exit } for (i = first; i <= last; i++) s += u[i]
                          printf "%.3f\n", s / (last - first + 1) / 100 }' "$t/$key.smi.csv")
      cat "$t/$key.smi.csv" >>"$out/smi.csv"
    fi
    grep -o '"ms":[0-9.e+-]*' "$t/$key.jsonl" | cut -d: -f2 | tail -n +2 |
      awk -v key="$key" -v p="$params" -v tok="$tokens_per_step" -v busy="$busy" '{ s += $1; n++ }
        END { if (n == 0) exit 1; ms = s / n; tps = tok / (ms / 1e3);
              printf "\"%s\": {\"steps_timed\": %d, \"ms_per_step\": %.1f, \"tokens_per_s\": %.1f, \"params\": %d, \"tflops_6PT\": %.2f, \"gpu_busy_fraction\": %s},\n", key, n, ms, tps, p, 6 * p * tps / 1e12, busy }' >>"$results" \
      || note "bench-$key: not enough steps to time"
  }
  bench_big train_big "$big"
  [ "$gpu" = cuda ] && bench_big train_big_bf16 big_bf16
  # Where the step's GPU time goes: each kernel's time per op (the stream
  # synchronized after every kernel, so not a step time), 3 steps, the
  # first not counted.
  local key
  for key in big big_bf16; do
    device "profile-$key" || break
    step "profile-$key" 120 env OFF_CUDA_SYNC_EACH_KERNEL=1 "${train[@]}" "$plans/$key.bin" --steps 3 \
      --backend $gpu --profile "$t/profile_$key.json" --log "$t/profile_$key.jsonl"
    [ -s "$t/profile_$key.json" ] && echo "\"profile_$key\": $(tr -d '\n' <"$t/profile_$key.json")," >>"$results"
  done

  # Benchmark 3: PyTorch side by side, where PyTorch with CUDA is installed.
  if [ "${OFF_GPU_CHECK_SKIP_TORCH:-0}" = 1 ]; then
    result SKIP bench-torch-big "OFF_GPU_CHECK_SKIP_TORCH=1 (a rerun that saves device time)"
  elif [ "$gpu" = cuda ] && python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
    local bsteps=4
    [ $quick -eq 1 ] && bsteps=2
    step bench-torch-big 300 sh -c "python3 '$here/bench/gpu_torch_baseline.py' --size llama3.2-1b --models-dir '$here/models' --batch 4 --seq 1024 --steps $bsteps > '$t/torch.json'"
    [ -s "$t/torch.json" ] && echo "\"torch_big\": $(tail -1 "$t/torch.json")," >>"$results"
    step bench-torch-big-bf16 300 sh -c "python3 '$here/bench/gpu_torch_baseline.py' --size llama3.2-1b --models-dir '$here/models' --batch 4 --seq 1024 --steps $bsteps --bf16 > '$t/torch_bf16.json'"
    [ -s "$t/torch_bf16.json" ] && echo "\"torch_big_bf16\": $(tail -1 "$t/torch_bf16.json")," >>"$results"
  else
    result SKIP bench-torch-big "no PyTorch with CUDA and transformers here"
  fi
  # The host optimizer's rate on this machine (the step above waits for it):
  # our CPU AdamW against torch's and the memory's bound, side by side.
  if [ "$gpu" = cuda ] && [ "${OFF_GPU_CHECK_SKIP_TORCH:-0}" != 1 ] && python3 -c 'import torch' 2>/dev/null; then
    step bench-host-adam 120 sh -c "python3 '$here/bench/adam_compare.py' --offrt '$offrt' --params 256M --threads \$(nproc) --steps 3 --rounds 1 --skip-deepspeed --json > '$t/adam.json'"
    [ -s "$t/adam.json" ] && echo "\"host_adam\": $(tail -1 "$t/adam.json")," >>"$results"
  fi
  echo "\"failures\": $failures }" >>"$results"
  rm -rf "$t"
  note "gpu-check: done, $failures failure(s); results in $out"
  [ $failures -eq 0 ]
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
