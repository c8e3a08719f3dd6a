/* SPDX-License-Identifier: Apache-2.0 */
/* Saved dashboards: GET /api/v1/dashboards (summaries), GET|PUT|DELETE /api/v1/dashboards/<id>.
 * Layouts are validated JSON documents kept in the meta KV under "dashboard/<id>"; the server
 * adds id, version, created_at, updated_at and updated_by. Rendering is the browser's job. */
#include "server_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_PREFIX        "dashboard/"
#define DASH_MAX_BYTES     (256 * 1024) /* a stored layout, as sent */
#define DASH_ID_MAX        64
#define DASH_TITLE_MAX     200
#define DASH_MAX_PANELS    100
#define DASH_MAX_VARIABLES 20
#define DASH_QUERY_MAX     4096
#define DASH_TEXT_MAX      1024 /* titles, units, variable values */

/* Serialises read-modify-write of one layout (version check, created_at carry-over). */
static pthread_mutex_t dash_lock = PTHREAD_MUTEX_INITIALIZER;

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > DASH_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int name_valid(const char *s)
{
    if (!s[0] || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    }
    return 1;
}

static int in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return 1;
    return 0;
}

/* String field `key` of obj: absent is fine unless required; otherwise a string of
 * 1..max bytes (0..max when allow_empty). Writes a message naming path on failure. */
static int check_string(json_t *obj, const char *key, const char *path, int required,
                        int allow_empty, size_t max, char *msg, size_t mlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            snprintf(msg, mlen, "field '%s%s' is required", path, key);
        return required ? -1 : 0;
    }
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v) || (!allow_empty && n == 0) || n > max) {
        snprintf(msg, mlen, "field '%s%s' must be a %sstring of at most %zu bytes", path, key,
                 allow_empty ? "" : "non-empty ", max);
        return -1;
    }
    return 0;
}

static int check_int(json_t *obj, const char *key, const char *path, json_int_t lo, json_int_t hi,
                     char *msg, size_t mlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(msg, mlen, "field '%s%s' must be an integer from %lld to %lld", path, key,
                 (long long)lo, (long long)hi);
        return -1;
    }
    return 0;
}

static int check_panel(json_t *p, size_t i, char *msg, size_t mlen)
{
    static const char *const known[] = {"id", "title", "query", "type", "unit", "w", "h", NULL};
    static const char *const types[] = {"line", "area", "bar", "stat", "table", NULL};
    char path[48];
    snprintf(path, sizeof(path), "panels[%zu].", i);
    if (!json_is_object(p)) {
        snprintf(msg, mlen, "field 'panels[%zu]' must be an object", i);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v)
    {
        if (!in_list(key, known)) {
            snprintf(msg, mlen, "unknown field '%s%s'", path, key);
            return -1;
        }
    }
    if (check_string(p, "query", path, 1, 0, DASH_QUERY_MAX, msg, mlen) ||
        check_string(p, "type", path, 1, 0, 16, msg, mlen) ||
        check_string(p, "id", path, 0, 0, DASH_ID_MAX, msg, mlen) ||
        check_string(p, "title", path, 0, 1, DASH_TEXT_MAX, msg, mlen) ||
        check_string(p, "unit", path, 0, 1, 32, msg, mlen) ||
        check_int(p, "w", path, 1, 12, msg, mlen) || check_int(p, "h", path, 1, 8, msg, mlen))
        return -1;
    if (!in_list(json_string_value(json_object_get(p, "type")), types)) {
        snprintf(msg, mlen, "field '%stype' must be one of line, area, bar, stat, table", path);
        return -1;
    }
    return 0;
}

static int check_variable(json_t *v, size_t i, char *msg, size_t mlen)
{
    static const char *const known[] = {"name", "label", "values", "value", NULL};
    char path[48];
    snprintf(path, sizeof(path), "variables[%zu].", i);
    if (!json_is_object(v)) {
        snprintf(msg, mlen, "field 'variables[%zu]' must be an object", i);
        return -1;
    }
    const char *key;
    json_t *f;
    json_object_foreach(v, key, f)
    {
        if (!in_list(key, known)) {
            snprintf(msg, mlen, "unknown field '%s%s'", path, key);
            return -1;
        }
    }
    if (check_string(v, "name", path, 1, 0, 64, msg, mlen) ||
        check_string(v, "label", path, 0, 1, DASH_TEXT_MAX, msg, mlen) ||
        check_string(v, "values", path, 0, 1, DASH_QUERY_MAX, msg, mlen) ||
        check_string(v, "value", path, 0, 1, DASH_TEXT_MAX, msg, mlen))
        return -1;
    if (!name_valid(json_string_value(json_object_get(v, "name")))) {
        snprintf(msg, mlen, "field '%sname' must match [A-Za-z_][A-Za-z0-9_]*", path);
        return -1;
    }
    return 0;
}

