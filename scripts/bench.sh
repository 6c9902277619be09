#!/usr/bin/env bash
# Build the Release benchmarks and run them all, printing each program's tables
# and then one summary table against the targets (BENCHMARKS.md explains them).
#
# usage: scripts/bench.sh [--quick] [--json]
#   --quick        2,000 dossiers, 200 edits, 1 repetition, a 50 MB file, no load run (a smoke run, under two minutes)
#   --json         print only one JSON object of the issue's figures (the tables go to the results file)
# environment:
#   BENCH_REPS     repetitions per figure; medians are printed (default 3)
#   BENCH_ROWS     dossiers created and pushed (default 20000)
#   BENCH_EDITS    dossiers edited in the incremental and conflict runs (default 1000)
#   BENCH_FILE_MB  size of the evidence file moved up and down (default 200; --quick: 50)
#   BENCH_BUILD    build directory (default build-bench)
#   BENCH_LOAD     0 skips the load run (bench_load: 200 sites at once over TLS, hostile peers)
#   TMPDIR         where the databases go (default /tmp; they are removed after each run)
set -euo pipefail
cd "$(dirname "$0")/.."

reps=${BENCH_REPS:-3}
rows=${BENCH_ROWS:-20000}
edits=${BENCH_EDITS:-1000}
dir=${BENCH_BUILD:-build-bench}
file_mb=${BENCH_FILE_MB:-200}
load_args=""
json=0
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --json) json=1 ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  # The load run alone takes minutes (200 TLS sites): a quick run leaves it out unless asked.
  reps=1 rows=2000 edits=200 file_mb=50 load_args="--changes 20"
  export BENCH_LOAD=${BENCH_LOAD:-0}
fi

# gcc -O3 sees -Wformat-truncation and -Wmaybe-uninitialized in library files
# that the Debug build does not, so -Werror is off for the libraries here; the
# bench targets keep -Werror themselves (bench/CMakeLists.txt).
mkdir -p "$dir"
if ! { cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DOCOP_WERROR=OFF -DOCOP_BUILD_TESTS=OFF &&
       cmake --build "$dir" -j"$(nproc)" --target bench_capture bench_sync bench_files bench_load ocopd; } >"$dir/bench-build.log" 2>&1; then
  cat "$dir/bench-build.log" >&2
  echo "bench: build failed (log above, also in $dir/bench-build.log)" >&2
  exit 1
fi
bin="$dir/bin"
log="$dir/bench-results.txt"
tmp=${TMPDIR:-/tmp}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# With --json the tables go only to the results file; stdout gets the object.
out=/dev/stdout
if [ "$json" = 1 ]; then
  out=/dev/null
