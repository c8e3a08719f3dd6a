/* SPDX-License-Identifier: Apache-2.0 */
/* The query engine alone over a data directory (a copy of a server's, the server stopped):
 * the four queries of tests/bench/bench_query, evaluated with omega_query_exec in this
 * process, printing per query the median and p99 wall time and the process CPU per query,
 * so that the cost of a query can be measured apart from HTTP, JSON and whatever else a
 * server does meanwhile (collection, alert evaluation, rollups). Not a test.
 * Usage: bench_engine DATA_DIR --start S --end E [--reps N] */
#include "omega/query.h"
#include "omega/tsdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct bq {
    const char *name, *expr;
    long start, end, step; /* seconds */
} bq_t;

static int run(omega_tsdb_t *db, const bq_t *q, int reps)
{
    double *wall = malloc((size_t)reps * sizeof(double)), sum = 0;
    size_t points = 0;
    double c0 = cpu_ms();
    for (int i = 0; i < reps; i++) {
        omega_query_result_t *r = NULL;
        omega_error_t err;
        double t0 = now_ms();
        if (omega_query_exec(db, q->expr, q->start * 1000, q->end * 1000, q->step * 1000, NULL, &r,
                             &err) != 0) {
            fprintf(stderr, "%s: %s\n", q->name, err.message);
            free(wall);
            return 1;
        }
        wall[i] = now_ms() - t0;
        points = 0;
        sum = 0;
        for (size_t s = 0; s < r->n_series; s++)
            for (size_t p = 0; p < r->series[s].n_points; p++, points++)
                sum += r->series[s].points[p].value;
        omega_query_result_destroy(r);
    }
    double cpu = (cpu_ms() - c0) / reps;
    qsort(wall, (size_t)reps, sizeof(double), cmp_double);
    printf("{\"query\":\"%s\",\"median_ms\":%.3f,\"p99_ms\":%.3f,\"cpu_ms\":%.3f,\"points\":%zu,"
           "\"sum\":%.17g}\n",
           q->name, wall[reps / 2], wall[(size_t)(reps * 0.99)], cpu, points, sum);
    free(wall);
    return 0;
}

int main(int argc, char **argv)
{
    long start = 0, end = 0;
    int reps = 30;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--start") == 0)
            start = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--end") == 0)
            end = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
    }
    if (argc < 2 || end <= start || reps < 1 || reps > 100000) {
        fprintf(stderr, "usage: bench_engine DATA_DIR --start S --end E [--reps N]\n");
        return 2;
    }
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = argv[1];
    o.raw_retention_ms = 0;
    o.block_cache_size = 64ull << 20; /* the server default (storage.block_cache_size) */
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db) {
        fprintf(stderr, "open %s: %s\n", argv[1], err.message);
        return 1;
    }
    long s60 = start - start % 60 + 59;
    const bq_t qs[] = {
        {"a_one_series_1h_raw", "cpu_usage_user{host=\"host-0000\"}", start, end, 1},
        {"b_avg_60s_100_hosts", "avg(avg_over_time(cpu_usage_user[60s]))", s60, end, 60},
        {"c_sum_rate_5m", "sum(rate(net_rx_bytes[5m]))", s60, end, 60},
        {"d_30d_1h_step", "avg(avg_over_time(cpu_usage_user[1h]))", end - 30 * 86400, end, 3600},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        run(db, &qs[i], 3); /* warm the block cache as a running server's would be */
        rc |= run(db, &qs[i], reps);
    }
    omega_tsdb_close(db);
    return rc;
}
