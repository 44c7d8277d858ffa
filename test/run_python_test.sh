#!/usr/bin/env bash
# Runs one Python test with the project's .venv interpreter, or fails saying
# how to get it: a missing reference is a failure, never a skip.
py=$1; shift
if [ ! -x "$py" ]; then
  echo "error: $py is missing: the test-side Python (torch, onnxruntime, ...) is" >&2
  echo "       installed by 'bash scripts/setup.sh' (or run 'bash scripts/test.sh')." >&2
  exit 1
fi
exec "$py" "$@"
