/* SPDX-License-Identifier: Apache-2.0 */
/* Request dispatch: finds the route (method, path, the one permission it needs, handler)
 * in the per-area tables, authenticates and authorises once, then calls the handler.
 * Handlers translate HTTP to module calls; they run on worker threads. */
#include "server_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- handlers ---- */

static http_response_t *h_healthz(app_t *app, const http_request_t *req,
                                  const omega_principal_t *who)
{
    return http_response_json(200, "{\"status\":\"ok\"}");
}

static http_response_t *h_live_plain(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    return http_response_error(400, "bad_data",
                               "this endpoint speaks WebSocket (subprotocol omega-live.v1)");
}

static http_response_t *h_routes(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who);

static const route_t base_routes[] = {
    {"GET", "/healthz", PERM_PUBLIC, h_healthz},
    {"GET", "/api/v1/live", PERM_PUBLIC, h_live_plain},
    {"GET", "/api/v1/admin/routes", PERM_ADMIN, h_routes},
};

static const route_table_t api_base_routes = {base_routes,
                                              sizeof(base_routes) / sizeof(base_routes[0])};

/* Every route of the server, one table per API area. */
static const route_table_t *const tables[] = {
    &api_base_routes,       &api_auth_routes,    &api_users_routes,  &api_keys_routes,
    &api_audit_routes,      &api_query_routes,   &api_ingest_routes, &api_dashboards_routes,
    &api_alerts_routes,     &api_system_routes,  &api_config_routes, &api_security_routes,
    &api_operations_routes, &api_reports_routes,
};

#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* GET /api/v1/admin/routes: every route with the permission it needs, in dispatch order
 * (the admin panel shows it; the RBAC test walks it). The WebSocket's message types are
 * listed too, with path "/api/v1/live#<type>". */
static http_response_t *h_routes(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    json_t *items = json_array();
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; i < tables[t]->n; i++) {
            const route_t *rt = &tables[t]->routes[i];
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s}", "method", rt->method, "path",
                                            rt->path, "permission", omega_perm_name(rt->perm)));
        }
    for (size_t i = 0; i < live_n_message_perms; i++)
        json_array_append_new(items,
                              json_pack("{s:s, s:s+, s:s}", "method", "WS", "path", "/api/v1/live#",
                                        live_message_perms[i].type, "permission",
                                        omega_perm_name(live_message_perms[i].perm)));
    json_t *root = json_pack("{s:o}", "items", items);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return http_response_take(200, "application/json", text, strlen(text));
}

/* ---- dispatch ---- */

/* Match path against a route pattern whose "*" segments match one non-empty segment each;
 * captured segments go to params (borrowed from path, lengths in plen). */
static int path_match(const char *pattern, const char *path, const char **params, size_t *plen,
                      size_t *nparams)
{
    size_t n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '*' && (pattern[1] == '/' || pattern[1] == '\0')) {
            size_t len = strcspn(path, "/");
            if (len == 0 || n >= HTTP_MAX_PARAMS)
                return 0;
            params[n] = path;
            plen[n++] = len;
            path += len;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    *nparams = n;
    return *pattern == '\0' && *path == '\0';
}

static http_response_t *unauthorized(const char *why)
{
    http_response_t *r = http_response_error(401, "unauthorized", "%s", why);
    http_response_add_header(r, "www-authenticate", "Bearer");
    return r;
}

/* The credential of a request: "Authorization: Bearer <jwt|key>", "X-API-Key: <key>",
 * and for the clients that cannot send those, "Authorization: Token <key>" (InfluxDB 2,
 * Telegraf), "Authorization: Basic base64(user:<key>)" (Grafana's data sources, InfluxDB 1)
 * and the query argument p=<key> (InfluxDB 1's u/p). The user name is ignored: the
 * credential names its principal. NULL with *why set when none or unusable. */
