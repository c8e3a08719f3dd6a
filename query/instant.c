/* SPDX-License-Identifier: Apache-2.0 */
/* Instant-vector evaluation of a selector: each matching series' newest sample within
 * the lookback window ending at the evaluation time (PromQL semantics, no staleness
 * markers yet). */
#include "omega/query.h"

#include <stdlib.h>
#include <string.h>

typedef struct collect_ctx {
    omega_vector_t *vec; /* result being built */
    size_t cap;          /* allocated items */
    int64_t t_ms;        /* evaluation time */
} collect_ctx_t;

static int on_series(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    collect_ctx_t *c = ctx;
    if (n == 0)
        return 0;
    if (c->vec->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->vec->items = omega_realloc(c->vec->items, c->cap * sizeof(*c->vec->items));
    }
    omega_vector_item_t *it = &c->vec->items[c->vec->n++];
    it->n_labels = s->n_labels + 1;
    it->labels = omega_calloc(it->n_labels, sizeof(*it->labels));
    /* Insert "__name__" at its sorted position among the (sorted) labels. */
    size_t k = 0;
    int placed = 0;
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!placed && strcmp("__name__", s->labels[i].name) < 0) {
            it->labels[k].name = omega_strdup("__name__");
            it->labels[k++].value = omega_strdup(s->name);
            placed = 1;
        }
        it->labels[k].name = omega_strdup(s->labels[i].name);
        it->labels[k++].value = omega_strdup(s->labels[i].value);
    }
    if (!placed) {
        it->labels[k].name = omega_strdup("__name__");
        it->labels[k].value = omega_strdup(s->name);
    }
    it->ts_ms = c->t_ms;
    it->value = samples[n - 1].value;
    return 0;
}

int omega_query_instant_selector(omega_tsdb_t *db, const omega_selector_t *sel, int64_t t_ms,
                                 omega_vector_t **out, omega_error_t *err)
{
    size_t nm;
    const omega_matcher_t *m = omega_selector_matchers(sel, &nm);
    collect_ctx_t c = {.vec = omega_calloc(1, sizeof(omega_vector_t)), .cap = 0, .t_ms = t_ms};
    /* Prometheus' lookback window is left-open: (t - 5m, t]. */
    int rc = omega_tsdb_select(db, m, nm, t_ms - OMEGA_QUERY_LOOKBACK_MS + 1, t_ms, on_series,
                               &c, err);
    if (rc != 0) {
        omega_vector_destroy(c.vec);
        *out = NULL;
        return rc;
    }
    *out = c.vec;
    return 0;
}

int omega_query_instant(omega_tsdb_t *db, const char *expr, int64_t t_ms, omega_vector_t **out,
                        omega_error_t *err)
{
    omega_selector_t *sel = NULL;
    *out = NULL;
    int rc = omega_selector_parse(expr, &sel, err);
    if (rc != 0)
        return rc;
    rc = omega_query_instant_selector(db, sel, t_ms, out, err);
    omega_selector_destroy(sel);
    return rc;
}

void omega_vector_destroy(omega_vector_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        for (size_t k = 0; k < v->items[i].n_labels; k++) {
            free((char *)v->items[i].labels[k].name);
            free((char *)v->items[i].labels[k].value);
        }
        free(v->items[i].labels);
    }
    free(v->items);
    free(v);
}
