/* SPDX-License-Identifier: Apache-2.0 */
/* Alert state across restarts: every alert whose state, severity, notification or
 * acknowledgement changed is written to the alerts space ("s/<rule id>/<alert id>") at the
 * end of the pass, and read back at start, so a restart neither re-notifies a firing alert
 * nor forgets a cooldown or a pending alert's `for` progress. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

#define KEY_STATE "s/"

static int state_key(const rule_t *r, const alert_t *a, char *key, size_t len)
{
    return snprintf(key, len, "%s%s/%s", KEY_STATE, r->id, a->id);
}

void state_save(omega_alert_engine_t *e, const rule_t *r, alert_t *a)
{
    a->dirty = 0;
    json_t *labels = json_object();
    for (size_t i = 0; i < a->labels.n; i++)
        json_object_set_new(labels, a->labels.names[i], json_string(a->labels.values[i]));
    json_t *o = json_pack(
        "{s:o,s:i,s:i,s:f,s:f,s:I,s:I,s:I,s:I,s:b,s:b,s:s}", "labels", labels, "state",
        (int)a->state, "sev", (int)a->sev, "value", a->value, "threshold", a->threshold,
        "active_at", (json_int_t)a->active_at, "fired_at", (json_int_t)a->fired_at, "resolved_at",
        (json_int_t)a->resolved_at, "last_notified", (json_int_t)a->last_notified_ms, "notified",
        a->notified, "acked", a->acked, "acked_by", a->acked_by);
    if (o && a->n_flips) { /* flap detection's memory, oldest first */
        json_t *flips = json_array();
        unsigned kept = a->n_flips < FLAP_KEEP ? a->n_flips : FLAP_KEEP;
        for (unsigned i = 0; i < kept; i++)
            json_array_append_new(
                flips, json_integer((json_int_t)a->flips[(a->n_flips - kept + i) % FLAP_KEEP]));
        json_object_set_new(o, "flips", flips);
        json_object_set_new(o, "flapping", json_boolean(a->flapping));
    }
    char key[ID_MAX + 40];
    int n = state_key(r, a, key, sizeof(key));
    omega_error_t err;
    omega_error_clear(&err);
    /* NaN values (a NaN sample never breaches, but a firing alert may hold one) are not JSON. */
    if (!o || kv_put_json(e->db, OMEGA_KV_ALERTS, key, (size_t)n, o, &err) != 0)
        omega_log_warn("cannot store the state of alert %s of rule %s: %s", a->id, r->id,
                       o ? err.message : "unencodable value");
    json_decref(o);
}

void state_delete(omega_alert_engine_t *e, const rule_t *r, const alert_t *a)
{
    char key[ID_MAX + 40];
    int n = state_key(r, a, key, sizeof(key));
    omega_kv_delete(e->db, OMEGA_KV_ALERTS, key, (size_t)n, NULL);
}

static alert_t *parse_alert(const rule_t *r, json_t *o)
{
    json_t *labels = json_object_get(o, "labels");
    int state = (int)json_integer_value(json_object_get(o, "state"));
    int sev = (int)json_integer_value(json_object_get(o, "sev"));
    if (!json_is_object(labels) || state < ST_PENDING || state > ST_RESOLVED || sev < SEV_WARNING ||
        sev >= SEV_COUNT)
        return NULL;
    alert_t *a = omega_calloc(1, sizeof(*a));
    /* Series labels, "__name__" included, sorted as the query engine returns them. */
    size_t n = json_object_size(labels), i = 0;
    a->labels.names = n ? omega_calloc(n, sizeof(char *)) : NULL;
    a->labels.values = n ? omega_calloc(n, sizeof(char *)) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        a->labels.names[i] = omega_strdup(k);
        a->labels.values[i++] = omega_strdup(json_is_string(v) ? json_string_value(v) : "");
    }
    a->labels.n = i;
    labelset_sort(&a->labels);
    a->lhash = labelset_hash(&a->labels, NULL);
    alert_make_id(r, &a->labels, a->id);
    a->state = (astate_t)state;
    a->sev = (sev_t)sev;
    a->value = json_number_value(json_object_get(o, "value"));
    a->threshold = json_number_value(json_object_get(o, "threshold"));
    a->active_at = json_integer_value(json_object_get(o, "active_at"));
    a->fired_at = json_integer_value(json_object_get(o, "fired_at"));
    a->resolved_at = json_integer_value(json_object_get(o, "resolved_at"));
    a->last_notified_ms = json_integer_value(json_object_get(o, "last_notified"));
    a->notified = json_is_true(json_object_get(o, "notified"));
    a->acked = json_is_true(json_object_get(o, "acked"));
    const char *by = json_string_value(json_object_get(o, "acked_by"));
    snprintf(a->acked_by, sizeof(a->acked_by), "%s", by ? by : "");
    size_t i_flip;
    json_t *flip;
    json_array_foreach(json_object_get(o, "flips"), i_flip, flip)
    {
        if (json_is_integer(flip))
            flap_record(a, json_integer_value(flip));
    }
    a->flapping = json_is_true(json_object_get(o, "flapping"));
    return a;
}

typedef struct load_ctx {
    omega_alert_engine_t *e;
    char **stale; /* keys of states whose rule is gone */
    size_t n_stale;
} load_ctx_t;

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    load_ctx_t *lc = ctx;
    const char *k = (const char *)key + strlen(KEY_STATE);
    const char *slash = memchr(k, '/', klen - strlen(KEY_STATE));
    char rule_id[ID_MAX + 1];
    size_t rl = slash ? (size_t)(slash - k) : 0;
    rule_t *r = NULL;
    if (rl > 0 && rl <= ID_MAX) {
        memcpy(rule_id, k, rl);
        rule_id[rl] = '\0';
        r = rule_find(lc->e, rule_id, NULL);
    }
    json_t *o = r ? json_loadb(val, vlen, 0, NULL) : NULL;
    alert_t *a = o ? parse_alert(r, o) : NULL;
    json_decref(o);
    if (!a) {
        lc->stale = omega_realloc(lc->stale, (lc->n_stale + 1) * sizeof(char *));
        lc->stale[lc->n_stale++] = omega_strndup(key, klen);
        return 0;
    }
    r->alerts = array_grow(r->alerts, r->n_alerts, sizeof(*r->alerts));
    r->alerts[r->n_alerts++] = a;
    return 0;
}

int state_load(omega_alert_engine_t *e, omega_error_t *err)
{
    load_ctx_t lc = {e, NULL, 0};
    int rc =
        omega_kv_scan(e->db, OMEGA_KV_ALERTS, KEY_STATE, strlen(KEY_STATE), load_one, &lc, err);
    for (size_t i = 0; i < lc.n_stale; i++) {
        omega_kv_delete(e->db, OMEGA_KV_ALERTS, lc.stale[i], strlen(lc.stale[i]), NULL);
        free(lc.stale[i]);
    }
    free(lc.stale);
    return rc < 0 ? rc : 0;
}
