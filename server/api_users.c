/* SPDX-License-Identifier: Apache-2.0 */
/* User management: GET/POST /api/v1/users, GET/PUT/DELETE /api/v1/users/<username>
 * (admin). Admins manage every account but superusers; creating, changing or deleting a
 * superuser, or making someone one, needs a superuser. Every change is audited. */
#include "server_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *user_json(const omega_user_info_t *u)
{
    char created[40], updated[40];
    omega_time_format_rfc3339(u->created_at_ms, created, sizeof(created));
    omega_time_format_rfc3339(u->updated_at_ms, updated, sizeof(updated));
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "username", u->username, "role",
                     omega_role_name(u->role), "email", u->email, "disabled", u->disabled,
                     "created_at", created, "updated_at", updated);
}

static http_response_t *json_response(int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(status, "application/json", text, strlen(text));
}

/* Map an auth error to the API's status codes. */
static http_response_t *auth_error(int rc, const omega_error_t *err)
{
    switch (rc) {
    case OMEGA_EINVAL:
        return http_response_error(422, "bad_data", "%s", err->message);
    case OMEGA_ENOENT:
        return http_response_error(404, "not_found", "%s", err->message);
    case OMEGA_EEXIST:
    case OMEGA_EPERM:
        return http_response_error(409, "conflict", "%s", err->message);
    default:
        return http_response_error(500, "internal", "%s", err->message);
    }
}

static http_response_t *forbidden_superuser(void)
{
    return http_response_error(403, "forbidden", "only a superuser may manage superuser accounts");
}

static int is_superuser(const omega_principal_t *who)
{
    return !who->is_api_key && who->role == OMEGA_ROLE_SUPERUSER;
}

/* Parse the body as an object whose keys are all in allowed (NULL-terminated). */
static http_response_t *parse_object(const http_request_t *req, const char *const *allowed,
                                     json_t **out)
{
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    if (!json_is_object(body)) {
        json_decref(body);
        return http_response_error(400, "bad_data", "request body must be a JSON object");
    }
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        if (!ok) {
            http_response_t *r = http_response_error(400, "bad_data", "unknown field '%.64s'", key);
            json_decref(body); /* key belongs to body */
            return r;
        }
    }
    *out = body;
    return NULL;
}

/* Optional string field: NULL when absent; *bad set when present but not a string. */
static const char *opt_string(json_t *body, const char *name, const char **bad)
{
    json_t *v = json_object_get(body, name);
    if (v && !json_is_string(v))
        *bad = name;
    return json_string_value(v);
}

static http_response_t *h_list(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    omega_user_info_t *users = NULL;
    size_t n = 0;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_user_list(app->auth, &users, &n, &err);
    if (rc != 0)
        return auth_error(rc, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, user_json(&users[i]));
    free(users);
    return json_response(200, json_pack("{s:o}", "items", items));
}

static http_response_t *h_create(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    static const char *const allowed[] = {"username", "password", "role", "email", NULL};
    json_t *body = NULL;
    http_response_t *resp = parse_object(req, allowed, &body);
    if (resp)
        return resp;
    const char *bad = NULL;
    const char *name = opt_string(body, "username", &bad);
    const char *pw = opt_string(body, "password", &bad);
    const char *role_s = opt_string(body, "role", &bad);
    const char *email = opt_string(body, "email", &bad);
    omega_role_t role = omega_auth_default_role(app->auth);
    omega_error_t err;
    omega_error_clear(&err);
    if (bad || !name || !pw)
        resp = http_response_error(400, "bad_data", "field '%s' is required and must be a string",
                                   bad     ? bad
                                   : !name ? "username"
                                           : "password");
    else if (role_s && omega_role_parse(role_s, &role) != 0)
        resp = http_response_error(422, "bad_data",
                                   "field 'role' must be one of viewer, developer, analyst, "
                                   "admin, superuser");
    else if (role == OMEGA_ROLE_SUPERUSER && !is_superuser(who))
        resp = forbidden_superuser();
    if (resp)
        goto out;
    int rc = omega_auth_user_create(app->auth, name, pw, role, email, &err);
    const char *target = omega_auth_username_valid(name) ? name : "(invalid name)";
    api_audit(app, req, who, "user.create", target, rc == 0 ? "success" : "failure",
              rc == 0 ? omega_role_name(role) : err.message);
    if (rc != 0) {
        resp = auth_error(rc, &err);
        goto out;
    }
    omega_user_info_t u;
    rc = omega_auth_user_get(app->auth, name, &u, &err);
    resp = rc == 0 ? json_response(201, user_json(&u)) : auth_error(rc, &err);
out:
    json_decref(body);
    return resp;
}

