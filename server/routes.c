/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: method, path, the one permission each route needs, and its handler.
 * Handlers translate HTTP to module calls and encode the answer; they run on worker
 * threads. Authentication happens once here, before the handler. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/log.h"
#include "omega/query.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Permissions of API.md's RBAC table. */
typedef enum perm {
    PERM_PUBLIC = 0, /* no credentials needed */
    PERM_READ,       /* read metrics, dashboards, alerts, jobs, profiles */
    PERM_INGEST,     /* write samples */
    PERM_ADMIN,      /* rules, channels, schedules, config, users, keys */
} perm_t;

typedef http_response_t *(*handler_fn)(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who);

typedef struct route {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* exact path */
    perm_t perm;        /* what the caller must be allowed */
    handler_fn fn;      /* the handler */
} route_t;

static int role_allows(omega_role_t role, perm_t perm)
{
    switch (perm) {
    case PERM_PUBLIC:
    case PERM_READ:
        return 1;
    case PERM_INGEST:
        return role == OMEGA_ROLE_DEVELOPER || role >= OMEGA_ROLE_ADMIN;
    case PERM_ADMIN:
        return role >= OMEGA_ROLE_ADMIN;
    }
    return 0;
}

/* ---- handlers ---- */

static http_response_t *h_healthz(app_t *app, const http_request_t *req,
                                  const omega_principal_t *who)
{
    return http_response_json(200, "{\"status\":\"ok\"}");
}

static http_response_t *bad_json(const json_error_t *je)
{
    return http_response_error(400, "bad_data", "request body is not valid JSON: %s at line %d, "
                               "column %d", je->text, je->line, je->column);
}

static http_response_t *h_login(app_t *app, const http_request_t *req,
                                const omega_principal_t *who)
{
    json_error_t je;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES,
                              &je);
    if (!body)
        return bad_json(&je);
    http_response_t *resp = NULL;
    const char *key;
    json_t *val;
    if (!json_is_object(body)) {
        resp = http_response_error(400, "bad_data", "request body must be a JSON object");
        goto out;
    }
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "username") && strcmp(key, "password")) {
            resp = http_response_error(400, "bad_data", "unknown field '%s'", key);
            goto out;
        }
    }
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *pass = json_string_value(json_object_get(body, "password"));
    if (!user || !pass) {
        resp = http_response_error(400, "bad_data", "field '%s' is required and must be a string",
                                   !user ? "username" : "password");
        goto out;
    }
    omega_token_t tok;
    omega_error_t err;
    int rc = omega_auth_login(app->auth, user, pass, &tok, &err);
    if (rc == OMEGA_EACCES) {
        resp = http_response_error(401, "unauthorized", "invalid username or password");
        goto out;
    }
    if (rc != 0) {
        resp = http_response_error(500, "internal", "login failed: %s", err.message);
        goto out;
    }
    char exp[40];
    omega_time_format_rfc3339(tok.expires_at_ms, exp, sizeof(exp));
    json_t *o = json_pack("{s:s, s:s, s:s}", "token", tok.token, "expires_at", exp, "role",
                          omega_role_name(tok.role));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    resp = http_response_take(200, "application/json", text, strlen(text));
out:
    json_decref(body);
    return resp;
}

static void append_vector(omega_buf_t *b, const omega_vector_t *v)
{
    omega_buf_puts(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
    for (size_t i = 0; i < v->n; i++) {
        const omega_vector_item_t *it = &v->items[i];
        omega_buf_puts(b, i ? ",{\"metric\":" : "{\"metric\":");
        encode_labels(b, it->labels, it->n_labels);
        char val[40];
        omega_format_double(it->value, val, sizeof(val));
        omega_buf_printf(b, ",\"value\":[%lld.%03lld,\"%s\"]}", (long long)(it->ts_ms / 1000),
                         (long long)(it->ts_ms % 1000), val);
    }
    omega_buf_puts(b, "]}}");
}

static http_response_t *h_query(app_t *app, const http_request_t *req,
                                const omega_principal_t *who)
{
    const char *q = http_request_arg(req, "query");
    const char *t = http_request_arg(req, "time");
    if (!q || !*q)
        return http_response_error(400, "bad_data", "parameter 'query' is required");
    int64_t at = omega_now_ms();
    if (t && *t && omega_time_parse(t, &at) != 0)
        return http_response_error(400, "bad_data",
                                   "invalid parameter 'time': cannot parse \"%s\" as RFC 3339 "
                                   "or Unix seconds", t);
    omega_vector_t *v = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_instant(app->db, q, at, &v, &err);
    if (rc == OMEGA_EINVAL)
        return http_response_error(400, "bad_data", "invalid parameter 'query': %s", err.message);
    if (rc != 0)
        return http_response_error(500, "execution", "%s", err.message);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    append_vector(&b, v);
    omega_vector_destroy(v);
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

static http_response_t *h_live_plain(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    return http_response_error(400, "bad_data",
                               "this endpoint speaks WebSocket (subprotocol omega-live.v1)");
}

static const route_t routes[] = {
    {"GET", "/healthz", PERM_PUBLIC, h_healthz},
    {"POST", "/api/v1/auth/login", PERM_PUBLIC, h_login},
    {"GET", "/api/v1/query", PERM_READ, h_query},
    {"GET", "/api/v1/live", PERM_PUBLIC, h_live_plain},
};

/* ---- dispatch ---- */

static http_response_t *unauthorized(const char *why)
{
    http_response_t *r = http_response_error(401, "unauthorized", "%s", why);
    http_response_add_header(r, "www-authenticate", "Bearer");
    return r;
}

static http_response_t *authenticate(app_t *app, const http_request_t *req,
                                     omega_principal_t *who)
{
    const char *h = req->authorization;
    if (!h)
        return unauthorized("authentication required: send 'Authorization: Bearer <token>'");
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return unauthorized("unsupported authorization scheme; use 'Bearer <token>'");
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_verify(app->auth, h + 7, who, &err) != 0)
        return unauthorized(err.message[0] ? err.message : "invalid token");
    return NULL;
}

static http_response_t *method_not_allowed(const char *path)
{
    char allow[64] = "";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, path) == 0) {
            if (allow[0])
                strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
            strncat(allow, routes[i].method, sizeof(allow) - strlen(allow) - 1);
        }
    }
    if (!allow[0])
        return NULL;
    http_response_t *r = http_response_error(405, "method_not_allowed",
                                             "method not allowed on %s; allowed: %s", path, allow);
    http_response_add_header(r, "allow", allow);
    return r;
}

http_response_t *router_handle(app_t *app, const http_request_t *req)
{
    const route_t *route = NULL;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(routes[i].path, req->path) == 0 && strcmp(routes[i].method, req->method) == 0) {
            route = &routes[i];
            break;
        }
    }
    if (!route) {
        http_response_t *r = method_not_allowed(req->path);
        return r ? r : http_response_error(404, "not_found", "no such endpoint: %s %s",
                                           req->method, req->path);
    }
    if (req->body_len && !omega_utf8_valid(req->body, req->body_len))
        return http_response_error(400, "bad_data", "request body is not valid UTF-8");
    omega_principal_t who;
    memset(&who, 0, sizeof(who));
    if (route->perm != PERM_PUBLIC) {
        http_response_t *denied = authenticate(app, req, &who);
        if (denied)
            return denied;
        if (!role_allows(who.role, route->perm))
            return http_response_error(403, "forbidden", "role '%s' may not %s %s",
                                       omega_role_name(who.role), req->method, req->path);
    }
    return route->fn(app, req, &who);
}
