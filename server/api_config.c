/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration over HTTP (admin): GET/PUT /api/v1/config, GET /api/v1/config/schema,
 * GET /api/v1/config/snapshots[/<id>]. A PUT is validated whole by config/, snapshotted and
 * persisted in the meta KV, applied live where the app can (app_config_apply()) and answered
 * with the fields that need a restart. app_config_restore() merges the persisted document at
 * start (precedence: docs/api.md "Config"). */
#include "server_int.h"

#include "omega/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURRENT_KEY     "config/current"
#define SNAPSHOT_PREFIX "config/snapshot/"
#define SNAPSHOT_KEEP   50
#define MASK            "********"

static http_response_t *json_response(int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(status, "application/json", text, strlen(text));
}

/* A config export as a jansson tree (NULL only on out-of-memory). */
static json_t *config_tree(const omega_config_t *cfg, int mask)
{
    char *text = omega_config_to_json(cfg, mask);
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    return o;
}

/* ---- diff: which dotted paths differ, and which of them apply live ---- */

static void diff_paths(json_t *a, json_t *b, const char *prefix, json_t *out)
{
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        char path[512];
        json_object_foreach(a, k, v)
        {
            snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
            json_t *w = json_object_get(b, k);
            if (!w)
                json_array_append_new(out, json_string(path));
            else
                diff_paths(v, w, path, out);
        }
        json_object_foreach(b, k, v)
        {
            if (!json_object_get(a, k)) {
                snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
                json_array_append_new(out, json_string(path));
            }
        }
        return;
    }
    if (!json_equal(a, b))
        json_array_append_new(out, json_string(prefix));
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Paths the system collectors are built from (restarted live). */
static int collector_path(const char *p)
{
    return (has_prefix(p, "system_monitor.") &&
            !has_prefix(p, "system_monitor.system_thresholds")) ||
           strcmp(p, "performance_monitor.enable_real_time_monitoring") == 0 ||
           strcmp(p, "performance_monitor.metrics_collection_interval") == 0;
}

/* ---- masked secrets: "********" in a PUT keeps the current value ---- */

/* Replace every "********" in doc whose counterpart in masked is "********" too (a secret
 * that has a value) by the value in plain. Returns the number replaced. */
static int unmask(json_t *doc, json_t *masked, json_t *plain)
{
    int n = 0;
    if (json_is_object(doc) && json_is_object(masked) && json_is_object(plain)) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v)
        {
            json_t *m = json_object_get(masked, k), *p = json_object_get(plain, k);
            if (json_is_string(v) && strcmp(json_string_value(v), MASK) == 0 && json_is_string(m) &&
                strcmp(json_string_value(m), MASK) == 0 && p) {
                json_object_set(doc, k, p);
                n++;
            } else {
                n += unmask(v, m, p);
            }
        }
    }
    return n;
}

/* ---- PUT ---- */

typedef struct problems {
    json_t *items;
} problems_t;

static void collect_problem(void *ctx, const char *source, int line, int column, const char *path,
                            const char *message)
{
    (void)source;
    problems_t *p = ctx;
    json_array_append_new(p->items, json_pack("{s:s, s:i, s:i, s:s}", "path", path, "line", line,
                                              "column", column, "message", message));
}

static http_response_t *invalid(json_t *items)
{
    size_t n = json_array_size(items);
    json_t *o = json_pack("{s:s, s:s, s:o}", "status", "error", "errorType", "invalid_config",
                          "problems", items);
    char msg[64];
    snprintf(msg, sizeof(msg), "%zu problem%s", n, n == 1 ? "" : "s");
    json_object_set_new(o, "error", json_string(msg));
    return json_response(422, o);
}

