/* SPDX-License-Identifier: Apache-2.0 */
/* Session endpoints: login (rate limited per user and per address: 429 with Retry-After),
 * refresh and logout (the old token is revoked at once), and changing one's own password.
 * Each outcome is audited. */
#include "server_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"token","expires_at","role"} */
static http_response_t *token_response(const omega_token_t *tok)
{
    char exp[40];
    omega_time_format_rfc3339(tok->expires_at_ms, exp, sizeof(exp));
    json_t *o = json_pack("{s:s, s:s, s:s}", "token", tok->token, "expires_at", exp, "role",
                          omega_role_name(tok->role));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(200, "application/json", text, strlen(text));
}

/* The body's username and password (borrowed from body), or an error response. */
static http_response_t *login_fields(json_t *body, const char **user, const char **pass)
{
    const char *key;
    json_t *val;
    if (!json_is_object(body))
        return http_response_error(400, "bad_data", "request body must be a JSON object");
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "username") && strcmp(key, "password"))
            return http_response_error(400, "bad_data", "unknown field '%.64s'", key);
    }
    *user = json_string_value(json_object_get(body, "username"));
    *pass = json_string_value(json_object_get(body, "password"));
    if (!*user || !*pass)
        return http_response_error(400, "bad_data", "field '%s' is required and must be a string",
                                   !*user ? "username" : "password");
    return NULL;
}

static http_response_t *h_login(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    const char *user = NULL, *pass = NULL;
    http_response_t *resp = login_fields(body, &user, &pass);
    if (resp)
        goto out;
    omega_token_t tok;
    omega_error_t err;
    omega_error_clear(&err);
    int64_t retry = 0;
    int rc = omega_auth_login_limited(app->auth, user, pass, req->peer, &tok, &retry, &err);
    /* The attempted name is audited only when it could be a user name: junk stays out. */
    const char *target = omega_auth_username_valid(user) ? user : "(invalid name)";
    omega_principal_t as = {0};
    snprintf(as.username, sizeof(as.username), "%s", target);
    as.role = rc == 0 ? tok.role : OMEGA_ROLE_VIEWER;
    if (rc == OMEGA_EAGAIN) { /* audited by auth/, once per lock-out */
        resp = http_response_error(429, "rate_limited",
                                   "too many failed logins; try again in %lld s", (long long)retry);
        char secs[24];
        snprintf(secs, sizeof(secs), "%lld", (long long)retry);
        http_response_add_header(resp, "retry-after", secs);
    } else if (rc == OMEGA_EACCES) {
        api_audit(app, req, NULL, "auth.login", target, "failure", "invalid credentials");
        resp = http_response_error(401, "unauthorized", "invalid username or password");
    } else if (rc != 0) {
        resp = http_response_error(500, "internal", "login failed: %s", err.message);
    } else {
        api_audit(app, req, &as, "auth.login", target, "success", "");
        resp = token_response(&tok);
    }
out:
    json_decref(body);
    return resp;
}

static http_response_t *h_refresh(app_t *app, const http_request_t *req,
                                  const omega_principal_t *who)
{
    if (who->is_api_key)
        return http_response_error(400, "bad_data",
                                   "API keys do not expire and cannot be refreshed");
    omega_token_t tok;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_refresh(app->auth, who, &tok, &err);
    if (rc == OMEGA_EACCES) {
        api_audit(app, req, who, "auth.refresh", who->username, "failure", err.message);
        return http_response_error(401, "unauthorized", "session is no longer valid");
    }
    if (rc != 0)
        return http_response_error(500, "internal", "refresh failed: %s", err.message);
    api_audit(app, req, who, "auth.refresh", who->username, "success", "");
    return token_response(&tok);
}

static http_response_t *h_logout(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    if (who->is_api_key)
        return http_response_error(400, "bad_data",
                                   "API keys are revoked with DELETE /api/v1/apikeys/<id>");
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_revoke(app->auth, who->jti, who->expires_at_ms, &err) != 0)
        return http_response_error(500, "internal", "logout failed: %s", err.message);
    api_audit(app, req, who, "auth.logout", who->username, "success", "");
    return http_response_take(204, "application/json", NULL, 0);
}

/* POST /api/v1/auth/password {"current_password","new_password"}: a user changes their
 * own password. The current one is checked through the login rate limits; every older
 * token (this one included) stops working, so the answer is a fresh token. */
static http_response_t *h_password(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    if (who->is_api_key)
        return http_response_error(400, "bad_data", "API keys have no password");
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    http_response_t *resp = NULL;
    const char *key, *cur = json_string_value(json_object_get(body, "current_password"));
    const char *new_pw = json_string_value(json_object_get(body, "new_password"));
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (!resp && strcmp(key, "current_password") && strcmp(key, "new_password"))
            resp = http_response_error(400, "bad_data", "unknown field '%.64s'", key);
    }
    if (!resp && (!cur || !new_pw))
        resp = http_response_error(400, "bad_data", "field '%s' is required and must be a string",
                                   !cur ? "current_password" : "new_password");
    if (resp)
        goto out;
    omega_token_t tok;
    omega_error_t err;
    omega_error_clear(&err);
    int64_t retry = 0;
    int rc = omega_auth_login_limited(app->auth, who->username, cur, req->peer, &tok, &retry, &err);
    if (rc == 0)
        rc = omega_auth_user_set_password(app->auth, who->username, new_pw, &err);
    if (rc == 0)
        rc = omega_auth_login(app->auth, who->username, new_pw, &tok, &err);
    api_audit(app, req, who, "user.password", who->username, rc == 0 ? "success" : "failure",
              rc == 0              ? ""
              : rc == OMEGA_EACCES ? "wrong current password"
                                   : err.message);
    if (rc == OMEGA_EAGAIN) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%lld", (long long)retry);
        resp = http_response_error(429, "rate_limited",
                                   "too many failed attempts; try again in "
                                   "%lld s",
                                   (long long)retry);
        http_response_add_header(resp, "retry-after", secs);
    } else if (rc == OMEGA_EACCES) {
        resp = http_response_error(403, "forbidden", "the current password is wrong");
    } else if (rc == OMEGA_EINVAL) {
        resp = http_response_error(422, "bad_data", "new_password: %s", err.message);
    } else if (rc != 0) {
        resp = http_response_error(500, "internal", "cannot change the password: %s", err.message);
    } else {
        resp = token_response(&tok);
    }
out:
    json_decref(body);
    return resp;
}

static const route_t routes[] = {
    {"POST", "/api/v1/auth/login", PERM_PUBLIC, h_login},
    {"POST", "/api/v1/auth/refresh", PERM_AUTHENTICATED, h_refresh},
    {"POST", "/api/v1/auth/logout", PERM_AUTHENTICATED, h_logout},
    {"POST", "/api/v1/auth/password", PERM_AUTHENTICATED, h_password},
};

const route_table_t api_auth_routes = {routes, sizeof(routes) / sizeof(routes[0])};
