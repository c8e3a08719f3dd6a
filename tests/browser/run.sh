#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Browser tests of the dashboard against the real server: starts $OMEGA_BUILD_DIR/omega-monitor
# on a free loopback port with a throwaway data dir, runs every tests/browser/*.test.mjs in
# name order (playwright-core driving Debian's /usr/bin/chromium; screenshots go to
# $OMEGA_BUILD_DIR/screenshots/), restarts the server by PID when a test asks for it (a file
# restart.request in $OMEGA_CONTROL whose lines OMEGA_X=value, if any, are added to the
# server's environment until the next restart; exit 0 on SIGTERM required), then stops it by PID and
# requires exit 0. Prints the per-file results and a total "N passed, M failed" line last.
# Env: OMEGA_BUILD_DIR (build tree), OMEGA_SOURCE_DIR (source tree, holds node_modules);
# optional OMEGA_BROWSER_TESTS="live views" runs only those files.
set -euo pipefail

: "${OMEGA_BUILD_DIR:?OMEGA_BUILD_DIR must name the build directory}"
: "${OMEGA_SOURCE_DIR:?OMEGA_SOURCE_DIR must name the source directory}"

bin="$OMEGA_BUILD_DIR/omega-monitor"
if [[ ! -x "$bin" ]]; then
  echo "browser test: server binary $bin is missing; build the omega-monitor target first" >&2
  exit 1
fi
if [[ ! -f "$OMEGA_BUILD_DIR/web/index.html" || ! -f "$OMEGA_BUILD_DIR/web/vendor/chart.umd.js" ||
      ! -f "$OMEGA_BUILD_DIR/web/vendor/chartjs-plugin-zoom.min.js" ]]; then
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
extra_env=() # OMEGA_X=value entries a test asked for with its restart request

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

mkdir -p "$tmp/data" "$tmp/control"
url="http://127.0.0.1:$port"

# Start the server (same port, same data dir each time) and wait for /healthz; 0 or 1.
start_server() {
  ( export OMEGA_SERVER_LISTEN="127.0.0.1:$port" OMEGA_SERVER_DATA_DIR="$tmp/data" \
      OMEGA_ADMIN_PASSWORD="$password" OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=1000 \
      OMEGA_STORAGE_OUT_OF_ORDER_WINDOW=3h # views.test.mjs writes 2 hours of history
    if [[ ${#extra_env[@]} -gt 0 ]]; then export "${extra_env[@]}"; fi
    exec "$OMEGA_BUILD_DIR/omega-monitor" serve ) >> "$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do # 300 x 0.1 s = 30 s
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "browser test: server exited during start-up" >&2
      return 1
    fi
    if curl -fsS --max-time 2 "$url/healthz" > /dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "browser test: $url/healthz did not answer within 30 s" >&2
  return 1
}

# Restart on a test's request: SIGTERM by PID (bounded, exit 0 required), pause, start again.
restart_server() {
  local old="$pid" rc=0
  kill -TERM "$old" 2>/dev/null || true
  for _ in $(seq 200); do
    kill -0 "$old" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$old" 2>/dev/null; then
    kill -KILL "$old" 2>/dev/null || true
    wait "$old" 2>/dev/null || true
    echo "failed: the server did not exit within 20 s of SIGTERM"
    return
  fi
  wait "$old" 2>/dev/null || rc=$?
  pid=""
  if [[ "$rc" -ne 0 ]]; then
    echo "failed: the server exited with status $rc on SIGTERM"
    return
  fi
  sleep 2 # a visible outage for the clients
  if start_server; then echo "ok: restarted (old pid $old, new pid $pid)"; else echo "failed: no restart"; fi
}

start_server || exit 1

shots="$OMEGA_BUILD_DIR/screenshots"
mkdir -p "$shots"
rm -f "$shots"/*-failure.png # from an earlier run
total_pass=0
total_fail=0
status=0
files=()
if [[ -n "${OMEGA_BROWSER_TESTS:-}" ]]; then
  for n in $OMEGA_BROWSER_TESTS; do files+=("$OMEGA_SOURCE_DIR/tests/browser/$n.test.mjs"); done
else
  files=("$OMEGA_SOURCE_DIR"/tests/browser/*.test.mjs)
fi
for f in "${files[@]}"; do
  name="$(basename "$f" .test.mjs)"
  echo "=== $name"
  rm -f "$tmp/control/"*
  OMEGA_URL="$url" OMEGA_USER="$user" OMEGA_PASSWORD="$password" OMEGA_ARTIFACTS="$shots" \
    OMEGA_CONTROL="$tmp/control" \
    timeout --signal=TERM --kill-after=10 240 node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON "$f" \
    > "$tmp/$name.out" 2>&1 &
  npid=$!
  while kill -0 "$npid" 2>/dev/null; do
    if [[ -f "$tmp/control/restart.request" ]]; then
      extra_env=()
      while IFS= read -r line; do
        if [[ "$line" =~ ^OMEGA_[A-Z0-9_]+=[^[:space:]]*$ ]]; then extra_env+=("$line"); fi
      done < "$tmp/control/restart.request"
      rm -f "$tmp/control/restart.request"
      restart_server > "$tmp/control/restart.tmp"
      mv "$tmp/control/restart.tmp" "$tmp/control/restart.done"
      echo "# run.sh: $(cat "$tmp/control/restart.done")"
      if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
        echo "browser test: the server is down after a restart request" >&2
      fi
    fi
    sleep 0.1
  done
  rc=0
  wait "$npid" || rc=$?
  cat "$tmp/$name.out"
  summary="$(tail -n 1 "$tmp/$name.out")"
  if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    total_pass=$((total_pass + BASH_REMATCH[1]))
    total_fail=$((total_fail + BASH_REMATCH[2]))
  else
    total_fail=$((total_fail + 1))
    echo "not ok - $name: no summary line (exit status $rc)"
  fi
  [[ "$rc" -eq 0 ]] || status=1
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "browser test: the server is not running after $name" >&2
    status=1
    break
  fi
done
[[ "$total_fail" -eq 0 ]] || status=1
echo "$total_pass passed, $total_fail failed"
exit "$status"
