/* SPDX-License-Identifier: Apache-2.0 */
/* Security administration (superuser): POST /api/v1/security/rotate-key (new data key,
 * background re-encryption of secrets and sealed series), GET /api/v1/security/keys (the
 * key hierarchy's state and both re-encryption passes' progress) and
 * POST /api/v1/admin/erase (right to erasure of the series a selector matches), and (admin)
 * GET|POST /api/v1/admin/consent (consent to per-user process data). The work is auth's
 * and storage's; this file translates HTTP and records who asked in the audit
 * log. */
#include "server_int.h"

#include "omega/query.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static http_response_t *json_response(int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(status, "application/json", text, strlen(text));
}

static json_t *time_or_null(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(omega_time_format_rfc3339(ms, buf, sizeof(buf))) : json_null();
}

/* The re-seal pass over sealed series data (storage): state "idle", "running" or
 * "stalled" (values it could not open), with its progress. */
static json_t *series_json(const omega_tsdb_reseal_status_t *rs)
{
    const char *state = rs->pending ? "running" : rs->error[0] ? "stalled" : "idle";
    return json_pack(
        "{s:s, s:i, s:i, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "state", state, "target_version",
        (int)rs->target_version, "done_version", (int)rs->done_version, "progress", rs->progress,
        "examined", (json_int_t)rs->examined, "resealed", (json_int_t)rs->resealed, "unreadable",
        (json_int_t)rs->unreadable, "resealed_total", (json_int_t)rs->resealed_total, "started_at",
        time_or_null(rs->started_ms), "finished_at", time_or_null(rs->finished_ms), "error",
        rs->error[0] ? json_string(rs->error) : json_null());
}

static json_t *status_json(app_t *app)
{
    omega_key_status_t st;
    omega_auth_key_status(app->auth, &st);
    omega_tsdb_reseal_status_t rs;
    omega_tsdb_reseal_status(app->db, &rs);
    char interval[32];
    return json_pack("{s:b, s:s, s:i, s:o, s:i, s:I, s:o, s:o, s:b, s:I, s:o}", "enabled",
                     st.enabled, "algorithm", "AES-256-GCM", "current_version",
                     (int)st.current_version, "current_created_at",
                     time_or_null(st.current_created_ms), "versions_held", (int)st.versions_held,
                     "versions_pinned", (json_int_t)st.versions_pinned, "rotation_interval",
                     st.rotation_interval_ms > 0
                         ? json_string(omega_duration_format(st.rotation_interval_ms, interval,
                                                             sizeof(interval)))
                         : json_null(),
                     "next_rotation_at", time_or_null(st.next_rotation_ms), "reencrypting",
                     st.reencrypting || rs.pending, "resealed_total", (json_int_t)st.resealed_total,
                     "series_reencryption", series_json(&rs));
}

static http_response_t *h_rotate(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    if (req->body_len > 0) {
        json_error_t je;
        json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!body)
            return http_response_bad_json(&je);
        int empty = json_is_object(body) && json_object_size(body) == 0;
        json_decref(body);
        if (!empty)
            return http_response_error(400, "bad_data", "this endpoint takes no fields");
    }
    uint32_t version = 0;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_key_rotate(app->auth, &version, &err);
    char target[32];
    snprintf(target, sizeof(target), "data key v%u", version);
    if (rc == OMEGA_EINVAL) {
        api_audit(app, req, who, "security.rotate_key", "data key", "failure", err.message);
        return http_response_error(409, "conflict", "%s", err.message);
    }
    if (rc != 0) {
        api_audit(app, req, who, "security.rotate_key", "data key", "failure", err.message);
        return http_response_error(rc == OMEGA_E2BIG ? 409 : 500,
                                   rc == OMEGA_E2BIG ? "conflict" : "internal",
                                   "cannot rotate the data key: %s", err.message);
    }
    api_audit(app, req, who, "security.rotate_key", target, "success", "on demand");
    return json_response(202, status_json(app));
}

static http_response_t *h_keys(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    (void)req, (void)who;
    return json_response(200, status_json(app));
}

