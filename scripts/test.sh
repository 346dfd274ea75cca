#!/usr/bin/env bash
# Runs the test suites label by label, each with a time budget so `make test` stays well under
# 30 minutes on 2 cores. A test over its own per-test timeout fails; a label over its budget fails.
set -euo pipefail
cd "$(dirname "$0")/.."

run_label() {
  local label=$1 per_test=$2 budget=$3
  echo "== ctest -L ${label} (per test ${per_test}s, budget ${budget}s)"
  timeout --signal=TERM --kill-after=30 "${budget}" \
    ctest --test-dir build -L "^${label}\$" --timeout "${per_test}" --output-on-failure \
      -j "${CTEST_JOBS:-2}"
}

run_label unit 60 300
run_label integration 180 900
run_label fuzz 120 300
run_label slow 400 600
