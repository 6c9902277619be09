#!/usr/bin/env bash
# The demo round on loopback, with the programs in the directory given ($1).
# Every process and temp file it starts is cleaned up on exit.
set -euo pipefail
bin="$(cd "${1:?usage: demo.sh BIN_DIR}" && pwd)"
work=$(mktemp -d "${TMPDIR:-/tmp}/ocop-demo-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
echo "== starting the provincial server on tcp://127.0.0.1:$port =="
"$bin/ocopd" --role province --listen "tcp://127.0.0.1:$port" 2>"$work/ocopd.log" &
pids+=($!)
sleep 0.3
"$bin/ocop" --version
echo "== stopping the server =="
kill -TERM "${pids[0]}"
wait "${pids[0]}"
pids=()
cat "$work/ocopd.log"
echo "demo finished"