fi
{
  echo "== machine =="
  echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:  $(uname -sr)"
  echo "sqlite:  $(pkg-config --modversion sqlite3 2>/dev/null || echo '?')"
  echo "disk:    $tmp on $(df -T "$tmp" | awk 'NR == 2 {print $2 " (" $1 ")"}')"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the machine skews the figures)"
  echo "run:     $rows dossiers, $edits edits, median of $reps"
  echo
  "$bin/bench_capture" --reps "$reps" --rows "$rows"
  echo
  "$bin/bench_sync" --reps "$reps" --rows "$rows" --edits "$edits" --sync full --transport all
  echo
  "$bin/bench_sync" --reps "$reps" --rows "$rows" --edits "$edits" --sync normal --transport inproc --no-bytes
  echo
  "$bin/bench_files" --reps "$reps" --mb "$file_mb"
  if [ "${BENCH_LOAD:-1}" != 0 ]; then
    echo
    # shellcheck disable=SC2086
    "$bin/bench_load" $load_args
  fi
} | tee "$log" >"$out"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# One table of the figures the issue asks for, from the programs' summary lines.
echo >"$out"
awk -v rows="$rows" -v edits="$edits" '
  $1 == "summary" && $2 == "capture" { cap[$3 "," $4] = $7 }
  $1 == "summary" && $2 == "sync"    { rate[$3 "," $4 "," $5] = $6; ratio[$3 "," $4 "," $5] = $7 }
  $1 == "summary" && $2 == "load"    { for (i = 4; i <= NF; i++) { split($i, kv, "="); load[$3 "," kv[1]] = kv[2] } }
  $1 == "summary" && $2 == "bytes"   { bpush[$3 "," $4] = $5; bpull[$3 "," $4] = $6; zpush[$3 "," $4] = $7; zpull[$3 "," $4] = $8 }
  function v(a, k) { return (k in a) ? a[k] : "-" }
  function q(a, k1, k2) { return (k1 in a && k2 in a && a[k2] > 0) ? sprintf("%.2f", a[k1] / a[k2]) : "-" }
  function row(name, full, normal, target) { printf "%-52s %10s %10s   %s\n", name, full, normal, target }
  END {
    printf "== summary (%d dossiers, %d edits) ==\n", rows, edits
    row("metric", "FULL", "NORMAL", "target")
    row("capture overhead, 1000 rows/txn (captured/plain time)", v(cap, "FULL,1000"), v(cap, "NORMAL,1000"), "<= 1.5")
    row("capture overhead, 100 rows/txn", v(cap, "FULL,100"), v(cap, "NORMAL,100"), "<= 1.5")
    row("capture overhead, 1 row/txn", v(cap, "FULL,1"), v(cap, "NORMAL,1"), "<= 1.5")
    row("push rows/s / plain rows/s, in process", v(ratio, "inproc,FULL,push"), v(ratio, "inproc,NORMAL,push"), ">= 0.5")
    row("bootstrap rows/s / plain rows/s, in process", v(ratio, "inproc,FULL,bootstrap"), v(ratio, "inproc,NORMAL,bootstrap"), ">= 0.5")
    row("push rows/s / plain rows/s, nng tcp", v(ratio, "tcp,FULL,push"), "-", ">= 0.5")
    row("bootstrap rows/s / plain rows/s, nng tcp", v(ratio, "tcp,FULL,bootstrap"), "-", ">= 0.5")
    row("push rows/s / plain rows/s, nng mutual TLS", v(ratio, "tls,FULL,push"), "-", ">= 0.5")
    row("bootstrap rows/s / plain rows/s, nng mutual TLS", v(ratio, "tls,FULL,bootstrap"), "-", ">= 0.5")
    row("push time over TLS / over plain TCP", q(rate, "tcp,FULL,push", "tls,FULL,push"), "-", "")
    row("bootstrap time over TLS / over plain TCP", q(rate, "tcp,FULL,bootstrap", "tls,FULL,bootstrap"), "-", "")
    row("plain insert rows/s (the baseline), in process run", v(rate, "inproc,FULL,plain"), v(rate, "inproc,NORMAL,plain"), "")
    row("push rows/s, in process", v(rate, "inproc,FULL,push"), v(rate, "inproc,NORMAL,push"), "")
    row("bootstrap rows/s, in process", v(rate, "inproc,FULL,bootstrap"), v(rate, "inproc,NORMAL,bootstrap"), "")
    row("incremental push of edited dossiers, rows/s", v(rate, "inproc,FULL,incr_push"), v(rate, "inproc,NORMAL,incr_push"), "")
    row("incremental pull of edited dossiers, rows/s", v(rate, "inproc,FULL,incr_pull"), v(rate, "inproc,NORMAL,incr_pull"), "")
    row("conflict run, B pushes + pulls, rows/s", v(rate, "inproc,FULL,conflict_b"), v(rate, "inproc,NORMAL,conflict_b"), "")
    row("conflict run, A pulls B edits, rows/s", v(rate, "inproc,FULL,conflict_a2"), v(rate, "inproc,NORMAL,conflict_a2"), "")
    print ""
    row("protocol bytes per changed field (req + reply)", "push", "pull", "push/pull if deflated")
    row("one ~10 B field in each of 1000 dossiers", v(bpush, "short,1000"), v(bpull, "short,1000"), v(zpush, "short,1000") " / " v(zpull, "short,1000"))
    row("one ~10 B field in 1 dossier", v(bpush, "short,1"), v(bpull, "short,1"), v(zpush, "short,1") " / " v(zpull, "short,1"))
    row("one ~250 B field in each of 1000 dossiers", v(bpush, "long,1000"), v(bpull, "long,1000"), v(zpush, "long,1000") " / " v(zpull, "long,1000"))
    print ""
    row("load: 200 sites at once over TLS", "alone", "hostile", "goal")
    row("honest sessions failed", v(load, "baseline,failed"), v(load, "hostile,failed"), "0")
    row("session time p50 (s)", v(load, "baseline,p50"), v(load, "hostile,p50"), "")
    row("session time p99 (s)", v(load, "baseline,p99"), v(load, "hostile,p99"), "hostile < 2x alone")
    row("server peak RSS (MiB)", v(load, "baseline,rss_mib"), v(load, "hostile,rss_mib"), "< 64")
    if (files != "") { print ""; print "evidence files (bench_files): " files }
  }
  $1 == "summary" && $2 == "files:" { $1 = ""; $2 = ""; files = substr($0, 3) }' "$log" | tee -a "$log" >"$out"

