/* SPDX-License-Identifier: Apache-2.0 */
/* Operation metrics in the TSDB (docs/metrics.md "Operations"): one family per kind and
 * label set holds a duration histogram and counters per status; points are built under
 * the module lock and written after it. Counters start at 0 (one zero sample just before
 * the first increment), so increase() and rate() see the first operation too. */
#include "analytics_int.h"

#include "omega/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds; compile jobs run from sub-second to an hour, with the specification's 180 s
 * and 300 s thresholds on bucket bounds. */
const double ana_bucket_bounds[ANA_BUCKETS] = {0.1, 0.5, 1,   2.5, 5,    10,   30,   60,
                                               120, 180, 300, 600, 1200, 1800, 3600, INFINITY};
const char *const ana_bucket_names[ANA_BUCKETS] = {"0.1",  "0.5",  "1",    "2.5", "5",   "10",
                                                   "30",   "60",   "120",  "180", "300", "600",
                                                   "1200", "1800", "3600", "+Inf"};

void ana_batch_init(ana_batch_t *b)
{
    memset(b, 0, sizeof(*b));
    b->hold = json_array();
}

void ana_batch_free(ana_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->labels[i]);
    free(b->labels);
    free(b->pts);
    json_decref(b->hold);
    memset(b, 0, sizeof(*b));
}

/* A point of family f (its kind and labels first) with up to two extra labels. */
static void add(ana_batch_t *b, const family_t *f, const char *name, const char *l1, const char *v1,
                const char *l2, const char *v2, int64_t ts, double value)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->pts = omega_realloc(b->pts, b->cap * sizeof(*b->pts));
        b->labels = omega_realloc(b->labels, b->cap * sizeof(*b->labels));
    }
    omega_label_t *l = omega_malloc((f->n_labels + 3) * sizeof(*l));
    size_t n = 0;
    l[n++] = (omega_label_t){"kind", f->kind};
    for (size_t i = 0; i < f->n_labels; i++)
        l[n++] = f->labels[i];
    if (l1)
        l[n++] = (omega_label_t){l1, v1};
    if (l2)
        l[n++] = (omega_label_t){l2, v2};
    b->labels[b->n] = l;
    b->pts[b->n++] = (omega_point_t){name, l, n, ts, value};
}

void ana_batch_write(omega_analytics_t *a, ana_batch_t *b)
{
    if (b->n == 0)
        return;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_tsdb_write(a->db, b->pts, b->n, &err);
    if (rc == 0)
        return;
    int64_t now = omega_now_ms();
    pthread_mutex_lock(&a->mu);
    int say = now - a->last_warn_ms > 60000;
    if (say)
        a->last_warn_ms = now;
    pthread_mutex_unlock(&a->mu);
    if (say)
        omega_log_warn("storing %zu operation samples failed: %s", b->n, err.message);
}

/* Canonical lookup key: kind, then the labels sorted by name (jansson keeps insertion
 * order, which differs between clients), every part length-prefixed so no value can
 * imitate another label set. Empty values are left out: in the Prometheus data model an
 * empty label is no label. */
static char *family_key(const char *kind, json_t *labels, const char ***names, size_t *n)
{
    *names = omega_calloc(json_object_size(labels) + 1, sizeof(char *));
    size_t i = 0, len = strlen(kind) + 24;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        if (json_string_length(v) == 0)
            continue;
        (*names)[i++] = k;
        len += strlen(k) + json_string_length(v) + 48;
    }
    *n = i;
    for (size_t x = 1; x < *n; x++) /* insertion sort: at most ANA_LABELS_MAX names */
        for (size_t y = x; y > 0 && strcmp((*names)[y - 1], (*names)[y]) > 0; y--) {
            const char *t = (*names)[y];
            (*names)[y] = (*names)[y - 1];
            (*names)[y - 1] = t;
        }
    char *key = omega_malloc(len);
    size_t off = (size_t)snprintf(key, len, "%zu:%s", strlen(kind), kind);
    for (i = 0; i < *n; i++) {
        json_t *val = json_object_get(labels, (*names)[i]);
        off += (size_t)snprintf(key + off, len - off, "%zu:%s=%zu:%s", strlen((*names)[i]),
                                (*names)[i], json_string_length(val), json_string_value(val));
    }
    return key;
}

