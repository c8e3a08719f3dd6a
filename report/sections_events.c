/* SPDX-License-Identifier: Apache-2.0 */
/* Sections computed from records rather than series: compilation_performance from the
 * finished operations (jobs) of module analytics/, error_analysis from the alert history
 * of module alert/. Both read the modules' JSON listings; every text taken from them
 * (kinds, ids, labels, rule names, messages) goes through the masker. */
#include "report_int.h"

#include "omega/alert.h"
#include "omega/analytics.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS  10000 /* records read per section (the modules' own cap) */
#define MAX_KINDS    50    /* job kinds / alert rules aggregated */
#define SLOWEST_JOBS 20
#define LISTED_ROWS  50

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t time_of(json_t *o, const char *k)
{
    int64_t t = 0;
    const char *s = json_string_value(json_object_get(o, k));
    return s && omega_time_parse(s, &t) == 0 ? t : 0;
}

/* {"k":"v",...} as `k="v", ...`, masked. */
static char *labels_of(const rpt_ctx_t *c, json_t *obj)
{
    omega_label_t l[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (n < 64 && json_is_string(v))
            l[n++] = (omega_label_t){k, json_string_value(v)};
    }
    return rpt_labels_text(c, l, n);
}

static void time_cell(rpt_cell_t *cell, int64_t ms)
{
    char buf[40];
    rpt_cell_str(cell, ms ? omega_time_format_rfc3339(ms, buf, sizeof(buf)) : "");
}

/* Count of events per chart step into a series (pts: n = buckets). */
static size_t bucket_of(const rpt_ctx_t *c, int64_t t)
{
    return (size_t)((t - c->from_ms) / c->step_ms);
}

static size_t n_buckets(const rpt_ctx_t *c)
{
    return (size_t)((c->to_ms - c->from_ms + c->step_ms - 1) / c->step_ms);
}

/* ---- compilation_performance ---- */

typedef struct kind_agg {
    char *kind; /* masked */
    size_t ok, failed, abandoned;
    double *dur; /* durations, seconds */
    size_t n;
    omega_sample_t *pts; /* (end, duration) for the chart */
} kind_agg_t;

static kind_agg_t *kind_find(kind_agg_t *k, size_t *n, char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(k[i].kind, name) == 0) {
            free(name);
            return &k[i];
        }
    if (*n >= MAX_KINDS) {
        free(name);
        return NULL;
    }
    memset(&k[*n], 0, sizeof(k[*n]));
    k[*n].kind = name;
    return &k[(*n)++];
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void jobs_summary(rpt_section_t *s, kind_agg_t *k, size_t nk)
{
    static const char *const cols[] = {"kind",      "jobs",    "ok",      "failed", "abandoned",
                                       "success %", "avg (s)", "p95 (s)", "max (s)"};
    rpt_table_t *t = rpt_table_add(s, "Jobs by kind", cols, 9);
    rpt_chart_t *ch = rpt_chart_add(s, "Job duration (s)", "s");
    for (size_t i = 0; i < nk; i++) {
        size_t total = k[i].ok + k[i].failed + k[i].abandoned;
        double sum = 0;
        for (size_t j = 0; j < k[i].n; j++)
            sum += k[i].dur[j];
        qsort(k[i].dur, k[i].n, sizeof(double), cmp_d);
        rpt_cell_t *row = rpt_row_add(t);
        if (row) {
            rpt_cell_str(&row[0], k[i].kind);
            rpt_cell_num(&row[1], (double)total);
            rpt_cell_num(&row[2], (double)k[i].ok);
            rpt_cell_num(&row[3], (double)k[i].failed);
            rpt_cell_num(&row[4], (double)k[i].abandoned);
            rpt_cell_num(&row[5], total ? 100.0 * (double)k[i].ok / (double)total : NAN);
            rpt_cell_num(&row[6], k[i].n ? sum / (double)k[i].n : NAN);
            size_t rank = (size_t)ceil(0.95 * (double)k[i].n);
            rpt_cell_num(&row[7], k[i].n ? k[i].dur[rank ? rank - 1 : 0] : NAN);
            rpt_cell_num(&row[8], k[i].n ? k[i].dur[k[i].n - 1] : NAN);
        }
        /* the listing is newest first: reverse for the chart */
        for (size_t a = 0, b = k[i].n; a + 1 < b; a++, b--) {
            omega_sample_t tmp = k[i].pts[a];
            k[i].pts[a] = k[i].pts[b - 1];
            k[i].pts[b - 1] = tmp;
        }
        rpt_series_add(ch, omega_strdup(k[i].kind), k[i].pts, k[i].n);
    }
}