/* The user named by the path, or an error response (404; 403 for a superuser target when
 * need_super_to_manage and the caller is not one). */
static http_response_t *load_target(app_t *app, const http_request_t *req,
                                    const omega_principal_t *who, int manage, omega_user_info_t *u)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_user_get(app->auth, req->params[0], u, &err);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "no such user");
    if (rc != 0)
        return auth_error(rc, &err);
    if (manage && u->role == OMEGA_ROLE_SUPERUSER && !is_superuser(who))
        return forbidden_superuser();
    return NULL;
}

static http_response_t *h_get(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    omega_user_info_t u;
    http_response_t *resp = load_target(app, req, who, 0, &u);
    return resp ? resp : json_response(200, user_json(&u));
}

/* The body of PUT into up; borrowed strings point into body. */
static http_response_t *read_update(json_t *body, omega_user_update_t *up, char *what,
                                    size_t what_len)
{
    const char *bad = NULL;
    const char *role_s = opt_string(body, "role", &bad);
    up->password = opt_string(body, "password", &bad);
    up->email = opt_string(body, "email", &bad);
    json_t *dis = json_object_get(body, "disabled");
    if (bad)
        return http_response_error(400, "bad_data", "field '%s' must be a string", bad);
    if (dis && !json_is_boolean(dis))
        return http_response_error(400, "bad_data", "field 'disabled' must be a boolean");
    if (role_s && omega_role_parse(role_s, &up->role) != 0)
        return http_response_error(422, "bad_data",
                                   "field 'role' must be one of viewer, developer, analyst, "
                                   "admin, superuser");
    up->set_role = role_s != NULL;
    up->disabled = dis ? json_is_true(dis) : -1;
    snprintf(what, what_len, "%s%s%s%s", role_s ? "role " : "", up->password ? "password " : "",
             dis ? (json_is_true(dis) ? "disabled " : "enabled ") : "", up->email ? "email" : "");
    return NULL;
}

static http_response_t *h_update(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    static const char *const allowed[] = {"role", "password", "disabled", "email", NULL};
    omega_user_info_t u;
    http_response_t *resp = load_target(app, req, who, 1, &u);
    if (resp)
        return resp;
    json_t *body = NULL;
    if ((resp = parse_object(req, allowed, &body)) != NULL)
        return resp;
    omega_user_update_t up;
    omega_user_update_init(&up);
    char what[96];
    resp = read_update(body, &up, what, sizeof(what));
    if (!resp && up.set_role && up.role == OMEGA_ROLE_SUPERUSER && !is_superuser(who))
        resp = forbidden_superuser();
    if (resp)
        goto out;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_user_update(app->auth, u.username, &up, &u, &err);
    api_audit(app, req, who, "user.update", u.username, rc == 0 ? "success" : "failure",
              rc == 0 ? what : err.message);
    resp = rc == 0 ? json_response(200, user_json(&u)) : auth_error(rc, &err);
out:
    json_decref(body);
    return resp;
}

static http_response_t *h_delete(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    omega_user_info_t u;
    http_response_t *resp = load_target(app, req, who, 1, &u);
    if (resp)
        return resp;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_user_delete(app->auth, u.username, &err);
    api_audit(app, req, who, "user.delete", u.username, rc == 0 ? "success" : "failure",
              rc == 0 ? "" : err.message);
    return rc == 0 ? http_response_take(204, "application/json", NULL, 0) : auth_error(rc, &err);
}

static const route_t routes[] = {
    {"GET", "/api/v1/users", PERM_ADMIN, h_list},
    {"POST", "/api/v1/users", PERM_ADMIN, h_create},
    {"GET", "/api/v1/users/*", PERM_ADMIN, h_get},
    {"PUT", "/api/v1/users/*", PERM_ADMIN, h_update},
    {"DELETE", "/api/v1/users/*", PERM_ADMIN, h_delete},
};

const route_table_t api_users_routes = {routes, sizeof(routes) / sizeof(routes[0])};
