#!/usr/bin/env bash
# README command 2: install what is missing, build, and pass every test in the
# normal and the sanitizer (address+undefined) builds.
# Set OCOP_SOAK=1 for the long runs (more simulation seeds, longer fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for type in Debug Asan; do
  dir=$(bash scripts/build.sh "$type" | tail -n 1)
  echo "== ctest ($type) =="
  (cd "$dir" && ctest --output-on-failure -j2)
done
echo "all tests passed in Debug and Asan builds"