/* Body {"match":"<series selector>"} into *sel, or an error response. */
static http_response_t *erase_body(const http_request_t *req, omega_selector_t **sel, char *text,
                                   size_t len)
{
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    const char *key;
    json_t *val;
    http_response_t *resp = NULL;
    if (!json_is_object(body))
        resp = http_response_error(400, "bad_data", "request body must be a JSON object");
    json_object_foreach(body, key, val)
    {
        if (!resp && strcmp(key, "match") != 0)
            resp = http_response_error(400, "bad_data", "unknown field '%.64s'", key);
    }
    const char *match = json_string_value(json_object_get(body, "match"));
    if (!resp && (!match || !*match))
        resp = http_response_error(400, "bad_data",
                                   "field 'match' is required: a series selector such as "
                                   "{user=\"alice\"}");
    omega_error_t err;
    omega_error_clear(&err);
    if (!resp && omega_selector_parse(match, sel, &err) != 0)
        resp = http_response_error(400, "bad_data", "field 'match': %s", err.message);
    if (!resp)
        snprintf(text, len, "%s", match);
    json_decref(body);
    return resp;
}

static http_response_t *h_erase(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    omega_selector_t *sel = NULL;
    char match[512];
    http_response_t *resp = erase_body(req, &sel, match, sizeof(match));
    if (resp)
        return resp;
    size_t n = 0;
    const omega_matcher_t *m = omega_selector_matchers(sel, &n);
    omega_tsdb_erase_stats_t st;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_tsdb_erase(app->db, m, n, &st, &err);
    omega_selector_destroy(sel);
    char detail[200];
    if (rc != 0) {
        api_audit(app, req, who, "data.delete", match, "failure", err.message);
        if (rc == OMEGA_EINVAL)
            return http_response_error(400, "bad_data", "field 'match': %s", err.message);
        if (rc == OMEGA_EAGAIN)
            return http_response_error(409, "conflict", "%s", err.message);
        return http_response_error(500, "internal", "erasure failed: %s", err.message);
    }
    snprintf(detail, sizeof(detail), "right to erasure: %llu series, %llu chunks",
             (unsigned long long)st.series, (unsigned long long)st.raw_chunks);
    api_audit(app, req, who, "data.delete", match, "success", detail);
    return json_response(
        200,
        json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "series", (json_int_t)st.series,
                  "raw_chunks", (json_int_t)st.raw_chunks, "rollup_buckets", "h1",
                  (json_int_t)st.rollup_buckets[0], "d1", (json_int_t)st.rollup_buckets[1], "w1",
                  (json_int_t)st.rollup_buckets[2], "mo1", (json_int_t)st.rollup_buckets[3]));
}

/* ---- consent to per-user process data ---- */

static http_response_t *consent_reply(app_t *app)
{
    omega_consent_t c;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_consent_get(app->auth, &c, &err) != 0)
        return http_response_error(500, "internal", "cannot read the consent record: %s",
                                   err.message);
    const omega_config_t *cfg = app->cfg;
    return json_response(200, json_pack("{s:b, s:b, s:o, s:o}", "required",
                                        cfg->security.privacy_settings.user_consent_required,
                                        "granted", c.granted, "recorded_by",
                                        c.by[0] ? json_string(c.by) : json_null(), "recorded_at",
                                        time_or_null(c.at_ms)));
}

static http_response_t *h_consent_get(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    (void)req, (void)who;
    return consent_reply(app);
}

static http_response_t *h_consent_set(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    json_t *g = json_object_get(body, "granted");
    int ok = json_is_object(body) && json_object_size(body) == 1 && json_is_boolean(g);
    int granted = json_is_true(g);
    json_decref(body);
    if (!ok)
        return http_response_error(400, "bad_data",
                                   "body must be {\"granted\": true} or {\"granted\": false}");
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_consent_set(app->auth, granted, who->username, &err) != 0) {
        api_audit(app, req, who, "privacy.consent", "per-user process data", "failure",
                  err.message);
        return http_response_error(500, "internal", "cannot record consent: %s", err.message);
    }
    api_audit(app, req, who, "privacy.consent", "per-user process data", "success",
              granted ? "granted" : "withdrawn");
    return consent_reply(app);
}

static const route_t routes[] = {
    {"POST", "/api/v1/security/rotate-key", PERM_SUPERUSER, h_rotate},
    {"GET", "/api/v1/security/keys", PERM_SUPERUSER, h_keys},
    {"POST", "/api/v1/admin/erase", PERM_SUPERUSER, h_erase},
    {"GET", "/api/v1/admin/consent", PERM_ADMIN, h_consent_get},
    {"POST", "/api/v1/admin/consent", PERM_ADMIN, h_consent_set},
};

const route_table_t api_security_routes = {routes, sizeof(routes) / sizeof(routes[0])};