family_t *ana_family_get(omega_analytics_t *a, const char *kind, json_t *labels)
{
    const char **names = NULL;
    size_t n = 0;
    char *key = family_key(kind, labels, &names, &n);
    family_t *f = NULL;
    for (size_t i = 0; i < a->n_families && !f; i++)
        if (strcmp(a->families[i]->key, key) == 0)
            f = a->families[i];
    if (f || a->n_families >= a->opt.max_families) {
        if (!f)
            omega_log_debug("operation metrics: family limit %zu reached", a->opt.max_families);
        free(key);
        free(names);
        return f;
    }
    f = omega_calloc(1, sizeof(*f));
    f->idx = a->n_families;
    f->key = key;
    f->kind = omega_strdup(kind);
    f->n_labels = n;
    f->labels = omega_calloc(n ? n : 1, sizeof(*f->labels));
    for (size_t i = 0; i < n; i++) {
        f->labels[i].name = omega_strdup(names[i]);
        f->labels[i].value = omega_strdup(json_string_value(json_object_get(labels, names[i])));
    }
    free(names);
    a->families = omega_realloc(a->families, (a->n_families + 1) * sizeof(*a->families));
    a->families[a->n_families++] = f;
    return f;
}

void ana_family_free(family_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_labels; i++) {
        free((char *)f->labels[i].name);
        free((char *)f->labels[i].value);
    }
    free(f->labels);
    free(f->kind);
    free(f->key);
    free(f);
}

void ana_points_active(ana_batch_t *b, const family_t *f, double oldest_s, int64_t now_ms)
{
    add(b, f, "omega_operations_active", NULL, NULL, NULL, NULL, now_ms, f->active);
    add(b, f, "omega_operations_active_oldest_seconds", NULL, NULL, NULL, NULL, now_ms, oldest_s);
}

/* Histogram and counter series of one status; zero = write zeros (first appearance). */
static void status_points(ana_batch_t *b, const family_t *f, ana_status_t st, int64_t ts, int zero)
{
    const char *s = ana_status_names[st];
    for (int i = 0; i < ANA_BUCKETS; i++)
        add(b, f, "omega_operation_duration_seconds_bucket", "status", s, "le", ana_bucket_names[i],
            ts, zero ? 0 : (double)f->bucket[st][i]);
    add(b, f, "omega_operation_duration_seconds_sum", "status", s, NULL, NULL, ts,
        zero ? 0 : f->sum[st]);
    add(b, f, "omega_operation_duration_seconds_count", "status", s, NULL, NULL, ts,
        zero ? 0 : (double)f->count[st]);
    add(b, f, "omega_operations_total", "status", s, NULL, NULL, ts,
        zero ? 0 : (double)f->count[st]);
}

/* Gauges read from the well-known attributes `omega-monitor run` sends. */
static void resource_points(ana_batch_t *b, const family_t *f, json_t *attrs, int64_t ts)
{
    json_t *u = json_object_get(attrs, "cpu_user_seconds");
    json_t *s = json_object_get(attrs, "cpu_system_seconds");
    json_t *rss = json_object_get(attrs, "peak_rss_bytes");
    if (json_is_number(u))
        add(b, f, "omega_operation_cpu_seconds", "mode", "user", NULL, NULL, ts,
            json_number_value(u));
    if (json_is_number(s))
        add(b, f, "omega_operation_cpu_seconds", "mode", "system", NULL, NULL, ts,
            json_number_value(s));
    if (json_is_number(rss))
        add(b, f, "omega_operation_peak_rss_bytes", NULL, NULL, NULL, NULL, ts,
            json_number_value(rss));
}

void ana_points_end(ana_batch_t *b, family_t *f, ana_status_t st, double duration_s, json_t *phases,
                    json_t *attrs, int64_t ended_ms)
{
    if (!f)
        return;
    if (!f->status_seen[st]) {
        f->status_seen[st] = 1;
        status_points(b, f, st, ended_ms - 1, 1);
    }
    f->count[st]++;
    f->sum[st] += duration_s;
    for (int i = 0; i < ANA_BUCKETS; i++)
        if (duration_s <= ana_bucket_bounds[i])
            f->bucket[st][i]++;
    status_points(b, f, st, ended_ms, 0);
    add(b, f, "omega_operation_last_duration_seconds", "status", ana_status_names[st], NULL, NULL,
        ended_ms, duration_s);
    const char *k;
    json_t *v;
    json_object_foreach(phases, k, v) {
        add(b, f, "omega_operation_phase_duration_seconds", "phase", k, NULL, NULL, ended_ms,
            json_number_value(v) / 1000.0);
    }
    if (phases)
        json_array_append(b->hold, phases); /* phase names are borrowed by the points */
    resource_points(b, f, attrs, ended_ms);
}

void ana_points_family(ana_batch_t *b, const family_t *f, int64_t now_ms)
{
    for (int st = 0; st < ANA_STATUS_COUNT; st++)
        if (f->status_seen[st])
            status_points(b, f, (ana_status_t)st, now_ms, 0);
}
