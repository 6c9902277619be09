#!/usr/bin/env bash
# Install the Debian packages the build, the tests and the demo need, if missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

PKGS=(build-essential cmake pkg-config
      libsqlite3-dev libnng-dev libmsgpack-dev uuid-dev
      libjansson-dev libcsv-dev libutf8proc-dev zlib1g-dev libssl-dev libxlsxwriter-dev
      libcmocka-dev sqlite3 clang libclang-rt-14-dev
      libqrencode-dev libpng-dev chromium fonts-dejavu-core zbar-tools)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
