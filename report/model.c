/* SPDX-License-Identifier: Apache-2.0 */
/* The report model: adding tables, rows, charts and notes within the bounds of
 * report_int.h, masking every data-derived text on the way in (so no renderer can leak
 * it), small statistics (average, p95, maximum, least-squares line) and chart steps. */
#include "report_int.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rpt_mask(const rpt_ctx_t *c, const char *text)
{
    if (!text)
        text = "";
    if (c->src->mask) {
        char *m = c->src->mask(c->src->mask_ctx, text);
        if (m)
            return m;
    }
    return omega_strdup(text);
}

rpt_table_t *rpt_table_add(rpt_section_t *s, const char *title, const char *const *cols,
                           size_t ncols)
{
    assert(s->ntables < RPT_MAX_TABLES);
    rpt_table_t *t = &s->tables[s->ntables++];
    memset(t, 0, sizeof(*t));
    t->title = omega_strdup(title);
    t->ncols = ncols < RPT_MAX_COLS ? ncols : RPT_MAX_COLS;
    for (size_t i = 0; i < t->ncols; i++)
        t->cols[i] = cols[i];
    return t;
}

rpt_cell_t *rpt_row_add(rpt_table_t *t)
{
    t->total_rows++;
    if (t->nrows >= RPT_MAX_ROWS)
        return NULL;
    t->cells = omega_realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
    rpt_cell_t *row = &t->cells[t->nrows * t->ncols];
    for (size_t i = 0; i < t->ncols; i++)
        row[i] = (rpt_cell_t){.is_text = 0, .num = NAN, .text = NULL};
    t->nrows++;
    return row;
}

void rpt_cell_num(rpt_cell_t *cell, double v)
{
    cell->is_text = 0;
    cell->num = v;
}

void rpt_cell_text(rpt_cell_t *cell, char *owned)
{
    free(cell->text);
    cell->is_text = 1;
    cell->text = owned;
}

void rpt_cell_str(rpt_cell_t *cell, const char *s)
{
    rpt_cell_text(cell, omega_strdup(s ? s : ""));
}

rpt_chart_t *rpt_chart_add(rpt_section_t *s, const char *title, const char *unit)
{
    assert(s->ncharts < RPT_MAX_CHARTS);
    rpt_chart_t *ch = &s->charts[s->ncharts++];
    memset(ch, 0, sizeof(*ch));
    ch->title = omega_strdup(title);
    ch->unit = unit;
    return ch;
}

void rpt_series_add(rpt_chart_t *ch, char *name, const omega_sample_t *pts, size_t n)
{
    if (ch->n >= RPT_MAX_SERIES || n == 0) {
        free(name);
        return;
    }
    size_t k = (n + RPT_MAX_POINTS - 1) / RPT_MAX_POINTS; /* keep every k-th point */
    rpt_series_t *s = &ch->series[ch->n++];
    s->name = name;
    s->pts = omega_malloc(((n + k - 1) / k) * sizeof(*s->pts));
    s->n = 0;
    for (size_t i = 0; i < n; i += k)
        s->pts[s->n++] = pts[i];
}

void rpt_section_note(rpt_section_t *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (s->note) {
        size_t n = strlen(s->note) + strlen(buf) + 2;
        char *j = omega_malloc(n);
        snprintf(j, n, "%s %s", s->note, buf);
        free(s->note);
        s->note = j;
    } else {
        s->note = omega_strdup(buf);
    }
}

static void section_free(rpt_section_t *s)
{
    for (size_t i = 0; i < s->ntables; i++) {
        rpt_table_t *t = &s->tables[i];
        for (size_t j = 0; j < t->nrows * t->ncols; j++)
            free(t->cells[j].text);
        free(t->cells);
        free(t->title);
    }
    for (size_t i = 0; i < s->ncharts; i++) {
        for (size_t j = 0; j < s->charts[i].n; j++) {
            free(s->charts[i].series[j].name);
            free(s->charts[i].series[j].pts);
        }
        free(s->charts[i].title);
    }
    free(s->note);
}

void rpt_report_free(rpt_report_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        section_free(&r->sections[i]);
    free(r->title);
}

char *rpt_labels_text(const rpt_ctx_t *c, const omega_label_t *l, size_t n)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(l[i].name, "__name__") == 0)
            continue;
        char *v = rpt_mask(c, l[i].value);
        omega_buf_printf(&b, "%s%s=\"%s\"", b.len ? ", " : "", l[i].name, v);
        free(v);
    }
    if (!b.data)
        return omega_strdup("");
    return omega_buf_take(&b, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

size_t rpt_stats(const omega_sample_t *pts, size_t n, double *avg, double *p95, double *max)
{
    *avg = *p95 = *max = NAN;
    double *v = omega_malloc((n ? n : 1) * sizeof(*v));
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(pts[i].value)) {
            v[m++] = pts[i].value;
            sum += pts[i].value;
        }
    if (m) {
        qsort(v, m, sizeof(*v), cmp_double);
        *avg = sum / (double)m;
        *max = v[m - 1];
        size_t rank = (size_t)ceil(0.95 * (double)m); /* nearest rank, 1-based */
        *p95 = v[rank ? rank - 1 : 0];
    }
    free(v);
    return m;
}

size_t rpt_fit(const omega_sample_t *pts, size_t n, double *slope_per_ms, double *at_t0, int64_t t0)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pts[i].value))
            continue;
        double x = (double)(pts[i].ts_ms - t0), y = pts[i].value;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        m++;
    }
    *slope_per_ms = *at_t0 = NAN;
    if (m < 2)
        return m;
    double den = (double)m * sxx - sx * sx;
    if (den == 0)
        return 1;
    *slope_per_ms = ((double)m * sxy - sx * sy) / den;
    *at_t0 = (sy - *slope_per_ms * sx) / (double)m;
    return m;
}

int64_t rpt_step_for(int64_t range_ms)
{
    static const int64_t steps_s[] = {15,   30,   60,    120,   300,   600,   900,    1800,
                                      3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800};
    for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++)
        if (range_ms / (steps_s[i] * 1000) < RPT_MAX_POINTS)
            return steps_s[i] * 1000;
    return 604800000LL;
}

const char *rpt_dur(int64_t ms, char *buf, size_t len)
{
    snprintf(buf, len, "%llds", (long long)(ms / 1000));
    return buf;
}

const char *rpt_cell_display(const rpt_cell_t *cell, char *buf, size_t len)
{
    if (cell->is_text)
        return cell->text ? cell->text : "";
    double v = cell->num;
    if (isnan(v))
        return "-";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    double a = fabs(v);
    if (v == floor(v) && a < 1e15)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, len, "%.1f", v);
    else if (a >= 1)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}
