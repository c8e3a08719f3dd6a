/* SPDX-License-Identifier: Apache-2.0 */
/* Query latency benchmark (not a ctest test) for any server speaking the Prometheus HTTP
 * API on loopback: the four queries of the ingestion/query issue over the standard
 * workload of /work/shared/bench/gen_lp.py, each run --reps times after one warm-up run.
 * Prints one JSON object per query: median/p99/min ms, series, points and the sum of all
 * returned values (so two servers' answers can be compared).
 *
 *   bench_query --port P --start S --end E [--reps N] [--header 'Name: value']
 *
 * S and E are the workload's first and last timestamps (Unix seconds, meta.json). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"

typedef struct query {
    const char *name;  /* short name in the output */
    const char *expr;  /* PromQL */
    long start, end;   /* Unix seconds */
    const char *step;  /* Prometheus duration */
} query_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One request; on success fills series/points/sum from the matrix answer. */
static int run_once(int port, const char *hdr, const query_t *q, size_t *series, size_t *points,
                    double *sum, double *ms)
{
    char path[2048], enc[1024];
    /* nocache=1: VictoriaMetrics would otherwise answer repeats from its result cache */
    snprintf(path, sizeof(path), "/api/v1/query_range?query=%s&start=%ld&end=%ld&step=%s&nocache=1",
             httpc_urlencode(q->expr, enc, sizeof(enc)), q->start, q->end, q->step);
    httpc_resp_t r;
    double t0 = now_ms();
    if (httpc_request(port, "GET", path, hdr, NULL, 0, &r) != 0)
        return -1;
    *ms = now_ms() - t0;
    if (r.status != 200) {
        fprintf(stderr, "%s: HTTP %d %.300s\n", q->name, r.status, r.body);
        httpc_resp_free(&r);
        return -1;
    }
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    *series = json_array_size(res);
    *points = 0;
    *sum = 0;
    for (size_t i = 0; i < *series; i++) {
        json_t *vals = json_object_get(json_array_get(res, i), "values");
        *points += json_array_size(vals);
        for (size_t k = 0; k < json_array_size(vals); k++) {
            const char *v = json_string_value(json_array_get(json_array_get(vals, k), 1));
            if (v)
                *sum += strtod(v, NULL);
        }
    }
    json_decref(j);
    httpc_resp_free(&r);
    return 0;
}

static int run_query(int port, const char *hdr, const query_t *q, int reps)
{
    size_t series, points;
    double sum, ms;
    if (run_once(port, hdr, q, &series, &points, &sum, &ms) != 0)
        return -1; /* warm-up, and the answer reported */
    double *lat = calloc((size_t)reps, sizeof(*lat));
    double deadline = now_ms() + 60e3; /* bounded: at most a minute per query */
    int n = 0;
    for (; n < reps && now_ms() < deadline; n++) {
        size_t s2, p2;
        double sum2;
        if (run_once(port, hdr, q, &s2, &p2, &sum2, &lat[n]) != 0) {
            free(lat);
            return -1;
        }
    }
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    double med = n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2;
    size_t p99 = (size_t)ceil(0.99 * n) - 1;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:I, s:I, s:f}", "query", q->name,
                          "expr", q->expr, "step", q->step, "runs", n, "median_ms", med,
                          "p99_ms", lat[p99], "min_ms", lat[0], "series", (json_int_t)series,
                          "points", (json_int_t)points, "sum", sum);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    puts(text);
    free(text);
    json_decref(o);
    fflush(stdout);
    free(lat);
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0, reps = 50;
    long start = 0, end = 0;
    char hdr[1200] = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--start"))
            start = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--end"))
            end = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--header"))
            snprintf(hdr, sizeof(hdr), "%s\r\n", argv[i + 1]);
    }
    if (!port || !start || end <= start || reps < 1 || reps > 100000) {
        fprintf(stderr, "usage: bench_query --port P --start S --end E [--reps N] "
                        "[--header 'Name: value']\n");
        return 2;
    }
    /* (d): 30 days ending at the workload's end, hourly buckets. */
    const query_t qs[] = {
        {"a_one_series_1h_raw", "cpu_usage_user{host=\"host-0000\"}", start, end, "1s"},
        {"b_avg_60s_100_hosts", "avg(avg_over_time(cpu_usage_user[60s]))",
         start - start % 60 + 59, end, "60s"},
        {"c_sum_rate_5m", "sum(rate(net_rx_bytes[5m]))", start - start % 60 + 59, end, "60s"},
        {"d_30d_1h_step", "avg(avg_over_time(cpu_usage_user[1h]))", end - 30 * 86400, end, "1h"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        if (run_query(port, hdr[0] ? hdr : NULL, &qs[i], reps) != 0)
            rc = 1;
    return rc;
}
