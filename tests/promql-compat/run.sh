#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PromQL compatibility proof: generate data, load it into Prometheus 2.42 (promtool blocks)
# and into omega (storage loader), start both on loopback ports, compare the query corpus.
# Needs OMEGA_BUILD_DIR (omega-monitor, tests/promql_compat_load) and prometheus/promtool.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${OMEGA_BUILD_DIR:?OMEGA_BUILD_DIR must point at the build tree}
work=$(mktemp -d "${TMPDIR:-/tmp}/omega-promql-compat-XXXXXX")
prom_pid= omega_pid=
cleanup() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
    [ -n "$omega_pid" ] && kill "$omega_pid" 2>/dev/null && wait "$omega_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url, pid
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

end_ms=$(( ($(date +%s) - 600) * 1000 ))
python3 "$here/gen.py" "$end_ms" "$work/data.om" "$work/data.tsv"
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prom" >"$work/promtool.log"
"$build/tests/promql_compat_load" "$work/omega" "$work/data.tsv"

pport=$(free_port)
printf 'global:\n  scrape_interval: 1h\n' >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
oport=$(free_port)
OMEGA_SERVER_LISTEN="127.0.0.1:$oport" OMEGA_SERVER_DATA_DIR="$work/omega" \
    OMEGA_ADMIN_PASSWORD=compat-suite-password "$build/omega-monitor" serve >"$work/omega.log" 2>&1 &
omega_pid=$!
wait_http "http://127.0.0.1:$pport/-/ready" "$prom_pid" || { cat "$work/prometheus.log"; exit 1; }
wait_http "http://127.0.0.1:$oport/healthz" "$omega_pid" || { cat "$work/omega.log"; exit 1; }
token=$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"compat-suite-password"}' \
    "http://127.0.0.1:$oport/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
python3 "$here/compare.py" "$here/queries.txt" "$pport" "$oport" "$token" "$end_ms"
