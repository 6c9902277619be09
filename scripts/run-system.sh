#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the system on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=$(bash scripts/build.sh Release | tail -n 1)
exec bash scripts/demo.sh "$dir/bin"
