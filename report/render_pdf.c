/* SPDX-License-Identifier: Apache-2.0 */
/* The PDF renderer (cairo, A4 portrait): title and period, then per section its note,
 * tables (at most PDF_MAX_ROWS rows each, cells clipped to their column) and line charts,
 * breaking pages as the cursor reaches the bottom margin. cairo is used only here. */
#include "report_int.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PAGE_W       595.0
#define PAGE_H       842.0
#define MARGIN       40.0
#define CONTENT_W    (PAGE_W - 2 * MARGIN)
#define ROW_H        12.0
#define CHART_H      170.0
#define PDF_MAX_ROWS 40
#define FONT         "DejaVu Sans"

static const double palette[RPT_MAX_SERIES][3] = {
    {0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17}, {1.0, 0.5, 0.05},
    {0.58, 0.4, 0.74},  {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.5, 0.5, 0.5}};

typedef struct pdf {
    cairo_t *cr;
    double y; /* cursor: top of the next line */
} pdf_t;

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len)
{
    omega_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

static void font(pdf_t *p, double size, int bold, int italic)
{
    cairo_select_font_face(p->cr, FONT, italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(p->cr, size);
}

/* Leave room for h points, starting a new page when they do not fit. */
static void need(pdf_t *p, double h)
{
    if (p->y + h > PAGE_H - MARGIN) {
        cairo_show_page(p->cr);
        p->y = MARGIN;
    }
}

static void text_at(pdf_t *p, double x, double y, const char *s)
{
    cairo_move_to(p->cr, x, y);
    cairo_show_text(p->cr, s);
}

/* A paragraph wrapped at spaces to the content width. */
static void para(pdf_t *p, const char *s, double size)
{
    char line[512];
    size_t n = 0;
    const char *w = s;
    while (*w) {
        size_t wl = strcspn(w, " ");
        char tryl[512];
        snprintf(tryl, sizeof(tryl), "%.*s%s%.*s", (int)n, line, n ? " " : "", (int)wl, w);
        cairo_text_extents_t ext;
        cairo_text_extents(p->cr, tryl, &ext);
        if (n && ext.x_advance > CONTENT_W) {
            need(p, size + 3);
            p->y += size + 3;
            text_at(p, MARGIN, p->y, line);
            n = 0;
            continue;
        }
        n = (size_t)snprintf(line, sizeof(line), "%s", tryl);
        w += wl;
        while (*w == ' ')
            w++;
    }
    if (n) {
        need(p, size + 3);
        p->y += size + 3;
        text_at(p, MARGIN, p->y, line);
    }
    p->y += 4;
}

static void cell_text(pdf_t *p, double x, double w, const char *s)
{
    cairo_save(p->cr);
    cairo_rectangle(p->cr, x, p->y - ROW_H, w - 3, ROW_H + 2);
    cairo_clip(p->cr);
    text_at(p, x + 2, p->y - 3, s);
    cairo_restore(p->cr);
}

/* Column widths from the widest text of each column (header in bold), scaled to fill the
 * content width: narrow columns keep their size when the table is too wide only in
 * proportion, so long texts (messages, labels) are the ones clipped. */
static void col_widths(pdf_t *p, const rpt_table_t *t, size_t rows, double *w)
{
    char num[64];
    double sum = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        cairo_text_extents_t ext;
        font(p, 7.5, 1, 0);
        cairo_text_extents(p->cr, t->cols[i], &ext);
        w[i] = ext.x_advance;
        font(p, 7.5, 0, 0);
        for (size_t r = 0; r < rows; r++) {
            cairo_text_extents(
                p->cr, rpt_cell_display(&t->cells[r * t->ncols + i], num, sizeof(num)), &ext);
            w[i] = ext.x_advance > w[i] ? ext.x_advance : w[i];
        }
        w[i] += 8;
        sum += w[i];
    }
    if (sum < CONTENT_W) {
        for (size_t i = 0; i < t->ncols; i++)
            w[i] += (CONTENT_W - sum) / (double)t->ncols;
        return;
    }
    /* too wide: columns up to the fair share keep their width, wider ones share the rest */
    double fair = CONTENT_W / (double)t->ncols, narrow = 0, wide = 0;
    for (size_t i = 0; i < t->ncols; i++)
        *(w[i] <= fair ? &narrow : &wide) += w[i];
    for (size_t i = 0; i < t->ncols; i++)
        if (w[i] > fair)
            w[i] *= (CONTENT_W - narrow) / wide;
}

static void table_pdf(pdf_t *p, const rpt_table_t *t)
{
    char num[64];
    double cw[RPT_MAX_COLS];
    size_t rows = t->nrows < PDF_MAX_ROWS ? t->nrows : PDF_MAX_ROWS;
    col_widths(p, t, rows, cw);
    need(p, 3 * ROW_H);
    font(p, 9, 1, 0);
    p->y += ROW_H + 4;
    text_at(p, MARGIN, p->y, t->title);
    for (size_t r = 0; r <= rows; r++) {
        need(p, ROW_H);
        p->y += ROW_H;
        if (r == 0) {
            cairo_set_source_rgb(p->cr, 0.9, 0.9, 0.9);
            cairo_rectangle(p->cr, MARGIN, p->y - ROW_H + 2, CONTENT_W, ROW_H);
            cairo_fill(p->cr);
            cairo_set_source_rgb(p->cr, 0, 0, 0);
        }
        font(p, 7.5, r == 0, 0);
        double x = MARGIN;
        for (size_t i = 0; i < t->ncols; i++) {
            const char *s =
                r == 0 ? t->cols[i]
                       : rpt_cell_display(&t->cells[(r - 1) * t->ncols + i], num, sizeof(num));
            cell_text(p, x, cw[i], s);
            x += cw[i];
        }
    }
    if (t->total_rows > rows) {
        char note[96];
        snprintf(note, sizeof(note), "%zu of %zu rows shown.", rows, t->total_rows);
        font(p, 7.5, 0, 1);
        need(p, ROW_H);
        p->y += ROW_H;
        text_at(p, MARGIN, p->y, note);
    }
    p->y += 4;
}

static int chart_range(const rpt_chart_t *ch, int64_t *t0, int64_t *t1, double *lo, double *hi)
{
    int any = 0;
    for (size_t i = 0; i < ch->n; i++)
        for (size_t k = 0; k < ch->series[i].n; k++) {
            const omega_sample_t *s = &ch->series[i].pts[k];
            if (!isfinite(s->value))
                continue;
            *t0 = !any || s->ts_ms < *t0 ? s->ts_ms : *t0;
            *t1 = !any || s->ts_ms > *t1 ? s->ts_ms : *t1;
            *lo = !any || s->value < *lo ? s->value : *lo;
            *hi = !any || s->value > *hi ? s->value : *hi;
            any = 1;
        }
    if (any && *hi == *lo)
        *hi += 1;
    if (any && *t1 == *t0)
        *t1 = *t0 + 1;
    return any;
}

static void chart_lines(pdf_t *p, const rpt_chart_t *ch, double x0, double y0, double w, double h,
                        int64_t t0, int64_t t1, double lo, double hi)
{
    for (size_t i = 0; i < ch->n; i++) {
        cairo_set_source_rgb(p->cr, palette[i][0], palette[i][1], palette[i][2]);
        cairo_set_line_width(p->cr, 1.0);
        int pen = 0;
        for (size_t k = 0; k < ch->series[i].n; k++) {
            const omega_sample_t *s = &ch->series[i].pts[k];
            if (!isfinite(s->value)) {
                pen = 0;
                continue;
            }
            double x = x0 + w * (double)(s->ts_ms - t0) / (double)(t1 - t0);
            double y = y0 + h - h * (s->value - lo) / (hi - lo);
            if (pen)
                cairo_line_to(p->cr, x, y);
            else
                cairo_move_to(p->cr, x, y);
            pen = 1;
        }
        cairo_stroke(p->cr);
    }
    cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void chart_pdf(pdf_t *p, const rpt_chart_t *ch)
{
    int64_t t0 = 0, t1 = 0;
    double lo = 0, hi = 0;
    if (!chart_range(ch, &t0, &t1, &lo, &hi))
        return;
    need(p, CHART_H + 40);
    font(p, 9, 1, 0);
    p->y += ROW_H + 4;
    text_at(p, MARGIN, p->y, ch->title);
    double x0 = MARGIN + 45, y0 = p->y + 6, w = CONTENT_W - 45, h = CHART_H - 30;
    cairo_set_source_rgb(p->cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(p->cr, 0.5);
    cairo_rectangle(p->cr, x0, y0, w, h);
    cairo_stroke(p->cr);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    char a[64], z[64];
    rpt_cell_t clo = {0, lo, NULL}, chi = {0, hi, NULL};
    font(p, 7, 0, 0);
    text_at(p, MARGIN, y0 + 7, rpt_cell_display(&chi, a, sizeof(a)));
    text_at(p, MARGIN, y0 + h, rpt_cell_display(&clo, z, sizeof(z)));
    text_at(p, x0, y0 + h + 10, omega_time_format_rfc3339(t0, a, sizeof(a)));
    cairo_text_extents_t ext;
    omega_time_format_rfc3339(t1, z, sizeof(z));
    cairo_text_extents(p->cr, z, &ext);
    text_at(p, x0 + w - ext.x_advance, y0 + h + 10, z);
    chart_lines(p, ch, x0, y0, w, h, t0, t1, lo, hi);
    double lx = x0, ly = y0 + h + 22;
    for (size_t i = 0; i < ch->n; i++) {
        cairo_text_extents(p->cr, ch->series[i].name, &ext);
        if (lx + ext.x_advance + 16 > MARGIN + CONTENT_W && lx > x0) {
            lx = x0;
            ly += 10;
        }
        cairo_set_source_rgb(p->cr, palette[i][0], palette[i][1], palette[i][2]);
        cairo_rectangle(p->cr, lx, ly - 6, 7, 7);
        cairo_fill(p->cr);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        text_at(p, lx + 10, ly, ch->series[i].name);
        lx += ext.x_advance + 24;
    }
    p->y = ly + 6;
}

static void sections_pdf(pdf_t *p, const rpt_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const rpt_section_t *s = &r->sections[i];
        need(p, 60);
        font(p, 13, 1, 0);
        p->y += 22;
        text_at(p, MARGIN, p->y, s->title);
        p->y += 2;
        if (s->note) {
            font(p, 8.5, 0, 1);
            para(p, s->note, 8.5);
        }
        for (size_t t = 0; t < s->ntables; t++)
            if (s->tables[t].nrows)
                table_pdf(p, &s->tables[t]);
        for (size_t c = 0; c < s->ncharts; c++)
            chart_pdf(p, &s->charts[c]);
    }
}

int rpt_render_pdf(const rpt_report_t *r, omega_buf_t *b, omega_error_t *err)
{
    cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(write_cb, b, PAGE_W, PAGE_H);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, r->title);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "omega-monitor");
    pdf_t p = {cairo_create(surf), MARGIN};
    char from[40], to[40], line[160];
    font(&p, 18, 1, 0);
    p.y += 18;
    snprintf(line, sizeof(line), "%.100s - %s report", r->title,
             omega_report_type_name(r->req.type));
    text_at(&p, MARGIN, p.y, line);
    font(&p, 9.5, 0, 0);
    snprintf(line, sizeof(line), "Period: %s to %s",
             omega_time_format_rfc3339(r->req.from_ms, from, sizeof(from)),
             omega_time_format_rfc3339(r->req.to_ms, to, sizeof(to)));
    p.y += 6;
    para(&p, line, 9.5);
    snprintf(line, sizeof(line), "Generated %s",
             omega_time_format_rfc3339(r->generated_ms, from, sizeof(from)));
    para(&p, line, 9.5);
    sections_pdf(&p, r);
    cairo_status_t st = cairo_status(p.cr);
    cairo_destroy(p.cr);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS)
        return omega_error_set(err, OMEGA_EIO, "cannot draw the PDF: %s",
                               cairo_status_to_string(st));
    return 0;
}

void omega_report_cleanup(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