static int cmp_job_duration(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "duration_seconds"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "duration_seconds"));
    return (x < y) - (x > y);
}

static void job_row(const rpt_ctx_t *c, rpt_table_t *t, json_t *it)
{
    rpt_cell_t *row = rpt_row_add(t);
    if (!row)
        return;
    time_cell(&row[0], time_of(it, "ended_at"));
    rpt_cell_text(&row[1], rpt_mask(c, str_of(it, "id")));
    rpt_cell_text(&row[2], rpt_mask(c, str_of(it, "kind")));
    rpt_cell_text(&row[3], labels_of(c, json_object_get(it, "labels")));
    rpt_cell_str(&row[4], str_of(it, "status"));
    rpt_cell_num(&row[5], json_number_value(json_object_get(it, "duration_seconds")));
}

static void jobs_lists(const rpt_ctx_t *c, rpt_section_t *s, json_t *items)
{
    static const char *const cols[] = {"ended", "id", "kind", "labels", "status", "duration (s)"};
    size_t n = json_array_size(items), i;
    json_t **v = omega_malloc((n ? n : 1) * sizeof(*v)), *it;
    json_array_foreach(items, i, it) v[i] = it;
    qsort(v, n, sizeof(*v), cmp_job_duration);
    rpt_table_t *slow = rpt_table_add(s, "Slowest jobs", cols, 6);
    for (i = 0; i < n && i < SLOWEST_JOBS; i++)
        job_row(c, slow, v[i]);
    free(v);
    rpt_table_t *failed = rpt_table_add(s, "Failed and abandoned jobs (newest first)", cols, 6);
    size_t shown = 0;
    json_array_foreach(items, i, it)
    {
        if (strcmp(str_of(it, "status"), "ok") == 0)
            continue;
        if (shown++ < LISTED_ROWS)
            job_row(c, failed, it);
        else
            failed->total_rows++;
    }
}

static void jobs_aggregate(const rpt_ctx_t *c, rpt_section_t *s, json_t *items)
{
    kind_agg_t k[MAX_KINDS];
    size_t nk = 0, i, n = json_array_size(items);
    json_t *it;
    json_array_foreach(items, i, it)
    {
        kind_agg_t *a = kind_find(k, &nk, rpt_mask(c, str_of(it, "kind")));
        if (!a)
            continue;
        const char *st = str_of(it, "status");
        if (strcmp(st, "ok") == 0)
            a->ok++;
        else if (strcmp(st, "failed") == 0)
            a->failed++;
        else
            a->abandoned++;
        double d = json_number_value(json_object_get(it, "duration_seconds"));
        if (!a->dur) {
            a->dur = omega_malloc(n * sizeof(double));
            a->pts = omega_malloc(n * sizeof(omega_sample_t));
        }
        a->pts[a->n] = (omega_sample_t){time_of(it, "ended_at"), d};
        a->dur[a->n++] = d;
    }
    jobs_summary(s, k, nk);
    for (i = 0; i < nk; i++) {
        free(k[i].kind);
        free(k[i].dur);
        free(k[i].pts);
    }
}

