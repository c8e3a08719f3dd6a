/* SPDX-License-Identifier: Apache-2.0 */
/* Report schedules: the config's own (one per reports.report_types entry at its
 * reports.scheduling time) and the ones created through the API (kept in the store's meta
 * space under "report/schedule/<id>"), listing, deleting, and running those due in a
 * minute. Times are local, as reports.scheduling says. */
#include "report_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX     "report/schedule/"
#define DEFAULT_PERIOD (24 * 3600 * 1000LL)

static const char *const type_titles[] = {"Daily", "Weekly", "Monthly", "Custom"};

static int type_of(const char *name)
{
    for (int t = 0; t <= OMEGA_REPORT_CUSTOM; t++)
        if (strcmp(name, omega_report_type_name((omega_report_type_t)t)) == 0)
            return t;
    return -1;
}

static int format_of(const char *name)
{
    for (int f = 0; f <= OMEGA_REPORT_JSON; f++)
        if (strcmp(name, omega_report_format_name((omega_report_format_t)f)) == 0)
            return f;
    return -1;
}

static unsigned section_of(const char *name)
{
    for (unsigned bit = 1; bit <= OMEGA_REPORT_SEC_TRENDS; bit <<= 1)
        if (strcmp(name, omega_report_section_name(bit)) == 0)
            return bit;
    return 0;
}

/* The config's time for type t ("" when none). */
static const char *config_at(const omega_config_t *cfg, int t)
{
    if (!cfg)
        return t == 0 ? "06:00" : t == 1 ? "monday 06:00" : t == 2 ? "1st 06:00" : "0 6 * * *";
    const char *v[] = {
        cfg->reports.scheduling.daily_reports, cfg->reports.scheduling.weekly_reports,
        cfg->reports.scheduling.monthly_reports, cfg->reports.scheduling.custom_schedule};
    return v[t] ? v[t] : "";
}

static unsigned config_formats(const omega_config_t *cfg)
{
    unsigned f = 0;
    for (size_t i = 0; cfg && i < cfg->reports.export_formats.n; i++) {
        int k = format_of(cfg->reports.export_formats.items[i]);
        f |= k >= 0 ? 1u << k : 0;
    }
    return f ? f : 0xfu;
}

static unsigned config_sections(const omega_config_t *cfg)
{
    unsigned b = 0;
    for (size_t i = 0; cfg && i < cfg->reports.include_metrics.n; i++)
        b |= section_of(cfg->reports.include_metrics.items[i]);
    return b ? b : OMEGA_REPORT_SEC_ALL;
}

/* Rebuild the built-in schedules from the current config; caller holds s->lock. */
static size_t refresh_builtins(omega_report_service_t *s)
{
    const omega_config_t *cfg = rpt_service_config(s);
    size_t n = 0;
    for (int t = 0; t < RPT_N_BUILTIN; t++) {
        rpt_schedule_t *b = &s->builtin[t];
        free(b->name);
        free(b->at);
        b->name = b->at = NULL;
        int on = !cfg;
        for (size_t i = 0; cfg && i < cfg->reports.report_types.n; i++)
            on |= type_of(cfg->reports.report_types.items[i]) == t;
        const char *at = config_at(cfg, t);
        if (!on || !*at || rpt_sched_parse(at, &b->spec) != 0)
            continue;
        snprintf(b->id, sizeof(b->id), "builtin-%s",
                 omega_report_type_name((omega_report_type_t)t));
        char name[64];
        snprintf(name, sizeof(name), "%s report (configuration)", type_titles[t]);
        b->name = omega_strdup(name);
        b->at = omega_strdup(at);
        b->type = (omega_report_type_t)t;
        b->sections = config_sections(cfg);
        b->formats = config_formats(cfg);
        b->period_ms = DEFAULT_PERIOD;
        b->last_run_ms = s->builtin_last[t];
        memcpy(b->last_ids, s->builtin_ids[t], sizeof(b->last_ids));
        n++;
    }
    return n;
}

static json_t *names_json(unsigned bits, int formats)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < 5; i++)
        if (bits & (1u << i))
            json_array_append_new(
                a, json_string(formats ? omega_report_format_name((omega_report_format_t)i)
                                       : omega_report_section_name(1u << i)));
    return a;
}

static json_t *time_or_null(int64_t ms)
{
    char buf[40];
    return ms ? json_string(omega_time_format_rfc3339(ms, buf, sizeof(buf))) : json_null();
}

