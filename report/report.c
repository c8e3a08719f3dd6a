/* SPDX-License-Identifier: Apache-2.0 */
/* omega_report_generate(): checks the request, builds the model section by section
 * (sections_query.c, sections_events.c) and hands it to the renderer of the format. */
#include "report_int.h"

#include <string.h>

typedef int (*section_fn)(const rpt_ctx_t *c, rpt_section_t *s);

static const struct {
    unsigned bit;
    const char *title;
    section_fn fn;
} builders[RPT_N_SECTIONS] = {
    {OMEGA_REPORT_SEC_COMPILATION, "Compilation performance", rpt_section_jobs},
    {OMEGA_REPORT_SEC_SYSTEM, "System resources", rpt_section_system},
    {OMEGA_REPORT_SEC_APPLICATION, "Application performance", rpt_section_application},
    {OMEGA_REPORT_SEC_ERRORS, "Error analysis", rpt_section_errors},
    {OMEGA_REPORT_SEC_TRENDS, "Trend analysis", rpt_section_trends},
};

int rpt_request_check(const omega_report_request_t *req, omega_error_t *err)
{
    if ((unsigned)req->type > OMEGA_REPORT_CUSTOM)
        return omega_error_set_path(err, OMEGA_EINVAL, "type", "type: unknown report type");
    if ((unsigned)req->format > OMEGA_REPORT_JSON)
        return omega_error_set_path(err, OMEGA_EINVAL, "format", "format: unknown format");
    if (req->sections == 0 || (req->sections & ~OMEGA_REPORT_SEC_ALL))
        return omega_error_set_path(err, OMEGA_EINVAL, "sections", "sections: unknown section");
    if (req->from_ms < 0 || req->from_ms >= req->to_ms)
        return omega_error_set_path(err, OMEGA_EINVAL, "to", "to: must be after from");
    if (req->to_ms - req->from_ms > OMEGA_REPORT_MAX_RANGE_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "to",
                                    "to: the period is longer than 400 days");
    return 0;
}

static int build(const omega_report_sources_t *src, rpt_report_t *r, omega_error_t *err)
{
    rpt_ctx_t c = {src, r->req.from_ms, r->req.to_ms, r->step_ms, err};
    for (size_t i = 0; i < RPT_N_SECTIONS; i++) {
        if (!(r->req.sections & builders[i].bit))
            continue;
        rpt_section_t *s = &r->sections[r->n++];
        s->bit = builders[i].bit;
        s->id = omega_report_section_name(builders[i].bit);
        s->title = builders[i].title;
        int rc = builders[i].fn(&c, s);
        if (rc != 0) {
            if (err && err->message[0]) {
                omega_error_t inner = *err;
                omega_error_set(err, rc, "%s: %s", s->id, inner.message);
            } else {
                omega_error_set(err, rc, "%s: %s", s->id, omega_strerror(rc));
            }
            return rc;
        }
    }
    return 0;
}

int omega_report_generate(const omega_report_sources_t *src, const omega_report_request_t *req,
                          char **out, size_t *out_len, omega_error_t *err)
{
    *out = NULL;
    *out_len = 0;
    if (!src || !src->db)
        return omega_error_set(err, OMEGA_EINVAL, "no store to report on");
    int rc = rpt_request_check(req, err);
    if (rc != 0)
        return rc;
    rpt_report_t r;
    memset(&r, 0, sizeof(r));
    r.title = omega_strdup(src->title ? src->title : "OMEGA monitor");
    r.req = *req;
    r.generated_ms = omega_now_ms();
    r.step_ms = rpt_step_for(req->to_ms - req->from_ms);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    rc = build(src, &r, err);
    if (rc == 0) {
        switch (req->format) {
        case OMEGA_REPORT_JSON:
            rc = rpt_render_json(&r, &b);
            break;
        case OMEGA_REPORT_CSV:
            rc = rpt_render_csv(&r, &b);
            break;
        case OMEGA_REPORT_HTML:
            rc = rpt_render_html(&r, &b);
            break;
        case OMEGA_REPORT_PDF:
            rc = rpt_render_pdf(&r, &b, err);
            break;
        }
    }
    rpt_report_free(&r);
    if (rc != 0) {
        omega_buf_deinit(&b);
        return rc;
    }
    *out = omega_buf_take(&b, out_len);
    return 0;
}
