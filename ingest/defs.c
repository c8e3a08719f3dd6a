/* SPDX-License-Identifier: Apache-2.0 */
/* Metric definitions (counter, gauge, histogram with buckets, help, unit): validation of
 * the API body, storage as JSON under "metricdef/<name>" in the meta KV space, and the
 * Prometheus-style checks that writes get against them. */
#include "ingest_int.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "metricdef/"

const char *omega_metric_type_name(omega_metric_type_t t)
{
    switch (t) {
    case OMEGA_METRIC_COUNTER:
        return "counter";
    case OMEGA_METRIC_GAUGE:
        return "gauge";
    case OMEGA_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "unknown";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int check_unit(const omega_metric_def_t *d, omega_error_t *err)
{
    if (!d->unit[0])
        return 0;
    for (const char *c = d->unit; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return omega_error_set_path(err, OMEGA_EINVAL, "unit",
                                        "unit: expected lower-case [a-z0-9_] (e.g. \"seconds\")");
    }
    char want[80], want_total[96];
    snprintf(want, sizeof(want), "_%s", d->unit);
    snprintf(want_total, sizeof(want_total), "_%s_total", d->unit);
    if (ends_with(d->name, want) ||
        (d->type == OMEGA_METRIC_COUNTER && ends_with(d->name, want_total)))
        return 0;
    return omega_error_set_path(err, OMEGA_EINVAL, "unit",
                                "unit: the name must end with \"%s\"%s (OpenMetrics)", want,
                                d->type == OMEGA_METRIC_COUNTER ? " or \"_<unit>_total\"" : "");
}

static int check_buckets(json_t *b, omega_metric_def_t *d, omega_error_t *err)
{
    if (d->type != OMEGA_METRIC_HISTOGRAM) {
        if (b)
            return omega_error_set_path(err, OMEGA_EINVAL, "buckets",
                                        "buckets: only histograms have buckets");
        return 0;
    }
    if (!json_is_array(b) || json_array_size(b) == 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "buckets",
                                    "buckets: a histogram needs a non-empty array of upper "
                                    "bounds");
    size_t i;
    json_t *v;
    json_array_foreach(b, i, v)
    {
        char path[32];
        snprintf(path, sizeof(path), "buckets[%zu]", i);
        double x = json_number_value(v);
        if (!json_is_number(v) || !isfinite(x))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "%s: expected a finite number (+Inf is implicit)", path);
        if (d->n_buckets && x <= d->buckets[d->n_buckets - 1])
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "%s: bucket bounds must be strictly increasing", path);
        if (d->n_buckets == OMEGA_METRIC_MAX_BUCKETS)
            return omega_error_set_path(err, OMEGA_EINVAL, "buckets",
                                        "buckets: more than %d buckets", OMEGA_METRIC_MAX_BUCKETS);
        d->buckets[d->n_buckets++] = x;
    }
    return 0;
}

static int copy_str(json_t *o, const char *key, char *dst, size_t cap, int required,
                    omega_error_t *err)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        dst[0] = '\0';
        return required ? omega_error_set_path(err, OMEGA_EINVAL, key, "%s: required", key) : 0;
    }
    if (!json_is_string(v))
        return omega_error_set_path(err, OMEGA_EINVAL, key, "%s: expected a string", key);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        return omega_error_set_path(err, OMEGA_EINVAL, key,
                                    "%s: longer than %zu bytes or contains NUL", key, cap - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int def_from_obj(json_t *o, omega_metric_def_t *d, omega_error_t *err)
{
    memset(d, 0, sizeof(*d));
    if (!json_is_object(o))
        return omega_error_set(err, OMEGA_EINVAL, "expected an object {\"name\",\"type\",...}");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "help") && strcmp(k, "unit") &&
            strcmp(k, "buckets"))
            return omega_error_set_path(err, OMEGA_EINVAL, k,
                                        "%.60s: unknown field (expected name, type, help, unit, "
                                        "buckets)",
                                        k);
    }
    char type[16];
    int rc = copy_str(o, "name", d->name, sizeof(d->name), 1, err);
    if (rc == 0)
        rc = copy_str(o, "type", type, sizeof(type), 1, err);
    if (rc == 0)
        rc = copy_str(o, "help", d->help, sizeof(d->help), 1, err);
    if (rc == 0)
        rc = copy_str(o, "unit", d->unit, sizeof(d->unit), 0, err);
    if (rc)
        return rc;
    if (!omega_metric_name_valid(d->name) || strchr(d->name, ':'))
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name: expected [a-zA-Z_][a-zA-Z0-9_]* (colons are for "
                                    "recording rules)");
    if (!strcmp(type, "counter"))
        d->type = OMEGA_METRIC_COUNTER;
    else if (!strcmp(type, "gauge"))
        d->type = OMEGA_METRIC_GAUGE;
    else if (!strcmp(type, "histogram"))
        d->type = OMEGA_METRIC_HISTOGRAM;
    else
        return omega_error_set_path(err, OMEGA_EINVAL, "type",
                                    "type: expected \"counter\", \"gauge\" or \"histogram\"");
    if (!d->help[0] || !omega_utf8_valid(d->help, strlen(d->help)))
        return omega_error_set_path(err, OMEGA_EINVAL, "help",
                                    "help: expected a non-empty UTF-8 description");
    /* Prometheus naming (promtool lints both): counters end in _total, nothing else does. */
    if (d->type == OMEGA_METRIC_COUNTER && !ends_with(d->name, "_total"))
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name: a counter's name must end in _total");
    if (d->type != OMEGA_METRIC_COUNTER && ends_with(d->name, "_total"))
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name: only counters may end in _total");
    if (d->type == OMEGA_METRIC_HISTOGRAM &&
        (ends_with(d->name, "_bucket") || ends_with(d->name, "_sum") ||
         ends_with(d->name, "_count")))
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name: a histogram's name must not end in _bucket, _sum or "
                                    "_count (those are its series)");
    rc = check_buckets(json_object_get(o, "buckets"), d, err);
    return rc ? rc : check_unit(d, err);
}