int rpt_section_jobs(const rpt_ctx_t *c, rpt_section_t *s)
{
    if (!c->src->analytics) {
        rpt_section_note(s, "no data in this range: job tracking is not running");
        return 0;
    }
    omega_analytics_query_t q = {
        .active = 0, .since_ms = c->from_ms, .until_ms = c->to_ms - 1, .limit = MAX_RECORDS};
    char *out = NULL;
    int rc = omega_analytics_list(c->src->analytics, &q, &out, c->err);
    if (rc != 0)
        return rc;
    json_t *root = json_loads(out, 0, NULL);
    free(out);
    json_t *items = json_object_get(root, "items");
    if (json_array_size(items) == 0) {
        rpt_section_note(s, "no data in this range: no job finished in this period");
    } else {
        jobs_aggregate(c, s, items);
        jobs_lists(c, s, items);
        if (json_is_true(json_object_get(root, "truncated")))
            rpt_section_note(s,
                             "More than %d jobs finished in this period; the newest %d are "
                             "counted.",
                             MAX_RECORDS, MAX_RECORDS);
    }
    json_decref(root);
    return 0;
}

/* ---- error_analysis ---- */

typedef struct rule_agg {
    char *name; /* masked */
    char *category;
    size_t fired, resolved;
    int worst; /* 0 warning, 1 critical, 2 emergency */
    int64_t last;
} rule_agg_t;

static const char *const severities[] = {"warning", "critical", "emergency"};

static int sev_index(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, severities[i]) == 0)
            return i;
    return -1;
}

static int fired(const char *status)
{
    return strcmp(status, "firing") == 0 || strcmp(status, "escalated") == 0;
}

static void errors_by_rule(const rpt_ctx_t *c, rpt_section_t *s, json_t *items)
{
    rule_agg_t r[MAX_KINDS];
    size_t nr = 0, i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *status = str_of(it, "status");
        int f = fired(status), res = strcmp(status, "resolved") == 0;
        if (!f && !res)
            continue;
        char *name = rpt_mask(c, str_of(it, "alert"));
        size_t k = 0;
        while (k < nr && strcmp(r[k].name, name) != 0)
            k++;
        if (k == nr && nr == MAX_KINDS) {
            free(name);
            continue;
        }
        if (k == nr) {
            r[nr++] = (rule_agg_t){name, omega_strdup(str_of(it, "category")), 0, 0, -1, 0};
        } else {
            free(name);
        }
        r[k].fired += (size_t)f;
        r[k].resolved += (size_t)res;
        int sv = sev_index(str_of(it, "severity"));
        if (f && sv > r[k].worst)
            r[k].worst = sv;
        if (f)
            r[k].last = time_of(it, "at");
    }
    static const char *const cols[] = {"rule",     "category",       "fired",
                                       "resolved", "worst severity", "last fired"};
    rpt_table_t *t = rpt_table_add(s, "Alerts by rule", cols, 6);
    for (i = 0; i < nr; i++) {
        rpt_cell_t *row = rpt_row_add(t);
        if (row) {
            rpt_cell_text(&row[0], r[i].name);
            rpt_cell_text(&row[1], r[i].category);
            rpt_cell_num(&row[2], (double)r[i].fired);
            rpt_cell_num(&row[3], (double)r[i].resolved);
            rpt_cell_str(&row[4], r[i].worst >= 0 ? severities[r[i].worst] : "");
            time_cell(&row[5], r[i].last);
        } else {
            free(r[i].name);
            free(r[i].category);
        }
    }
}

