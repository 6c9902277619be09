#!/usr/bin/env bash
# Soak the real-process kill test (tests/fault/test_kill.c): run it RUNS times with
# CYCLES cycles each and a fresh seed per run, outside ctest's timeout. Stops at the
# first failure and keeps that run's files (databases and logs) for a look.
# usage: scripts/soak.sh [RUNS (default 5)] [CYCLES (default 100)] [BUILD_DIR (default build)]
# Replay one run's choices: OCOP_KILL_SEED=<seed> OCOP_KILL_CYCLES=<cycles> ctest -R fault.kill
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
cycles="${2:-100}"
dir="${3:-build}"
tmp="${TMPDIR:-/tmp}"
bin="$dir/tests/test_fault_kill"
if [ ! -x "$bin" ]; then
  echo "soak: no $bin: build first (scripts/build.sh)" >&2
  exit 2
fi
export OCOP_BIN_DIR="$PWD/$dir/bin" OCOP_SOURCE_DIR="$PWD" OCOP_KILL_CYCLES="$cycles"
for run in $(seq 1 "$runs"); do
  seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ^ $$ ))
  echo "== soak run $run/$runs: seed $seed, $cycles cycles"
  if ! OCOP_KILL_SEED="$seed" OCOP_KILL_KEEP=1 "$bin" >"$tmp/ocop-soak-$seed.log" 2>&1; then
    cat "$tmp/ocop-soak-$seed.log"
    echo "soak: run $run failed; output in $tmp/ocop-soak-$seed.log, files kept as named above" >&2
    exit 1
  fi
  grep -E 'cycles in|sessions completed|all checks passed' "$tmp/ocop-soak-$seed.log" || true
  # Passed: drop the kept files.
  kept=$(sed -n 's/^fault.kill: kept //p' "$tmp/ocop-soak-$seed.log")
  if [ -n "$kept" ] && [ -d "$kept" ]; then rm -rf "$kept"; fi
  rm -f "$tmp/ocop-soak-$seed.log"
done
echo "soak: $runs runs of $cycles cycles passed"
