#!/usr/bin/env bash
# Build the Debian package: a Release build installed under /usr, packed by
# CPack into build-release/ocop_<version>_<arch>.deb (cmake/OcopInstall.cmake).
#
#   bash scripts/package.sh           # build the .deb and print its path
#   bash scripts/package.sh --check   # and install it with apt, check the
#                                     # installed server, then remove it again
#                                     # (CI; needs root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build-release -j"$(nproc)" --target ocop ocopd >/dev/null
rm -f build-release/ocop_*.deb
(cd build-release && cpack -G DEB >cpack.log 2>&1) || { cat build-release/cpack.log; exit 1; }
deb=$(ls build-release/ocop_*.deb)
echo "package: $deb"
dpkg-deb --info "$deb" | grep -E "Package|Version|Depends" | sed 's/^/  /'
[ $check = 1 ] || exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if dpkg-query -W -f='${Status}' ocop 2>/dev/null | grep -q "install ok installed"; then
  echo "package check: skipped, an ocop package is already installed on this machine"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ocop-deb-XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then $SUDO kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=""
  $SUDO rm -rf "$work"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ocop >/dev/null 2>&1 || true
  $SUDO rmdir /var/lib/ocop 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "package check failed: $*" >&2; [ -f "$work/ocopd.log" ] && tail -n 20 "$work/ocopd.log" >&2; exit 1; }

# What the README tells the IT officer to type.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >"$work/apt.log" 2>&1 ||
  fail "apt install: $(tail -n 20 "$work/apt.log")"
for f in /usr/bin/ocop /usr/bin/ocopd /usr/share/ocop/rubrics/qd26-2026/01.rubric /usr/share/ocop/authority.conf \
         /etc/ocop/ocopd.conf /usr/lib/systemd/system/ocopd.service; do
  [ -e "$f" ] || fail "the package did not install $f"
done
getent passwd ocop >/dev/null || fail "no ocop system user"
[ "$(stat -c %U /var/lib/ocop)" = ocop ] || fail "/var/lib/ocop is not the ocop user's"
dpkg-query -W -f='${Conffiles}' ocop | grep -q /etc/ocop/ocopd.conf || fail "ocopd.conf is not a conffile"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify /usr/lib/systemd/system/ocopd.service || fail "systemd-analyze verify"
fi
# The installed server runs as its user from the installed config (database
# and address overridden so the check touches nothing of a real server).
$SUDO chown ocop:ocop "$work"
$SUDO chmod 0755 "$work"
# setpriv execs the program itself; started directly with & (not through a
# function, which would fork a subshell), $! below is ocopd's own pid.
run_ocop() { $SUDO setpriv --reuid=ocop --regid=ocop --init-groups env -C / -u OCOP_DATA_DIR "$@"; }
run_ocop /usr/bin/ocopd init --db "$work/p.db" --role province --scope 83 >/dev/null || fail "ocopd init as ocop"
port=$((20000 + RANDOM % 20000))
$SUDO setpriv --reuid=ocop --regid=ocop --init-groups env -C / -u OCOP_DATA_DIR /usr/bin/ocopd serve \
  --config /etc/ocop/ocopd.conf --db "$work/p.db" --listen "tcp://127.0.0.1:$port" >"$work/ocopd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/ocopd.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/ocopd.log" || fail "the installed ocopd does not start"
run_ocop /usr/bin/ocopd status --db "$work/p.db" | grep -q "province" || fail "ocopd status"
echo "package check: installed with apt, ran as the ocop user, removed: ok"
