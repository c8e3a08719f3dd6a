/* SPDX-License-Identifier: Apache-2.0 */
/* Request dispatch: finds the route (method, path, the one permission it needs, handler)
 * in the per-area tables, authenticates and authorises once, then calls the handler.
 * Handlers translate HTTP to module calls; they run on worker threads. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

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

static http_response_t *h_live_plain(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    return http_response_error(400, "bad_data",
                               "this endpoint speaks WebSocket (subprotocol omega-live.v1)");
}

static const route_t base_routes[] = {
    {"GET", "/healthz", PERM_PUBLIC, h_healthz},
    {"GET", "/api/v1/live", PERM_PUBLIC, h_live_plain},
};

static const route_table_t api_base_routes = {base_routes,
                                              sizeof(base_routes) / sizeof(base_routes[0])};

/* Every route of the server, one table per API area. */
static const route_table_t *const tables[] = {
    &api_base_routes,
    &api_auth_routes,
    &api_query_routes,
};

#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

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
            if (strcmp(rt->method, req->method) == 0 && path_match(rt->path, req->path, pp, pl, &np)) {
                route = rt;
                break;
            }
        }
    }
    for (size_t i = 0; route && i < np; i++)
        req->params[req->n_params++] = omega_strndup(pp[i], pl[i]);
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
