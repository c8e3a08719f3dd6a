#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Browser test of the dashboard against the real server: starts $OMEGA_BUILD_DIR/omega-monitor
# on a free loopback port with a throwaway data dir, runs live.test.mjs (playwright-core
# driving Debian's /usr/bin/chromium), then stops the server by PID and requires exit 0.
# Env: OMEGA_BUILD_DIR (build tree), OMEGA_SOURCE_DIR (source tree, holds node_modules).
set -euo pipefail

: "${OMEGA_BUILD_DIR:?OMEGA_BUILD_DIR must name the build directory}"
: "${OMEGA_SOURCE_DIR:?OMEGA_SOURCE_DIR must name the source directory}"

bin="$OMEGA_BUILD_DIR/omega-monitor"
if [[ ! -x "$bin" ]]; then
  echo "browser test: server binary $bin is missing; build the omega-monitor target first" >&2
  exit 1
fi
if [[ ! -f "$OMEGA_BUILD_DIR/web/index.html" || ! -f "$OMEGA_BUILD_DIR/web/vendor/chart.umd.js" ]]; then
  echo "browser test: $OMEGA_BUILD_DIR/web is incomplete; build the omega_web target first" >&2
  exit 1
fi
if [[ ! -d "$OMEGA_SOURCE_DIR/node_modules/playwright-core" ]]; then
  echo "browser test: playwright-core is missing; run npm ci first (in $OMEGA_SOURCE_DIR)" >&2
  exit 1
fi
if [[ ! -x /usr/bin/chromium ]]; then
  echo "browser test: /usr/bin/chromium is missing; apt-get install -y chromium" >&2
  exit 1
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
tmp="$(mktemp -d)"
pid=""
user="admin"
password="browser-test-Pa55word-0123"

cleanup() {
  local rc=$? server_rc=0
  trap - EXIT INT TERM
  if [[ -n "$pid" ]]; then
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      # Bounded: a server that ignores SIGTERM for 20 s is a failure, then killed.
      for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        echo "browser test: server (pid $pid) did not exit within 20 s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    else
      echo "browser test: server (pid $pid) had already exited before the test finished" >&2
    fi
    wait "$pid" 2>/dev/null || server_rc=$?
    if [[ "$server_rc" -ne 0 ]]; then
      echo "browser test: server exited with status $server_rc (expected 0)" >&2
      [[ "$rc" -ne 0 ]] || rc=1
    fi
  fi
  if [[ "$rc" -ne 0 && -f "$tmp/server.log" ]]; then
    echo "----- server.log -----" >&2
    cat "$tmp/server.log" >&2
    echo "----- end of server.log -----" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/data"
export OMEGA_SERVER_LISTEN="127.0.0.1:$port"
export OMEGA_SERVER_DATA_DIR="$tmp/data"
export OMEGA_ADMIN_PASSWORD="$password"
export OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=1000
( exec "$OMEGA_BUILD_DIR/omega-monitor" serve ) > "$tmp/server.log" 2>&1 &
pid=$!
unset OMEGA_ADMIN_PASSWORD

url="http://127.0.0.1:$port"
ready=0
for _ in $(seq 300); do # 300 x 0.1 s = 30 s
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "browser test: server exited during start-up" >&2
    exit 1
  fi
  if curl -fsS --max-time 2 "$url/healthz" > /dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ "$ready" -ne 1 ]]; then
  echo "browser test: $url/healthz did not answer within 30 s" >&2
  exit 1
fi

mkdir -p "$OMEGA_BUILD_DIR/test-artifacts"
OMEGA_URL="$url" OMEGA_USER="$user" OMEGA_PASSWORD="$password" \
  OMEGA_ARTIFACTS="$OMEGA_BUILD_DIR/test-artifacts" \
  timeout --signal=TERM --kill-after=10 180 node "$OMEGA_SOURCE_DIR/tests/browser/live.test.mjs"
