/* SPDX-License-Identifier: Apache-2.0 */
/* The server's own metrics for GET /metrics: lock-free atomic counters that any thread
 * bumps (workers per request, the loop for early rejections, the live protocol for
 * clients), written out as omega_monitor_* families by the exposition writer. */
#include "server_int.h"

#include "omega/alert.h"

#include "omega/ingest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#ifndef OMEGA_VERSION
#define OMEGA_VERSION "unknown"
#endif

#define N_CODES 600

/* Upper bounds of the request duration histogram, in seconds (Prometheus' defaults). */
static const double dur_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_DUR (sizeof(dur_bounds) / sizeof(dur_bounds[0]))

static _Atomic uint64_t http_codes[N_CODES];   /* responses by status code */
static _Atomic uint64_t ingest_codes[N_CODES]; /* ingest requests by status code */
static _Atomic uint64_t ingested_samples;      /* samples stored through the API */
/* Request durations per handler group (the query latency histogram is handler="query"). */
static const char *const groups[] = {"query", "ingest", "metrics", "other"};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))
static _Atomic uint64_t dur_buckets[N_GROUPS][N_DUR]; /* non-cumulative bucket counts */
static _Atomic uint64_t dur_count[N_GROUPS];          /* observations */
static _Atomic uint64_t dur_sum_ns[N_GROUPS];         /* total handling time, ns */
static _Atomic int64_t live_clients;                  /* connected WebSocket clients */

static int code_index(int code)
{
    return code >= 100 && code < N_CODES ? code : 0;
}

void stats_http_count(int code)
{
    atomic_fetch_add_explicit(&http_codes[code_index(code)], 1, memory_order_relaxed);
}

static size_t group_of(const char *path)
{
    static const char *const query[] = {"/api/v1/query", "/api/v1/query_range", "/api/v1/series",
                                        "/api/v1/labels"};
    if (!path)
        return N_GROUPS - 1;
    for (size_t i = 0; i < sizeof(query) / sizeof(query[0]); i++)
        if (!strcmp(path, query[i]))
            return 0;
    if (!strncmp(path, "/api/v1/label/", 14))
        return 0;
    if (!strcmp(path, "/api/v1/write") || !strcmp(path, "/write") ||
        !strcmp(path, "/api/v1/import"))
        return 1;
    if (!strcmp(path, "/metrics"))
        return 2;
    return N_GROUPS - 1;
}

