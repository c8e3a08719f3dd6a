/* SPDX-License-Identifier: Apache-2.0 */
/* A user's changes to the built-in rules: stored as the fields that differ from the
 * config's version ("alert/override/<id>" in the meta space) and laid over the rebuilt
 * built-in rule at every start. A field the user changed keeps the user's value even when
 * the configuration changes it later (the rule shows as "modified", with the config's
 * values under "defaults"); the other fields follow the configuration. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

#define KEY_OVERRIDE "alert/override/"

/* What makes the rule the built-in one: only the built-in value is accepted. */
static const char *const fixed_fields[] = {"id", "name", "expr", "op", "category", "event", NULL};
/* What a user may change. */
static const char *const editable_fields[] = {
    "warning",  "critical", "emergency",   "clear",    "for",     "repeat_interval",
    "channels", "labels",   "annotations", "group_by", "enabled", NULL};

static int check_fixed(json_t *base, json_t *body, const char *id, omega_error_t *err)
{
    for (size_t i = 0; fixed_fields[i]; i++) {
        json_t *v = json_object_get(body, fixed_fields[i]);
        if (v && !json_equal(v, json_object_get(base, fixed_fields[i])))
            return omega_error_set_path(err, OMEGA_EINVAL, fixed_fields[i],
                                        "%s of built-in rule '%s' cannot be changed (create a "
                                        "new rule from it instead)",
                                        fixed_fields[i], id);
    }
    return 0;
}

/* base with body's editable fields over it: absent = base's, null = none. */
static json_t *merge(json_t *base, json_t *body)
{
    json_t *doc = json_deep_copy(base);
    for (size_t i = 0; editable_fields[i]; i++) {
        json_t *v = json_object_get(body, editable_fields[i]);
        if (v && json_is_null(v))
            json_object_del(doc, editable_fields[i]);
        else if (v)
            json_object_set(doc, editable_fields[i], v);
    }
    return doc;
}

/* The editable fields of now that differ from base (null: base's was removed); NULL when
 * none. */
static json_t *diff(json_t *base, json_t *now)
{
    json_t *d = json_object();
    for (size_t i = 0; editable_fields[i]; i++) {
        json_t *a = json_object_get(base, editable_fields[i]);
        json_t *b = json_object_get(now, editable_fields[i]);
        if (!(a && b && json_equal(a, b)) && (a || b))
            json_object_set(d, editable_fields[i], b ? b : json_null());
    }
    if (json_object_size(d) == 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* The editable fields stored in o; NULL when none. */
static json_t *editable_of(json_t *o)
{
    json_t *d = json_object();
    for (size_t i = 0; editable_fields[i]; i++) {
        json_t *v = json_object_get(o, editable_fields[i]);
        if (v)
            json_object_set(d, editable_fields[i], v);
    }
    if (json_object_size(d) == 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* The built-in rule id (config version base, event metric ev or NULL) with changes laid
 * over it. */
static rule_t *build(omega_tsdb_t *db, const char *id, json_t *base, const char *ev,
                     json_t *changes, omega_error_t *err)
{
    json_t *doc = merge(base, changes);
    if (ev) /* an event rule has no query: validate the rest against its metric's name */
        json_object_set_new(doc, "expr", json_string(ev));
    rule_t *r = rule_parse(db, id, doc, err);
    json_decref(doc);
    if (!r)
        return NULL;
    r->builtin = 1;
    if (ev) {
        r->event_metric = omega_strdup(ev);
        free(r->expr);
        r->expr = omega_strdup("");
    }
    r->base = json_incref(base);
    return r;
}

static int store(omega_alert_engine_t *e, const char *id, json_t *override, omega_error_t *err)
{
    char key[sizeof(KEY_OVERRIDE) + ID_MAX];
    int n = snprintf(key, sizeof(key), "%s%s", KEY_OVERRIDE, id);
    if (!override)
        return omega_kv_delete(e->db, OMEGA_KV_META, key, (size_t)n, err);
    return kv_put_json(e->db, OMEGA_KV_META, key, (size_t)n, override, err);
}

int override_put(omega_alert_engine_t *e, const char *id, json_t *body, char **out,
                 omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    rule_t *cur = rule_find(e, id, NULL);
    json_t *base = cur && cur->builtin ? json_incref(cur->base) : NULL;
    char *ev = cur && cur->event_metric ? omega_strdup(cur->event_metric) : NULL;
    pthread_mutex_unlock(&e->mu);
    if (!base) {
        free(ev);
        return omega_error_set(err, OMEGA_ENOENT, "no built-in alert rule with id '%s'", id);
    }
    rule_t *r = NULL;
    int rc = check_fixed(base, body, id, err);
    if (rc == 0) { /* parsing runs a query: outside the lock */
        r = build(e->db, id, base, ev, body, err);
        rc = r ? 0 : (err ? err->code : OMEGA_EINVAL);
    }
    if (rc == 0) {
        json_t *now = rule_json(r, 0);
        r->override = diff(base, now);
        json_decref(now);
    }
    json_decref(base);
    free(ev);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&e->mu);
    size_t idx = 0;
    rc = rule_find(e, id, &idx) ? rule_channels_exist(e, r, err)
                                : omega_error_set(err, OMEGA_ENOENT, "no alert rule '%s'", id);
    if (rc == 0)
        rc = store(e, id, r->override, err);
    if (rc == 0) {
        rules_replace(e, idx, r);
        if (out)
            json_out(rule_json(r, 1), out);
        r = NULL;
    }
    pthread_mutex_unlock(&e->mu);
    rule_free(r);
    return rc;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_alert_engine_t *e = ctx;
    char id[ID_MAX + 1];
    size_t plen = strlen(KEY_OVERRIDE);
    if (klen <= plen || klen - plen > ID_MAX)
        return 0;
    snprintf(id, sizeof(id), "%.*s", (int)(klen - plen), (const char *)key + plen);
    size_t idx = 0;
    rule_t *cur = rule_find(e, id, &idx);
    if (!cur || !cur->builtin) {
        /* e.g. memory-leak detection switched off: kept for when it comes back */
        omega_log_info("alerting: the change to built-in rule %s waits: no such rule now", id);
        return 0;
    }
    omega_error_t err;
    omega_error_clear(&err);
    json_t *changes = json_loadb(val, vlen, 0, NULL);
    rule_t *r = json_is_object(changes)
                    ? build(e->db, id, cur->base, cur->event_metric, changes, &err)
                    : NULL;
    if (r) /* the user's values win over later config changes: still "modified" */
        r->override = editable_of(changes);
    json_decref(changes);
    if (r && rule_channels_exist(e, r, &err) != 0) {
        rule_free(r);
        r = NULL;
    }
    if (!r) {
        omega_log_warn("alerting: the change to built-in rule %s no longer applies (%s); the "
                       "configuration's version is used until it is edited or restored",
                       id, err.message[0] ? err.message : "unreadable");
        return 0;
    }
    rules_replace(e, idx, r);
    return 0;
}

int overrides_load(omega_alert_engine_t *e, omega_error_t *err)
{
    return omega_kv_scan(e->db, OMEGA_KV_META, KEY_OVERRIDE, strlen(KEY_OVERRIDE), load_one, e,
                         err);
}
