#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PromQL compatibility proof: generate data, load it into Prometheus 2.42 (promtool blocks)
# and into omega (line protocol + JSON import over HTTP), start both on loopback ports,
# compare the query corpus; then check Prometheus' remote_write into omega.
# Needs OMEGA_BUILD_DIR (omega-monitor) and prometheus/promtool.
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
python3 "$here/gen.py" "$end_ms" "$work/data.om" "$work/data.lp" "$work/nan.json"
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prom" >"$work/promtool.log"

# omega first: Prometheus needs its token for remote_write. The data is two hours old, so
# the out-of-order window is widened to a day.
oport=$(free_port)
OMEGA_SERVER_LISTEN="127.0.0.1:$oport" OMEGA_SERVER_DATA_DIR="$work/omega" \
    OMEGA_STORAGE_OUT_OF_ORDER_WINDOW=1d \
    OMEGA_ADMIN_PASSWORD=compat-suite-password "$build/omega-monitor" serve >"$work/omega.log" 2>&1 &
omega_pid=$!
wait_http "http://127.0.0.1:$oport/healthz" "$omega_pid" || { cat "$work/omega.log"; exit 1; }
token=$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"compat-suite-password"}' \
    "http://127.0.0.1:$oport/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# The same data into omega through its public ingestion API: line protocol, and the JSON
# import for the NaN samples line protocol cannot express.
post() { # path, content type, file
    code=$(curl -sS -o "$work/post.out" -w '%{http_code}' -H "Authorization: Bearer $token" \
        -H "Content-Type: $2" --data-binary "@$3" "http://127.0.0.1:$oport$1")
    [ "$code" = 204 ] || { echo "POST $1: HTTP $code $(cat "$work/post.out")"; exit 1; }
}
post "/api/v1/write?precision=ms" text/plain "$work/data.lp"
post /api/v1/import application/json "$work/nan.json"
echo "loaded $(wc -l <"$work/data.lp") line-protocol lines and the NaN samples over HTTP"

# Prometheus over the promtool blocks, also scraping itself every second and sending that
# to omega by remote_write: the interoperability check of /api/v1/prom/write.
pport=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: compat_self
    static_configs:
      - targets: ["127.0.0.1:$pport"]
remote_write:
  - url: http://127.0.0.1:$oport/api/v1/prom/write
    authorization:
      credentials: $token
    queue_config:
      batch_send_deadline: 1s
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
wait_http "http://127.0.0.1:$pport/-/ready" "$prom_pid" || { cat "$work/prometheus.log"; exit 1; }
python3 "$here/compare.py" "$here/queries.txt" "$pport" "$oport" "$token" "$end_ms"

# remote_write: Prometheus' own scrape of itself must arrive in omega (bounded wait).
got=
for _ in $(seq 1 60); do
    got=$(curl -fsS -G -H "Authorization: Bearer $token" --data-urlencode 'query=up{job="compat_self"}' \
        "http://127.0.0.1:$oport/api/v1/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")')
    [ "$got" = 1 ] && break
    sleep 1
done
[ "$got" = 1 ] || { echo "remote_write: up{job=\"compat_self\"} never reached omega"; tail -20 "$work/prometheus.log"; exit 1; }
n=$(curl -fsS -G -H "Authorization: Bearer $token" \
    --data-urlencode 'query=count({job="compat_self"})' "http://127.0.0.1:$oport/api/v1/query" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
echo "remote_write: Prometheus pushed $n series of its own scrape to omega, up=1 among them"
[ "$n" -gt 50 ] || { echo "remote_write: only $n series arrived"; exit 1; }