void stats_http_observe(const char *path, int code, int64_t duration_ns)
{
    stats_http_count(code);
    size_t g = group_of(path);
    if (duration_ns < 0)
        duration_ns = 0;
    double s = (double)duration_ns / 1e9;
    for (size_t i = 0; i < N_DUR; i++) {
        if (s <= dur_bounds[i]) {
            atomic_fetch_add_explicit(&dur_buckets[g][i], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&dur_sum_ns[g], (uint64_t)duration_ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&dur_count[g], 1, memory_order_relaxed);
}

void stats_ingest_request(int code, size_t samples)
{
    atomic_fetch_add_explicit(&ingest_codes[code_index(code)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ingested_samples, samples, memory_order_relaxed);
}

void stats_live_clients_add(int delta)
{
    atomic_fetch_add_explicit(&live_clients, delta, memory_order_relaxed);
}

/* One counter family labelled by status code, every code seen so far. */
static void write_codes(omega_expo_t *e, const char *name, const char *help, const char *label,
                        _Atomic uint64_t *codes)
{
    omega_expo_family(e, name, OMEGA_METRIC_COUNTER, help, NULL);
    for (int c = 0; c < N_CODES; c++) {
        uint64_t v = atomic_load_explicit(&codes[c], memory_order_relaxed);
        if (!v)
            continue;
        char num[8];
        snprintf(num, sizeof(num), "%d", c);
        omega_label_t l = {label, c ? num : "other"};
        omega_expo_sample(e, &l, 1, (double)v);
    }
}

static void write_duration(omega_expo_t *e)
{
    omega_expo_family(e, "omega_monitor_http_request_duration_seconds", OMEGA_METRIC_HISTOGRAM,
                      "Time workers spent handling HTTP API requests, by handler group.",
                      "seconds");
    for (size_t g = 0; g < N_GROUPS; g++) {
        double cum[N_DUR];
        uint64_t acc = 0;
        for (size_t i = 0; i < N_DUR; i++) {
            acc += atomic_load_explicit(&dur_buckets[g][i], memory_order_relaxed);
            cum[i] = (double)acc;
        }
        uint64_t count = atomic_load_explicit(&dur_count[g], memory_order_relaxed);
        if (count < acc)
            count = acc; /* an observation between the two loads */
        double sum = (double)atomic_load_explicit(&dur_sum_ns[g], memory_order_relaxed) / 1e9;
        omega_label_t l = {"handler", groups[g]};
        omega_expo_histogram(e, &l, 1, dur_bounds, cum, N_DUR, sum, (double)count);
    }
}

static void write_gauge(omega_expo_t *e, const char *name, const char *help, const char *unit,
                        double v)
{
    omega_expo_family(e, name, OMEGA_METRIC_GAUGE, help, unit);
    omega_expo_sample(e, NULL, 0, v);
}

static void write_counter(omega_expo_t *e, const char *name, const char *help, double v)
{
    omega_expo_family(e, name, OMEGA_METRIC_COUNTER, help, NULL);
    omega_expo_sample(e, NULL, 0, v);
}

/* The alert engine's own cost and delivery figures. */
static void write_alert_stats(omega_expo_t *e, struct omega_alert_engine *engine)
{
    omega_alert_stats_t a;
    omega_alert_stats(engine, &a);
    write_counter(e, "omega_monitor_alert_evaluations_total", "Alert evaluation passes.",
                  (double)a.evaluations);
    write_counter(e, "omega_monitor_alert_evaluation_seconds_total",
                  "Time spent evaluating alert rules.", (double)a.eval_duration_ns_total / 1e9);
    write_gauge(e, "omega_monitor_alert_last_evaluation_seconds",
                "Duration of the latest alert evaluation pass.", "seconds",
                (double)a.last_eval_duration_ns / 1e9);
    write_counter(e, "omega_monitor_alert_rule_errors_total",
                  "Rule evaluations that failed (bad data or query errors).",
                  (double)a.rule_errors);
    write_gauge(e, "omega_monitor_alert_rules", "Alert rules loaded, built-in included.", NULL,
                (double)a.rules);
    write_gauge(e, "omega_monitor_alerts_firing", "Alerts currently firing.", NULL,
                (double)a.firing);
    write_gauge(e, "omega_monitor_alerts_active", "Alerts pending or firing.", NULL,
                (double)a.active);
    write_counter(e, "omega_monitor_notifications_sent_total", "Notifications delivered.",
                  (double)a.notifications_sent);
    write_counter(e, "omega_monitor_notifications_failed_total",
                  "Notification delivery attempts that failed.", (double)a.notifications_failed);
    write_counter(e, "omega_monitor_notifications_dropped_total",
                  "Notifications given up after the retry window.",
                  (double)a.notifications_dropped);
    write_gauge(e, "omega_monitor_notification_queue_depth", "Notifications waiting to be sent.",
                NULL, (double)a.queue_depth);
}

void stats_write(omega_expo_t *e, app_t *app)
{
    omega_expo_family(e, "omega_monitor_build_info", OMEGA_METRIC_GAUGE,
                      "Build of this server (value 1).", NULL);
    omega_label_t ver = {"version", OMEGA_VERSION};
    omega_expo_sample(e, &ver, 1, 1);
    write_gauge(e, "omega_monitor_start_time_seconds", "Unix time the server started.", "seconds",
                (double)app->started_ms / 1000.0);
    omega_expo_family(e, "omega_monitor_ingested_samples_total", OMEGA_METRIC_COUNTER,
                      "Samples stored through the ingestion API.", NULL);
    omega_expo_sample(e, NULL, 0,
                      (double)atomic_load_explicit(&ingested_samples, memory_order_relaxed));
    write_codes(e, "omega_monitor_ingest_requests_total",
                "Ingestion requests (write, import) by HTTP status.", "status", ingest_codes);
    write_codes(e, "omega_monitor_http_requests_total", "HTTP API responses by status code.",
                "code", http_codes);
    write_duration(e);
    write_gauge(e, "omega_monitor_live_clients", "Connected live WebSocket clients.", NULL,
                (double)atomic_load_explicit(&live_clients, memory_order_relaxed));
    write_gauge(e, "omega_monitor_http_queue_depth", "HTTP requests waiting for a worker.", NULL,
                app->workers ? (double)workers_queued(app->workers) : 0);
    omega_tsdb_stats_t st;
    omega_tsdb_stats(app->db, &st);
    write_gauge(e, "omega_monitor_storage_series", "Series in the storage index.", NULL,
                (double)st.series);
    write_gauge(e, "omega_monitor_storage_disk_bytes", "Live SST and WAL bytes of the store.",
                "bytes", (double)st.disk_bytes);
    omega_expo_family(e, "omega_monitor_storage_samples_written_total", OMEGA_METRIC_COUNTER,
                      "Samples acknowledged by storage since start (all sources).", NULL);
    omega_expo_sample(e, NULL, 0, (double)st.samples_written);
    if (app->alerts)
        write_alert_stats(e, app->alerts);
}
