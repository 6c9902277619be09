#!/usr/bin/env bash
# integration.install: `cmake --install` the build into a temporary prefix,
# check the systemd unit with systemd-analyze verify (where available), move
# the prefix elsewhere (a relocated install), and run the installed programs
# from there with no OCOP_DATA_DIR and the working directory outside the
# source tree: a server from the example config, a site that registers,
# writes and syncs, and `ocop score` against the installed rubrics. Then it
# removes an installed rubric and checks that the programs notice, which
# shows the data came from the prefix and not from the source tree.
#
# usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$(cd "${1:?usage: install_check.sh BUILD_DIR SOURCE_DIR}" && pwd)"
src="$(cd "${2:?usage: install_check.sh BUILD_DIR SOURCE_DIR}" && pwd)"
unset OCOP_DATA_DIR OCOP_DB
work=$(mktemp -d "${TMPDIR:-/tmp}/ocop-install-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "install check failed: $*" >&2; [ -f "$work/ocopd.log" ] && tail -n 20 "$work/ocopd.log" >&2; exit 1; }

"${CMAKE:-cmake}" --install "$build" --prefix "$work/prefix" >"$work/install.log" || fail "cmake --install: $(tail -n 5 "$work/install.log")"
for f in bin/ocop bin/ocopd share/ocop/authority.conf share/ocop/rubrics/qd26-2026/01.rubric \
         share/ocop/workflow/qd26-2026.flow lib/systemd/system/ocopd.service etc/ocop/ocopd.conf \
         share/doc/ocop/examples/ocopd.conf share/doc/ocop/README.md; do
  [ -e "$work/prefix/$f" ] || fail "the install lacks $f"
done
[ ! -e "$work/prefix/share/ocop/demo" ] || fail "the demo's sheets were installed"
grep -q "^ExecStart=$work/prefix/bin/ocopd serve --config $work/prefix/etc/ocop/ocopd.conf$" \
  "$work/prefix/lib/systemd/system/ocopd.service" || fail "the unit's ExecStart does not name the prefix"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$work/prefix/lib/systemd/system/ocopd.service" >"$work/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$work/verify.log")"
  ! grep -qi "unknown\|ignoring" "$work/verify.log" || fail "systemd-analyze verify warns: $(cat "$work/verify.log")"
  echo "install check: systemd-analyze verify passed"
else
  echo "install check: no systemd-analyze here; unit not verified"
fi

# A relocated install: nothing may point back at the build or the source tree.
mv "$work/prefix" "$work/moved"
p="$work/moved"
mkdir "$work/run"
cd "$work/run"
"$p/bin/ocopd" --version | grep -q "^ocopd " || fail "ocopd --version"
"$p/bin/ocop" --version | grep -q "^ocop " || fail "ocop --version"

port=$((20000 + RANDOM % 20000))
url="tcp://127.0.0.1:$port"
"$p/bin/ocopd" init --db prov.db --role province --scope 83 >/dev/null || fail "ocopd init"
"$p/bin/ocopd" site add --db prov.db --role commune --scope 83-100 --name "UBND xã Một" --server-url "$url" \
  --enrol-out site.enrol >/dev/null || fail "site add"
# The example config, with this test's database and address.
"$p/bin/ocopd" serve --config "$p/etc/ocop/ocopd.conf" --db prov.db --listen "$url" 2>"$work/ocopd.log" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/ocopd.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/ocopd.log" || fail "the installed ocopd does not serve with the example config"

export OCOP_DB="$work/run/site.db"
"$p/bin/ocop" enrol --file site.enrol >/dev/null || fail "ocop enrol"
"$p/bin/ocop" subject add --name "HTX Dừa Một" --kind htx --unit 83-100 >/dev/null || fail "ocop subject add"
"$p/bin/ocop" sync >/dev/null || fail "ocop sync"
"$p/bin/ocopd" status --db prov.db --json | grep -q "\"high_water\": [1-9]" || fail "the server holds none of the site's changes"
"$p/bin/ocop" search "dua mot" | grep -q "HTX Dừa Một" || fail "ocop search"

cp "$src/tests/data/sheets/potential5.csv" sheets.csv
"$p/bin/ocop" score --rubric qd26-2026/01 --sheets sheets.csv --json | grep -q '"potential_5star": true' ||
  fail "ocop score with the installed rubrics"
# The data came from the prefix: take a rubric away there and it is gone.
rm "$p/share/ocop/rubrics/qd26-2026/01.rubric"
if "$p/bin/ocop" score --rubric qd26-2026/01 --sheets sheets.csv >"$work/score.log" 2>&1; then
  fail "ocop score still found a rubric removed from the prefix (data from elsewhere)"
fi
grep -q "qd26-2026/01" "$work/score.log" || fail "the missing rubric is not named: $(cat "$work/score.log")"
# OCOP_DATA_DIR still overrides.
OCOP_DATA_DIR="$src/data" "$p/bin/ocop" score --rubric qd26-2026/01 --sheets sheets.csv >/dev/null ||
  fail "OCOP_DATA_DIR does not override the installed data"
echo "install check: ok"
