/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON and CSV renderers. JSON is the model itself (docs/reports.md "JSON"); CSV is
 * RFC 4180 (CRLF, quoted where needed) with one block per table and per chart, blocks
 * separated by an empty line, and text cells defused against spreadsheet formulas. */
#include "report_int.h"

#include <string.h>

static void json_s(omega_buf_t *b, const char *s)
{
    s = s ? s : "";
    omega_buf_json_str(b, s, strlen(s));
}

static void json_time(omega_buf_t *b, int64_t ms)
{
    char t[40];
    json_s(b, omega_time_format_rfc3339(ms, t, sizeof(t)));
}

static void json_table(omega_buf_t *b, const rpt_table_t *t)
{
    omega_buf_puts(b, "{\"title\":");
    json_s(b, t->title);
    omega_buf_puts(b, ",\"columns\":[");
    for (size_t i = 0; i < t->ncols; i++) {
        omega_buf_puts(b, i ? "," : "");
        json_s(b, t->cols[i]);
    }
    omega_buf_puts(b, "],\"rows\":[");
    for (size_t r = 0; r < t->nrows; r++) {
        omega_buf_puts(b, r ? ",[" : "[");
        for (size_t i = 0; i < t->ncols; i++) {
            const rpt_cell_t *cell = &t->cells[r * t->ncols + i];
            omega_buf_puts(b, i ? "," : "");
            if (cell->is_text)
                json_s(b, cell->text);
            else
                omega_buf_json_num(b, cell->num);
        }
        omega_buf_puts(b, "]");
    }
    omega_buf_printf(b, "],\"total_rows\":%zu,\"truncated\":%s}", t->total_rows,
                     t->total_rows > t->nrows ? "true" : "false");
}

static void json_chart(omega_buf_t *b, const rpt_chart_t *ch)
{
    omega_buf_puts(b, "{\"title\":");
    json_s(b, ch->title);
    omega_buf_puts(b, ",\"unit\":");
    json_s(b, ch->unit);
    omega_buf_puts(b, ",\"series\":[");
    for (size_t i = 0; i < ch->n; i++) {
        omega_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        json_s(b, ch->series[i].name);
        omega_buf_puts(b, ",\"points\":[");
        for (size_t p = 0; p < ch->series[i].n; p++) {
            omega_buf_puts(b, p ? ",[" : "[");
            json_time(b, ch->series[i].pts[p].ts_ms);
            omega_buf_puts(b, ",");
            omega_buf_json_num(b, ch->series[i].pts[p].value);
            omega_buf_puts(b, "]");
        }
        omega_buf_puts(b, "]}");
    }
    omega_buf_puts(b, "]}");
}

int rpt_render_json(const rpt_report_t *r, omega_buf_t *b)
{
    omega_buf_puts(b, "{\"title\":");
    json_s(b, r->title);
    omega_buf_puts(b, ",\"type\":");
    json_s(b, omega_report_type_name(r->req.type));
    omega_buf_puts(b, ",\"from\":");
    json_time(b, r->req.from_ms);
    omega_buf_puts(b, ",\"to\":");
    json_time(b, r->req.to_ms);
    omega_buf_puts(b, ",\"generated_at\":");
    json_time(b, r->generated_ms);
    omega_buf_printf(b, ",\"step_seconds\":%lld,\"sections\":[", (long long)(r->step_ms / 1000));
    for (size_t i = 0; i < r->n; i++) {
        const rpt_section_t *s = &r->sections[i];
        omega_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        json_s(b, s->id);
        omega_buf_puts(b, ",\"title\":");
        json_s(b, s->title);
        omega_buf_puts(b, ",\"note\":");
        if (s->note)
            json_s(b, s->note);
        else
            omega_buf_puts(b, "null");
        omega_buf_puts(b, ",\"tables\":[");
        size_t k = 0;
        for (size_t t = 0; t < s->ntables; t++) {
            if (s->tables[t].nrows == 0)
                continue;
            omega_buf_puts(b, k++ ? "," : "");
            json_table(b, &s->tables[t]);
        }
        omega_buf_puts(b, "],\"charts\":[");
        k = 0;
        for (size_t c = 0; c < s->ncharts; c++) {
            if (s->charts[c].n == 0)
                continue;
            omega_buf_puts(b, k++ ? "," : "");
            json_chart(b, &s->charts[c]);
        }
        omega_buf_puts(b, "]}");
    }
    omega_buf_puts(b, "]}\n");
    return 0;
}

