#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs every query of queries.txt against Prometheus and omega (instant queries at several
times, range queries at several steps) and compares result type, label sets, timestamps and
values (relative tolerance 1e-9, NaN equals NaN). Prints each difference; exits 1 on any.
Usage: compare.py <queries.txt> <prom_port> <omega_port> <omega_token> <end_ms>"""
import json
import math
import sys
import urllib.parse
import urllib.request

TOL = 1e-9


def fetch(port, path, params, token=None):
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params))
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def num(s):
    return float(s.replace("+Inf", "inf").replace("-Inf", "-inf"))


def same(a, b):
    if a == b:
        return True  # also string results
    try:
        x, y = num(a), num(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    return abs(x - y) <= TOL * max(abs(x), abs(y))


def keyed(data):
    """{labels tuple: [(ts, value), ...]} for vector/matrix, {(): [(ts, v)]} for scalars."""
    t = data["resultType"]
    if t in ("scalar", "string"):
        return {(): [tuple(data["result"])]}
    out = {}
    for s in data["result"]:
        k = tuple(sorted(s["metric"].items()))
        out[k] = [tuple(s["value"])] if t == "vector" else [tuple(p) for p in s["values"]]
    return out


def diff(p, o):
    if p.get("status") != o.get("status"):
        return "status: prometheus %s (%s), omega %s (%s)" % (
            p.get("status"), p.get("error"), o.get("status"), o.get("error"))
    if p["status"] != "success":
        return None if p.get("errorType") == o.get("errorType") else "errorType %s vs %s" % (
            p.get("errorType"), o.get("errorType"))
    pd, od = p["data"], o["data"]
    if pd["resultType"] != od["resultType"]:
        return "resultType %s vs %s" % (pd["resultType"], od["resultType"])
    pk, ok = keyed(pd), keyed(od)
    if set(pk) != set(ok):
        return "label sets differ: only prometheus %s; only omega %s" % (
            sorted(set(pk) - set(ok))[:3], sorted(set(ok) - set(pk))[:3])
    for k in pk:
        a, b = pk[k], ok[k]
        if len(a) != len(b):
            return "%s: %d points vs %d" % (dict(k), len(a), len(b))
        for (ta, va), (tb, vb) in zip(a, b):
            if abs(float(ta) - float(tb)) > 1e-6:
                return "%s: timestamp %s vs %s" % (dict(k), ta, tb)
            if not same(va, vb):
                return "%s @%s: value %s vs %s" % (dict(k), ta, va, vb)
    return None


def main():
    qfile, pport, oport, token, end_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    end = end_ms / 1000.0
    queries = [l.strip() for l in open(qfile) if l.strip() and not l.startswith("#")]
    instants = [end - 3600, end - 4000, end - 4150, end - 1234.567, end - 300, end - 7100]
    ranges = [(end - 7000, end, "60"), (end - 3000, end - 1000, "37"), (end - 7200, end, "300")]
    failures = checks = nonempty = 0
    for q in queries:
        cases = [("/api/v1/query", {"query": q, "time": "%.3f" % t}) for t in instants]
        cases += [("/api/v1/query_range", {"query": q, "start": "%.3f" % s, "end": "%.3f" % e, "step": st})
                  for s, e, st in ranges]
        for path, params in cases:
            checks += 1
            pr = fetch(pport, path, params)
            d = diff(pr, fetch(oport, path, params, token))
            if pr.get("status") == "success" and pr["data"]["result"]:
                nonempty += 1
            if d:
                failures += 1
                print("MISMATCH %s %s: %s" % (path, params, d))
    print("%d queries, %d comparisons (%d with data), %d mismatches" % (len(queries), checks, nonempty, failures))
    # A corpus that mostly compares empty results proves nothing.
    if nonempty < checks * 0.8:
        print("too few comparisons with data: the data or the times are wrong")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
