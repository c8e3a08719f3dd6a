/* SPDX-License-Identifier: Apache-2.0 */
/* Reports API (API.md "Reports, dashboards, admin"; docs/reports.md): POST /api/v1/reports
 * answers the rendered file as an attachment (drawn on this worker thread) or, with
 * "async": true, queues it on the report service and answers its id; GET
 * /api/v1/reports/<id> fetches a stored report; /api/v1/reports/schedules manages
 * schedules (admin). Handlers only translate HTTP to omega_report_* calls and audit every
 * export, refused or not. */
#include "server_int.h"

#include "omega/report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A report request is a handful of fields; anything larger is not one. */
#define REPORT_BODY_MAX 65536

static void audit_export(app_t *app, const http_request_t *req, const omega_principal_t *who,
                         const char *target, const char *outcome, const char *detail)
{
    api_audit(app, req, who, "report.export", target, outcome, detail);
}

static http_response_t *refuse(app_t *app, const http_request_t *req, const omega_principal_t *who,
                               http_response_t *resp, const char *why)
{
    audit_export(app, req, who, "", "failure", why);
    return resp;
}

/* "type=daily format=pdf sections=system_resources,error_analysis bytes=1234" */
static void describe(const omega_report_request_t *r, size_t bytes, char *buf, size_t len)
{
    int n = snprintf(buf, len, "type=%s format=%s sections=", omega_report_type_name(r->type),
                     omega_report_format_name(r->format));
    const char *sep = "";
    for (unsigned bit = 1; bit <= OMEGA_REPORT_SEC_TRENDS && n > 0 && (size_t)n < len; bit <<= 1) {
        if (!(r->sections & bit))
            continue;
        n += snprintf(buf + n, len - (size_t)n, "%s%s", sep, omega_report_section_name(bit));
        sep = ",";
    }
    if (bytes && n > 0 && (size_t)n < len) /* 0 for a queued report: not drawn yet */
        snprintf(buf + n, len - (size_t)n, " bytes=%zu", bytes);
}

static http_response_t *generate_error(int rc, const omega_error_t *err)
{
    const char *msg = err->message[0] ? err->message : omega_strerror(rc);
    switch (rc) {
    case OMEGA_EINVAL:
        return http_response_error(400, "bad_data", "%s", msg);
    case OMEGA_E2BIG:
        return http_response_error(422, "execution", "%s", msg);
    case OMEGA_ETIMEDOUT:
        return http_response_error(503, "timeout", "%s", msg);
    default:
        return http_response_error(500, "internal", "%s", msg);
    }
}

/* {"async":true}: queue on the report service, answer 202 {"id","status"}. */
static http_response_t *submit(app_t *app, const http_request_t *req, const omega_principal_t *who,
                               const omega_report_request_t *r)
{
    char id[33], detail[256], loc[64];
    omega_error_t err;
    omega_error_clear(&err);
    int rc = app->reports ? omega_report_submit(app->reports, r, who->username, id, &err)
                          : omega_error_set(&err, OMEGA_EAGAIN, "reports are not running");
    describe(r, 0, detail, sizeof(detail));
    if (rc != 0) {
        audit_export(app, req, who, "", "failure", err.message);
        if (rc != OMEGA_EAGAIN)
            return generate_error(rc, &err);
        http_response_t *resp = http_response_error(503, "unavailable", "%s", err.message);
        http_response_add_header(resp, "retry-after", "10");
        return resp;
    }
    strncat(detail, " async", sizeof(detail) - strlen(detail) - 1);
    audit_export(app, req, who, id, "success", detail);
    char body[96];
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"status\":\"pending\"}", id);
    http_response_t *resp = http_response_json(202, body);
    snprintf(loc, sizeof(loc), "/api/v1/reports/%s", id);
    http_response_add_header(resp, "location", loc);
    return resp;
}

static http_response_t *h_create(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    if (req->body_len > REPORT_BODY_MAX)
        return refuse(app, req, who,
                      http_response_error(413, "too_large", "a report request is at most %d bytes",
                                          REPORT_BODY_MAX),
                      "body too large");
    const omega_config_t *cfg = app->cfg;
    omega_report_request_t r;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_report_request_parse(req->body, req->body_len, cfg, omega_now_ms(), &r, &err) != 0)
        return refuse(app, req, who, http_response_error(400, "bad_data", "%s", err.message),
                      err.message);
    if (r.async)
        return submit(app, req, who, &r);
    omega_report_sources_t src = {
        .db = app->db,
        .alerts = app->alerts,
        .analytics = app->analytics,
        .mask = cfg->security.privacy_settings.data_masking ? omega_pii_mask_cb : NULL,
    };
    char name[128], detail[256];
    omega_report_filename(&r, name, sizeof(name));
    char *out = NULL;
    size_t len = 0;
    int rc = omega_report_generate(&src, &r, &out, &len, &err);
    describe(&r, len, detail, sizeof(detail));
    if (rc != 0) {
        audit_export(app, req, who, name, "failure", err.message);
        return generate_error(rc, &err);
    }
    audit_export(app, req, who, name, "success", detail);
    http_response_t *resp = http_response_take(200, omega_report_content_type(r.format), out, len);
    char disp[192];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    http_response_add_header(resp, "content-disposition", disp);
    http_response_add_header(resp, "cache-control", "no-store");
    return resp;
}

