#!/usr/bin/env bash
# The main job on the embedded default: the tiny built-in Llama, compiled under
# a small --vram and trained on the CPU backend on text that ships with every
# Debian machine (/usr/share/common-licenses), printing the loss as it falls.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
bin="$root/build/bin"
work="$root/build/demo"
mkdir -p "$work"
say() { printf '[demo] %s\n' "$*"; }
steps=${OFF_DEMO_STEPS:-300}

say "1/4 the tiny built-in Llama (models/llama/tiny.json)"
"$bin/offc" import --model llama --size tiny --batch 8 --seq 128 \
  -o "$work/tiny.mlir" --stats "$work/tiny.stats.json"

say "2/4 compiling one training step (batch 8 x 128 tokens, AdamW lr 3e-3, clip 1.0) under --vram 8M (the step needs 11.5M: it fits by moving the optimizer to the host and recomputing)"
"$bin/offc" compile --model llama --size tiny --batch 8 --seq 128 --lr 3e-3 \
  --vram 8M -o "$work/tiny.plan.bin"

say "3/4 tokenizing /usr/share/common-licenses (byte-level, vocab 256)"
"$bin/offrt" tokenize /usr/share/common-licenses/* -o "$work/licenses.tokens.bin"

say "4/4 training $steps steps on the CPU backend (the uniform guess is ln 256 = 5.55)"
rm -rf "$work/checkpoints"
"$bin/offrt" train "$work/tiny.plan.bin" --data "$work/licenses.tokens.bin" \
  --steps "$steps" --seed 0 --progress-every 25 --log "$work/train.jsonl" \
  --save-dir "$work/checkpoints"

first=$(head -1 "$work/train.jsonl" | sed 's/.*"loss":\([0-9.]*\).*/\1/')
last=$(tail -1 "$work/train.jsonl" | sed 's/.*"loss":\([0-9.]*\).*/\1/')
say "$(printf "loss: step 1 %.3f -> step %s %.3f (uniform guess: 5.545)" "$first" "$steps" "$last")"
say "checkpoint: $work/checkpoints/$(cat "$work/checkpoints/latest") (model.safetensors + config.json load with"
say "  transformers.LlamaForCausalLM.from_pretrained; resume with offrt train ... --resume $work/checkpoints)"
say "per-step log: $work/train.jsonl"
