/* SPDX-License-Identifier: Apache-2.0 */
/* Alerting benchmark (not a ctest test), in process over a real store in DATA_DIR:
 *  1. evaluation cost: RULES rules, each selecting SERIES/RULES of SERIES series (none
 *     breaching), evaluated PASSES times; reports the mean pass time and the share of one
 *     core it costs at the default 1 s evaluation interval (target < 5 %);
 *  2. alert latency: with the engine's threads running at the default interval, TRIALS
 *     times write one breaching sample of a fresh series and time until the webhook
 *     request reaches a loopback receiver; reports p50/p99 (target p99 < 2 s).
 *
 *   bench_alert DATA_DIR [--rules 1000] [--series 10000] [--passes 10] [--trials 100]
 *
 * Every loop is bounded in count and each latency trial in time (10 s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "httpd.h"
#include "omega/alert.h"
#include "omega/log.h"
#include "omega/tsdb.h"

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int write_one(omega_tsdb_t *db, const char *name, const char *k1, const char *v1,
                     const char *k2, const char *v2, double value)
{
    omega_label_t l[2] = {{k1, v1}, {k2, v2}};
    omega_point_t p = {name, l, 2, omega_now_ms(), value};
    return omega_tsdb_write(db, &p, 1, NULL);
}

/* shared: every rule selects its series by a label of one metric (the store scans the
 * metric's series for each rule); else each rule has a metric of its own (the usual case). */
static int bench_cost(omega_tsdb_t *db, int rules, int series, int passes, int shared)
{
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.builtin_rules = 0;
    omega_alert_engine_t *e = omega_alert_create(db, &o, NULL);
    if (!e)
        return 1;
    const char *prefix = shared ? "bench_shared" : "bench_own";
    for (int s = 0; s < series; s++) {
        char g[16], id[16], name[48];
        snprintf(g, sizeof(g), "%d", s % rules);
        snprintf(id, sizeof(id), "%d", s);
        snprintf(name, sizeof(name), shared ? "%s" : "%s_%d", prefix, s % rules);
        if (write_one(db, name, "group", g, "series", id, 1) != 0)
            return 1;
    }
    for (int r = 0; r < rules; r++) {
        char body[256];
        if (shared)
            snprintf(body, sizeof(body), "{\"id\":\"%s%d\",\"name\":\"b\",\"expr\":"
                     "\"%s{group=\\\"%d\\\"}\",\"warning\":100,\"critical\":200}", prefix, r,
                     prefix, r);
        else
            snprintf(body, sizeof(body), "{\"id\":\"%s%d\",\"name\":\"b\",\"expr\":"
                     "\"%s_%d\",\"warning\":100,\"critical\":200}", prefix, r, prefix, r);
        if (omega_alert_rule_put(e, NULL, body, NULL, NULL) != 0)
            return 1;
    }
    double c0 = cpu_seconds();
    int64_t t0 = omega_mono_ns();
    for (int i = 0; i < passes; i++)
        omega_alert_evaluate(e, omega_now_ms());
    double wall = (double)(omega_mono_ns() - t0) / 1e9 / passes;
    double cpu = (cpu_seconds() - c0) / passes;
    printf("evaluation (%s): %d rules over %d series: %.1f ms wall, %.1f ms CPU per pass = "
           "%.2f %% of one core at a 1 s interval\n",
           shared ? "one metric, rules select by label" : "one metric per rule", rules, series,
           wall * 1e3, cpu * 1e3, cpu * 100);
    /* Leave the store as found for the next mode. */
    for (int r = 0; r < rules; r++) {
        char id[48];
        snprintf(id, sizeof(id), "%s%d", prefix, r);
        omega_alert_rule_delete(e, id, NULL);
    }
    omega_alert_destroy(e);
    return 0;
}

static int bench_latency(omega_tsdb_t *db, int trials)
{
    test_httpd_t *rx = test_httpd_start();
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.builtin_rules = 0;
    omega_alert_engine_t *e = omega_alert_create(db, &o, NULL);
    if (!rx || !e)
        return 1;
    char body[256];
    snprintf(body, sizeof(body), "{\"id\":\"rx\",\"name\":\"rx\",\"type\":\"webhook\",\"config\":"
             "{\"url\":\"http://127.0.0.1:%d/\"}}", test_httpd_port(rx));
    if (omega_alert_channel_put(e, NULL, body, NULL, NULL) != 0 ||
        omega_alert_rule_put(e, NULL, "{\"id\":\"lat\",\"name\":\"lat\",\"expr\":\"bench_lat\","
                             "\"warning\":1,\"channels\":[\"rx\"]}", NULL, NULL) != 0 ||
        omega_alert_start(e) != 0)
        return 1;
    double *ms = calloc((size_t)trials, sizeof(double));
    int done = 0;
    for (int t = 0; t < trials; t++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", t);
        size_t before = test_httpd_count(rx);
        int64_t t0 = omega_mono_ns();
        if (write_one(db, "bench_lat", "job", "bench", "trial", id, 5) != 0)
            break;
        if (test_httpd_wait(rx, before + 1, 10000) <= before) {
            fprintf(stderr, "trial %d: no webhook within 10 s\n", t);
            continue;
        }
        ms[done++] = (double)(omega_mono_ns() - t0) / 1e6;
    }
    omega_alert_destroy(e);
    test_httpd_stop(rx);
    if (done == 0) {
        free(ms);
        return 1;
    }
    qsort(ms, (size_t)done, sizeof(double), cmp_dbl);
    printf("latency (breaching write -> webhook received), %d trials: p50 %.0f ms, p99 %.0f ms, "
           "max %.0f ms\n", done, ms[(done - 1) / 2], ms[(done * 99 + 99) / 100 - 1],
           ms[done - 1]);
    free(ms);
    return 0;
}

static omega_tsdb_t *open_store(const char *dir)
{
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = dir;
    omega_error_t err;
    omega_error_clear(&err);
    omega_tsdb_t *db = omega_tsdb_open(&so, &err);
    if (!db)
        fprintf(stderr, "open %s: %s\n", dir, err.message);
    return db;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [--rules N] [--series N] [--passes N] [--trials N]\n",
                argv[0]);
        return 2;
    }
    int rules = 1000, series = 10000, passes = 10, trials = 100;
    for (int i = 2; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (v <= 0 || v > 1000000)
            return 2;
        if (!strcmp(argv[i], "--rules"))
            rules = v;
        else if (!strcmp(argv[i], "--series"))
            series = v;
        else if (!strcmp(argv[i], "--passes"))
            passes = v;
        else if (!strcmp(argv[i], "--trials"))
            trials = v;
        else
            return 2;
    }
    omega_log_set_level(OMEGA_LOG_ERROR);
    char cost_dir[4096], lat_dir[4096];
    snprintf(cost_dir, sizeof(cost_dir), "%s/cost", argv[1]);
    snprintf(lat_dir, sizeof(lat_dir), "%s/latency", argv[1]);
    omega_tsdb_t *db = open_store(cost_dir);
    int rc = !db || bench_cost(db, rules, series, passes, 0) ||
             bench_cost(db, rules, series, passes, 1);
    omega_tsdb_close(db);
    /* Latency on a store of its own: only the benchmark's rule, as with default settings. */
    db = rc ? NULL : open_store(lat_dir);
    rc = rc || !db || bench_latency(db, trials);
    omega_tsdb_close(db);
    return rc;
}