/* GET /api/v1/reports/<id>: the file when done (audited as an export), else the record
 * (202 while pending or running, 200 when failed); ?meta=true always gives the record. */
static http_response_t *h_get(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    if (!app->reports)
        return http_response_error(503, "unavailable", "reports are not running");
    const char *m = http_request_arg(req, "meta");
    int meta_only = m && strcmp(m, "true") == 0;
    char *meta = NULL, *data = NULL;
    size_t len = 0;
    omega_error_t err;
    omega_error_clear(&err);
    int rc =
        omega_report_get(app->reports, req->params[0], &meta, meta_only ? NULL : &data, &len, &err);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "%s", err.message);
    if (rc != 0)
        return generate_error(rc, &err);
    json_t *o = json_loads(meta, 0, NULL);
    const char *status = json_string_value(json_object_get(o, "status"));
    if (!data) {
        int code = status && (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0)
                       ? 202
                       : 200;
        json_decref(o);
        http_response_t *resp = http_response_take(code, "application/json", meta, strlen(meta));
        if (code == 202)
            http_response_add_header(resp, "retry-after", "2");
        return resp;
    }
    const char *fmt = json_string_value(json_object_get(o, "format"));
    const char *name = json_string_value(json_object_get(o, "filename"));
    char disp[192], detail[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name ? name : "omega-report");
    snprintf(detail, sizeof(detail), "download bytes=%zu", len);
    audit_export(app, req, who, req->params[0], "success", detail);
    omega_report_format_t f = OMEGA_REPORT_JSON;
    for (int k = 0; k <= OMEGA_REPORT_JSON; k++)
        if (fmt && strcmp(fmt, omega_report_format_name((omega_report_format_t)k)) == 0)
            f = (omega_report_format_t)k;
    json_decref(o);
    free(meta);
    http_response_t *resp = http_response_take(200, omega_report_content_type(f), data, len);
    http_response_add_header(resp, "content-disposition", disp);
    http_response_add_header(resp, "cache-control", "no-store");
    return resp;
}

/* ---- schedules (admin) ---- */

static http_response_t *schedule_error(int rc, const omega_error_t *err)
{
    const char *msg = err->message[0] ? err->message : omega_strerror(rc);
    switch (rc) {
    case OMEGA_EINVAL:
        return http_response_error(400, "bad_data", "%s", msg);
    case OMEGA_ENOENT:
        return http_response_error(404, "not_found", "%s", msg);
    case OMEGA_EPERM:
        return http_response_error(409, "conflict", "%s", msg);
    case OMEGA_E2BIG:
        return http_response_error(409, "limit", "%s", msg);
    default:
        return http_response_error(500, "internal", "%s", msg);
    }
}

static http_response_t *h_sched_list(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    if (!app->reports)
        return http_response_error(503, "unavailable", "reports are not running");
    char *out = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_report_schedule_list(app->reports, &out, &err);
    if (rc != 0)
        return schedule_error(rc, &err);
    return http_response_take(200, "application/json", out, strlen(out));
}

static http_response_t *h_sched_create(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who)
{
    if (!app->reports)
        return http_response_error(503, "unavailable", "reports are not running");
    if (req->body_len > REPORT_BODY_MAX)
        return http_response_error(413, "too_large", "a schedule is at most %d bytes",
                                   REPORT_BODY_MAX);
    char *out = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_report_schedule_create(app->reports, req->body, req->body_len, &out, &err);
    if (rc != 0)
        return schedule_error(rc, &err);
    json_t *o = json_loads(out, 0, NULL);
    api_audit(app, req, who, "report.schedule.create", json_string_value(json_object_get(o, "id")),
              "success", json_string_value(json_object_get(o, "name")));
    json_decref(o);
    return http_response_take(201, "application/json", out, strlen(out));
}

static http_response_t *h_sched_delete(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who)
{
    if (!app->reports)
        return http_response_error(503, "unavailable", "reports are not running");
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_report_schedule_delete(app->reports, req->params[0], &err);
    api_audit(app, req, who, "report.schedule.delete", req->params[0],
              rc == 0 ? "success" : "failure", rc == 0 ? "" : err.message);
    if (rc != 0)
        return schedule_error(rc, &err);
    return http_response_take(204, "application/json", NULL, 0);
}

/* The schedules' paths come before the stored-report route ("*" segment), which would
 * match them too. */
static const route_t routes[] = {
    {"POST", "/api/v1/reports", PERM_EXPORT, h_create},
    {"GET", "/api/v1/reports/schedules", PERM_ADMIN, h_sched_list},
    {"POST", "/api/v1/reports/schedules", PERM_ADMIN, h_sched_create},
    {"DELETE", "/api/v1/reports/schedules/*", PERM_ADMIN, h_sched_delete},
    {"GET", "/api/v1/reports/*", PERM_EXPORT, h_get},
};

const route_table_t api_reports_routes = {routes, sizeof(routes) / sizeof(routes[0])};
