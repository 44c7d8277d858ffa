#!/bin/bash
# A rank that is late past the timeout, or killed, ends the whole job with a
# message, never a hang. Usage: comm_failures.sh MPIEXEC COMM_MPI_CHECK
set -u
mpiexec=$1 check=$2
fail=0
run() { timeout 60 "$mpiexec" -n 2 --oversubscribe "$check" "$1" 2>&1; }

start=$SECONDS
out=$(run late); code=$?
echo "$out" | sed 's/^/  late| /'
if [ $code -eq 0 ] || [ $code -eq 124 ]; then echo "FAIL late: exit $code (want a failure, not success or a hang)"; fail=1; fi
if ! grep -q "rank 0 of 2: barrier timed out after 1 s" <<<"$out"; then
  echo "FAIL late: no message naming rank 0 and the barrier"; fail=1; fi
if [ $((SECONDS - start)) -gt 20 ]; then echo "FAIL late: took $((SECONDS - start)) s"; fail=1; fi

start=$SECONDS
out=$(run die); code=$?
echo "$out" | sed 's/^/  die| /'
if [ $code -eq 0 ] || [ $code -eq 124 ]; then echo "FAIL die: exit $code (want a failure, not success or a hang)"; fail=1; fi
if ! grep -qiE "rank 1|process rank 1" <<<"$out"; then echo "FAIL die: no message naming rank 1"; fail=1; fi
if grep -q "finished without an error" <<<"$out"; then echo "FAIL die: a rank finished"; fail=1; fi
exit $fail
