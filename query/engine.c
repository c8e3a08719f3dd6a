/* SPDX-License-Identifier: Apache-2.0 */
/* Public face of the engine: checks the time range, parses, evaluates over the steps and
 * converts the step-aligned value into the typed result the server encodes. */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

void omega_query_opts_init(omega_query_opts_t *o)
{
    o->timeout_ms = 120000;
    o->max_samples = 50000000;
    o->lookback_ms = OMEGA_QUERY_LOOKBACK_MS;
}

static omega_label_t *take_labels(lset_t *l, size_t *n)
{
    omega_label_t *v = l->v;
    *n = l->n;
    l->v = NULL;
    l->n = 0;
    return v;
}

static void to_result(evaluator_t *ev, qvalue_t *v, int range, omega_query_result_t *r)
{
    if (v->type == VT_STRING) {
        r->type = OMEGA_QUERY_STRING;
        r->ts_ms = ev->start;
        r->string = v->str;
        v->str = NULL;
        return;
    }
    if (v->type == VT_SCALAR && !range) {
        r->type = OMEGA_QUERY_SCALAR;
        r->ts_ms = ev->start;
        r->scalar = v->scalar[0];
        return;
    }
    r->type = range ? OMEGA_QUERY_MATRIX : OMEGA_QUERY_VECTOR;
    if (v->type == VT_SCALAR) {
        r->series = omega_calloc(1, sizeof(omega_query_series_t));
        r->n_series = 1;
        r->series[0].labels = omega_calloc(1, sizeof(omega_label_t));
        r->series[0].points = omega_malloc(ev->n_steps * sizeof(omega_sample_t));
        for (size_t st = 0; st < ev->n_steps; st++)
            r->series[0].points[st] = (omega_sample_t){ev_time(ev, st), v->scalar[st]};
        r->series[0].n_points = ev->n_steps;
        return;
    }
    eval_dedupe(ev, v, 0); /* sorts by labels; duplicates were already rejected */
    r->series = omega_calloc(v->n_series + 1, sizeof(omega_query_series_t));
    for (size_t i = 0; i < v->n_series; i++) {
        qseries_t *s = &v->series[i];
        size_t np = 0;
        for (size_t st = 0; st < ev->n_steps; st++)
            np += s->has[st];
        if (np == 0)
            continue;
        omega_query_series_t *o = &r->series[r->n_series++];
        o->labels = take_labels(&s->lbl, &o->n_labels);
        o->points = omega_malloc(np * sizeof(omega_sample_t));
        for (size_t st = 0; st < ev->n_steps; st++)
            if (s->has[st])
                o->points[o->n_points++] = (omega_sample_t){ev_time(ev, st), s->val[st]};
    }
}

/* An instant query of a bare range selector returns its raw samples. */
static int raw_matrix(evaluator_t *ev, const node_t *n, omega_query_result_t *r)
{
    raw_series_t *raw = NULL;
    size_t nr = 0;
    int64_t ref = ev->start - n->offset_ms;
    int rc = eval_fetch_raw(ev, n, ref - n->range_ms, ref, &raw, &nr);
    if (rc != 0)
        return rc;
    r->type = OMEGA_QUERY_MATRIX;
    r->series = omega_calloc(nr + 1, sizeof(omega_query_series_t));
    for (size_t i = 0; i < nr; i++) {
        omega_query_series_t *o = &r->series[r->n_series++];
        o->labels = take_labels(&raw[i].lbl, &o->n_labels);
        o->points = raw[i].samples;
        o->n_points = raw[i].n;
        raw[i].samples = NULL;
        raw[i].n = 0;
    }
    raw_series_free(raw, nr);
    return 0;
}

static int check_range(int64_t start, int64_t end, int64_t step, size_t *n_steps,
                       omega_error_t *err)
{
    *n_steps = 1;
    if (start < -OMEGA_QUERY_MAX_TIME_MS || start > OMEGA_QUERY_MAX_TIME_MS ||
        (step > 0 && (end < -OMEGA_QUERY_MAX_TIME_MS || end > OMEGA_QUERY_MAX_TIME_MS)))
        return omega_error_set(err, OMEGA_EINVAL, "evaluation time out of range");
    if (step < 0)
        return omega_error_set(err, OMEGA_EINVAL,
                               "zero or negative query resolution step widths are not accepted");
    if (step == 0)
        return 0;
    if (end < start)
        return omega_error_set(err, OMEGA_EINVAL, "end timestamp must not be before start time");
    if ((end - start) / step >= OMEGA_QUERY_MAX_STEPS)
        return omega_error_set(err, OMEGA_EINVAL,
                               "exceeded maximum resolution of 11,000 points per "
                               "timeseries. Try decreasing the query resolution (?step=XX)");
    *n_steps = (size_t)((end - start) / step) + 1;
    return 0;
}

int omega_query_exec(omega_tsdb_t *db, const char *expr, int64_t start_ms, int64_t end_ms,
                     int64_t step_ms, const omega_query_opts_t *opts, omega_query_result_t **out,
                     omega_error_t *err)
{
    *out = NULL;
    omega_query_opts_t def;
    omega_query_opts_init(&def);
    if (!opts)
        opts = &def;
    /* A day at most keeps the nanosecond deadline far from overflow. */
    int64_t timeout_ms = opts->timeout_ms > 86400000 ? 86400000 : opts->timeout_ms;
    evaluator_t ev = {.db = db,
                      .start = start_ms,
                      .step = step_ms,
                      .lookback_ms = opts->lookback_ms,
                      .max_samples = opts->max_samples,
                      .err = err,
                      .deadline_ns = omega_mono_ns() + timeout_ms * 1000000};
    int rc = check_range(start_ms, end_ms, step_ms, &ev.n_steps, err);
    if (rc != 0)
        return rc;
    node_t *root = NULL;
    if ((rc = query_parse(expr, &root, err)) != 0)
        return rc;
    vtype_t t = node_type(root);
    if (step_ms > 0 && t != VT_SCALAR && t != VT_VECTOR) {
        node_free(root);
        return omega_error_set(err, OMEGA_EINVAL,
                               "invalid expression type \"%s\" for range query, "
                               "must be Scalar or instant Vector",
                               vtype_name(t));
    }
    omega_query_result_t *r = omega_calloc(1, sizeof(*r));
    if (t == VT_MATRIX) {
        const node_t *m = root;
        while (m->kind == N_PAREN)
            m = m->lhs;
        rc = raw_matrix(&ev, m, r);
    } else {
        qvalue_t v;
        rc = eval_node(&ev, root, &v);
        if (rc == 0)
            to_result(&ev, &v, step_ms > 0, r);
        qvalue_free(&v);
    }
    node_free(root);
    if (rc != 0) {
        omega_query_result_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
}

void omega_query_result_destroy(omega_query_result_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_series; i++) {
        lset_t l = {r->series[i].labels, r->series[i].n_labels};
        lset_free(&l);
        free(r->series[i].points);
    }
    free(r->series);
    free(r->string);
    free(r);
}
