#!/usr/bin/env bash
# Ingest and query benchmark of omega-monitor next to VictoriaMetrics, in one run, on
# loopback (not a test; see docs/storage.md "Benchmarks").
#
#   tests/bench/ingest_query.sh            # release build in build/release
#
# Environment: BUILD_DIR (default build/release), PEER_BENCH (default ../shared/bench),
# WORKLOAD (default standard), WORKERS (default 4), REPS (default 50), OURS_PORT (18480),
# PEERS ("victoriametrics" or "" to measure only us).
#
# 1. Ingest: the peers' own harness (PEER_BENCH/ingest.sh) posts the same line-protocol
#    files with the same 4 keep-alive senders to each server in turn: samples/s, server
#    CPU s, peak RSS, bytes per sample. We authenticate with an API key in the InfluxDB 1
#    `p=` argument (its harness sends no headers); VictoriaMetrics needs none.
# 2. Bytes per sample as API.md defines it: our data dir after a clean shutdown.
# 3. Queries: tests/bench/bench_query (the four queries of issue 4) against each server
#    restarted over its ingested data.
# Everything binds 127.0.0.1; every process started here is stopped by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build/release}
PEER_BENCH=${PEER_BENCH:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd || true)}
[[ -n $PEER_BENCH && -f $PEER_BENCH/ingest.sh ]] || { echo "no peer harness (PEER_BENCH)" >&2; exit 2; }
# shellcheck source=/dev/null
source "$PEER_BENCH/lib.sh"
export WORKLOAD=${WORKLOAD:-standard} WORKERS=${WORKERS:-4} KEEP_DATA=1
REPS=${REPS:-50}
PORT=${OURS_PORT:-18480}
PEERS=${PEERS-victoriametrics}
BIN=$BUILD/omega-monitor
BQ=$BUILD/tests/bench_query
[[ -x $BIN && -x $BQ ]] || { echo "build $BIN and $BQ first (cmake --preset release && cmake --build build/release --target omega-monitor bench_query)" >&2; exit 2; }

LP=$(ensure_lp "$WORKLOAD")
START=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["start"])' "$LP/meta.json")
END=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["end"])' "$LP/meta.json")
SAMPLES=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["samples"])' "$LP/meta.json")
OUT=$DATA_ROOT/ingest-query-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
PID=
trap 'stop_pid "$PID" 60' EXIT

latest() { ls -t "$RESULTS_DIR"/"$1"-"$WORKLOAD"-*.json | head -1; }

# ---- VictoriaMetrics ----
if [[ $PEERS == *victoriametrics* ]]; then
  bash "$PEER_BENCH/ingest.sh" victoriametrics
  cp "$(latest victoriametrics)" "$OUT/vm-ingest.json"
  start_bg "$OUT/vm.log" victoria-metrics -storageDataPath="$DATA_ROOT/run-victoriametrics/storage" \
    -httpListenAddr=127.0.0.1:18428
  PID=$STARTED_PID
  wait_http http://127.0.0.1:18428/health 60 || die "victoria-metrics did not restart"
  "$BQ" --port 18428 --start "$START" --end "$END" --reps "$REPS" >"$OUT/vm-query.jsonl"
  stop_pid "$PID" 60; PID=
  rm -rf "$DATA_ROOT/run-victoriametrics"
fi

# ---- omega-monitor ----
D=$DATA_ROOT/ours-http
rm -rf "$D"; mkdir -p "$D"
export OMEGA_ADMIN_PASSWORD=bench-admin-password-1
export OMEGA_STORAGE_OUT_OF_ORDER_WINDOW=2d   # the workload is up to a day old
start_bg "$OUT/ours-setup.log" "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$D/data"
PID=$STARTED_PID
wait_http http://127.0.0.1:$PORT/healthz 60 || die "omega-monitor did not come up ($OUT/ours-setup.log)"
TOKEN=$(curl -sf -XPOST http://127.0.0.1:$PORT/api/v1/auth/login -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$OMEGA_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
KEY=$(curl -sf -XPOST http://127.0.0.1:$PORT/api/v1/apikeys -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","scopes":["ingest","read"]}' \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
stop_pid "$PID" 60; PID=

OURS_CMD="$BIN serve --listen 127.0.0.1:$PORT --data-dir $D/data" \
OURS_WRITE_URL="http://127.0.0.1:$PORT/write?precision=s&p=$KEY" \
OURS_READY_URL="http://127.0.0.1:$PORT/healthz" OURS_SIZE_DIR="$D/data" \
  bash "$PEER_BENCH/ingest.sh" ours
cp "$(latest ours)" "$OUT/ours-ingest.json"
CLOSED=$(du_b "$D/data")   # ingest.sh stopped the server cleanly (SIGTERM)
start_bg "$OUT/ours.log" "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$D/data"
PID=$STARTED_PID
wait_http http://127.0.0.1:$PORT/healthz 60 || die "omega-monitor did not restart"
"$BQ" --port $PORT --start "$START" --end "$END" --reps "$REPS" \
  --header "Authorization: Bearer $KEY" >"$OUT/ours-query.jsonl"
stop_pid "$PID" 60; PID=

python3 - "$OUT" "$SAMPLES" "$CLOSED" <<'EOF'
import json, os, sys
out, samples, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
def lines(name):
    p = os.path.join(out, name)
    return {j["query"]: j for j in map(json.loads, open(p))} if os.path.exists(p) else {}
us, vm = load("ours-ingest.json"), load("vm-ingest.json")
uq, vq = lines("ours-query.jsonl"), lines("vm-query.jsonl")
def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"
rows = [("samples/s (HTTP, %d senders)" % us["workers"], us["samples_per_s"], vm and vm["samples_per_s"]),
        ("server CPU s during ingest", us["server_cpu_ingest_s"], vm and vm["server_cpu_ingest_s"]),
        ("peak RSS MiB", round(us["peak_rss_final_kb"] / 1024, 1), vm and round(vm["peak_rss_final_kb"] / 1024, 1)),
        ("bytes/sample, settled, live dir", us["bytes_per_sample"], vm and vm["bytes_per_sample"]),
        ("bytes/sample, ours after clean shutdown", round(closed / samples, 3), None)]
for q in sorted(uq):
    rows.append((q + " median ms", uq[q]["median_ms"], vq.get(q, {}).get("median_ms")))
    rows.append((q + " p99 ms", uq[q]["p99_ms"], vq.get(q, {}).get("p99_ms")))
    rows.append((q + " points", uq[q]["points"], vq.get(q, {}).get("points")))
print("| measure | omega-monitor | VictoriaMetrics | ours / VM |")
print("|---|---|---|---|")
for name, a, b in rows:
    print("| %s | %s | %s | %s |" % (name, a, b if b is not None else "-", ratio(a, b)))
json.dump({"ours": us, "vm": vm, "ours_query": uq, "vm_query": vq,
           "ours_bytes_after_close": closed, "samples": samples},
          open(os.path.join(out, "summary.json"), "w"), indent=1)
print("results:", out)
EOF
