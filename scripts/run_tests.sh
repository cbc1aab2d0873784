#!/usr/bin/env bash
# make test: every test, with each ROS / end-to-end test module in a pytest process of its own.
#
# Why: isolation, as colcon / launch_testing give ROS tests: one module's leftovers (executor
# threads, DDS participants, shared-memory segments, a stuck browser) cannot change another's
# outcome, and a crash in native code fails one module, not the run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
passed=0; failed=0; failures=(); failed_tests=()

tally() {  # add the counts of one pytest run (its last summary line) to the totals
  local line="$1" p f e
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
  e=$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' || true)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
}

run() {  # pytest ARGS...; prints its output, keeps its summary
  local out rc
  out=$("$PY" -m pytest -q -p no:cacheprovider -rfE "$@" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -vE '^[0-9]+ (passed|failed)' | tail -n 40
  mapfile -t -O "${#failed_tests[@]}" failed_tests < <(printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) ' | cut -c1-300)
  tally "$(printf '%s\n' "$out" | grep -E '(passed|failed|error)' | tail -n 1)"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then failures+=("$*"); fi
}

run -m "unit"
mapfile -t modules < <("$PY" -m pytest -q -p no:cacheprovider --collect-only -m "ros or e2e" 2>/dev/null \
  | grep -oE '^[^ :]+\.py' | sort -u)
for m in "${modules[@]}"; do
  echo "== $m"
  run -m "ros or e2e" "$m"
done
# the failed tests by name, last, where a log's tail shows them
for t in "${failed_tests[@]}"; do echo "$t"; done
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "${#failures[@]}" -eq 0 ]