static json_t *schedule_json(const rpt_schedule_t *r, int builtin)
{
    char dur[32];
    json_t *ids = json_array();
    for (int i = 0; i < 4; i++)
        if (r->last_ids[i][0])
            json_array_append_new(ids, json_string(r->last_ids[i]));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o}", "id", r->id, "name",
                  r->name, "type", omega_report_type_name(r->type), "at", r->at, "sections",
                  names_json(r->sections, 0), "formats", names_json(r->formats, 1), "builtin",
                  builtin, "next_run", time_or_null(rpt_sched_next(&r->spec, omega_now_ms())),
                  "last_run", time_or_null(r->last_run_ms), "last_reports", ids);
    if (r->type == OMEGA_REPORT_CUSTOM)
        json_object_set_new(o, "period",
                            json_string(omega_duration_format(r->period_ms, dur, sizeof(dur))));
    if (!builtin)
        json_object_set_new(o, "created_at", time_or_null(r->created_ms));
    return o;
}

static void schedule_free(rpt_schedule_t *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->at);
    free(r);
}

/* ---- parsing a schedule body ---- */

static int names_field(json_t *v, const char *field, int formats, unsigned *out, omega_error_t *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 8)
        return omega_error_set_path(err, OMEGA_EINVAL, field,
                                    "%s: expected a non-empty array of names", field);
    size_t i;
    json_t *it;
    *out = 0;
    json_array_foreach(v, i, it)
    {
        const char *s = json_string_value(it);
        int k = !s ? -1 : formats ? format_of(s) : (int)section_of(s);
        if (k < 0 || (!formats && k == 0))
            return omega_error_set_path(err, OMEGA_EINVAL, field, "%s[%zu]: unknown %s", field, i,
                                        formats ? "format (pdf, html, csv, json)" : "section");
        *out |= formats ? 1u << k : (unsigned)k;
    }
    return 0;
}

static int period_field(json_t *v, int64_t *out, omega_error_t *err)
{
    int ok = json_is_string(v)   ? omega_duration_parse(json_string_value(v), 1000, out) == 0
             : json_is_number(v) ? (*out = (int64_t)(json_number_value(v) * 1000.0), 1)
                                 : 0;
    if (!ok || *out < 60000 || *out > OMEGA_REPORT_MAX_RANGE_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "period",
                                    "period: expected a duration from 1m to 400d");
    return 0;
}

static int check_keys(json_t *root, omega_error_t *err)
{
    static const char *const known[] = {"name", "type", "at", "sections", "formats", "period"};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < 6 && strcmp(known[i], key) != 0)
            i++;
        if (i == 6)
            return omega_error_set_path(err, OMEGA_EINVAL, "body",
                                        "%.60s: unknown field (name, type, at, sections, "
                                        "formats, period)",
                                        key);
    }
    return 0;
}

static int parse_schedule(omega_report_service_t *s, json_t *root, rpt_schedule_t *r,
                          omega_error_t *err)
{
    const omega_config_t *cfg = rpt_service_config(s);
    json_t *name = json_object_get(root, "name"), *type = json_object_get(root, "type");
    json_t *at = json_object_get(root, "at"), *per = json_object_get(root, "period");
    int rc, t;
    if (!json_is_object(root))
        return omega_error_set(err, OMEGA_EINVAL, "body: expected a JSON object");
    if ((rc = check_keys(root, err)) != 0)
        return rc;
    if (!json_is_string(name) || json_string_length(name) < 1 || json_string_length(name) > 128)
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name: expected a string of 1 to 128 bytes");
    if (!json_is_string(type) || (t = type_of(json_string_value(type))) < 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "type",
                                    "type: expected daily, weekly, monthly or custom");
    r->type = (omega_report_type_t)t;
    const char *at_text = at ? json_string_value(at) : config_at(cfg, t);
    if (!at_text || rpt_sched_parse(at_text, &r->spec) != 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "at",
                                    "at: expected \"HH:MM\", \"<weekday> HH:MM\", \"<1st..31st> "
                                    "HH:MM\" or a 5-field cron expression");
    r->sections = config_sections(cfg);
    r->formats = config_formats(cfg);
    r->period_ms = DEFAULT_PERIOD;
    if (json_object_get(root, "sections") &&
        (rc = names_field(json_object_get(root, "sections"), "sections", 0, &r->sections, err)))
        return rc;
    if (json_object_get(root, "formats") &&
        (rc = names_field(json_object_get(root, "formats"), "formats", 1, &r->formats, err)))
        return rc;
    if (per && r->type != OMEGA_REPORT_CUSTOM)
        return omega_error_set_path(err, OMEGA_EINVAL, "period",
                                    "period: only custom schedules take a period");
    if (per && (rc = period_field(per, &r->period_ms, err)) != 0)
        return rc;
    r->name = omega_strdup(json_string_value(name));
    r->at = omega_strdup(at_text);
    return 0;
}

