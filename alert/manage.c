/* SPDX-License-Identifier: Apache-2.0 */
/* The management calls behind the Alerts API: rules, channels and silences (validated,
 * stored in the meta space, then swapped in memory), active alerts, history,
 * acknowledgement and channel tests. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

static int store_json(omega_alert_engine_t *e, const char *prefix, const char *id, json_t *v,
                      omega_error_t *err)
{
    char key[128];
    int n = snprintf(key, sizeof(key), "%s%s", prefix, id);
    if (e->opt.vault.put && strcmp(prefix, KEY_CHANNEL) == 0) { /* sealed at rest (auth) */
        char *text = json_dumps(v, JSON_COMPACT);
        int rc = e->opt.vault.put(e->opt.vault.ctx, key, text, strlen(text), err);
        free(text);
        return rc;
    }
    return kv_put_json(e->db, OMEGA_KV_META, key, (size_t)n, v, err);
}

static int unstore(omega_alert_engine_t *e, const char *prefix, const char *id, omega_error_t *err)
{
    char key[128];
    int n = snprintf(key, sizeof(key), "%s%s", prefix, id);
    if (e->opt.vault.del && strcmp(prefix, KEY_CHANNEL) == 0)
        return e->opt.vault.del(e->opt.vault.ctx, key, err);
    return omega_kv_delete(e->db, OMEGA_KV_META, key, (size_t)n, err);
}

/* Id for a new object: the body's (checked for clashes and the reserved prefix) or fresh. */
static int new_id(omega_alert_engine_t *e, char **id, const char *gen_prefix, int taken,
                  omega_error_t *err)
{
    if (*id && strncmp(*id, "builtin-", 8) == 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "id",
                                    "ids starting with 'builtin-' are "
                                    "reserved for built-in objects");
    if (*id && taken)
        return omega_error_set_path(err, OMEGA_EEXIST, "id", "id '%s' already exists", *id);
    if (!*id) {
        char buf[ID_MAX + 1];
        engine_new_id(e, gen_prefix, buf, sizeof(buf));
        *id = omega_strdup(buf);
    }
    return 0;
}

/* 1 when id names a built-in rule (which stay for the engine's life). */
static int is_builtin(omega_alert_engine_t *e, const char *id)
{
    pthread_mutex_lock(&e->mu);
    rule_t *r = id ? rule_find(e, id, NULL) : NULL;
    int b = r && r->builtin;
    pthread_mutex_unlock(&e->mu);
    return b;
}

static int rule_put_body(omega_alert_engine_t *e, const char *id, json_t *body, char **out,
                         omega_error_t *err)
{
    if (is_builtin(e, id))
        return override_put(e, id, body, out, err);
    rule_t *r = rule_parse(e->db, id, body, err); /* runs a query: outside the lock */
    if (!r)
        return err ? err->code : OMEGA_EINVAL;
    pthread_mutex_lock(&e->mu);
    size_t idx = 0;
    rule_t *old = r->id ? rule_find(e, r->id, &idx) : NULL;
    int rc = 0;
    if (id && !old)
        rc = omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", id);
    else if (old && old->builtin)
        rc = omega_error_set(err, OMEGA_EEXIST, "id '%s' is a built-in rule's", old->id);
    else if (!id)
        rc = new_id(e, &r->id, "r-", old != NULL, err);
    if (rc == 0)
        rc = rule_channels_exist(e, r, err);
    if (rc == 0) {
        json_t *stored = rule_json(r, 0);
        rc = store_json(e, KEY_RULE, r->id, stored, err);
        json_decref(stored);
    }
    if (rc == 0 && old)
        rules_replace(e, idx, r);
    else if (rc == 0)
        rules_add(e, r);
    if (rc == 0 && out)
        json_out(rule_json(r, 1), out);
    pthread_mutex_unlock(&e->mu);
    if (rc != 0)
        rule_free(r);
    return rc;
}

int omega_alert_rule_put(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                         omega_error_t *err)
{
    json_t *body = json_load_object(json, err);
    if (!body)
        return OMEGA_EINVAL;
    int rc = rule_put_body(e, id, body, out, err);
    json_decref(body);
    return rc;
}

/* RFC 7396 JSON merge patch of patch into target (modified in place). */
static void merge_patch(json_t *target, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        json_t *t = json_object_get(target, k);
        if (json_is_null(v))
            json_object_del(target, k);
        else if (json_is_object(v) && json_is_object(t))
            merge_patch(t, v);
        else
            json_object_set(target, k, v);
    }
}