/* Validate a layout: title, panels[], optional variables[], time, refresh. The fields the
 * server maintains may be present (exports re-imported) and are replaced. */
static int check_layout(json_t *doc, const char *id, char *msg, size_t mlen)
{
    static const char *const known[] = {"id",         "title",      "panels",  "variables",
                                        "time",       "refresh",    "version", "created_at",
                                        "updated_at", "updated_by", NULL};
    if (!json_is_object(doc)) {
        snprintf(msg, mlen, "request body must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (!in_list(key, known)) {
            snprintf(msg, mlen, "unknown field '%s'", key);
            return -1;
        }
    }
    json_t *jid = json_object_get(doc, "id");
    if (jid && (!json_is_string(jid) || strcmp(json_string_value(jid), id) != 0)) {
        snprintf(msg, mlen, "field 'id' must equal the id in the URL ('%s')", id);
        return -1;
    }
    if (check_string(doc, "title", "", 1, 0, DASH_TITLE_MAX, msg, mlen) ||
        check_string(doc, "time", "", 0, 0, 32, msg, mlen) ||
        check_string(doc, "refresh", "", 0, 1, 32, msg, mlen) ||
        check_int(doc, "version", "", 0, INT32_MAX, msg, mlen))
        return -1;
    json_t *panels = json_object_get(doc, "panels");
    if (!json_is_array(panels) || json_array_size(panels) > DASH_MAX_PANELS) {
        snprintf(msg, mlen, "field 'panels' is required and must be an array of at most %d panels",
                 DASH_MAX_PANELS);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(panels); i++)
        if (check_panel(json_array_get(panels, i), i, msg, mlen))
            return -1;
    json_t *vars = json_object_get(doc, "variables");
    if (vars && (!json_is_array(vars) || json_array_size(vars) > DASH_MAX_VARIABLES)) {
        snprintf(msg, mlen, "field 'variables' must be an array of at most %d variables",
                 DASH_MAX_VARIABLES);
        return -1;
    }
    for (size_t i = 0; vars && i < json_array_size(vars); i++)
        if (check_variable(json_array_get(vars, i), i, msg, mlen))
            return -1;
    return 0;
}

/* Key "dashboard/<id>" into buf (id already validated, so it fits). */
static size_t dash_key(const char *id, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, DASH_PREFIX "%s", id);
}

static http_response_t *json_reply(int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text)
        return http_response_error(500, "internal", "cannot encode the dashboard");
    return http_response_take(status, "application/json", text, strlen(text));
}

static http_response_t *bad_id(const char *id)
{
    return http_response_error(400, "bad_data",
                               "invalid dashboard id '%.64s': use 1 to %d of A-Z a-z 0-9 _ -", id,
                               DASH_ID_MAX);
}

/* Load the stored layout of id: 0 and *out, OMEGA_ENOENT, or another error (err filled). */
static int dash_load(app_t *app, const char *id, json_t **out, omega_error_t *err)
{
    char key[96];
    size_t klen = dash_key(id, key, sizeof(key));
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(app->db, OMEGA_KV_META, key, klen, &val, &vlen, err);
    if (rc != 0)
        return rc;
    json_error_t je;
    *out = json_loadb(val, vlen, 0, &je);
    free(val);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        omega_error_set(err, OMEGA_ECORRUPT, "stored dashboard '%s' is not valid JSON", id);
        return OMEGA_ECORRUPT;
    }
    return 0;
}

static http_response_t *storage_error(const char *what, const char *id, const omega_error_t *err)
{
    return http_response_error(500, "internal", "cannot %s dashboard '%s': %s", what, id,
                               err->message[0] ? err->message : "storage error");
}

typedef struct list_ctx {
    json_t *items; /* summaries collected so far */
    int corrupt;   /* layouts that failed to parse (skipped, logged once) */
} list_ctx_t;

static int list_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_ctx_t *lc = ctx;
    json_t *doc = json_loadb(val, vlen, 0, NULL);
    if (!json_is_object(doc)) {
        lc->corrupt++;
        json_decref(doc);
        return 0;
    }
    json_t *item = json_object();
    static const char *const fields[] = {"id",         "title",      "version",
                                         "updated_at", "updated_by", NULL};
    for (size_t i = 0; fields[i]; i++) {
        json_t *f = json_object_get(doc, fields[i]);
        if (f)
            json_object_set(item, fields[i], f);
    }
    json_t *panels = json_object_get(doc, "panels");
    json_object_set_new(item, "panels", json_integer((json_int_t)json_array_size(panels)));
    json_array_append_new(lc->items, item);
    json_decref(doc);
    (void)key;
    (void)klen;
    return 0;
}

