/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log over HTTP: api_audit() records an event for a request (handlers call it),
 * GET /api/v1/audit?since=&until=&event=&limit= reads it (superusers). Storage, the hash
 * chain and retention are auth/'s (omega_auth_audit*). */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DEFAULT_LIMIT 1000
#define AUDIT_MAX_LIMIT     10000

void api_audit(app_t *app, const http_request_t *req, const omega_principal_t *who,
               const char *action, const char *target, const char *outcome, const char *detail)
{
    omega_audit_event_t ev = {
        .actor = who ? who->username : "",
        .role = !who              ? ""
                : who->is_api_key ? "apikey"
                                  : omega_role_name(who->role),
        .address = req->peer,
        .action = action,
        .target = target,
        .outcome = outcome,
        .detail = detail,
    };
    omega_error_t err;
    omega_error_clear(&err);
    /* A failed audit write is logged by auth/; the request itself still answers. */
    omega_auth_audit(app->auth, &ev, &err);
}

static int append_entry(void *ctx, const char *json, size_t len)
{
    omega_buf_t *b = ctx;
    if (b->len > 10)
        omega_buf_puts(b, ",");
    omega_buf_append(b, json, len);
    return 0;
}

/* Time argument `name` into *out (unchanged when absent); 0 or -1 when unparseable. */
static int time_arg(const http_request_t *req, const char *name, int64_t *out)
{
    const char *v = http_request_arg(req, name);
    return !v || !*v || omega_time_parse(v, out) == 0 ? 0 : -1;
}

static http_response_t *h_audit(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    int64_t since = 0, until = omega_now_ms();
    if (time_arg(req, "since", &since) || time_arg(req, "until", &until))
        return http_response_error(400, "bad_data",
                                   "parameters 'since' and 'until' take RFC 3339 or Unix seconds");
    const char *event = http_request_arg(req, "event");
    const char *lim = http_request_arg(req, "limit");
    long limit = AUDIT_DEFAULT_LIMIT;
    if (lim && *lim) {
        char *end = NULL;
        limit = strtol(lim, &end, 10);
        if (*end || limit < 1 || limit > AUDIT_MAX_LIMIT)
            return http_response_error(400, "bad_data", "parameter 'limit' must be 1..%d",
                                       AUDIT_MAX_LIMIT);
    }
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "{\"items\":[");
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_audit_query(app->auth, since, until, event, (size_t)limit, append_entry, &b,
                                    &err);
    if (rc != 0) {
        omega_buf_deinit(&b);
        return http_response_error(500, "internal", "cannot read the audit log: %s", err.message);
    }
    omega_buf_puts(&b, "]}");
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

static const route_t routes[] = {
    {"GET", "/api/v1/audit", PERM_SUPERUSER, h_audit},
};

const route_table_t api_audit_routes = {routes, sizeof(routes) / sizeof(routes[0])};
