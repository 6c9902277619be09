#!/usr/bin/env bash
# README command 2: install what is missing, build, and pass every test in the
# normal and the sanitizer (address+undefined) builds.
# Set OCOP_SOAK=1 for the long runs (more simulation seeds, longer fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The seeded simulation runs 1,000 seeds in the normal build (enough for it to
# walk every workflow transition it checks) and 100 under the sanitizers; each
# seed is a whole province with seven sites, one of them lying. The three-tier
# simulation runs 300 seeds and 60 under the sanitizers. OCOP_SOAK=1 runs
# 100,000 and 10,000 (10,000 and 2,000 of the three tiers).
if [ "${OCOP_SOAK:-0}" = "1" ]; then sim_debug=100000; sim_asan=10000; sim3_debug=10000; sim3_asan=2000;
else sim_debug=1000; sim_asan=100; sim3_debug=300; sim3_asan=60; fi
for type in Debug Asan; do
  dir=$(bash scripts/build.sh "$type" | tail -n 1)
  echo "== ctest ($type) =="
  if [ "$type" = Debug ]; then seeds=$sim_debug; seeds3=$sim3_debug; else seeds=$sim_asan; seeds3=$sim3_asan; fi
  (cd "$dir" && OCOP_SIM_SEEDS=$seeds OCOP_SIM3_SEEDS=$seeds3 ctest --output-on-failure -j2)
done
# README command 1 runs the Release build: it must compile (warnings as errors) too.
echo "== build (Release) =="
bash scripts/build.sh Release >/dev/null
# The Debian package: built with CPack, installed with apt, run, removed.
echo "== package (.deb) =="
bash scripts/package.sh --check
# A short bounded libFuzzer run of every decoder of network and file bytes
# (protocol messages, change records, USB bundles, rubric files, CSV sheets).
if [ "${OCOP_SOAK:-0}" = "1" ]; then fuzz_secs=600; else fuzz_secs=${OCOP_FUZZ_SECONDS:-30}; fi
echo "== fuzz (${fuzz_secs}s per target) =="
bash scripts/fuzz.sh "$fuzz_secs"
echo "all tests passed in Debug and Asan builds; fuzzing found nothing"
