/* SPDX-License-Identifier: Apache-2.0 */
/* Operations API (API.md "System, application, jobs"; docs/api.md "Operations (jobs)"):
 * start, end and list operations. Handlers translate HTTP to omega_analytics_* calls; the
 * analytics module validates, stores, counts and sends the live frames. */
#include "server_int.h"

#include "omega/analytics.h"

#include <stdlib.h>
#include <string.h>

/* The module's status as an HTTP answer (API.md's error shape). */
static http_response_t *ops_error(int rc, const omega_error_t *err)
{
    const char *msg = err->message[0] ? err->message : omega_strerror(rc);
    switch (rc) {
    case OMEGA_EINVAL:
        /* A valid JSON body with a wrong value is 422; unreadable input and a bad id 400. */
        return err->path[0] && strcmp(err->path, "id") != 0
                   ? http_response_error(422, "bad_data", "%s", msg)
                   : http_response_error(400, "bad_data", "%s", msg);
    case OMEGA_EEXIST:
    case OMEGA_ENOENT:
        return http_response_error(409, "conflict", "%s", msg);
    case OMEGA_E2BIG: {
        http_response_t *r = http_response_error(429, "limit", "%s", msg);
        http_response_add_header(r, "retry-after", "10");
        return r;
    }
    case OMEGA_ENOSPC:
        return http_response_error(507, "storage_full", "%s", msg);
    default:
        return http_response_error(500, "internal", "%s", msg);
    }
}

static http_response_t *reply(int rc, int status, char *json, const omega_error_t *err)
{
    if (rc != 0) {
        free(json);
        return ops_error(rc, err);
    }
    return http_response_take(status, "application/json", json, strlen(json));
}

static http_response_t *not_running(void)
{
    return http_response_error(503, "unavailable", "operations are not available");
}

static http_response_t *h_start(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    if (!app->analytics)
        return not_running();
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_analytics_op_start(app->analytics, req->params[0], req->body, req->body_len,
                                      omega_now_ms(), &out, &err);
    return reply(rc, 201, out, &err);
}

static http_response_t *h_end(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    if (!app->analytics)
        return not_running();
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_analytics_op_end(app->analytics, req->params[0], req->body, req->body_len,
                                    omega_now_ms(), &out, &err);
    return reply(rc, 200, out, &err);
}

/* since/until: absent means the default; a bad value is -1. */
static int time_arg(const http_request_t *req, const char *name, int64_t *out)
{
    const char *v = http_request_arg(req, name);
    return !v || !*v || omega_time_parse(v, out) == 0 ? 0 : -1;
}

static http_response_t *h_list(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    if (!app->analytics)
        return not_running();
    omega_analytics_query_t q = {.active = -1, .until_ms = omega_now_ms()};
    const char *active = http_request_arg(req, "active");
    if (active && strcmp(active, "true") == 0)
        q.active = 1;
    else if (active && strcmp(active, "false") == 0)
        q.active = 0;
    else if (active && *active)
        return http_response_error(400, "bad_data", "parameter 'active' is true or false");
    if (time_arg(req, "until", &q.until_ms) != 0)
        return http_response_error(400, "bad_data",
                                   "parameter 'until' takes an RFC 3339 time or Unix seconds");
    q.since_ms = q.until_ms - 24 * 3600 * 1000LL;
    if (time_arg(req, "since", &q.since_ms) != 0)
        return http_response_error(400, "bad_data",
                                   "parameter 'since' takes an RFC 3339 time or Unix seconds");
    const char *limit = http_request_arg(req, "limit");
    if (limit && *limit) {
        char *end = NULL;
        long long n = strtoll(limit, &end, 10);
        if (*end || n < 1 || n > 10000)
            return http_response_error(400, "bad_data", "parameter 'limit' is 1..10000");
        q.limit = (size_t)n;
    }
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_analytics_list(app->analytics, &q, &out, &err);
    if (rc == OMEGA_EINVAL)
        return http_response_error(400, "bad_data", "%s", err.message);
    return reply(rc, 200, out, &err);
}

static const route_t routes[] = {
    {"GET", "/api/v1/operations", PERM_READ, h_list},
    {"POST", "/api/v1/operations/*/start", PERM_INGEST, h_start},
    {"POST", "/api/v1/operations/*/end", PERM_INGEST, h_end},
};

const route_table_t api_operations_routes = {routes, sizeof(routes) / sizeof(routes[0])};