/* The stored form: the body's fields as resolved, plus the creation time. */
static int store_schedule(omega_report_service_t *s, const rpt_schedule_t *r, omega_error_t *err)
{
    json_t *o = schedule_json(r, 0);
    json_object_del(o, "next_run");
    json_object_del(o, "last_run");
    json_object_del(o, "last_reports");
    json_object_del(o, "builtin");
    char key[64], *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    snprintf(key, sizeof(key), KEY_PREFIX "%s", r->id);
    int rc = omega_kv_put(s->o.db, OMEGA_KV_META, key, strlen(key), text, strlen(text), err);
    free(text);
    return rc;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_report_service_t *s = ctx;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    rpt_schedule_t *r = omega_calloc(1, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%.*s", (int)(klen - strlen(KEY_PREFIX)),
             (const char *)key + strlen(KEY_PREFIX));
    int64_t created = 0;
    const char *c = json_string_value(json_object_get(o, "created_at"));
    if (c)
        omega_time_parse(c, &created);
    if (o) {
        json_object_del(o, "id");
        json_object_del(o, "created_at");
    }
    omega_error_t err;
    omega_error_clear(&err);
    if (!o || !rpt_id_valid(r->id) || parse_schedule(s, o, r, &err) != 0 ||
        s->n_sched >= RPT_MAX_SCHEDULES) {
        omega_log_warn("report schedule %s ignored: %s", r->id,
                       err.message[0] ? err.message : "unreadable");
        schedule_free(r);
    } else {
        r->created_ms = created;
        s->sched[s->n_sched++] = r;
    }
    json_decref(o);
    return 0;
}

int rpt_schedules_load(omega_report_service_t *s, omega_error_t *err)
{
    return omega_kv_scan(s->o.db, OMEGA_KV_META, KEY_PREFIX, strlen(KEY_PREFIX), load_one, s, err);
}

void rpt_schedules_free(omega_report_service_t *s)
{
    for (size_t i = 0; i < s->n_sched; i++)
        schedule_free(s->sched[i]);
    s->n_sched = 0;
    for (int t = 0; t < RPT_N_BUILTIN; t++) {
        free(s->builtin[t].name);
        free(s->builtin[t].at);
        s->builtin[t].name = s->builtin[t].at = NULL;
    }
}