/* Validate the body (with masked secrets restored) into *out, or an error response. */
static http_response_t *validate(app_t *app, const http_request_t *req, omega_config_t **out)
{
    json_error_t je;
    json_t *doc =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return http_response_bad_json(&je);
    problems_t pr = {json_array()};
    const omega_config_t *cur = app->cfg;
    int rc =
        omega_config_load_string(req->body, req->body_len, "request", collect_problem, &pr, out);
    json_t *masked = config_tree(cur, 1), *plain = config_tree(cur, 0);
    if (rc == 0 && unmask(doc, masked, plain) > 0) {
        omega_config_destroy(*out);
        char *text = json_dumps(doc, JSON_INDENT(2));
        rc = omega_config_load_string(text, strlen(text), "request", collect_problem, &pr, out);
        free(text);
    }
    int has_dir = json_object_get(json_object_get(doc, "server"), "data_dir") != NULL;
    json_decref(doc);
    json_decref(masked);
    json_decref(plain);
    if (rc == 0 && !has_dir) { /* omitted: stays where the store is */
        free((*out)->server.data_dir);
        (*out)->server.data_dir = strdup(cur->server.data_dir);
        if (!(*out)->server.data_dir)
            abort();
    }
    if (rc == 0 && strcmp((*out)->server.data_dir, cur->server.data_dir) != 0) {
        collect_problem(&pr, "request", 0, 0, "server.data_dir",
                        "cannot be changed through the API (the stored configuration lives there)");
        omega_config_destroy(*out);
        *out = NULL;
        rc = OMEGA_EINVAL;
    }
    if (rc == 0) {
        json_decref(pr.items);
        return NULL;
    }
    if (rc == OMEGA_E2BIG) {
        json_decref(pr.items);
        return http_response_error(413, "too_large", "configuration larger than %u bytes",
                                   OMEGA_CONFIG_MAX_BYTES);
    }
    if (json_array_size(pr.items) == 0)
        collect_problem(&pr, "request", 0, 0, "(document)", "the document is not valid");
    return invalid(pr.items);
}

typedef struct snap_keys {
    json_t *keys; /* array of key strings, oldest first */
} snap_keys_t;

static int add_key(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    snap_keys_t *s = ctx;
    json_array_append_new(s->keys, json_stringn(key, klen));
    return 0;
}

/* Snapshot keys in key (= time) order; NULL on a storage error. */
static json_t *snapshot_keys(app_t *app)
{
    snap_keys_t s = {json_array()};
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_kv_scan(app->db, OMEGA_KV_META, SNAPSHOT_PREFIX, strlen(SNAPSHOT_PREFIX), add_key, &s,
                      &err) != 0) {
        json_decref(s.keys);
        return NULL;
    }
    return s.keys;
}

/* Store the snapshot of cur (key written into key, 64 bytes), then the new document.
 * Returns 0, or -1 with nothing stored. */
static int persist(app_t *app, const omega_config_t *cur, const omega_config_t *next,
                   const char *user, char *key)
{
    static int64_t last_ms;
    int64_t ms = omega_now_ms();
    if (ms <= last_ms)
        ms = last_ms + 1; /* cfg_lock held: ids stay unique and ordered */
    last_ms = ms;
    snprintf(key, 64, SNAPSHOT_PREFIX "%013lld", (long long)ms);
    char ts[40];
    omega_time_format_rfc3339(ms, ts, sizeof(ts));
    json_t *snap = json_pack("{s:s, s:s, s:o}", "created_at", ts, "user", user, "document",
                             config_tree(cur, 0));
    char *text = json_dumps(snap, JSON_COMPACT);
    json_decref(snap);
    char *doc = omega_config_to_json(next, 0);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_kv_put(app->db, OMEGA_KV_META, key, strlen(key), text, strlen(text), &err);
    if (rc == 0) {
        rc = omega_kv_put(app->db, OMEGA_KV_META, CURRENT_KEY, strlen(CURRENT_KEY), doc,
                          strlen(doc), &err);
        if (rc != 0)
            omega_kv_delete(app->db, OMEGA_KV_META, key, strlen(key), &err);
    }
    if (rc != 0)
        omega_log_error("cannot store the configuration: %s", err.message);
    free(text);
    free(doc);
    return rc == 0 ? 0 : -1;
}

/* Drop the oldest snapshots beyond SNAPSHOT_KEEP. */
static void prune_snapshots(app_t *app)
{
    json_t *keys = snapshot_keys(app);
    size_t n = json_array_size(keys);
    omega_error_t err;
    omega_error_clear(&err);
    for (size_t i = 0; n > SNAPSHOT_KEEP && i < n - SNAPSHOT_KEEP; i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        omega_kv_delete(app->db, OMEGA_KV_META, k, strlen(k), &err);
    }
    json_decref(keys);
}

