/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers of the alert module: owned label sets, JSON field readers that name the
 * field on error, ids and key encoding. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/metric.h"

void labelset_free(labelset_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->values[i]);
    }
    free(l->names);
    free(l->values);
    memset(l, 0, sizeof(*l));
}

void labelset_copy(labelset_t *dst, const labelset_t *src)
{
    dst->n = src->n;
    dst->names = src->n ? omega_calloc(src->n, sizeof(char *)) : NULL;
    dst->values = src->n ? omega_calloc(src->n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n; i++) {
        dst->names[i] = omega_strdup(src->names[i]);
        dst->values[i] = omega_strdup(src->values[i]);
    }
}

void labelset_from_vector(labelset_t *dst, const omega_vector_item_t *it)
{
    dst->n = it->n_labels;
    dst->names = it->n_labels ? omega_calloc(it->n_labels, sizeof(char *)) : NULL;
    dst->values = it->n_labels ? omega_calloc(it->n_labels, sizeof(char *)) : NULL;
    for (size_t i = 0; i < it->n_labels; i++) {
        dst->names[i] = omega_strdup(it->labels[i].name);
        dst->values[i] = omega_strdup(it->labels[i].value);
    }
}

const char *labelset_get(const labelset_t *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return l->values[i];
    return NULL;
}

json_t *labelset_json(const labelset_t *l, const labelset_t *extra)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], "__name__") != 0)
            json_object_set_new(o, l->names[i], json_string(l->values[i]));
    for (size_t i = 0; extra && i < extra->n; i++)
        json_object_set_new(o, extra->names[i], json_string(extra->values[i]));
    return o;
}

int labelset_equal(const labelset_t *a, const labelset_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 || strcmp(a->values[i], b->values[i]) != 0)
            return 0;
    return 1;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","c") != ("a","bc") */
}

uint64_t labelset_hash(const labelset_t *l, const char *seed)
{
    uint64_t h = fnv(1469598103934665603ULL, seed ? seed : "");
    for (size_t i = 0; i < l->n; i++)
        h = fnv(fnv(h, l->names[i]), l->values[i]);
    return h;
}

void hmap_init(hmap_t *m, size_t expect)
{
    m->cap = 16;
    while (m->cap < expect * 2)
        m->cap *= 2;
    m->keys = omega_calloc(m->cap, sizeof(*m->keys));
    m->vals = omega_calloc(m->cap, sizeof(*m->vals));
}

