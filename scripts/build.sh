#!/usr/bin/env bash
# Configure and build one build type into its own directory.
# usage: scripts/build.sh [Debug|Asan|Release] (default Debug)
set -euo pipefail
cd "$(dirname "$0")/.."
type="${1:-Debug}"
case "$type" in
  Debug) dir=build ;;
  *) dir="build-$(echo "$type" | tr '[:upper:]' '[:lower:]')" ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
cmake --build "$dir" -j"$(nproc)"
echo "$dir"