/* Undo persist() after a failed apply: the previous document back, the snapshot gone. */
static void unpersist(app_t *app, const omega_config_t *cur, const char *key)
{
    char *doc = omega_config_to_json(cur, 0);
    omega_error_t err;
    omega_error_clear(&err);
    omega_kv_put(app->db, OMEGA_KV_META, CURRENT_KEY, strlen(CURRENT_KEY), doc, strlen(doc), &err);
    omega_kv_delete(app->db, OMEGA_KV_META, key, strlen(key), &err);
    free(doc);
}

/* Persist and apply next (owned) under cfg_lock; fills restart with the paths that need a
 * restart. Returns NULL or an error response. */
static http_response_t *commit(app_t *app, omega_config_t *next, const char *user, json_t *restart)
{
    const omega_config_t *cur = app->cfg;
    json_t *a = config_tree(cur, 0), *b = config_tree(next, 0), *changed = json_array();
    diff_paths(a, b, "", changed);
    json_decref(a);
    json_decref(b);
    int collectors = 0;
    size_t i;
    json_t *v;
    json_array_foreach(changed, i, v)
    {
        const char *p = json_string_value(v);
        if (collector_path(p))
            collectors = 1;
        else if (strcmp(p, "server.log_level") != 0)
            json_array_append(restart, v);
    }
    json_decref(changed);
    char key[64];
    if (persist(app, cur, next, user, key) != 0) {
        omega_config_destroy(next);
        return http_response_error(500, "internal", "cannot store the configuration");
    }
    int rc = app_config_apply(app, next, collectors);
    if (rc != 0) {
        unpersist(app, cur, key);
        if (rc == OMEGA_EAGAIN)
            return http_response_error(503, "unavailable", "the server is stopping");
        return http_response_error(500, "internal",
                                   "cannot restart the system collectors with the new settings");
    }
    prune_snapshots(app);
    return NULL;
}

static http_response_t *h_put(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    pthread_mutex_lock(&app->cfg_lock);
    omega_config_t *next = NULL;
    http_response_t *resp = validate(app, req, &next);
    json_t *restart = json_array();
    if (!resp)
        resp = commit(app, next, who->username, restart);
    if (!resp) {
        resp = json_response(200, json_pack("{s:o, s:O}", "config", config_tree(app->cfg, 1),
                                            "restart_required", restart));
        char *detail = json_dumps(restart, JSON_COMPACT);
        api_audit(app, req, who, "config.update", "config", "success", detail);
        free(detail);
        omega_log_info("configuration changed by %s", who->username);
    } else {
        char detail[32];
        snprintf(detail, sizeof(detail), "HTTP %d", resp->status);
        api_audit(app, req, who, "config.update", "config", "failure", detail);
    }
    json_decref(restart);
    pthread_mutex_unlock(&app->cfg_lock);
    return resp;
}

/* ---- GET ---- */

static http_response_t *h_get(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    (void)req;
    (void)who;
    char *text = omega_config_to_json(app->cfg, 1);
    return http_response_take(200, "application/json", text, strlen(text));
}

static http_response_t *h_schema(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    (void)app;
    (void)req;
    (void)who;
    char *text = omega_config_schema_json();
    return http_response_take(200, "application/json", text, strlen(text));
}

static int add_item(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    json_t *items = ctx;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    size_t plen = strlen(SNAPSHOT_PREFIX);
    if (o && klen > plen) {
        json_t *id = json_stringn((const char *)key + plen, klen - plen);
        json_array_insert_new(items, 0,
                              json_pack("{s:o, s:O, s:O}", "id", id, "created_at",
                                        json_object_get(o, "created_at"), "user",
                                        json_object_get(o, "user")));
    }
    json_decref(o);
    return 0;
}

static http_response_t *h_snapshots(app_t *app, const http_request_t *req,
                                    const omega_principal_t *who)
{
    (void)req;
    (void)who;
    json_t *items = json_array();
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_kv_scan(app->db, OMEGA_KV_META, SNAPSHOT_PREFIX, strlen(SNAPSHOT_PREFIX), add_item,
                      items, &err) != 0) {
        json_decref(items);
        return http_response_error(500, "internal", "cannot list snapshots: %s", err.message);
    }
    return json_response(200, json_pack("{s:o}", "items", items)); /* newest first */
}