int omega_metric_def_from_json(const char *json, size_t len, omega_metric_def_t *out,
                               omega_error_t *err)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        int rc = omega_error_set(err, OMEGA_EINVAL, "invalid JSON at line %d, column %d: %s",
                                 je.line, je.column, je.text);
        if (err) {
            err->line = je.line;
            err->column = je.column;
        }
        return rc;
    }
    int rc = def_from_obj(o, out, err);
    json_decref(o);
    return rc;
}

void omega_metric_def_to_json(const omega_metric_def_t *def, omega_buf_t *b)
{
    omega_buf_puts(b, "{\"name\":");
    omega_buf_json_str(b, def->name, strlen(def->name));
    omega_buf_printf(b, ",\"type\":\"%s\",\"help\":", omega_metric_type_name(def->type));
    omega_buf_json_str(b, def->help, strlen(def->help));
    omega_buf_puts(b, ",\"unit\":");
    omega_buf_json_str(b, def->unit, strlen(def->unit));
    if (def->type == OMEGA_METRIC_HISTOGRAM) {
        omega_buf_puts(b, ",\"buckets\":[");
        for (size_t i = 0; i < def->n_buckets; i++) {
            if (i)
                omega_buf_puts(b, ",");
            omega_buf_json_num(b, def->buckets[i]); /* finite: always a JSON number */
        }
        omega_buf_puts(b, "]");
    }
    omega_buf_puts(b, "}");
}

/* A histogram `h` owns h_bucket, h_sum and h_count: true when `name` is one of them. */
static int is_series_of(const char *hist, const char *name)
{
    size_t n = strlen(hist);
    return !strncmp(name, hist, n) && (!strcmp(name + n, "_bucket") || !strcmp(name + n, "_sum") ||
                                       !strcmp(name + n, "_count"));
}

static int clash(const omega_metric_def_t *old, const omega_metric_def_t *def)
{
    if (old->type != def->type || old->n_buckets != def->n_buckets)
        return 1;
    for (size_t i = 0; i < def->n_buckets; i++)
        if (old->buckets[i] != def->buckets[i])
            return 1;
    return 0;
}

/* Check-then-put must not interleave between two requests defining the same name. */
static pthread_mutex_t put_mu = PTHREAD_MUTEX_INITIALIZER;

static int def_put_locked(omega_tsdb_t *db, const omega_metric_def_t *def, int *created,
                          omega_error_t *err)
{
    omega_metric_defs_t all;
    int rc = omega_metric_defs_load(db, &all, err);
    if (rc)
        return rc;
    *created = 1;
    for (size_t i = 0; i < all.n && rc == 0; i++) {
        const omega_metric_def_t *o = &all.items[i];
        if (!strcmp(o->name, def->name)) {
            *created = 0;
            if (clash(o, def))
                rc = omega_error_set_path(err, OMEGA_EEXIST, "name",
                                          "metric %s is already defined as a %s with other "
                                          "settings; delete is not supported, pick a new name",
                                          def->name, omega_metric_type_name(o->type));
        } else if ((o->type == OMEGA_METRIC_HISTOGRAM && is_series_of(o->name, def->name)) ||
                   (def->type == OMEGA_METRIC_HISTOGRAM && is_series_of(def->name, o->name))) {
            rc = omega_error_set_path(
                err, OMEGA_EEXIST, "name", "metric %s clashes with the series of histogram %s",
                def->name, o->type == OMEGA_METRIC_HISTOGRAM ? o->name : def->name);
        }
    }
    omega_metric_defs_deinit(&all);
    if (rc)
        return rc;
    char key[300];
    int klen = snprintf(key, sizeof(key), KEY_PREFIX "%s", def->name);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_metric_def_to_json(def, &b);
    rc = omega_kv_put(db, OMEGA_KV_META, key, (size_t)klen, b.data, b.len, err);
    omega_buf_deinit(&b);
    return rc;
}