if [ "$json" = 1 ]; then
  # The issue's figures, each ratio from the same run as its baseline (bench
  # programs: median of each repetition's own ratio, with its range).
  awk -v rows="$rows" -v edits="$edits" -v reps="$reps" -v l0="$load_start" -v l1="$load_end" -v commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" '
    $1 == "summary" && $2 == "capture" { cap[$3 "," $4] = $7; caplo[$3 "," $4] = $12; caphi[$3 "," $4] = $13; pb[$3 "," $4] = $14; cb[$3 "," $4] = $15 }
    $1 == "summary" && $2 == "sync"    { k = $3 "," $4 "," $5; ratio[k] = $7; secs[k] = $8; lo[k] = $9; hi[k] = $10; bpr[k] = $11 }
    $1 == "summary" && $2 == "bytes"   { bpush[$3 "," $4] = $5; bpull[$3 "," $4] = $6 }
    function n(a, k) { return (k in a && a[k] != "") ? a[k] + 0 : "null" }
    function la(s) { split(s, x, " "); return "[" x[1] ", " x[2] ", " x[3] "]" }
    END {
      k = "inproc,FULL,"
      conf = "null"
      if ((k "conflict_a1") in secs && (k "conflict_b") in secs && (k "conflict_a2") in secs)
        conf = sprintf("%.3f", secs[k "conflict_a1"] + secs[k "conflict_b"] + secs[k "conflict_a2"])
      size = ("FULL,1000" in pb && pb["FULL,1000"] > 0) ? sprintf("%.2f", cb["FULL,1000"] / pb["FULL,1000"]) : "null"
      printf "{\"commit\": \"%s\", \"rows\": %d, \"edits\": %d, \"reps\": %d,\n", commit, rows, edits, reps
      printf " \"capture_ratio_1000\": %s, \"capture_ratio_1000_range\": [%s, %s],\n", n(cap, "FULL,1000"), n(caplo, "FULL,1000"), n(caphi, "FULL,1000")
      printf " \"capture_ratio_100\": %s, \"capture_ratio_100_range\": [%s, %s],\n", n(cap, "FULL,100"), n(caplo, "FULL,100"), n(caphi, "FULL,100")
      printf " \"push_over_plain\": %s, \"push_over_plain_range\": [%s, %s],\n", n(ratio, k "push"), n(lo, k "push"), n(hi, k "push")
      printf " \"bootstrap_over_plain\": %s, \"bootstrap_over_plain_range\": [%s, %s],\n", n(ratio, k "bootstrap"), n(lo, k "bootstrap"), n(hi, k "bootstrap")
      printf " \"push_over_plain_tcp\": %s, \"bootstrap_over_plain_tcp\": %s,\n", n(ratio, "tcp,FULL,push"), n(ratio, "tcp,FULL,bootstrap")
      printf " \"incremental_push_s\": %s, \"incremental_pull_s\": %s, \"conflict_round_s\": %s,\n", n(secs, k "incr_push"), n(secs, k "incr_pull"), conf
      printf " \"bytes_per_field_10b\": %s, \"bytes_per_field_10b_pull\": %s, \"bytes_per_new_row\": %s,\n", n(bpush, "short,1000"), n(bpull, "short,1000"), n(bpr, k "push")
      printf " \"replica_over_plain_size\": %s,\n", size
      printf " \"loadavg_start\": %s, \"loadavg_end\": %s, \"nproc\": %d}\n", la(l0), la(l1), '"$(nproc)"'
    }' "$log" | tee -a "$log"
else
  echo "(full output in $log)"
fi
