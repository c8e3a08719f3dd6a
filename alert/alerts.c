/* SPDX-License-Identifier: Apache-2.0 */
/* Reading alerts: the active list, the stored history by time, and acknowledgement. */
#include "alert_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"pending", "firing", "resolved"};

static json_t *alert_json(const rule_t *r, const alert_t *a)
{
    json_t *o = alert_payload(r, a, state_names[a->state]);
    json_object_del(o, "status");
    json_object_set_new(o, "state", json_string(state_names[a->state]));
    json_object_set_new(o, "id", json_string(a->id));
    json_object_set_new(o, "rule_id", json_string(r->id));
    json_object_set_new(o, "category", json_string(category_name(r->category)));
    json_object_set_new(o, "active_at", json_rfc3339(a->active_at));
    json_object_set_new(o, "started_at", a->fired_at ? json_rfc3339(a->fired_at) : json_null());
    json_object_set_new(o, "acknowledged", json_boolean(a->acked));
    json_object_set_new(o, "acknowledged_by", a->acked ? json_string(a->acked_by) : json_null());
    json_object_set_new(o, "silenced", json_boolean(a->silenced));
    json_object_set_new(o, "inhibited", json_boolean(a->inhibited));
    json_object_set_new(o, "flapping", json_boolean(a->flapping));
    return o;
}

int omega_alert_active(omega_alert_engine_t *e, char **out, omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    json_t *items = json_array();
    for (size_t i = 0; i < e->n_rules; i++)
        for (size_t k = 0; k < e->rules[i]->n_alerts; k++)
            if (e->rules[i]->alerts[k]->state != ST_RESOLVED)
                json_array_append_new(items, alert_json(e->rules[i], e->rules[i]->alerts[k]));
    pthread_mutex_unlock(&e->mu);
    return json_out(json_pack("{s:o}", "items", items), out);
}

typedef struct hist_ctx {
    int64_t since, until;
    const char *rule_id, *severity; /* filters, NULL = any */
    size_t limit;
    json_t *items;
} hist_ctx_t;

static int field_is(json_t *o, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(o, k));
    return !want || (v && strcmp(v, want) == 0);
}

static int on_history(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    hist_ctx_t *h = ctx;
    if (klen != 18)
        return 0;
    int64_t at = (int64_t)be64_get((const unsigned char *)key + 2);
    if (at > h->until)
        return 1; /* keys are in time order: nothing later can match */
    if (at < h->since)
        return 0;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    if (o && field_is(o, "rule_id", h->rule_id) && field_is(o, "severity", h->severity))
        json_array_append_new(h->items, o);
    else
        json_decref(o);
    return json_array_size(h->items) >= h->limit ? 1 : 0;
}

/* Visit the history keys of [since, until] in time order: one seek to since, then
 * on_history stops at the limit or past until. */
static int scan_history(omega_tsdb_t *db, hist_ctx_t *h, omega_error_t *err)
{
    unsigned char start[10];
    memcpy(start, KEY_HISTORY, 2);
    be64_put(start + 2, h->since < 0 ? 0 : (uint64_t)h->since);
    int rc = omega_kv_scan_from(db, OMEGA_KV_ALERTS, KEY_HISTORY, 2, start, sizeof(start),
                                on_history, h, err);
    return rc < 0 ? rc : 0;
}

int omega_alert_history(omega_alert_engine_t *e, int64_t since_ms, int64_t until_ms,
                        const char *rule_id, const char *severity, size_t limit, char **out,
                        omega_error_t *err)
{
    if (until_ms < since_ms)
        return omega_error_set_path(err, OMEGA_EINVAL, "until", "until is before since");
    hist_ctx_t h = {since_ms, until_ms, rule_id, severity, limit ? limit : 10000, json_array()};
    int rc = scan_history(e->db, &h, err);
    if (rc < 0) {
        json_decref(h.items);
        return rc;
    }
    return json_out(json_pack("{s:o}", "items", h.items), out);
}

int omega_alert_ack(omega_alert_engine_t *e, const char *alert_id, const char *by,
                    omega_error_t *err)
{
    pthread_mutex_lock(&e->mu);
    int rc = omega_error_set(err, OMEGA_ENOENT, "no active alert with id '%s'", alert_id);
    for (size_t i = 0; i < e->n_rules && rc != 0; i++)
        for (size_t k = 0; k < e->rules[i]->n_alerts && rc != 0; k++) {
            alert_t *a = e->rules[i]->alerts[k];
            if (a->state == ST_RESOLVED || strcmp(a->id, alert_id) != 0)
                continue;
            a->acked = 1;
            snprintf(a->acked_by, sizeof(a->acked_by), "%s", by ? by : "");
            history_add(e, e->rules[i], a, "acknowledged", a->acked_by, omega_now_ms());
            state_save(e, e->rules[i], a);
            rc = 0;
            if (err)
                omega_error_clear(err);
        }
    pthread_mutex_unlock(&e->mu);
    return rc;
}
