/* SPDX-License-Identifier: Apache-2.0 */
/* The instant-vector API kept for the live hub and older callers, on top of the engine. */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

static int to_vector(omega_query_result_t *r, int64_t t_ms, omega_vector_t **out,
                     omega_error_t *err)
{
    if (r->type != OMEGA_QUERY_VECTOR)
        return omega_error_set(err, OMEGA_EINVAL, "expression must evaluate to an instant vector");
    omega_vector_t *v = omega_calloc(1, sizeof(*v));
    v->items = omega_calloc(r->n_series + 1, sizeof(omega_vector_item_t));
    for (size_t i = 0; i < r->n_series; i++) {
        omega_vector_item_t *it = &v->items[v->n++];
        it->labels = r->series[i].labels;
        it->n_labels = r->series[i].n_labels;
        it->ts_ms = t_ms;
        it->value = r->series[i].points[0].value;
        r->series[i].labels = NULL;
        r->series[i].n_labels = 0;
    }
    *out = v;
    return 0;
}

int omega_query_instant(omega_tsdb_t *db, const char *expr, int64_t t_ms, omega_vector_t **out,
                        omega_error_t *err)
{
    *out = NULL;
    omega_query_result_t *r = NULL;
    int rc = omega_query_exec(db, expr, t_ms, t_ms, 0, NULL, &r, err);
    if (rc == 0)
        rc = to_vector(r, t_ms, out, err);
    omega_query_result_destroy(r);
    return rc;
}

int omega_query_instant_selector(omega_tsdb_t *db, const omega_selector_t *sel, int64_t t_ms,
                                 omega_vector_t **out, omega_error_t *err)
{
    size_t nm;
    const omega_matcher_t *m = omega_selector_matchers(sel, &nm);
    node_t n = {.kind = N_VECTOR_SEL, .matchers = (omega_matcher_t *)m, .n_matchers = nm};
    omega_query_opts_t o;
    omega_query_opts_init(&o);
    evaluator_t ev = {.db = db,
                      .start = t_ms,
                      .n_steps = 1,
                      .lookback_ms = o.lookback_ms,
                      .max_samples = o.max_samples,
                      .err = err,
                      .deadline_ns = omega_mono_ns() + o.timeout_ms * 1000000};
    qvalue_t v;
    *out = NULL;
    int rc = eval_node(&ev, &n, &v);
    omega_vector_t *vec = omega_calloc(1, sizeof(*vec));
    vec->items = omega_calloc(v.n_series + 1, sizeof(omega_vector_item_t));
    for (size_t i = 0; rc == 0 && i < v.n_series; i++) {
        if (!v.series[i].has[0])
            continue;
        omega_vector_item_t *it = &vec->items[vec->n++];
        it->labels = v.series[i].lbl.v;
        it->n_labels = v.series[i].lbl.n;
        it->ts_ms = t_ms;
        it->value = v.series[i].val[0];
        v.series[i].lbl.v = NULL;
        v.series[i].lbl.n = 0;
    }
    qvalue_free(&v);
    if (rc != 0) {
        omega_vector_destroy(vec);
        return rc;
    }
    *out = vec;
    return 0;
}

void omega_vector_destroy(omega_vector_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        lset_t l = {v->items[i].labels, v->items[i].n_labels};
        lset_free(&l);
    }
    free(v->items);
    free(v);
}

int omega_query_check_instant_vector(const char *expr, omega_error_t *err)
{
    node_t *n = NULL;
    int rc = query_parse(expr, &n, err);
    if (rc != 0)
        return rc;
    vtype_t t = node_type(n);
    node_free(n);
    if (t != VT_VECTOR)
        return omega_error_set(err, OMEGA_EINVAL,
                               "expression must evaluate to an instant vector, not a %s",
                               vtype_name(t));
    return 0;
}