int omega_alert_rule_patch(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                           omega_error_t *err)
{
    json_t *patch = json_load_object(json, err);
    if (!patch)
        return OMEGA_EINVAL;
    pthread_mutex_lock(&e->mu);
    rule_t *r = rule_find(e, id, NULL);
    json_t *doc = r ? rule_json(r, 0) : NULL;
    int builtin = r && r->builtin;
    pthread_mutex_unlock(&e->mu);
    int rc;
    if (!doc) {
        rc = omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", id);
    } else {
        merge_patch(doc, patch);
        const char *k;
        json_t *v;
        json_object_foreach(patch, k, v)
        {
            if (builtin && json_is_null(v)) /* absent would mean the config's value */
                json_object_set(doc, k, v);
        }
        rc = rule_put_body(e, id, doc, out, err);
    }
    json_decref(doc);
    json_decref(patch);
    return rc;
}

int omega_alert_rule_reset(omega_alert_engine_t *e, const char *id, char **out, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    rule_t *r = rule_find(e, id, NULL);
    int rc = 0;
    if (!r)
        rc = omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", id);
    else if (!r->builtin)
        rc = omega_error_set_path(err, OMEGA_EINVAL, "id",
                                  "rule '%s' is not built in: it has no default", id);
    pthread_mutex_unlock(&e->mu);
    if (rc != 0)
        return rc;
    json_t *none = json_object(); /* every editable field back to the config's value */
    rc = override_put(e, id, none, out, err);
    json_decref(none);
    return rc;
}

int omega_alert_rule_get(omega_alert_engine_t *e, const char *id, char **out, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    rule_t *r = rule_find(e, id, NULL);
    int rc = r ? json_out(rule_json(r, 1), out)
               : omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", id);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp((*(rule_t *const *)a)->id, (*(rule_t *const *)b)->id);
}

int omega_alert_rule_list(omega_alert_engine_t *e, char **out, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    rule_t **sorted = omega_malloc((e->n_rules + 1) * sizeof(*sorted));
    memcpy(sorted, e->rules, e->n_rules * sizeof(*sorted));
    qsort(sorted, e->n_rules, sizeof(*sorted), cmp_rule);
    json_t *items = json_array();
    for (size_t i = 0; i < e->n_rules; i++)
        json_array_append_new(items, rule_json(sorted[i], 1));
    free(sorted);
    pthread_mutex_unlock(&e->mu);
    return json_out(json_pack("{s:o}", "items", items), out);
}

