/* SPDX-License-Identifier: Apache-2.0 */
/* API keys: POST /api/v1/apikeys (the key is in this answer only), GET /api/v1/apikeys
 * (prefixes, never keys), DELETE /api/v1/apikeys/<id> (admin). Audited. */
#include "server_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *key_json(const omega_apikey_info_t *k)
{
    char created[40], used[40];
    omega_time_format_rfc3339(k->created_at_ms, created, sizeof(created));
    omega_time_format_rfc3339(k->last_used_ms, used, sizeof(used));
    json_t *scopes = json_array();
    if (k->scopes & OMEGA_SCOPE_INGEST)
        json_array_append_new(scopes, json_string("ingest"));
    if (k->scopes & OMEGA_SCOPE_READ)
        json_array_append_new(scopes, json_string("read"));
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o}", "id", k->id, "name", k->name, "prefix",
                     k->prefix, "scopes", scopes, "created_by", k->created_by, "created_at",
                     created, "last_used_at", k->last_used_ms ? json_string(used) : json_null());
}

static http_response_t *json_response(int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(status, "application/json", text, strlen(text));
}

/* Body {"name","scopes":[...]} into name and scope bits, or an error response. */
static http_response_t *read_body(json_t *body, const char **name, unsigned *scopes)
{
    const char *key;
    json_t *val;
    if (!json_is_object(body))
        return http_response_error(400, "bad_data", "request body must be a JSON object");
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "name") && strcmp(key, "scopes"))
            return http_response_error(400, "bad_data", "unknown field '%.64s'", key);
    }
    *name = json_string_value(json_object_get(body, "name"));
    json_t *sc = json_object_get(body, "scopes");
    if (!*name)
        return http_response_error(400, "bad_data",
                                   "field 'name' is required and must be a string");
    if (!json_is_array(sc) || json_array_size(sc) == 0)
        return http_response_error(400, "bad_data",
                                   "field 'scopes' is required: a non-empty array of \"ingest\", "
                                   "\"read\"");
    size_t i;
    json_t *s;
    json_array_foreach(sc, i, s)
    {
        unsigned bit = 0;
        if (omega_scope_parse(json_string_value(s), &bit) != 0)
            return http_response_error(422, "bad_data",
                                       "field 'scopes': each entry must be \"ingest\" or \"read\"");
        *scopes |= bit;
    }
    return NULL;
}

static http_response_t *h_create(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    json_error_t je;
    json_t *body =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!body)
        return http_response_bad_json(&je);
    const char *name = NULL;
    unsigned scopes = 0;
    http_response_t *resp = read_body(body, &name, &scopes);
    if (resp) {
        json_decref(body);
        return resp;
    }
    char key[OMEGA_APIKEY_MAX];
    omega_apikey_info_t info;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_apikey_create(app->auth, name, scopes, who->username, key, &info, &err);
    json_decref(body);
    if (rc == OMEGA_EINVAL)
        return http_response_error(422, "bad_data", "%s", err.message);
    if (rc != 0)
        return http_response_error(500, "internal", "cannot create the key: %s", err.message);
    api_audit(app, req, who, "apikey.create", info.id, "success", info.name);
    json_t *o = key_json(&info);
    json_object_set_new(o, "key", json_string(key));
    explicit_bzero(key, sizeof(key));
    json_object_del(o, "last_used_at");
    resp = json_response(201, o);
    http_response_add_header(resp, "cache-control", "no-store");
    return resp;
}

static http_response_t *h_list(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    omega_apikey_info_t *keys = NULL;
    size_t n = 0;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_apikey_list(app->auth, &keys, &n, &err) != 0)
        return http_response_error(500, "internal", "cannot list keys: %s", err.message);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, key_json(&keys[i]));
    free(keys);
    return json_response(200, json_pack("{s:o}", "items", items));
}

static http_response_t *h_delete(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_apikey_delete(app->auth, req->params[0], &err);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "no such API key");
    if (rc != 0)
        return http_response_error(500, "internal", "cannot revoke the key: %s", err.message);
    api_audit(app, req, who, "apikey.delete", req->params[0], "success", "");
    return http_response_take(204, "application/json", NULL, 0);
}

static const route_t routes[] = {
    {"POST", "/api/v1/apikeys", PERM_ADMIN, h_create},
    {"GET", "/api/v1/apikeys", PERM_ADMIN, h_list},
    {"DELETE", "/api/v1/apikeys/*", PERM_ADMIN, h_delete},
};

const route_table_t api_keys_routes = {routes, sizeof(routes) / sizeof(routes[0])};