int omega_metric_def_put(omega_tsdb_t *db, const omega_metric_def_t *def, int *created,
                         omega_error_t *err)
{
    pthread_mutex_lock(&put_mu);
    int rc = def_put_locked(db, def, created, err);
    pthread_mutex_unlock(&put_mu);
    return rc;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_metric_defs_t *d = ctx;
    omega_metric_def_t def;
    omega_error_t e;
    if (omega_metric_def_from_json(val, vlen, &def, &e) != 0)
        return 0; /* written by this module, so only a newer format gets here: skip it */
    d->items = omega_realloc(d->items, (d->n + 1) * sizeof(*d->items));
    d->items[d->n++] = def;
    return 0;
}

int omega_metric_defs_load(omega_tsdb_t *db, omega_metric_defs_t *out, omega_error_t *err)
{
    memset(out, 0, sizeof(*out));
    int rc = omega_kv_scan(db, OMEGA_KV_META, KEY_PREFIX, strlen(KEY_PREFIX), load_one, out, err);
    if (rc)
        omega_metric_defs_deinit(out);
    return rc; /* keys are scanned in order, so items are sorted by name */
}

void omega_metric_defs_deinit(omega_metric_defs_t *d)
{
    if (!d)
        return;
    free(d->items);
    d->items = NULL;
    d->n = 0;
}

static int cmp_def(const void *key, const void *item)
{
    return strcmp(key, ((const omega_metric_def_t *)item)->name);
}

const omega_metric_def_t *omega_metric_defs_find(const omega_metric_defs_t *d, const char *name)
{
    if (!d || !d->n)
        return NULL;
    return bsearch(name, d->items, d->n, sizeof(*d->items), cmp_def);
}

/* The histogram a series name belongs to (name without _bucket/_sum/_count), or NULL. */
static const omega_metric_def_t *histogram_of(const omega_metric_defs_t *d, const char *name,
                                              const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    for (size_t k = 0; k < 3; k++) {
        if (!ends_with(name, sfx[k]))
            continue;
        char base[256];
        size_t n = strlen(name) - strlen(sfx[k]);
        if (n >= sizeof(base))
            return NULL;
        memcpy(base, name, n);
        base[n] = '\0';
        const omega_metric_def_t *h = omega_metric_defs_find(d, base);
        if (h && h->type == OMEGA_METRIC_HISTOGRAM) {
            *suffix = sfx[k];
            return h;
        }
    }
    return NULL;
}

static int check_le(const omega_point_t *p, const char *hist, omega_error_t *err)
{
    for (size_t k = 0; k < p->n_labels; k++) {
        if (strcmp(p->labels[k].name, "le"))
            continue;
        const char *v = p->labels[k].value;
        char *end;
        double x = strtod(v, &end);
        if (*v && !*end && !isnan(x))
            return 0;
        return omega_error_set(err, OMEGA_EINVAL,
                               "%s_bucket has le=\"%.40s\", not a number or +Inf", hist, v);
    }
    return omega_error_set(err, OMEGA_EINVAL, "%s_bucket needs an 'le' label (histogram %s)", hist,
                           hist);
}

int omega_metric_defs_check(const omega_metric_defs_t *d, const omega_point_t *points, size_t n,
                            size_t *bad, omega_error_t *err)
{
    if (!d || !d->n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const omega_point_t *p = &points[i];
        const omega_metric_def_t *def = omega_metric_defs_find(d, p->name);
        int rc = 0;
        if (def && def->type == OMEGA_METRIC_HISTOGRAM) {
            rc = omega_error_set(err, OMEGA_EINVAL,
                                 "%s is a histogram; write %s_bucket{le=...}, %s_sum and "
                                 "%s_count",
                                 p->name, p->name, p->name, p->name);
        } else if (!def) {
            const char *suffix = NULL;
            const omega_metric_def_t *h = histogram_of(d, p->name, &suffix);
            if (h && !strcmp(suffix, "_bucket"))
                rc = check_le(p, h->name, err);
        }
        if (rc) {
            *bad = i;
            return rc;
        }
    }
    return 0;
}
