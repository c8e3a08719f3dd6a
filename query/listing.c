/* SPDX-License-Identifier: Apache-2.0 */
/* Series, label-name and label-value listings over the index (the /api/v1/series,
 * /labels and /label/<name>/values endpoints), optionally restricted to series with
 * samples in a time range. */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct list_ctx {
    lset_t *v;     /* collected label sets */
    size_t n, cap; /* used / allocated */
    size_t max;    /* limit, 0 = none */
} list_ctx_t;

static int on_series(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    (void)samples;
    (void)n;
    list_ctx_t *c = ctx;
    if (c->max && c->n >= c->max)
        return OMEGA_E2BIG;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = omega_realloc(c->v, c->cap * sizeof(lset_t));
    }
    c->v[c->n++] = lset_from_series(s);
    return 0;
}

static int cmp_lset(const void *a, const void *b)
{
    return lset_cmp(a, b);
}

static int collect_one(omega_tsdb_t *db, const omega_matcher_t *m, size_t nm, int64_t start,
                       int64_t end, list_ctx_t *c, omega_error_t *err)
{
    if (start == 0 && end == 0)
        return omega_tsdb_series_match(db, m, nm, on_series, c, err);
    return omega_tsdb_series_active(db, m, nm, start, end ? end : INT64_MAX, on_series, c, err);
}

static int collect(omega_tsdb_t *db, const char *const *match, size_t n_match, int64_t start,
                   int64_t end, list_ctx_t *c, omega_error_t *err)
{
    int rc = 0;
    if (n_match == 0) {
        omega_matcher_t all = {"__name__", ".+", OMEGA_MATCH_RE};
        rc = collect_one(db, &all, 1, start, end, c, err);
    }
    for (size_t i = 0; i < n_match && rc == 0; i++) {
        node_t *n = NULL;
        if ((rc = query_parse(match[i], &n, err)) != 0)
            break;
        if (n->kind != N_VECTOR_SEL || n->offset_ms)
            rc = omega_error_set(err, OMEGA_EINVAL,
                                 "match[] must be a series selector, got \"%.100s\"", match[i]);
        else
            rc = collect_one(db, n->matchers, n->n_matchers, start, end, c, err);
        node_free(n);
    }
    if (rc == OMEGA_E2BIG)
        omega_error_set(err, rc, "more than %zu series match", c->max);
    if (rc != 0) {
        for (size_t i = 0; i < c->n; i++)
            lset_free(&c->v[i]);
        free(c->v);
        return rc;
    }
    if (c->n)
        qsort(c->v, c->n, sizeof(lset_t), cmp_lset);
    size_t o = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (o > 0 && lset_cmp(&c->v[o - 1], &c->v[i]) == 0)
            lset_free(&c->v[i]);
        else
            c->v[o++] = c->v[i];
    }
    c->n = o;
    return 0;
}

int omega_query_series(omega_tsdb_t *db, const char *const *match, size_t n_match, int64_t start_ms,
                       int64_t end_ms, size_t max_series, omega_query_labelsets_t **out,
                       omega_error_t *err)
{
    *out = NULL;
    if (n_match == 0)
        return omega_error_set(err, OMEGA_EINVAL, "no match[] parameter provided");
    list_ctx_t c = {.max = max_series};
    int rc = collect(db, match, n_match, start_ms, end_ms, &c, err);
    if (rc != 0)
        return rc;
    omega_query_labelsets_t *l = omega_calloc(1, sizeof(*l));
    l->sets = omega_calloc(c.n + 1, sizeof(omega_query_series_t));
    for (size_t i = 0; i < c.n; i++) {
        l->sets[i].labels = c.v[i].v;
        l->sets[i].n_labels = c.v[i].n;
    }
    l->n = c.n;
    free(c.v);
    *out = l;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name == NULL: label names; else that label's values. */
static int strings(omega_tsdb_t *db, const char *name, const char *const *match, size_t n_match,
                   int64_t start, int64_t end, omega_query_strings_t **out, omega_error_t *err)
{
    *out = NULL;
    list_ctx_t c = {0};
    int rc = collect(db, match, n_match, start, end, &c, err);
    if (rc != 0)
        return rc;
    omega_query_strings_t *s = omega_calloc(1, sizeof(*s));
    size_t cap = 16;
    s->v = omega_malloc(cap * sizeof(char *));
    for (size_t i = 0; i < c.n; i++) {
        for (size_t k = 0; k < c.v[i].n; k++) {
            const omega_label_t *lb = &c.v[i].v[k];
            if (name && strcmp(lb->name, name) != 0)
                continue;
            if (s->n == cap) {
                cap *= 2;
                s->v = omega_realloc(s->v, cap * sizeof(char *));
            }
            s->v[s->n++] = omega_strdup(name ? lb->value : lb->name);
        }
        lset_free(&c.v[i]);
    }
    free(c.v);
    qsort(s->v, s->n, sizeof(char *), cmp_str);
    size_t o = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (o > 0 && strcmp(s->v[o - 1], s->v[i]) == 0)
            free(s->v[i]);
        else
            s->v[o++] = s->v[i];
    }
    s->n = o;
    *out = s;
    return 0;
}

int omega_query_label_names(omega_tsdb_t *db, const char *const *match, size_t n_match,
                            int64_t start_ms, int64_t end_ms, omega_query_strings_t **out,
                            omega_error_t *err)
{
    return strings(db, NULL, match, n_match, start_ms, end_ms, out, err);
}

int omega_query_label_values(omega_tsdb_t *db, const char *name, const char *const *match,
                             size_t n_match, int64_t start_ms, int64_t end_ms,
                             omega_query_strings_t **out, omega_error_t *err)
{
    *out = NULL;
    if (!name || !omega_label_name_valid(name))
        return omega_error_set(err, OMEGA_EINVAL, "invalid label name: \"%.100s\"",
                               name ? name : "");
    return strings(db, name, match, n_match, start_ms, end_ms, out, err);
}

void omega_query_labelsets_destroy(omega_query_labelsets_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        lset_t s = {l->sets[i].labels, l->sets[i].n_labels};
        lset_free(&s);
    }
    free(l->sets);
    free(l);
}

void omega_query_strings_destroy(omega_query_strings_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s);
}
