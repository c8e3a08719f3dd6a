/* SPDX-License-Identifier: Apache-2.0 */
/* Alert rules: validation of the JSON body and the stored form in the meta space. The
 * built-in rules derived from the config are builtins.c's. */
#include "alert_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"
#include "omega/metric.h"

static const char *const sev_fields[SEV_COUNT] = {NULL, "warning", "critical", "emergency"};
static const char *const op_names[] = {">", "<", ">=", "<="};

void rule_free(rule_t *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->name);
    free(r->expr);
    free(r->event_metric);
    strarray_free(r->channels, r->n_channels);
    labelset_free(&r->labels);
    free(r->description);
    free(r->recommended_action);
    strarray_free(r->group_by, r->n_group_by);
    json_decref(r->base);
    json_decref(r->override);
    rule_sel_unref(r->sel);
    for (size_t i = 0; i < r->n_alerts; i++) {
        labelset_free(&r->alerts[i]->labels);
        free(r->alerts[i]);
    }
    free(r->alerts);
    free(r);
}

static int get_string(json_t *body, const char *field, int required, size_t max, char **out,
                      omega_error_t *err)
{
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v)) {
        if (required)
            return omega_error_set_path(err, OMEGA_EINVAL, field, "%s is required", field);
        *out = omega_strdup("");
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) > max ||
        (required && json_string_length(v) == 0))
        return omega_error_set_path(err, OMEGA_EINVAL, field,
                                    "%s must be a %sstring of at most %zu bytes", field,
                                    required ? "non-empty " : "", max);
    *out = omega_strdup(json_string_value(v));
    return 0;
}

int rule_breaches(cmp_op_t op, double a, double b)
{
    switch (op) {
    case OP_GT:
        return a > b;
    case OP_LT:
        return a < b;
    case OP_GE:
        return a >= b;
    case OP_LE:
        return a <= b;
    }
    return 0;
}

