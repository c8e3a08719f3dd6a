/* SPDX-License-Identifier: Apache-2.0 */
/* Authentication endpoints: login (refresh, logout, users and keys join here). */
#include "server_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static http_response_t *h_login(app_t *app, const http_request_t *req,
                                const omega_principal_t *who)
{
    json_error_t je;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES,
                              &je);
    if (!body)
        return http_response_bad_json(&je);
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

static const route_t routes[] = {
    {"POST", "/api/v1/auth/login", PERM_PUBLIC, h_login},
};

const route_table_t api_auth_routes = {routes, sizeof(routes) / sizeof(routes[0])};
