#!/usr/bin/env bash
# Runs Criterion suite binaries one after another and sums their results.
# The last line is "N passed, N failed" over every suite (CI reads it).
set -uo pipefail

passed=0
failed=0
start=$(date +%s)
for bin in "$@"; do
  name=$(basename "$bin")
  t0=$(date +%s)
  # one test at a time: each test already uses every core through OpenMP
  out=$("$bin" --short-filename --jobs 1 2>&1)
  rc=$?
  t1=$(date +%s)
  line=$(grep -a 'Synthesis: Tested:' <<<"$out" | tail -n 1)
  if [[ -z $line ]]; then
    echo "$out"
    echo "FAIL  $name: the suite crashed before reporting (exit $rc)"
    failed=$((failed + 1))
    continue
  fi
  tested=$(sed -E 's/.*Tested: ([0-9]+).*/\1/' <<<"$line")
  passing=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
  bad=$((tested - passing))
  passed=$((passed + passing))
  failed=$((failed + bad))
  if ((bad > 0 || rc != 0)); then
    echo "$out" | grep -av '^\[----\] *$'
    echo "FAIL  $name: $passing of $tested passed ($((t1 - t0)) s)"
    ((bad == 0)) && failed=$((failed + 1))
  else
    printf 'ok    %-40s %4d tests  %4d s\n' "$name" "$tested" $((t1 - t0))
  fi
done
echo "all suites: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
((failed == 0))