static http_response_t *h_snapshot(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    (void)who;
    const char *id = req->params[0];
    if (!*id || strlen(id) > 20 || strspn(id, "0123456789") != strlen(id))
        return http_response_error(404, "not_found", "no such snapshot");
    char key[64], *val = NULL;
    size_t vlen = 0;
    snprintf(key, sizeof(key), SNAPSHOT_PREFIX "%s", id);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_kv_get(app->db, OMEGA_KV_META, key, strlen(key), &val, &vlen, &err);
    if (rc == OMEGA_ENOENT)
        return http_response_error(404, "not_found", "no such snapshot");
    if (rc != 0)
        return http_response_error(500, "internal", "cannot read the snapshot: %s", err.message);
    json_t *o = json_loadb(val, vlen, 0, NULL);
    free(val);
    char *doc = json_dumps(json_object_get(o, "document"), JSON_INDENT(2));
    json_decref(o);
    omega_config_t *cfg = NULL;
    if (!doc || omega_config_load_string(doc, strlen(doc), "snapshot", NULL, NULL, &cfg) != 0) {
        free(doc);
        return http_response_error(500, "internal", "snapshot %s cannot be read", id);
    }
    free(doc);
    char *text = omega_config_to_json(cfg, 1); /* secrets masked as in GET /api/v1/config */
    omega_config_destroy(cfg);
    return http_response_take(200, "application/json", text, strlen(text));
}

/* ---- start-up: the persisted document under the operator's file/env/flags ---- */

/* Per leaf: base's value where the operator set it (base differs from the defaults),
 * else stored's. Objects are merged key by key; keys only in stored are kept. */
static void merge(json_t *dflt, json_t *base, json_t *stored)
{
    const char *k;
    json_t *b;
    json_object_foreach(base, k, b)
    {
        json_t *d = json_object_get(dflt, k), *s = json_object_get(stored, k);
        if (json_is_object(b) && json_is_object(d) && json_is_object(s))
            merge(d, b, s);
        else if (!s || !d || !json_equal(b, d))
            json_object_set(stored, k, b);
    }
}

int app_config_restore(app_t *app)
{
    char *val = NULL;
    size_t vlen = 0;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_kv_get(app->db, OMEGA_KV_META, CURRENT_KEY, strlen(CURRENT_KEY), &val, &vlen, &err) !=
        0)
        return 0;
    json_t *stored = json_loadb(val, vlen, 0, NULL);
    free(val);
    omega_config_t *dcfg = omega_config_create_default();
    json_t *dflt = config_tree(dcfg, 0), *base = config_tree(app->cfg, 0);
    omega_config_destroy(dcfg);
    omega_config_t *next = NULL;
    if (json_is_object(stored)) {
        merge(dflt, base, stored);
        json_object_set(json_object_get(stored, "server"), "data_dir",
                        json_object_get(json_object_get(base, "server"), "data_dir"));
        char *text = json_dumps(stored, JSON_INDENT(2));
        if (omega_config_load_string(text, strlen(text), CURRENT_KEY, NULL, NULL, &next) != 0)
            next = NULL;
        free(text);
    }
    json_decref(stored);
    json_decref(dflt);
    json_decref(base);
    if (!next) {
        omega_log_warn("the configuration stored by the API is not valid any more; ignored");
        return 0;
    }
    if (strcmp(next->server.log_file, app->cfg->server.log_file) != 0 &&
        omega_log_set_file(next->server.log_file) != 0)
        omega_log_warn("cannot open log file '%s'", next->server.log_file);
    omega_log_info("using the configuration stored by PUT /api/v1/config (file and environment "
                   "settings take precedence)");
    pthread_mutex_lock(&app->cfg_lock);
    app_config_apply(app, next, 0); /* collectors are not started yet */
    pthread_mutex_unlock(&app->cfg_lock);
    return 0;
}

static const route_t routes[] = {
    {"GET", "/api/v1/config", PERM_ADMIN, h_get},
    {"PUT", "/api/v1/config", PERM_ADMIN, h_put},
    {"GET", "/api/v1/config/schema", PERM_ADMIN, h_schema},
    {"GET", "/api/v1/config/snapshots", PERM_ADMIN, h_snapshots},
    {"GET", "/api/v1/config/snapshots/*", PERM_ADMIN, h_snapshot},
};

const route_table_t api_config_routes = {routes, sizeof(routes) / sizeof(routes[0])};
