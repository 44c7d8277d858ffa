#!/usr/bin/env bash
# The shared inputs of the reliability cases, made once per ctest run:
#   make_fixtures.sh BUILD_DIR FIXTURE_DIR
# tok.bin (llm.c tokens), tiny.json (the tiny config), plan.bin (tiny,
# batch 2 x seq 16, train), fwd.bin (the same model's forward), init.safetensors
# (weights after one step), ck/ (a save directory at step 2), long.bin (tokens
# for runs that last a while).
set -euo pipefail
build=$(cd "$1" && pwd)
mkdir -p "$(dirname "$2")"
fix=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$build/bin:$PATH"
staging="$fix.tmp.$$"
rm -rf "$staging"
mkdir -p "$staging"
cd "$staging"
offrt tokenize /usr/share/common-licenses/Apache-2.0 /usr/share/common-licenses/GPL-3 -o tok.bin >/dev/null
cp "$src/models/llama/tiny.json" tiny.json
offc compile --model llama --size tiny --batch 2 --seq 16 -o plan.bin 2>/dev/null
offc compile --model llama --size tiny --batch 2 --seq 16 --forward -o fwd.bin 2>/dev/null
offrt train plan.bin --data tok.bin --steps 1 --save-dir first --quiet
cp first/step-1/model.safetensors init.safetensors
rm -rf first
offrt train plan.bin --data tok.bin --steps 2 --save-dir ck --quiet
rm -rf "$fix"
mv "$staging" "$fix"
echo "reliability fixtures in $fix"