int omega_report_schedule_create(omega_report_service_t *s, const char *json, size_t len,
                                 char **out, omega_error_t *err)
{
    json_error_t je;
    json_t *root = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!root)
        return omega_error_set(err, OMEGA_EINVAL, "body is not valid JSON: %s (line %d)",
                               json ? je.text : "empty", json ? je.line : 0);
    rpt_schedule_t *r = omega_calloc(1, sizeof(*r));
    int rc = parse_schedule(s, root, r, err);
    json_decref(root);
    pthread_mutex_lock(&s->lock);
    if (rc == 0 && s->n_sched >= RPT_MAX_SCHEDULES)
        rc = omega_error_set(err, OMEGA_E2BIG, "%d report schedules exist already",
                             RPT_MAX_SCHEDULES);
    if (rc == 0) {
        rpt_new_id(r->id);
        r->created_ms = omega_now_ms();
        rc = store_schedule(s, r, err);
    }
    if (rc == 0) {
        s->sched[s->n_sched++] = r;
        if (out) {
            json_t *o = schedule_json(r, 0);
            *out = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
        r = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    schedule_free(r);
    return rc;
}

int omega_report_schedule_list(omega_report_service_t *s, char **out, omega_error_t *err)
{
    json_t *items = json_array();
    pthread_mutex_lock(&s->lock);
    refresh_builtins(s);
    for (int t = 0; t < RPT_N_BUILTIN; t++)
        if (s->builtin[t].name)
            json_array_append_new(items, schedule_json(&s->builtin[t], 1));
    for (size_t i = 0; i < s->n_sched; i++)
        json_array_append_new(items, schedule_json(s->sched[i], 0));
    pthread_mutex_unlock(&s->lock);
    json_t *root = json_pack("{s:o}", "items", items);
    *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return 0;
}

int omega_report_schedule_delete(omega_report_service_t *s, const char *id, omega_error_t *err)
{
    if (id && strncmp(id, "builtin-", 8) == 0)
        return omega_error_set(err, OMEGA_EPERM,
                               "%.40s comes from the configuration: change reports.report_types "
                               "or reports.scheduling instead",
                               id);
    pthread_mutex_lock(&s->lock);
    size_t i = 0;
    while (i < s->n_sched && strcmp(s->sched[i]->id, id ? id : "") != 0)
        i++;
    int rc = i == s->n_sched
                 ? omega_error_set(err, OMEGA_ENOENT, "no report schedule '%.40s'", id ? id : "")
                 : 0;
    if (rc == 0) {
        char key[64];
        snprintf(key, sizeof(key), KEY_PREFIX "%s", id);
        rc = omega_kv_delete(s->o.db, OMEGA_KV_META, key, strlen(key), err);
    }
    if (rc == 0) {
        schedule_free(s->sched[i]);
        memmove(&s->sched[i], &s->sched[i + 1], (s->n_sched - i - 1) * sizeof(s->sched[0]));
        s->n_sched--;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- running what is due ---- */

/* Render every format of schedule copy r for the minute at; ids into ids. */
static size_t run_schedule(omega_report_service_t *s, const rpt_schedule_t *r, int64_t at,
                           char ids[4][33])
{
    omega_report_request_t req = {.type = r->type, .sections = r->sections};
    if (r->type == OMEGA_REPORT_CUSTOM) {
        req.from_ms = at - r->period_ms;
        req.to_ms = at;
    } else {
        omega_report_default_period(r->type, at, &req.from_ms, &req.to_ms);
    }
    size_t made = 0;
    memset(ids, 0, 4 * 33);
    for (int f = 0; f <= OMEGA_REPORT_JSON; f++) {
        if (!(r->formats & (1u << f)))
            continue;
        req.format = (omega_report_format_t)f;
        omega_error_t err;
        omega_error_clear(&err);
        if (rpt_service_render(s, &req, "schedule", r->id, ids[f], &err) == 0)
            made++;
        else
            omega_log_warn("scheduled report %s (%s) failed: %s", r->id,
                           omega_report_format_name(req.format), err.message);
    }
    return made;
}

size_t omega_report_schedule_tick(omega_report_service_t *s, int64_t now_ms)
{
    int64_t minute = now_ms / 60000 * 60000;
    size_t made = 0;
    for (;;) {
        /* take the first schedule due and not yet run in this minute, marking it run, and
         * copy it so the lock is not held while drawing */
        rpt_schedule_t copy;
        int found = 0, builtin = -1;
        pthread_mutex_lock(&s->lock);
        refresh_builtins(s);
        for (size_t i = 0; i < RPT_N_BUILTIN + s->n_sched && !found; i++) {
            rpt_schedule_t *r = i < RPT_N_BUILTIN ? &s->builtin[i] : s->sched[i - RPT_N_BUILTIN];
            if (!r->name || r->last_run_ms == minute || !rpt_sched_match(&r->spec, minute))
                continue;
            r->last_run_ms = minute;
            if (i < RPT_N_BUILTIN)
                s->builtin_last[builtin = (int)i] = minute;
            copy = *r;
            copy.name = copy.at = NULL; /* not used, and may be freed meanwhile */
            found = 1;
        }
        pthread_mutex_unlock(&s->lock);
        if (!found)
            break;
        char ids[4][33];
        made += run_schedule(s, &copy, minute, ids);
        pthread_mutex_lock(&s->lock);
        if (builtin >= 0)
            memcpy(s->builtin_ids[builtin], ids, sizeof(ids));
        for (size_t i = 0; builtin < 0 && i < s->n_sched; i++)
            if (strcmp(s->sched[i]->id, copy.id) == 0)
                memcpy(s->sched[i]->last_ids, ids, sizeof(ids));
        pthread_mutex_unlock(&s->lock);
    }
    return made;
}
