#!/usr/bin/env bash
# Install what omega-monitor needs on Debian 12: the apt packages (only when missing, so a
# second run is fast) and the npm packages from package-lock.json (Chart.js; with --test also
# Debian's chromium for the browser tests). Node.js 20+ and npm come with the machine; Debian's
# own nodejs (18) is too old for playwright-core, so it is not installed here.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

pkgs=(build-essential cmake pkg-config libwebsockets-dev libjansson-dev librocksdb-dev
      libjwt-dev libssl-dev libcurl4-openssl-dev libcmocka-dev libcairo2-dev libargon2-dev
      openssl curl ca-certificates python3 fonts-dejavu-core zlib1g-dev)
[ "$want_tests" = 1 ] && pkgs+=(chromium poppler-utils rocksdb-tools prometheus)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: Node.js >= 20 and npm are required (Debian's nodejs 18 is too old)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required, found $(node --version)" >&2
  exit 1
fi
# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