static const char *credential_of(const http_request_t *req, char *buf, size_t cap,
                                 const char **why)
{
    const char *h = req->authorization;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    if (h && strncasecmp(h, "Token ", 6) == 0)
        return h + 6;
    if (h && strncasecmp(h, "Basic ", 6) == 0) {
        const char *colon;
        size_t n = omega_base64_decode(h + 6, strlen(h + 6), buf, cap);
        if (n == SIZE_MAX || memchr(buf, '\0', n) || !(colon = strchr(buf, ':')))
            return *why = "malformed Basic credentials", NULL;
        return colon + 1;
    }
    if (h)
        return *why = "unsupported authorization scheme; use 'Bearer <token>'", NULL;
    if (req->api_key)
        return req->api_key;
    const char *p = http_request_arg(req, "p");
    if (p && *p)
        return p;
    return *why = "authentication required: send 'Authorization: Bearer <token>'", NULL;
}

static http_response_t *authenticate(app_t *app, const http_request_t *req, omega_principal_t *who)
{
    char buf[1024];
    const char *why = NULL;
    const char *cred = credential_of(req, buf, sizeof(buf), &why);
    if (!cred)
        return unauthorized(why);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_verify_credential(app->auth, cred, who, &err);
    if (rc == OMEGA_EACCES)
        return unauthorized(err.message[0] ? err.message : "invalid credentials");
    if (rc != 0)
        return http_response_error(500, "internal", "cannot check credentials: %s", err.message);
    return NULL;
}

static http_response_t *method_not_allowed(const char *path)
{
    char allow[64] = "";
    for (size_t t = 0; t < N_TABLES; t++) {
        for (size_t i = 0; i < tables[t]->n; i++) {
            const route_t *rt = &tables[t]->routes[i];
            const char *pp[HTTP_MAX_PARAMS];
            size_t pl[HTTP_MAX_PARAMS], np;
            if (!path_match(rt->path, path, pp, pl, &np))
                continue;
            if (allow[0])
                strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
            strncat(allow, rt->method, sizeof(allow) - strlen(allow) - 1);
        }
    }
    if (!allow[0])
        return NULL;
    http_response_t *r = http_response_error(405, "method_not_allowed",
                                             "method not allowed on %s; allowed: %s", path, allow);
    http_response_add_header(r, "allow", allow);
    return r;
}

http_response_t *router_handle(app_t *app, http_request_t *req)
{
    const route_t *route = NULL;
    const char *pp[HTTP_MAX_PARAMS];
    size_t pl[HTTP_MAX_PARAMS], np = 0;
    for (size_t t = 0; t < N_TABLES && !route; t++) {
        for (size_t i = 0; i < tables[t]->n; i++) {
            const route_t *rt = &tables[t]->routes[i];
            if (strcmp(rt->method, req->method) == 0 &&
                path_match(rt->path, req->path, pp, pl, &np)) {
                route = rt;
                break;
            }
        }
    }
    for (size_t i = 0; route && i < np; i++)
        req->params[req->n_params++] = omega_strndup(pp[i], pl[i]);
    if (!route) {
        http_response_t *r = method_not_allowed(req->path);
        return r ? r
                 : http_response_error(404, "not_found", "no such endpoint: %s %s", req->method,
                                       req->path);
    }
    /* Encoded (gzip) bodies are binary: their handlers check the decoded text. */
    if (req->body_len && !req->content_encoding && !omega_utf8_valid(req->body, req->body_len))
        return http_response_error(400, "bad_data", "request body is not valid UTF-8");
    omega_principal_t who;
    memset(&who, 0, sizeof(who));
    if (route->perm != PERM_PUBLIC) {
        http_response_t *denied = authenticate(app, req, &who);
        if (denied)
            return denied;
        if (!omega_auth_allows(app->auth, &who, route->perm)) {
            if (route->perm == PERM_EXPORT) /* exports are audited, refused attempts too */
                api_audit(app, req, &who, "request.export", req->path, "denied",
                          omega_perm_name(route->perm));
            if (who.is_api_key)
                return http_response_error(403, "forbidden",
                                           "API key lacks the '%s' permission for %s %s",
                                           omega_perm_name(route->perm), req->method, req->path);
            return http_response_error(403, "forbidden", "role '%s' may not %s %s",
                                       omega_role_name(who.role), req->method, req->path);
        }
    }
    return route->fn(app, req, &who);
}
