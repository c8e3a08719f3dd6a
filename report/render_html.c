/* SPDX-License-Identifier: Apache-2.0 */
/* The HTML renderer: one self-contained page (inline CSS, charts as inline SVG, no
 * scripts, no external resources) in which every text is HTML-escaped. */
#include "report_int.h"

#include <math.h>
#include <string.h>

#define W  760.0 /* chart size in px */
#define H  240.0
#define ML 70.0 /* margins: left (value labels), right, top, bottom (time labels) */
#define MR 10.0
#define MT 10.0
#define MB 30.0

static const char *const colors[RPT_MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                   "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void esc(omega_buf_t *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        switch (*p) {
        case '&':
            omega_buf_puts(b, "&amp;");
            break;
        case '<':
            omega_buf_puts(b, "&lt;");
            break;
        case '>':
            omega_buf_puts(b, "&gt;");
            break;
        case '"':
            omega_buf_puts(b, "&quot;");
            break;
        case '\'':
            omega_buf_puts(b, "&#39;");
            break;
        default:
            omega_buf_append(b, p, 1);
        }
    }
}

static void table_html(omega_buf_t *b, const rpt_table_t *t)
{
    char num[64];
    omega_buf_puts(b, "<table>\n<caption>");
    esc(b, t->title);
    omega_buf_puts(b, "</caption>\n<tr>");
    for (size_t i = 0; i < t->ncols; i++) {
        omega_buf_puts(b, "<th>");
        esc(b, t->cols[i]);
        omega_buf_puts(b, "</th>");
    }
    omega_buf_puts(b, "</tr>\n");
    for (size_t r = 0; r < t->nrows; r++) {
        omega_buf_puts(b, "<tr>");
        for (size_t i = 0; i < t->ncols; i++) {
            const rpt_cell_t *cell = &t->cells[r * t->ncols + i];
            omega_buf_puts(b, cell->is_text ? "<td>" : "<td class=\"n\">");
            esc(b, rpt_cell_display(cell, num, sizeof(num)));
            omega_buf_puts(b, "</td>");
        }
        omega_buf_puts(b, "</tr>\n");
    }
    omega_buf_puts(b, "</table>\n");
    if (t->total_rows > t->nrows)
        omega_buf_printf(b, "<p class=\"note\">%zu of %zu rows shown.</p>\n", t->nrows,
                         t->total_rows);
}

/* The value range of a chart's finite points; 0 when it has none. */
static int chart_range(const rpt_chart_t *ch, int64_t *t0, int64_t *t1, double *lo, double *hi)
{
    int any = 0;
    for (size_t i = 0; i < ch->n; i++)
        for (size_t p = 0; p < ch->series[i].n; p++) {
            const omega_sample_t *s = &ch->series[i].pts[p];
            if (!isfinite(s->value))
                continue;
            if (!any || s->ts_ms < *t0)
                *t0 = s->ts_ms;
            if (!any || s->ts_ms > *t1)
                *t1 = s->ts_ms;
            if (!any || s->value < *lo)
                *lo = s->value;
            if (!any || s->value > *hi)
                *hi = s->value;
            any = 1;
        }
    if (any && *hi == *lo) {
        *hi += 1;
        *lo -= *lo >= 1 ? 1 : *lo;
    }
    if (any && *t1 == *t0)
        *t1 = *t0 + 1;
    return any;
}