static void errors_by_severity(const rpt_ctx_t *c, rpt_section_t *s, json_t *items)
{
    size_t nb = n_buckets(c), i, counts[3] = {0}, resolved = 0;
    omega_sample_t *pts[3];
    for (int k = 0; k < 3; k++) {
        pts[k] = omega_malloc(nb * sizeof(omega_sample_t));
        for (size_t b = 0; b < nb; b++)
            pts[k][b] = (omega_sample_t){c->from_ms + (int64_t)b * c->step_ms, 0};
    }
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *status = str_of(it, "status");
        resolved += strcmp(status, "resolved") == 0;
        int sv = sev_index(str_of(it, "severity"));
        int64_t at = time_of(it, "at");
        if (!fired(status) || sv < 0 || at < c->from_ms || at >= c->to_ms)
            continue;
        counts[sv]++;
        pts[sv][bucket_of(c, at)].value += 1;
    }
    static const char *const cols[] = {"severity", "fired"};
    rpt_table_t *t = rpt_table_add(s, "Alerts fired by severity", cols, 2);
    char title[96], step[32];
    snprintf(title, sizeof(title), "Alerts fired per %s",
             omega_duration_format(c->step_ms, step, sizeof(step)));
    rpt_chart_t *ch = rpt_chart_add(s, title, "");
    for (int k = 0; k < 3; k++) {
        rpt_cell_t *row = rpt_row_add(t);
        rpt_cell_str(&row[0], severities[k]);
        rpt_cell_num(&row[1], (double)counts[k]);
        if (counts[k])
            rpt_series_add(ch, omega_strdup(severities[k]), pts[k], nb);
        free(pts[k]);
    }
    rpt_cell_t *row = rpt_row_add(t);
    rpt_cell_str(&row[0], "resolved");
    rpt_cell_num(&row[1], (double)resolved);
}

static void errors_recent(const rpt_ctx_t *c, rpt_section_t *s, json_t *items)
{
    static const char *const cols[] = {"time",  "rule",      "severity", "status",
                                       "value", "threshold", "labels",   "message"};
    rpt_table_t *t = rpt_table_add(s, "Alert firings (newest first)", cols, 8);
    for (size_t i = json_array_size(items); i-- > 0;) {
        json_t *it = json_array_get(items, i);
        if (!fired(str_of(it, "status")))
            continue;
        if (t->nrows >= LISTED_ROWS) {
            t->total_rows++;
            continue;
        }
        rpt_cell_t *row = rpt_row_add(t);
        time_cell(&row[0], time_of(it, "at"));
        rpt_cell_text(&row[1], rpt_mask(c, str_of(it, "alert")));
        rpt_cell_str(&row[2], str_of(it, "severity"));
        rpt_cell_str(&row[3], str_of(it, "status"));
        rpt_cell_num(&row[4], json_number_value(json_object_get(it, "value")));
        rpt_cell_num(&row[5], json_number_value(json_object_get(it, "threshold")));
        rpt_cell_text(&row[6], labels_of(c, json_object_get(it, "labels")));
        rpt_cell_text(&row[7], rpt_mask(c, str_of(it, "description")));
    }
}

int rpt_section_errors(const rpt_ctx_t *c, rpt_section_t *s)
{
    if (!c->src->alerts) {
        rpt_section_note(s, "no data in this range: alerting is not running");
        return 0;
    }
    char *out = NULL;
    int rc = omega_alert_history(c->src->alerts, c->from_ms, c->to_ms - 1, NULL, NULL, MAX_RECORDS,
                                 &out, c->err);
    if (rc != 0)
        return rc;
    json_t *root = json_loads(out, 0, NULL);
    free(out);
    json_t *items = json_object_get(root, "items");
    if (json_array_size(items) == 0) {
        rpt_section_note(s, "no data in this range: no alert changed state in this period");
    } else {
        errors_by_severity(c, s, items);
        errors_by_rule(c, s, items);
        errors_recent(c, s, items);
        if (json_array_size(items) >= MAX_RECORDS)
            rpt_section_note(s,
                             "More than %d alert transitions in this period; the first %d "
                             "are counted.",
                             MAX_RECORDS, MAX_RECORDS);
    }
    json_decref(root);
    return 0;
}
