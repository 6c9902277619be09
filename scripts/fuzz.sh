#!/usr/bin/env bash
# Fuzz every protocol decoder with libFuzzer: scripts/fuzz.sh [SECONDS_PER_TARGET]
# (default 60). Configures build-fuzz with clang and -DOCOP_FUZZ=ON, builds the
# targets of tests/fuzz.cmake, and runs each on a temporary copy of its seed corpus
# (tests/fuzz/corpus/<target>/, never modified). On a crash, a sanitizer report or
# a broken decoder promise it prints the crashing input's path and exits 1: copy
# that file into tests/fuzz/crashes/ and fault.fuzz.corpus replays it in every build.
set -euo pipefail
secs=${1:-60}
case $secs in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
root=$PWD
dir=$root/build-fuzz
targets=(message change bundle files rubric sheetcsv)
# Every library is instrumented for coverage; the targets add the libFuzzer main.
# Warnings stay warnings here: clang's set differs from gcc's, which CI enforces.
flags="-O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DOCOP_FUZZ=ON -DOCOP_WERROR=OFF \
  -DCMAKE_C_FLAGS="$flags" >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

work=$(mktemp -d "${TMPDIR:-/tmp}/ocop-fuzz-XXXXXX")
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp "$root/tests/fuzz/corpus/$t/"* "$work/$t/corpus/"
  echo "== fuzz_$t: ${secs}s =="
  if "$dir/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" \
      "$work/$t/corpus" >"$work/$t/log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$work/$t/log" || true
  else
    tail -n 40 "$work/$t/log"
    for f in "$work/$t/artifacts/"*; do
      [ -e "$f" ] && echo "crashing input: $f"
    done
    status=1
  fi
done
if [ "$status" -eq 0 ]; then
  rm -rf "$work"
  echo "fuzz: no crash in ${#targets[@]} targets"
else
  echo "fuzz: crash found; logs and inputs kept in $work" >&2
fi
exit "$status"
