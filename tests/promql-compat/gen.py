#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Deterministic test data for the PromQL compatibility suite, written twice: as OpenMetrics
for `promtool tsdb create-blocks-from openmetrics` and as TSV (name, labels, ms, value) for
omega (Influx line protocol for the finite samples, which line protocol can carry, and the
JSON import for the NaN ones, which it cannot). Counters with resets, a histogram, gauges with gaps longer than the 5-minute
lookback, a series that ends early, jittered timestamps and NaN samples.
Usage: gen.py <end_unix_ms> <out.om> <out.lp> <out-nan.json>"""
import json
import math
import random
import sys

STEP_MS = 15000
HOURS = 2


def series(end_ms):
    rnd = random.Random(42)
    start = end_ms - HOURS * 3600 * 1000
    n = HOURS * 3600 * 1000 // STEP_MS
    out = []  # (name, labels dict, [(ms, value)])

    def times(jitter=True):
        return [start + i * STEP_MS + (rnd.randint(-1500, 1500) if jitter else 0) for i in range(n)]

    for inst in ("i1", "i2", "i3"):
        for code in ("200", "500"):
            v, pts = 0.0, []
            for i, t in enumerate(times()):
                v += rnd.randint(0, 20) if code == "200" else rnd.randint(0, 2)
                if inst == "i2" and i in (150, 300):
                    v = rnd.randint(0, 5)  # counter reset
                pts.append((t, v))
            out.append(("http_requests_total", {"job": "api", "instance": inst, "code": code}, pts))
    for h in ("h1", "h2", "h3", "h4"):
        v, pts = 50.0, []
        for i, t in enumerate(times()):
            v += rnd.uniform(-2, 2)
            if h == "h3" and 200 <= i < 240:
                continue  # a 10-minute gap: stale after 5 minutes
            if h == "h4" and i > 300:
                break  # the host disappears
            pts.append((t, round(v, 3)))
        out.append(("node_temp", {"host": h, "dc": "x" if h in ("h1", "h2") else "y"}, pts))
        mem = [(t, float(rnd.randint(1000, 5000) * 1024)) for t in times(False)]
        out.append(("mem_bytes", {"host": h}, mem))
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
    for job in ("api", "db"):
        counts = [0.0] * len(bounds)
        total, pts_by = 0.0, {b: [] for b in bounds}
        count_pts, sum_pts = [], []
        for t in times(False):
            for _ in range(rnd.randint(0, 10)):
                x = rnd.expovariate(4 if job == "api" else 2)
                total += x
                for k, b in enumerate(bounds):
                    if b == "+Inf" or x <= float(b):
                        counts[k] += 1
            for k, b in enumerate(bounds):
                pts_by[b].append((t, counts[k]))
            count_pts.append((t, counts[-1]))
            sum_pts.append((t, round(total, 6)))
        for b in bounds:
            out.append(("req_duration_seconds_bucket", {"job": job, "le": b}, pts_by[b]))
        out.append(("req_duration_seconds_count", {"job": job}, count_pts))
        out.append(("req_duration_seconds_sum", {"job": job}, sum_pts))
    pts = []
    for i, t in enumerate(times()):
        pts.append((t, math.nan if i % 50 == 7 else float(i % 13)))
    out.append(("odd_gauge", {"kind": "nan"}, pts))
    pts = [(t, -3.75 + (i % 7)) for i, t in enumerate(times())]
    out.append(("odd_gauge", {"kind": "neg"}, pts))
    return out


def fmt_val(v):
    if math.isnan(v):
        return "NaN"
    return repr(float(v))


def lp_escape(s):
    """Influx tag keys/values: escape commas, equals signs, spaces and backslashes."""
    return "".join("\\" + c if c in ",= \\" else c for c in s)


def main():
    end_ms, om_path, lp_path, nan_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    data = series(end_ms)
    nan = []
    with open(om_path, "w") as om, open(lp_path, "w") as lp:
        for name, labels, pts in data:  # same names are adjacent: OpenMetrics families
            lab = ",".join('%s="%s"' % (k, v) for k, v in sorted(labels.items()))
            tags = "".join(",%s=%s" % (lp_escape(k), lp_escape(v)) for k, v in sorted(labels.items()))
            nan_pts = []
            for t, v in pts:
                om.write("%s{%s} %s %d.%03d\n" % (name, lab, fmt_val(v), t // 1000, t % 1000))
                if math.isnan(v):
                    nan_pts.append([t, "NaN"])
                else:  # a field named "value" maps to the measurement's own name
                    lp.write("%s%s value=%s %d\n" % (lp_escape(name), tags, repr(float(v)), t))
            if nan_pts:
                nan.append({"metric": name, "labels": labels, "samples": nan_pts})
        om.write("# EOF\n")
    with open(nan_path, "w") as f:
        json.dump(nan, f)


if __name__ == "__main__":
    main()
