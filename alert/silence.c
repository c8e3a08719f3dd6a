/* SPDX-License-Identifier: Apache-2.0 */
/* Silences (matchers over an alert's labels, a time window, author and comment) and the
 * alert history: every transition appended to the alerts space, keyed by time. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"
#include "omega/metric.h"

static const char *const op_text[] = {"=", "!=", "=~", "!~"};

void silence_free(silence_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_m; i++) {
        free(s->m[i].name);
        free(s->m[i].value);
        if (s->m[i].op == OMEGA_MATCH_RE || s->m[i].op == OMEGA_MATCH_NRE)
            regfree(&s->m[i].re);
    }
    free(s->m);
    free(s->id);
    free(s->author);
    free(s->comment);
    free(s);
}

static int parse_matcher(silence_t *s, size_t i, json_t *jm, omega_error_t *err)
{
    char path[48];
    snprintf(path, sizeof(path), "matchers[%zu]", i);
    json_t *n = json_object_get(jm, "name"), *v = json_object_get(jm, "value");
    json_t *op = json_object_get(jm, "op");
    if (!json_is_object(jm) || !json_is_string(n) ||
        !omega_label_name_valid(json_string_value(n)) || !json_is_string(v) ||
        json_string_length(v) > 1024)
        return omega_error_set_path(err, OMEGA_EINVAL, path,
                                    "%s needs a label \"name\" and a string \"value\"", path);
    silence_matcher_t *m = &s->m[i];
    m->op = OMEGA_MATCH_EQ;
    if (op) {
        m->op = -1;
        for (int k = 0; k < 4 && json_is_string(op); k++)
            if (strcmp(json_string_value(op), op_text[k]) == 0)
                m->op = k;
        if (m->op < 0) {
            m->op = OMEGA_MATCH_EQ;
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "%s.op must be \"=\", \"!=\", \"=~\" or \"!~\"", path);
        }
    }
    if (m->op == OMEGA_MATCH_RE || m->op == OMEGA_MATCH_NRE) {
        size_t len = json_string_length(v) + 8;
        char *anchored = omega_malloc(len);
        snprintf(anchored, len, "^(%s)$", json_string_value(v));
        int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (rc != 0) {
            m->op = OMEGA_MATCH_EQ; /* nothing compiled to free */
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "%s.value is not a valid "
                                        "regular expression",
                                        path);
        }
    }
    m->name = omega_strdup(json_string_value(n));
    m->value = omega_strdup(json_string_value(v));
    return 0;
}

static int parse_text(json_t *body, const char *field, char **out, omega_error_t *err)
{
    json_t *v = json_object_get(body, field);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > TEXT_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s is required (1-%d bytes)", field,
                                    TEXT_MAX);
    *out = omega_strdup(json_string_value(v));
    return 0;
}

silence_t *silence_parse(json_t *body, omega_error_t *err)
{
    silence_t *s = omega_calloc(1, sizeof(*s));
    json_t *ms = json_object_get(body, "matchers");
    if (!json_is_array(ms) || json_array_size(ms) == 0 || json_array_size(ms) > 32) {
        omega_error_set_path(err, OMEGA_EINVAL, "matchers", "matchers must list 1 to 32 matchers");
        goto fail;
    }
    s->m = omega_calloc(json_array_size(ms), sizeof(*s->m));
    for (size_t i = 0; i < json_array_size(ms); i++, s->n_m++)
        if (parse_matcher(s, i, json_array_get(ms, i), err))
            goto fail;
    int64_t now = omega_now_ms();
    json_t *st = json_object_get(body, "starts_at"), *en = json_object_get(body, "ends_at");
    s->starts_at = now;
    if (st && json_time(st, "starts_at", &s->starts_at, err))
        goto fail;
    if (!en || json_time(en, "ends_at", &s->ends_at, err)) {
        if (!en)
            omega_error_set_path(err, OMEGA_EINVAL, "ends_at", "ends_at is required");
        goto fail;
    }
    if (s->ends_at <= s->starts_at) {
        omega_error_set_path(err, OMEGA_EINVAL, "ends_at", "ends_at must be after starts_at");
        goto fail;
    }
    if (parse_text(body, "author", &s->author, err) ||
        parse_text(body, "comment", &s->comment, err))
        goto fail;
    json_t *c = json_object_get(body, "created_at");
    s->created_at = now;
    if (c)
        json_time(c, "created_at", &s->created_at, NULL);
    json_t *id = json_object_get(body, "id");
    if (json_is_string(id) && id_valid(json_string_value(id)))
        s->id = omega_strdup(json_string_value(id));
    return s;
fail:
    silence_free(s);
    return NULL;
}

