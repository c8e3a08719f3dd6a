/* SPDX-License-Identifier: Apache-2.0 */
/* Sections computed from the store through the PromQL engine: system_resources (one
 * aggregated range query per figure, statistics over its points), application_performance
 * (latency histograms found by name) and trend_analysis (least-squares lines through the
 * same figures). Metric names are API.md's catalogue. */
#include "report_int.h"

#include "omega/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One figure: a label, its unit and an expression whose "$W" is the rate window. */
typedef struct figure {
    const char *name;
    const char *unit;
    const char *expr;
} figure_t;

static const figure_t system_figures[] = {
    {"CPU usage", "%", "avg(system_cpu_usage_percent{cpu=\"total\"})"},
    {"Load average (1 min)", "", "avg(system_load1)"},
    {"Memory used", "%", "avg(system_memory_used_percent)"},
    {"Swap used", "%", "avg(system_swap_used_percent)"},
    {"Filesystem used (fullest)", "%", "max(system_filesystem_used_percent)"},
    {"Disk utilization (busiest)", "%", "max(system_disk_utilization_percent)"},
    {"Disk read", "bytes/s", "sum(rate(system_disk_read_bytes_total[$W]))"},
    {"Disk written", "bytes/s", "sum(rate(system_disk_written_bytes_total[$W]))"},
    {"Network received", "bytes/s",
     "sum(rate(system_network_receive_bytes_total{interface!=\"lo\"}[$W]))"},
    {"Network transmitted", "bytes/s",
     "sum(rate(system_network_transmit_bytes_total{interface!=\"lo\"}[$W]))"},
};
#define N_SYSTEM (sizeof(system_figures) / sizeof(system_figures[0]))

/* The figures trend_analysis fits a line through (indexes into system_figures). */
static const size_t trend_figures[] = {0, 2, 4, 5, 8, 9};
#define N_TREND (sizeof(trend_figures) / sizeof(trend_figures[0]))

#define MAX_HISTOGRAMS 10

static int hard_error(int rc)
{
    return rc == OMEGA_ETIMEDOUT || rc == OMEGA_EIO || rc == OMEGA_ECORRUPT || rc == OMEGA_ENOMEM;
}

static void query_opts(const rpt_ctx_t *c, omega_query_opts_t *o)
{
    omega_query_opts_init(o);
    o->timeout_ms = c->src->query_timeout_ms > 0 ? c->src->query_timeout_ms : 60000;
}