int omega_alert_rule_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    size_t idx;
    rule_t *r = rule_find(e, id, &idx);
    int rc = 0;
    if (!r)
        rc = omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", id);
    else if (r->builtin)
        rc = omega_error_set(err, OMEGA_EPERM,
                             "rule '%s' is built in: disable it (\"enabled\": false) or "
                             "restore its default (DELETE .../override)",
                             id);
    else
        rc = unstore(e, KEY_RULE, id, err);
    if (rc == 0) {
        for (size_t i = 0; i < r->n_alerts; i++)
            state_delete(e, r, r->alerts[i]);
        rule_free(r);
        memmove(e->rules + idx, e->rules + idx + 1, (e->n_rules - idx - 1) * sizeof(*e->rules));
        e->n_rules--;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* A masked secret sent back unchanged keeps the stored value (GET then PUT round-trips). */
static void keep_secrets(channel_t *c, const channel_t *old)
{
    const char *secrets[] = {"secret", "password"};
    for (size_t i = 0; old && i < 2; i++) {
        json_t *v = json_object_get(c->config, secrets[i]);
        if (json_is_string(v) && strcmp(json_string_value(v), "********") == 0)
            json_object_set(c->config, secrets[i], json_object_get(old->config, secrets[i]));
    }
}

int omega_alert_channel_put(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                            omega_error_t *err)
{
    json_t *body = json_load_object(json, err);
    if (!body)
        return OMEGA_EINVAL;
    channel_t *c = channel_parse(id, body, err);
    json_decref(body);
    if (!c)
        return err ? err->code : OMEGA_EINVAL;
    pthread_mutex_lock(&e->mu);
    size_t idx = 0;
    channel_t *old = c->id ? channel_find(e, c->id, &idx) : NULL;
    int rc = 0;
    if (id && !old)
        rc = omega_error_set(err, OMEGA_ENOENT, "no channel with id '%s'", id);
    else if (old && old->builtin)
        rc = omega_error_set(err, OMEGA_EPERM,
                             "channel '%s' is built in: change "
                             "alerting.notification_channels in the configuration",
                             old->id);
    else if (!id)
        rc = new_id(e, &c->id, "c-", old != NULL, err);
    if (rc == 0 && c->template[0] && !omega_config_template_find(e->cfg, c->template))
        rc = omega_error_set_path(err, OMEGA_EINVAL, "template",
                                  "no notification template named '%s'", c->template);
    if (rc == 0) {
        keep_secrets(c, old);
        json_t *stored = channel_json(c, 0);
        rc = store_json(e, KEY_CHANNEL, c->id, stored, err);
        json_decref(stored);
    }
    if (rc == 0 && old) {
        channel_free(old);
        e->channels[idx] = c;
    } else if (rc == 0) {
        e->channels = omega_realloc(e->channels, (e->n_channels + 1) * sizeof(*e->channels));
        e->channels[e->n_channels++] = c;
    }
    if (rc == 0 && out)
        json_out(channel_json(c, 1), out);
    pthread_mutex_unlock(&e->mu);
    if (rc != 0)
        channel_free(c);
    return rc;
}

int omega_alert_channel_list(omega_alert_engine_t *e, char **out, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    json_t *items = json_array();
    for (size_t i = 0; i < e->n_channels; i++)
        json_array_append_new(items, channel_json(e->channels[i], 1));
    pthread_mutex_unlock(&e->mu);
    return json_out(json_pack("{s:o}", "items", items), out);
}

int omega_alert_channel_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    size_t idx;
    channel_t *c = channel_find(e, id, &idx);
    int rc = 0;
    if (!c)
        rc = omega_error_set(err, OMEGA_ENOENT, "no channel with id '%s'", id);
    else if (c->builtin)
        rc = omega_error_set(err, OMEGA_EPERM, "channel '%s' is built in", id);
    else
        rc = unstore(e, KEY_CHANNEL, id, err);
    if (rc == 0) {
        channel_free(c);
        memmove(e->channels + idx, e->channels + idx + 1,
                (e->n_channels - idx - 1) * sizeof(*e->channels));
        e->n_channels--;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int omega_alert_channel_test(omega_alert_engine_t *e, const char *id, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    channel_t *c = channel_find(e, id, NULL);
    channel_t *snap = c ? channel_dup(c) : NULL;
    pthread_mutex_unlock(&e->mu);
    if (!snap)
        return omega_error_set(err, OMEGA_ENOENT, "no channel with id '%s'", id);
    int64_t now = omega_now_ms();
    json_t *payload =
        json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:{s:s},s:o,s:s,s:s}", "alert", "Test notification",
                  "status", "firing", "severity", "warning", "metric", "omega_alert_test", "value",
                  1.0, "threshold", 0.0, "labels", "channel", id, "started_at", json_rfc3339(now),
                  "description", "A test sent from the channel's \"send test\" action.",
                  "recommended_action", "None: this confirms the channel works.");
    json_object_set_new(payload, "dashboard_url", dashboard_link(e, "", now));
    int rc = deliver(e, snap, CAT_APPLICATION, payload, now, err);
    json_decref(payload);
    channel_free(snap);
    if (rc != 0 && err && err->code != OMEGA_ETIMEDOUT)
        err->code = rc = OMEGA_EIO;
    return rc;
}

int omega_alert_silence_create(omega_alert_engine_t *e, const char *json, char **out,
                               omega_error_t *err)
{
    json_t *body = json_load_object(json, err);
    if (!body)
        return OMEGA_EINVAL;
    json_object_del(body, "id");
    json_object_del(body, "created_at");
    silence_t *s = silence_parse(body, err);
    json_decref(body);
    if (!s)
        return err ? err->code : OMEGA_EINVAL;
    pthread_mutex_lock(&e->mu);
    char id[ID_MAX + 1];
    engine_new_id(e, "s-", id, sizeof(id));
    s->id = omega_strdup(id);
    json_t *stored = silence_json(s, 0);
    int rc = store_json(e, KEY_SILENCE, s->id, stored, err);
    json_decref(stored);
    if (rc == 0) {
        e->silences = omega_realloc(e->silences, (e->n_silences + 1) * sizeof(*e->silences));
        e->silences[e->n_silences++] = s;
        if (out)
            json_out(silence_json(s, omega_now_ms()), out);
    } else {
        silence_free(s);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int omega_alert_silence_list(omega_alert_engine_t *e, int64_t now_ms, char **out,
                             omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    json_t *items = json_array();
    for (size_t i = 0; i < e->n_silences; i++)
        if (e->silences[i]->ends_at > now_ms)
            json_array_append_new(items, silence_json(e->silences[i], now_ms));
    pthread_mutex_unlock(&e->mu);
    return json_out(json_pack("{s:o}", "items", items), out);
}

int omega_alert_silence_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    size_t i = 0;
    while (i < e->n_silences && strcmp(e->silences[i]->id, id) != 0)
        i++;
    int rc = i == e->n_silences ? omega_error_set(err, OMEGA_ENOENT, "no silence with id '%s'", id)
                                : unstore(e, KEY_SILENCE, id, err);
    if (rc == 0) {
        silence_free(e->silences[i]);
        memmove(e->silences + i, e->silences + i + 1,
                (e->n_silences - i - 1) * sizeof(*e->silences));
        e->n_silences--;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}