json_t *silence_json(const silence_t *s, int64_t now_ms)
{
    json_t *ms = json_array();
    for (size_t i = 0; i < s->n_m; i++)
        json_array_append_new(ms, json_pack("{s:s,s:s,s:s}", "name", s->m[i].name, "value",
                                            s->m[i].value, "op", op_text[s->m[i].op]));
    json_t *o =
        json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:o}", "id", s->id, "matchers", ms, "starts_at",
                  json_rfc3339(s->starts_at), "ends_at", json_rfc3339(s->ends_at), "author",
                  s->author, "comment", s->comment, "created_at", json_rfc3339(s->created_at));
    if (now_ms)
        json_object_set_new(o, "active",
                            json_boolean(now_ms >= s->starts_at && now_ms < s->ends_at));
    return o;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_alert_engine_t *e = ctx;
    json_t *body = json_loadb(val, vlen, 0, NULL);
    silence_t *s = body ? silence_parse(body, NULL) : NULL;
    json_decref(body);
    if (!s || !s->id) {
        omega_log_error("stored silence %.*s is unreadable; skipped", (int)klen, (const char *)key);
        silence_free(s);
        return 0;
    }
    e->silences = omega_realloc(e->silences, (e->n_silences + 1) * sizeof(*e->silences));
    e->silences[e->n_silences++] = s;
    return 0;
}

int silences_load(omega_alert_engine_t *e, omega_error_t *err)
{
    return omega_kv_scan(e->db, OMEGA_KV_META, KEY_SILENCE, strlen(KEY_SILENCE), load_one, e, err);
}

void silences_expire(omega_alert_engine_t *e, int64_t now_ms)
{
    size_t keep = 0;
    for (size_t i = 0; i < e->n_silences; i++) {
        silence_t *s = e->silences[i];
        if (now_ms - s->ends_at < SILENCE_KEEP_MS) {
            e->silences[keep++] = s;
            continue;
        }
        char key[ID_MAX + 32];
        int n = snprintf(key, sizeof(key), "%s%s", KEY_SILENCE, s->id);
        omega_kv_delete(e->db, OMEGA_KV_META, key, (size_t)n, NULL);
        silence_free(s);
    }
    e->n_silences = keep;
}

static const char *alert_label(const rule_t *r, const alert_t *a, const char *name)
{
    if (strcmp(name, "alertname") == 0)
        return r->name;
    const char *v = labelset_get(&r->labels, name);
    if (!v)
        v = labelset_get(&a->labels, name);
    return v ? v : "";
}

static int matcher_ok(const silence_matcher_t *m, const char *v)
{
    switch (m->op) {
    case OMEGA_MATCH_EQ:
        return strcmp(v, m->value) == 0;
    case OMEGA_MATCH_NE:
        return strcmp(v, m->value) != 0;
    case OMEGA_MATCH_RE:
        return regexec(&m->re, v, 0, NULL, 0) == 0;
    case OMEGA_MATCH_NRE:
        return regexec(&m->re, v, 0, NULL, 0) != 0;
    }
    return 0;
}

int silence_matches_any(omega_alert_engine_t *e, const rule_t *r, const alert_t *a, int64_t now_ms)
{
    for (size_t i = 0; i < e->n_silences; i++) {
        const silence_t *s = e->silences[i];
        if (now_ms < s->starts_at || now_ms >= s->ends_at)
            continue;
        size_t k = 0;
        while (k < s->n_m && matcher_ok(&s->m[k], alert_label(r, a, s->m[k].name)))
            k++;
        if (k == s->n_m)
            return 1;
    }
    return 0;
}

json_t *alert_payload(const rule_t *r, const alert_t *a, const char *status)
{
    const char *metric = labelset_get(&a->labels, "__name__");
    return json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:s,s:s}", "alert", r->name, "status",
                     status, "severity", sev_name(a->sev), "metric", metric ? metric : "", "value",
                     a->value, "threshold", a->threshold, "labels",
                     labelset_json(&a->labels, &r->labels), "started_at",
                     json_rfc3339(a->fired_at ? a->fired_at : a->active_at), "description",
                     r->description, "recommended_action", r->recommended_action);
}

int history_add(omega_alert_engine_t *e, const rule_t *r, const alert_t *a, const char *event,
                const char *note, int64_t at_ms)
{
    unsigned char key[2 + 16];
    memcpy(key, KEY_HISTORY, 2);
    be64_put(key + 2, (uint64_t)at_ms);
    be64_put(key + 10, ++e->history_seq);
    json_t *o = alert_payload(r, a, event);
    json_object_set_new(o, "id", json_string(a->id));
    json_object_set_new(o, "rule_id", json_string(r->id));
    json_object_set_new(o, "category", json_string(category_name(r->category)));
    json_object_set_new(o, "at", json_rfc3339(at_ms));
    if (note)
        json_object_set_new(o, "note", json_string(note));
    omega_error_t err;
    omega_error_clear(&err);
    int rc = kv_put_json(e->db, OMEGA_KV_ALERTS, (const char *)key, sizeof(key), o, &err);
    if (rc != 0)
        omega_log_error("cannot store alert history for %s: %s", r->name, err.message);
    json_decref(o);
    return rc;
}