void hmap_deinit(hmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static size_t hmap_slot(const hmap_t *m, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void hmap_put(hmap_t *m, uint64_t key, void *val)
{
    size_t i = hmap_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
}

void *hmap_get(const hmap_t *m, uint64_t key)
{
    return m->vals[hmap_slot(m, key)];
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

void labelset_sort(labelset_t *l)
{
    /* Insertion sort: label sets are small. */
    for (size_t i = 1; i < l->n; i++)
        for (size_t k = i; k > 0 && strcmp(l->names[k - 1], l->names[k]) > 0; k--) {
            char *n = l->names[k], *v = l->values[k];
            l->names[k] = l->names[k - 1];
            l->values[k] = l->values[k - 1];
            l->names[k - 1] = n;
            l->values[k - 1] = v;
        }
}

int labelset_parse(json_t *obj, const char *field, labelset_t *l, omega_error_t *err)
{
    memset(l, 0, sizeof(*l));
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s must be an object", field);
    size_t n = json_object_size(obj);
    if (n > 64)
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s has more than 64 labels", field);
    char **keys = n ? omega_calloc(n, sizeof(char *)) : NULL;
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(obj, k, v) keys[i++] = (char *)k;
    if (n)
        qsort(keys, n, sizeof(char *), cmp_names);
    l->names = n ? omega_calloc(n, sizeof(char *)) : NULL;
    l->values = n ? omega_calloc(n, sizeof(char *)) : NULL;
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        v = json_object_get(obj, keys[i]);
        if (!omega_label_name_valid(keys[i]) || strcmp(keys[i], "__name__") == 0)
            rc = omega_error_set_path(err, OMEGA_EINVAL, field, "%s: invalid label name '%.64s'",
                                      field, keys[i]);
        else if (!json_is_string(v) || json_string_length(v) > TEXT_MAX)
            rc = omega_error_set_path(err, OMEGA_EINVAL, field,
                                      "%s.%.64s must be a string of at most %d bytes", field,
                                      keys[i], TEXT_MAX);
        else {
            l->names[l->n] = omega_strdup(keys[i]);
            l->values[l->n++] = omega_strdup(json_string_value(v));
        }
    }
    free(keys);
    if (rc != 0)
        labelset_free(l);
    return rc;
}

int json_duration(json_t *v, const char *field, int64_t *out_ms, omega_error_t *err)
{
    if (json_is_number(v)) {
        double s = json_number_value(v);
        if (!(s >= 0 && s <= 366.0 * 86400))
            return omega_error_set_path(err, OMEGA_EINVAL, field,
                                        "%s must be between 0 and 366 days", field);
        *out_ms = (int64_t)(s * 1000.0);
        return 0;
    }
    if (json_is_string(v) && omega_duration_parse(json_string_value(v), 1000, out_ms) == 0 &&
        *out_ms >= 0 && *out_ms <= (int64_t)366 * 86400000)
        return 0;
    return omega_error_set_path(err, OMEGA_EINVAL, field,
                                "%s must be a duration such as \"30s\" or \"5m\", or seconds",
                                field);
}

int json_time(json_t *v, const char *field, int64_t *out_ms, omega_error_t *err)
{
    if (json_is_number(v)) {
        double s = json_number_value(v);
        if (s >= 0 && s < 1e11) {
            *out_ms = (int64_t)(s * 1000.0);
            return 0;
        }
    } else if (json_is_string(v) && omega_time_parse(json_string_value(v), out_ms) == 0) {
        return 0;
    }
    return omega_error_set_path(err, OMEGA_EINVAL, field,
                                "%s must be an RFC 3339 time or Unix seconds", field);
}

int json_strarray(json_t *v, const char *field, size_t max, char ***out, size_t *n,
                  omega_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > max)
        return omega_error_set_path(err, OMEGA_EINVAL, field,
                                    "%s must be an array of at most %zu strings", field, max);
    size_t cnt = json_array_size(v);
    char **a = cnt ? omega_calloc(cnt, sizeof(char *)) : NULL;
    for (size_t i = 0; i < cnt; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 1024) {
            strarray_free(a, i);
            return omega_error_set_path(err, OMEGA_EINVAL, field,
                                        "%s[%zu] must be a non-empty string", field, i);
        }
        a[i] = omega_strdup(json_string_value(s));
    }
    *out = a;
    *n = cnt;
    return 0;
}

void strarray_free(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

json_t *strarray_json(char *const *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(a[i]));
    return arr;
}

int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ID_MAX)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int json_out(json_t *v, char **out)
{
    if (out)
        *out = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(v);
    return 0;
}

json_t *json_rfc3339(int64_t ms)
{
    char buf[40];
    return json_string(omega_time_format_rfc3339(ms, buf, sizeof(buf)));
}

json_t *json_load_object(const char *text, omega_error_t *err)
{
    json_error_t je;
    json_t *v = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        omega_error_set(err, OMEGA_EINVAL, "invalid JSON at line %d, column %d: %s", je.line,
                        je.column, je.text);
        if (err) {
            err->line = je.line;
            err->column = je.column;
        }
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        omega_error_set(err, OMEGA_EINVAL, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

int kv_put_json(omega_tsdb_t *db, omega_kv_space_t space, const char *key, size_t klen, json_t *v,
                omega_error_t *err)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
    int rc = omega_kv_put(db, space, key, klen, text, strlen(text), err);
    free(text);
    return rc;
}

void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

const char *sev_name(sev_t s)
{
    static const char *const names[] = {"none", "warning", "critical", "emergency"};
    return s < SEV_COUNT ? names[s] : "none";
}

const char *category_name(category_t c)
{
    static const char *const names[] = {"performance", "system", "application"};
    return names[c];
}

void engine_new_id(omega_alert_engine_t *e, const char *prefix, char *buf, size_t len)
{
    snprintf(buf, len, "%s%llx%llu", prefix, (unsigned long long)omega_now_ms(),
             (unsigned long long)++e->id_seq);
}

void *array_grow(void *p, size_t n, size_t elem)
{
    if (n & (n - 1))
        return p; /* not 0 nor a power of two: the doubled allocation has room */
    return omega_realloc(p, (n ? 2 * n : 1) * elem);
}