/* ---- CSV ---- */

/* One field: text cells starting with = + - @ (or tab/CR, which some spreadsheets strip
 * first) get a leading apostrophe so no spreadsheet runs them as a formula; fields with a
 * comma, quote, CR, LF or edge space are quoted with inner quotes doubled. */
static void csv_field(omega_buf_t *b, const char *s, int is_text)
{
    int defuse = is_text && strchr("=+-@\t\r", s[0]) && s[0] != '\0';
    int quote =
        defuse || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ');
    if (!quote) {
        omega_buf_puts(b, s);
        return;
    }
    omega_buf_puts(b, defuse ? "\"'" : "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            omega_buf_puts(b, "\"\"");
        else
            omega_buf_append(b, p, 1);
    }
    omega_buf_puts(b, "\"");
}

static void csv_table(omega_buf_t *b, const rpt_section_t *s, const rpt_table_t *t)
{
    omega_buf_puts(b, "section,table");
    for (size_t i = 0; i < t->ncols; i++) {
        omega_buf_puts(b, ",");
        csv_field(b, t->cols[i], 0);
    }
    omega_buf_puts(b, "\r\n");
    char num[64];
    for (size_t r = 0; r < t->nrows; r++) {
        csv_field(b, s->id, 0);
        omega_buf_puts(b, ",");
        csv_field(b, t->title, 0);
        for (size_t i = 0; i < t->ncols; i++) {
            const rpt_cell_t *cell = &t->cells[r * t->ncols + i];
            omega_buf_puts(b, ",");
            if (cell->is_text)
                csv_field(b, cell->text ? cell->text : "", 1);
            else
                omega_buf_puts(b, cell->num != cell->num
                                      ? ""
                                      : omega_format_double(cell->num, num, sizeof(num)));
        }
        omega_buf_puts(b, "\r\n");
    }
    omega_buf_puts(b, "\r\n");
}

static void csv_chart(omega_buf_t *b, const rpt_section_t *s, const rpt_chart_t *ch)
{
    omega_buf_puts(b, "section,chart,series,time,value\r\n");
    char num[64], t[40];
    for (size_t i = 0; i < ch->n; i++)
        for (size_t p = 0; p < ch->series[i].n; p++) {
            csv_field(b, s->id, 0);
            omega_buf_puts(b, ",");
            csv_field(b, ch->title, 0);
            omega_buf_puts(b, ",");
            csv_field(b, ch->series[i].name, 1);
            omega_buf_printf(b, ",%s,%s\r\n",
                             omega_time_format_rfc3339(ch->series[i].pts[p].ts_ms, t, sizeof(t)),
                             omega_format_double(ch->series[i].pts[p].value, num, sizeof(num)));
        }
    omega_buf_puts(b, "\r\n");
}

int rpt_render_csv(const rpt_report_t *r, omega_buf_t *b)
{
    char from[40], to[40];
    omega_buf_puts(b, "report,type,from,to\r\n");
    csv_field(b, r->title, 0);
    omega_buf_printf(b, ",%s,%s,%s\r\n\r\n", omega_report_type_name(r->req.type),
                     omega_time_format_rfc3339(r->req.from_ms, from, sizeof(from)),
                     omega_time_format_rfc3339(r->req.to_ms, to, sizeof(to)));
    for (size_t i = 0; i < r->n; i++) {
        const rpt_section_t *s = &r->sections[i];
        if (s->note) {
            omega_buf_puts(b, "section,note\r\n");
            csv_field(b, s->id, 0);
            omega_buf_puts(b, ",");
            csv_field(b, s->note, 1);
            omega_buf_puts(b, "\r\n\r\n");
        }
        for (size_t t = 0; t < s->ntables; t++)
            if (s->tables[t].nrows)
                csv_table(b, s, &s->tables[t]);
        for (size_t c = 0; c < s->ncharts; c++)
            if (s->charts[c].n)
                csv_chart(b, s, &s->charts[c]);
    }
    return 0;
}