/* expr with "$W" replaced by the rate window (the step, at least 2 minutes). */
static void expand(const rpt_ctx_t *c, const char *expr, char *out, size_t len)
{
    char w[32];
    rpt_dur(c->step_ms > 120000 ? c->step_ms : 120000, w, sizeof(w));
    size_t o = 0;
    for (const char *p = expr; *p && o + 1 < len; p++) {
        if (p[0] == '$' && p[1] == 'W') {
            o += (size_t)snprintf(out + o, len - o, "%s", w);
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

int rpt_query_series(const rpt_ctx_t *c, const char *expr, omega_sample_t **pts, size_t *n)
{
    omega_query_opts_t o;
    query_opts(c, &o);
    omega_query_result_t *res = NULL;
    *pts = NULL;
    *n = 0;
    int64_t start = c->from_ms + c->step_ms;
    if (start > c->to_ms)
        start = c->to_ms;
    int rc = omega_query_exec(c->src->db, expr, start, c->to_ms, c->step_ms, &o, &res, c->err);
    if (rc != 0)
        return rc;
    if (res->n_series > 0 && res->series[0].n_points > 0) {
        *n = res->series[0].n_points;
        *pts = omega_malloc(*n * sizeof(**pts));
        memcpy(*pts, res->series[0].points, *n * sizeof(**pts));
    }
    omega_query_result_destroy(res);
    return 0;
}

/* The value of an instant query at the end of the window, NaN when empty. */
static int query_value(const rpt_ctx_t *c, const char *expr, double *v)
{
    omega_query_opts_t o;
    query_opts(c, &o);
    omega_query_result_t *res = NULL;
    *v = NAN;
    int rc = omega_query_exec(c->src->db, expr, c->to_ms, c->to_ms, 0, &o, &res, c->err);
    if (rc != 0)
        return rc;
    if (res->type == OMEGA_QUERY_SCALAR)
        *v = res->scalar;
    else if (res->n_series > 0 && res->series[0].n_points > 0)
        *v = res->series[0].points[0].value;
    omega_query_result_destroy(res);
    return 0;
}

/* Query every system figure; pts[i]/n[i] owned by the caller. A soft error (the query
 * cannot run on this data) leaves the figure empty. */
static int query_figures(const rpt_ctx_t *c, omega_sample_t **pts, size_t *n)
{
    for (size_t i = 0; i < N_SYSTEM; i++) {
        char expr[512];
        expand(c, system_figures[i].expr, expr, sizeof(expr));
        int rc = rpt_query_series(c, expr, &pts[i], &n[i]);
        if (hard_error(rc))
            return rc;
    }
    omega_error_clear(c->err);
    return 0;
}

static void free_figures(omega_sample_t **pts)
{
    for (size_t i = 0; i < N_SYSTEM; i++)
        free(pts[i]);
}

static void chart_of(rpt_section_t *s, const char *title, const char *unit, const size_t *idx,
                     size_t k, omega_sample_t **pts, const size_t *n)
{
    rpt_chart_t *ch = NULL;
    for (size_t i = 0; i < k; i++) {
        if (n[idx[i]] == 0)
            continue;
        if (!ch)
            ch = rpt_chart_add(s, title, unit);
        rpt_series_add(ch, omega_strdup(system_figures[idx[i]].name), pts[idx[i]], n[idx[i]]);
    }
}

int rpt_section_system(const rpt_ctx_t *c, rpt_section_t *s)
{
    omega_sample_t *pts[N_SYSTEM] = {0};
    size_t n[N_SYSTEM] = {0};
    int rc = query_figures(c, pts, n);
    if (rc == 0) {
        static const char *const cols[] = {"metric", "unit", "avg", "p95", "max"};
        rpt_table_t *t = NULL;
        for (size_t i = 0; i < N_SYSTEM; i++) {
            double avg, p95, max;
            if (rpt_stats(pts[i], n[i], &avg, &p95, &max) == 0)
                continue;
            if (!t)
                t = rpt_table_add(s, "Resource usage", cols, 5);
            rpt_cell_t *row = rpt_row_add(t);
            if (!row)
                break;
            rpt_cell_str(&row[0], system_figures[i].name);
            rpt_cell_str(&row[1], system_figures[i].unit);
            rpt_cell_num(&row[2], avg);
            rpt_cell_num(&row[3], p95);
            rpt_cell_num(&row[4], max);
        }
        if (!t) {
            rpt_section_note(s, "no data in this range");
        } else {
            static const size_t pct[] = {0, 2, 4, 5}, net[] = {8, 9}, disk[] = {6, 7};
            chart_of(s, "CPU, memory and disk (%)", "%", pct, 4, pts, n);
            chart_of(s, "Network (bytes/s)", "bytes/s", net, 2, pts, n);
            chart_of(s, "Disk I/O (bytes/s)", "bytes/s", disk, 2, pts, n);
        }
    }
    free_figures(pts);
    return rc;
}

/* ---- application_performance ---- */

static int histogram_row(const rpt_ctx_t *c, rpt_table_t *t, rpt_chart_t *ch, const char *bucket)
{
    char base[256], expr[768], range[32];
    size_t blen = strlen(bucket) - strlen("_bucket");
    snprintf(base, sizeof(base), "%.*s", (int)blen, bucket);
    rpt_dur(c->to_ms - c->from_ms, range, sizeof(range));
    double q[3], count;
    static const char *const qs[] = {"0.5", "0.95", "0.99"};
    int rc;
    for (int i = 0; i < 3; i++) {
        snprintf(expr, sizeof(expr), "histogram_quantile(%s, sum by (le) (increase(%s[%s])))",
                 qs[i], bucket, range);
        if ((rc = query_value(c, expr, &q[i])) != 0)
            return rc;
    }
    snprintf(expr, sizeof(expr), "sum(increase(%s_count[%s]))", base, range);
    if ((rc = query_value(c, expr, &count)) != 0)
        return rc;
    rpt_cell_t *row = rpt_row_add(t);
    if (row) {
        rpt_cell_str(&row[0], base);
        rpt_cell_num(&row[1], isnan(count) ? NAN : round(count));
        for (int i = 0; i < 3; i++)
            rpt_cell_num(&row[2 + i], q[i]);
    }
    char w[32];
    rpt_dur(c->step_ms > 120000 ? c->step_ms : 120000, w, sizeof(w));
    snprintf(expr, sizeof(expr), "histogram_quantile(0.95, sum by (le) (rate(%s[%s])))", bucket, w);
    omega_sample_t *pts = NULL;
    size_t n = 0;
    if ((rc = rpt_query_series(c, expr, &pts, &n)) == 0) {
        size_t k = 0; /* an all-NaN line (no observations) is left out */
        while (k < n && !isfinite(pts[k].value))
            k++;
        if (k < n)
            rpt_series_add(ch, omega_strdup(base), pts, n);
    }
    free(pts);
    return rc;
}

int rpt_section_application(const rpt_ctx_t *c, rpt_section_t *s)
{
    static const char *const match[] = {"{__name__=~\".+_(duration|latency)_seconds_bucket\","
                                        "__name__!=\"omega_operation_duration_seconds_bucket\"}"};
    omega_query_strings_t *names = NULL;
    int rc = omega_query_label_values(c->src->db, "__name__", match, 1, c->from_ms, c->to_ms,
                                      &names, c->err);
    if (rc != 0)
        return hard_error(rc) ? rc : (omega_error_clear(c->err), 0);
    if (names->n == 0) {
        rpt_section_note(s, "no data in this range: no request or function latency histograms "
                            "(*_duration_seconds or *_latency_seconds) were stored");
        omega_query_strings_destroy(names);
        return 0;
    }
    static const char *const cols[] = {"histogram", "observations", "p50 (s)", "p95 (s)",
                                       "p99 (s)"};
    rpt_table_t *t = rpt_table_add(s, "Latency", cols, 5);
    rpt_chart_t *ch = rpt_chart_add(s, "p95 latency (s)", "s");
    size_t k = names->n < MAX_HISTOGRAMS ? names->n : MAX_HISTOGRAMS;
    for (size_t i = 0; i < k && rc == 0; i++) {
        rc = histogram_row(c, t, ch, names->v[i]);
        if (rc != 0 && !hard_error(rc)) {
            omega_error_clear(c->err);
            rc = 0;
        }
    }
    if (names->n > k)
        rpt_section_note(s,
                         "%zu latency histograms in this range; the first %zu by name are "
                         "shown.",
                         names->n, k);
    omega_query_strings_destroy(names);
    return rc;
}

/* ---- trend_analysis ---- */

/* A line through the finite points of one figure, fitted from its first point: 1 when
 * there are two or more spanning at least a tenth of the period (a shorter stretch says
 * too little about the period to extrapolate from), with the first and last times. */
static int trend_fit(const rpt_ctx_t *c, const omega_sample_t *pts, size_t n, double *slope,
                     double *at_first, int64_t *t_first, int64_t *t_last)
{
    size_t a = 0, b = n;
    while (a < n && !isfinite(pts[a].value))
        a++;
    while (b > a && !isfinite(pts[b - 1].value))
        b--;
    if (b - a < 2 || (pts[b - 1].ts_ms - pts[a].ts_ms) * 10 < c->to_ms - c->from_ms)
        return 0;
    *t_first = pts[a].ts_ms;
    *t_last = pts[b - 1].ts_ms;
    return rpt_fit(pts + a, b - a, slope, at_first, *t_first) >= 2 && isfinite(*slope);
}

static void trend_row(const rpt_ctx_t *c, rpt_table_t *t, rpt_table_t *cap, const figure_t *f,
                      double slope, double first, int64_t t_first, int64_t t_last)
{
    double day = 86400000.0, last = first + slope * (double)(t_last - t_first);
    rpt_cell_t *row = rpt_row_add(t);
    if (!row)
        return;
    rpt_cell_str(&row[0], f->name);
    rpt_cell_str(&row[1], f->unit);
    rpt_cell_num(&row[2], first);
    rpt_cell_num(&row[3], last);
    rpt_cell_num(&row[4], slope * day);
    rpt_cell_num(&row[5], first + slope * (double)(2 * c->to_ms - c->from_ms - t_first));
    /* Percentages heading for 100 get a "full in" estimate, counted from the last point. */
    if (strcmp(f->unit, "%") == 0 && slope > 0) {
        double days = (100.0 - last) / (slope * day);
        rpt_cell_t *r2 = rpt_row_add(cap);
        if (r2) {
            rpt_cell_str(&r2[0], f->name);
            rpt_cell_num(&r2[1], last);
            rpt_cell_num(&r2[2], days > 0 ? days : 0);
        }
    }
}

int rpt_section_trends(const rpt_ctx_t *c, rpt_section_t *s)
{
    omega_sample_t *pts[N_SYSTEM] = {0};
    size_t n[N_SYSTEM] = {0};
    int rc = query_figures(c, pts, n);
    if (rc == 0) {
        static const char *const cols[] = {"metric",       "unit",           "trend at start",
                                           "trend at end", "change per day", "forecast"};
        static const char *const ccols[] = {"metric", "trend at end (%)", "days to 100%"};
        rpt_table_t *t =
            rpt_table_add(s, "Linear trends (forecast: one period past the end)", cols, 6);
        rpt_table_t *cap = rpt_table_add(s, "Rising percentages", ccols, 3);
        rpt_chart_t *ch = NULL;
        for (size_t i = 0; i < N_TREND; i++) {
            size_t f = trend_figures[i];
            double slope, first;
            int64_t t0, t1;
            if (!trend_fit(c, pts[f], n[f], &slope, &first, &t0, &t1))
                continue;
            trend_row(c, t, cap, &system_figures[f], slope, first, t0, t1);
            if (strcmp(system_figures[f].unit, "%") != 0)
                continue;
            if (!ch)
                ch = rpt_chart_add(s, "Percentages and their trend lines (%)", "%");
            omega_sample_t line[2] = {{t0, first}, {t1, first + slope * (double)(t1 - t0)}};
            char name[96];
            snprintf(name, sizeof(name), "%s (trend)", system_figures[f].name);
            rpt_series_add(ch, omega_strdup(system_figures[f].name), pts[f], n[f]);
            rpt_series_add(ch, omega_strdup(name), line, 2);
        }
        if (t->nrows == 0)
            rpt_section_note(s, "no data in this range: a trend needs points over at least a "
                                "tenth of the period");
    }
    free_figures(pts);
    return rc;
}