static int parse_thresholds(rule_t *r, json_t *body, omega_error_t *err)
{
    json_t *op = json_object_get(body, "op");
    r->op = OP_GT;
    if (op && !json_is_null(op)) {
        int found = 0;
        for (int i = 0; i < 4 && json_is_string(op); i++)
            if (strcmp(json_string_value(op), op_names[i]) == 0) {
                r->op = (cmp_op_t)i;
                found = 1;
            }
        if (!found)
            return omega_error_set_path(err, OMEGA_EINVAL, "op",
                                        "op must be one of \">\", \"<\", \">=\", \"<=\"");
    }
    int any = 0;
    double prev = 0;
    const char *prev_name = NULL;
    for (int s = SEV_WARNING; s < SEV_COUNT; s++) {
        json_t *v = json_object_get(body, sev_fields[s]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return omega_error_set_path(err, OMEGA_EINVAL, sev_fields[s],
                                        "%s must be a finite number", sev_fields[s]);
        r->thr[s] = json_number_value(v);
        r->has_thr[s] = 1;
        /* A higher severity must be at least as far past the threshold as a lower one. */
        if (prev_name && rule_breaches(r->op, prev, r->thr[s]))
            return omega_error_set_path(err, OMEGA_EINVAL, sev_fields[s],
                                        "%s (%g) must not be less severe than %s (%g) for op "
                                        "\"%s\"",
                                        sev_fields[s], r->thr[s], prev_name, prev, op_names[r->op]);
        prev = r->thr[s];
        prev_name = sev_fields[s];
        any = 1;
    }
    if (!any)
        return omega_error_set_path(err, OMEGA_EINVAL, "warning",
                                    "at least one of warning, critical, emergency is required");
    json_t *c = json_object_get(body, "clear");
    if (c && !json_is_null(c)) {
        if (!json_is_number(c) || !isfinite(json_number_value(c)))
            return omega_error_set_path(err, OMEGA_EINVAL, "clear",
                                        "clear must be a finite number");
        r->clear = json_number_value(c);
        r->has_clear = 1;
        for (int s = SEV_WARNING; s < SEV_COUNT; s++)
            if (r->has_thr[s] && rule_breaches(r->op, r->clear, r->thr[s]))
                return omega_error_set_path(err, OMEGA_EINVAL, "clear",
                                            "clear (%g) must lie on the healthy side of %s (%g)",
                                            r->clear, sev_fields[s], r->thr[s]);
    }
    return 0;
}

static int parse_category(rule_t *r, json_t *body, omega_error_t *err)
{
    json_t *c = json_object_get(body, "category");
    r->category = CAT_PERFORMANCE;
    if (!c || json_is_null(c))
        return 0;
    for (int i = 0; i < 3 && json_is_string(c); i++)
        if (strcmp(json_string_value(c), category_name((category_t)i)) == 0) {
            r->category = (category_t)i;
            return 0;
        }
    return omega_error_set_path(err, OMEGA_EINVAL, "category",
                                "category must be performance, system or application");
}

static int check_expr(omega_tsdb_t *db, const char *expr, omega_error_t *err)
{
    if (strlen(expr) > OMEGA_QUERY_MAX_LEN)
        return omega_error_set_path(err, OMEGA_EINVAL, "expr", "expr is longer than %d bytes",
                                    OMEGA_QUERY_MAX_LEN);
    omega_vector_t *v = NULL;
    omega_error_t qe;
    omega_error_clear(&qe);
    int rc = omega_query_instant(db, expr, omega_now_ms(), &v, &qe);
    omega_vector_destroy(v);
    if (rc == OMEGA_EINVAL)
        return omega_error_set_path(err, OMEGA_EINVAL, "expr", "expr: %s", qe.message);
    return 0; /* storage trouble now says nothing about the expression */
}

static int parse_rest(rule_t *r, json_t *body, omega_error_t *err)
{
    json_t *f = json_object_get(body, "for");
    if (f && !json_is_null(f) && json_duration(f, "for", &r->for_ms, err))
        return OMEGA_EINVAL;
    json_t *rep = json_object_get(body, "repeat_interval");
    if (rep && !json_is_null(rep) && json_duration(rep, "repeat_interval", &r->repeat_ms, err))
        return OMEGA_EINVAL;
    if (json_strarray(json_object_get(body, "channels"), "channels", 32, &r->channels,
                      &r->n_channels, err))
        return OMEGA_EINVAL;
    for (size_t i = 0; i < r->n_channels; i++)
        if (!id_valid(r->channels[i]))
            return omega_error_set_path(err, OMEGA_EINVAL, "channels",
                                        "channels[%zu] is not a valid channel id", i);
    if (json_strarray(json_object_get(body, "group_by"), "group_by", 16, &r->group_by,
                      &r->n_group_by, err))
        return OMEGA_EINVAL;
    for (size_t i = 0; i < r->n_group_by; i++)
        if (!omega_label_name_valid(r->group_by[i]))
            return omega_error_set_path(err, OMEGA_EINVAL, "group_by",
                                        "group_by[%zu] is not a label name", i);
    if (labelset_parse(json_object_get(body, "labels"), "labels", &r->labels, err))
        return OMEGA_EINVAL;
    json_t *en = json_object_get(body, "enabled");
    if (en && !json_is_null(en) && !json_is_boolean(en))
        return omega_error_set_path(err, OMEGA_EINVAL, "enabled", "enabled must be true or false");
    r->enabled = !en || json_is_null(en) || json_is_true(en);
    json_t *ann = json_object_get(body, "annotations");
    if (ann && !json_is_null(ann) && !json_is_object(ann))
        return omega_error_set_path(err, OMEGA_EINVAL, "annotations",
                                    "annotations must be an object");
    json_t *a = ann && json_is_object(ann) ? ann : json_object();
    int rc = get_string(a, "description", 0, TEXT_MAX, &r->description, err);
    if (rc == 0)
        rc = get_string(a, "recommended_action", 0, TEXT_MAX, &r->recommended_action, err);
    if (a != ann)
        json_decref(a);
    if (rc && err)
        snprintf(err->path, sizeof(err->path), "annotations.%s",
                 r->description ? "recommended_action" : "description");
    return rc;
}

rule_t *rule_parse(omega_tsdb_t *db, const char *id, json_t *body, omega_error_t *err)
{
    rule_t *r = omega_calloc(1, sizeof(*r));
    json_t *jid = json_object_get(body, "id");
    if (id) {
        r->id = omega_strdup(id);
    } else if (jid && !json_is_null(jid)) {
        if (!json_is_string(jid) || !id_valid(json_string_value(jid))) {
            omega_error_set_path(err, OMEGA_EINVAL, "id",
                                 "id must be 1-64 characters of letters, digits, '_', '-', '.'");
            goto fail;
        }
        r->id = omega_strdup(json_string_value(jid));
    }
    if (get_string(body, "name", 1, 256, &r->name, err) ||
        get_string(body, "expr", 1, OMEGA_QUERY_MAX_LEN, &r->expr, err) ||
        check_expr(db, r->expr, err) || parse_thresholds(r, body, err) ||
        parse_category(r, body, err) || parse_rest(r, body, err))
        goto fail;
    return r;
fail:
    rule_free(r);
    return NULL;
}

json_t *rule_json(const rule_t *r, int with_status)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "name", json_string(r->name));
    json_object_set_new(o, "expr", json_string(r->expr));
    for (int s = SEV_WARNING; s < SEV_COUNT; s++)
        if (r->has_thr[s])
            json_object_set_new(o, sev_fields[s], json_real(r->thr[s]));
    json_object_set_new(o, "op", json_string(op_names[r->op]));
    json_object_set_new(o, "for", json_real((double)r->for_ms / 1000.0));
    if (r->has_clear)
        json_object_set_new(o, "clear", json_real(r->clear));
    json_object_set_new(o, "category", json_string(category_name(r->category)));
    json_object_set_new(o, "channels", strarray_json(r->channels, r->n_channels));
    json_object_set_new(o, "labels", labelset_json(&r->labels, NULL));
    json_t *ann = json_object();
    json_object_set_new(ann, "description", json_string(r->description));
    json_object_set_new(ann, "recommended_action", json_string(r->recommended_action));
    json_object_set_new(o, "annotations", ann);
    if (r->repeat_ms)
        json_object_set_new(o, "repeat_interval", json_real((double)r->repeat_ms / 1000.0));
    if (r->n_group_by)
        json_object_set_new(o, "group_by", strarray_json(r->group_by, r->n_group_by));
    if (r->event_metric)
        json_object_set_new(o, "event", json_string(r->event_metric));
    json_object_set_new(o, "enabled", json_boolean(r->enabled));
    if (with_status) {
        json_object_set_new(o, "builtin", json_boolean(r->builtin));
        if (r->builtin) /* changed by a user: which fields, and the config's values */
            json_object_set_new(o, "modified", json_boolean(r->override != NULL));
        if (r->builtin && r->override) {
            json_t *defaults = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(r->override, k, v)
            {
                json_t *d = json_object_get(r->base, k);
                json_object_set(defaults, k, d ? d : json_null());
            }
            json_object_set_new(o, "defaults", defaults);
        }
        json_object_set_new(o, "last_error",
                            r->last_error[0] ? json_string(r->last_error) : json_null());
        json_object_set_new(o, "last_evaluated_at",
                            r->last_eval_ms ? json_rfc3339(r->last_eval_ms) : json_null());
    }
    return o;
}