static http_response_t *h_list(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    list_ctx_t lc = {json_array(), 0};
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_kv_scan(app->db, OMEGA_KV_META, DASH_PREFIX, strlen(DASH_PREFIX), list_one, &lc,
                           &err);
    if (rc != 0) {
        json_decref(lc.items);
        return storage_error("list", "*", &err);
    }
    if (lc.corrupt)
        omega_log(OMEGA_LOG_WARN, "dashboards: %d stored layout(s) are not valid JSON; skipped",
                  lc.corrupt);
    json_t *doc = json_object();
    json_object_set_new(doc, "items", lc.items);
    return json_reply(200, doc);
}

static http_response_t *h_get(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    const char *id = req->params[0];
    if (!id_valid(id))
        return bad_id(id);
    json_t *doc = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = dash_load(app, id, &doc, &err);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "no dashboard with id '%s'", id);
    if (rc != 0)
        return storage_error("read", id, &err);
    return json_reply(200, doc);
}

/* Store doc (validated) as id, carrying created_at over and bumping version under
 * dash_lock. *created is 1 when id was new. */
static http_response_t *dash_store(app_t *app, const char *id, json_t *doc,
                                   const omega_principal_t *who, int *created)
{
    omega_error_t err;
    omega_error_clear(&err);
    json_t *old = NULL;
    int rc = dash_load(app, id, &old, &err);
    if (rc != 0 && rc != OMEGA_ENOENT)
        return storage_error("read", id, &err);
    *created = rc == OMEGA_ENOENT;
    json_int_t cur = old ? json_integer_value(json_object_get(old, "version")) : 0;
    json_t *want = json_object_get(doc, "version");
    if (want && json_integer_value(want) != cur) {
        json_decref(old);
        return http_response_error(409, "conflict",
                                   "dashboard '%s' is at version %lld, the update was based on "
                                   "version %lld; reload it and apply the change again",
                                   id, (long long)cur, (long long)json_integer_value(want));
    }
    char now[40];
    omega_time_format_rfc3339(omega_now_ms(), now, sizeof(now));
    json_t *created_at = old ? json_object_get(old, "created_at") : NULL;
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "version", json_integer(cur + 1));
    json_object_set_new(doc, "created_at",
                        json_is_string(created_at) ? json_copy(created_at) : json_string(now));
    json_object_set_new(doc, "updated_at", json_string(now));
    json_object_set_new(doc, "updated_by", json_string(who->username));
    json_decref(old);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char key[96];
    size_t klen = dash_key(id, key, sizeof(key));
    rc = text ? omega_kv_put(app->db, OMEGA_KV_META, key, klen, text, strlen(text), &err)
              : OMEGA_ENOMEM;
    free(text);
    if (rc == OMEGA_ENOSPC)
        return http_response_error(507, "storage_full", "cannot save dashboard '%s': %s", id,
                                   err.message);
    if (rc != 0)
        return storage_error("save", id, &err);
    return NULL;
}

static http_response_t *h_put(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    const char *id = req->params[0];
    if (!id_valid(id))
        return bad_id(id);
    if (req->body_len > DASH_MAX_BYTES)
        return http_response_error(413, "too_large",
                                   "dashboard layout is %zu bytes; the limit is %d bytes",
                                   req->body_len, DASH_MAX_BYTES);
    json_error_t je;
    json_t *doc =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return http_response_bad_json(&je);
    char msg[256];
    if (check_layout(doc, id, msg, sizeof(msg)) != 0) {
        json_decref(doc);
        return http_response_error(400, "bad_data", "%s", msg);
    }
    int created = 0;
    pthread_mutex_lock(&dash_lock);
    http_response_t *fail = dash_store(app, id, doc, who, &created);
    pthread_mutex_unlock(&dash_lock);
    if (fail) {
        json_decref(doc);
        return fail;
    }
    return json_reply(created ? 201 : 200, doc);
}

static http_response_t *h_delete(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    const char *id = req->params[0];
    if (!id_valid(id))
        return bad_id(id);
    char key[96];
    size_t klen = dash_key(id, key, sizeof(key));
    omega_error_t err;
    omega_error_clear(&err);
    pthread_mutex_lock(&dash_lock);
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(app->db, OMEGA_KV_META, key, klen, &val, &vlen, &err);
    free(val);
    if (rc == 0)
        rc = omega_kv_delete(app->db, OMEGA_KV_META, key, klen, &err);
    pthread_mutex_unlock(&dash_lock);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "no dashboard with id '%s'", id);
    if (rc != 0)
        return storage_error("delete", id, &err);
    return http_response_take(204, "application/json", NULL, 0);
}

static const route_t routes[] = {
    {"GET", "/api/v1/dashboards", PERM_READ, h_list},
    {"GET", "/api/v1/dashboards/*", PERM_READ, h_get},
    {"PUT", "/api/v1/dashboards/*", PERM_DASHBOARD, h_put},
    {"DELETE", "/api/v1/dashboards/*", PERM_DASHBOARD, h_delete},
};

const route_table_t api_dashboards_routes = {routes, sizeof(routes) / sizeof(routes[0])};