static void chart_svg(omega_buf_t *b, const rpt_chart_t *ch)
{
    int64_t t0 = 0, t1 = 0;
    double lo = 0, hi = 0;
    if (!chart_range(ch, &t0, &t1, &lo, &hi))
        return;
    char a[40], z[40], vlo[64], vhi[64];
    rpt_cell_t clo = {0, lo, NULL}, chi = {0, hi, NULL};
    omega_buf_puts(b, "<figure>\n<figcaption>");
    esc(b, ch->title);
    omega_buf_printf(b,
                     "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                     "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
                     W, H, W, H);
    omega_buf_printf(b,
                     "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                     "fill=\"none\" stroke=\"#999\"/>\n",
                     ML, MT, W - ML - MR, H - MT - MB);
    omega_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", ML - 4, MT + 10);
    esc(b, rpt_cell_display(&chi, vhi, sizeof(vhi)));
    omega_buf_printf(b, "</text>\n<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", ML - 4,
                     H - MB);
    esc(b, rpt_cell_display(&clo, vlo, sizeof(vlo)));
    omega_buf_printf(b, "</text>\n<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", ML, H - 10,
                     omega_time_format_rfc3339(t0, a, sizeof(a)));
    omega_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", W - MR,
                     H - 10, omega_time_format_rfc3339(t1, z, sizeof(z)));
    double sx = (W - ML - MR) / (double)(t1 - t0), sy = (H - MT - MB) / (hi - lo);
    for (size_t i = 0; i < ch->n; i++) {
        omega_buf_printf(b, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" points=\"",
                         colors[i]);
        for (size_t p = 0; p < ch->series[i].n; p++) {
            const omega_sample_t *s = &ch->series[i].pts[p];
            if (isfinite(s->value))
                omega_buf_printf(b, "%.1f,%.1f ", ML + (double)(s->ts_ms - t0) * sx,
                                 H - MB - (s->value - lo) * sy);
        }
        omega_buf_puts(b, "\"/>\n");
    }
    omega_buf_puts(b, "</svg>\n<ul class=\"legend\">");
    for (size_t i = 0; i < ch->n; i++) {
        omega_buf_printf(b, "<li><span style=\"color:%s\">&#9632;</span> ", colors[i]);
        esc(b, ch->series[i].name);
        omega_buf_puts(b, "</li>");
    }
    omega_buf_puts(b, "</ul>\n</figure>\n");
}

static const char style[] =
    ":root{color-scheme:light}"
    "body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;color:#222;background:#fff}"
    "table{border-collapse:collapse;margin:1em 0}caption{text-align:left;font-weight:bold}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}td.n{text-align:right}"
    ".note{color:#666;font-style:italic}.legend{list-style:none;padding:0}"
    ".legend li{display:inline;margin-right:1.5em}svg text{font-size:11px;fill:#444}";

int rpt_render_html(const rpt_report_t *r, omega_buf_t *b)
{
    char from[40], to[40], gen[40];
    omega_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'; img-src data:\">\n<title>");
    esc(b, r->title);
    omega_buf_printf(b, " %s report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>",
                     omega_report_type_name(r->req.type), style);
    esc(b, r->title);
    omega_buf_printf(b, " &#8212; %s report</h1>\n<p>Period: %s to %s. Generated %s.</p>\n",
                     omega_report_type_name(r->req.type),
                     omega_time_format_rfc3339(r->req.from_ms, from, sizeof(from)),
                     omega_time_format_rfc3339(r->req.to_ms, to, sizeof(to)),
                     omega_time_format_rfc3339(r->generated_ms, gen, sizeof(gen)));
    for (size_t i = 0; i < r->n; i++) {
        const rpt_section_t *s = &r->sections[i];
        omega_buf_printf(b, "<section id=\"%s\">\n<h2>", s->id);
        esc(b, s->title);
        omega_buf_puts(b, "</h2>\n");
        if (s->note) {
            omega_buf_puts(b, "<p class=\"note\">");
            esc(b, s->note);
            omega_buf_puts(b, "</p>\n");
        }
        for (size_t t = 0; t < s->ntables; t++)
            if (s->tables[t].nrows)
                table_html(b, &s->tables[t]);
        for (size_t c = 0; c < s->ncharts; c++)
            chart_svg(b, &s->charts[c]);
        omega_buf_puts(b, "</section>\n");
    }
    omega_buf_puts(b, "</body>\n</html>\n");
    return 0;
}