rule_t *rule_find(omega_alert_engine_t *e, const char *id, size_t *index)
{
    for (size_t i = 0; i < e->n_rules; i++)
        if (strcmp(e->rules[i]->id, id) == 0) {
            if (index)
                *index = i;
            return e->rules[i];
        }
    return NULL;
}

int64_t rule_cooldown_ms(const omega_alert_engine_t *e, const rule_t *r)
{
    const omega_config_alerting_t *a = &e->cfg->alerting;
    switch (r->category) {
    case CAT_SYSTEM:
        return a->alert_cooldowns.system_alerts_ms;
    case CAT_APPLICATION:
        return a->alert_cooldowns.application_alerts_ms;
    case CAT_PERFORMANCE:
        break;
    }
    /* Performance alerts also honour performance_monitor's global alert_cooldown. */
    int64_t c = a->alert_cooldowns.performance_alerts_ms;
    int64_t g = e->cfg->performance_monitor.alert_configurations.alert_cooldown_ms;
    return g > c ? g : c;
}

void rules_add(omega_alert_engine_t *e, rule_t *r)
{
    e->rules = omega_realloc(e->rules, (e->n_rules + 1) * sizeof(*e->rules));
    e->rules[e->n_rules++] = r;
}

void rules_replace(omega_alert_engine_t *e, size_t idx, rule_t *r)
{
    rule_t *old = e->rules[idx];
    if (r->enabled) {
        /* Alerts carry over; the next pass moves them under the new thresholds. */
        r->alerts = old->alerts;
        r->n_alerts = old->n_alerts;
        old->alerts = NULL;
        old->n_alerts = 0;
    } else {
        for (size_t i = 0; i < old->n_alerts; i++)
            state_delete(e, old, old->alerts[i]);
    }
    rule_free(old);
    e->rules[idx] = r;
}

int rule_channels_exist(omega_alert_engine_t *e, const rule_t *r, omega_error_t *err)
{
    for (size_t i = 0; i < r->n_channels; i++)
        if (!channel_find(e, r->channels[i], NULL))
            return omega_error_set_path(err, OMEGA_EINVAL, "channels", "no channel with id '%s'",
                                        r->channels[i]);
    return 0;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_alert_engine_t *e = ctx;
    omega_error_t err;
    omega_error_clear(&err);
    json_t *body = json_loadb(val, vlen, 0, NULL);
    rule_t *r = body ? rule_parse(e->db, NULL, body, &err) : NULL;
    json_decref(body);
    if (!r || !r->id) {
        omega_log_error("stored alert rule %.*s is unreadable (%s); skipped", (int)klen,
                        (const char *)key, err.message);
        rule_free(r);
        return 0;
    }
    rules_add(e, r);
    return 0;
}

int rules_load(omega_alert_engine_t *e, omega_error_t *err)
{
    int rc = omega_kv_scan(e->db, OMEGA_KV_META, KEY_RULE, strlen(KEY_RULE), load_one, e, err);
    if (rc == 0 && e->opt.builtin_rules) {
        builtins_add(e);
        rc = overrides_load(e, err);
    }
    return rc;
}
