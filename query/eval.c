/* SPDX-License-Identifier: Apache-2.0 */
/* Evaluator core: walks the tree over every step at once (each node yields a scalar per
 * step or series with a value per step), reads storage in exactly two places (eval_fetch_each,
 * one series at a time, which hands coarse steps to tiers.c; eval_fetch_raw for a bare range
 * selector's answer), enforces the sample budget and the deadline, and
 * evaluates selectors, literals and unary minus. Functions, aggregations and binary
 * operators live in functions.c, aggregate.c and binop.c. */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int eval_charge(evaluator_t *ev, uint64_t n)
{
    uint64_t used = atomic_fetch_add(&ev->used, n) + n;
    int rc = 0;
    if (used > ev->max_samples)
        rc = OMEGA_E2BIG;
    else if (omega_mono_ns() > ev->deadline_ns)
        rc = OMEGA_ETIMEDOUT;
    if (rc == 0 || atomic_exchange(&ev->failed, 1))
        return rc;
    if (rc == OMEGA_E2BIG)
        return omega_error_set(ev->err, OMEGA_E2BIG,
                               "query processing would load too many samples into memory in "
                               "query execution (limit %llu)",
                               (unsigned long long)ev->max_samples);
    return omega_error_set(ev->err, OMEGA_ETIMEDOUT, "query timed out in expression evaluation");
}

void qvalue_free(qvalue_t *v)
{
    free(v->scalar);
    for (size_t i = 0; i < v->n_series; i++) {
        lset_free(&v->series[i].lbl);
        free(v->series[i].val);
        free(v->series[i].has);
    }
    free(v->series);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

void qvalue_append(qvalue_t *v, lset_t lbl, double *val, uint8_t *has)
{
    /* Grow in powers of two: n_series is the only count kept. */
    if ((v->n_series & (v->n_series - 1)) == 0)
        v->series =
            omega_realloc(v->series, (v->n_series ? v->n_series * 2 : 1) * sizeof(qseries_t));
    qseries_t *s = &v->series[v->n_series++];
    s->lbl = lbl;
    s->val = val;
    s->has = has;
}

qseries_t *qvalue_add_series(evaluator_t *ev, qvalue_t *v, lset_t lbl, int *rc)
{
    *rc = eval_charge(ev, ev->n_steps);
    if (*rc != 0) {
        lset_free(&lbl);
        return NULL;
    }
    qvalue_append(v, lbl, omega_calloc(ev->n_steps, sizeof(double)), omega_calloc(ev->n_steps, 1));
    return &v->series[v->n_series - 1];
}

/* ---- storage access: the only place the engine reads samples ---- */

typedef struct fetch_ctx {
    evaluator_t *ev; /* budget and deadline */
    raw_series_t *v; /* collected series */
    size_t n, cap;   /* used / allocated */
} fetch_ctx_t;

static int on_series(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    fetch_ctx_t *c = ctx;
    int rc = eval_charge(c->ev, n + 1);
    if (rc != 0)
        return rc;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = omega_realloc(c->v, c->cap * sizeof(raw_series_t));
    }
    raw_series_t *r = &c->v[c->n++];
    r->lbl = lset_from_series(s);
    r->samples = omega_malloc((n ? n : 1) * sizeof(omega_sample_t));
    memcpy(r->samples, samples, n * sizeof(omega_sample_t));
    r->agg = NULL;
    r->n = n;
    return 0;
}

int eval_fetch_raw(evaluator_t *ev, const node_t *sel, int64_t mint, int64_t maxt,
                   raw_series_t **out, size_t *n)
{
    fetch_ctx_t c = {.ev = ev};
    omega_error_t serr;
    omega_error_clear(&serr);
    int rc =
        omega_tsdb_select(ev->db, sel->matchers, sel->n_matchers, mint, maxt, on_series, &c, &serr);
    if (rc != 0) {
        /* Budget and deadline errors are already in ev->err; storage errors are copied. */
        if (rc != OMEGA_E2BIG && rc != OMEGA_ETIMEDOUT && ev->err)
            *ev->err = serr;
        raw_series_free(c.v, c.n);
        return rc;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* eval_fetch_each's storage callback: one series handed to the visitor without copying. */
typedef struct each_ctx {
    evaluator_t *ev;  /* budget and deadline */
    fetch_each_fn fn; /* visitor */
    void *ctx;        /* its context */
} each_ctx_t;

static int on_each(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    each_ctx_t *c = ctx;
    int rc = eval_charge(c->ev, n + 1);
    if (rc != 0)
        return rc;
    /* The samples stay storage's: the visitor reads them and keeps nothing. */
    raw_series_t r = {.lbl = lset_from_series(s), .samples = (omega_sample_t *)samples, .n = n};
    rc = c->fn(c->ctx, &r);
    lset_free(&r.lbl);
    return rc;
}

static int fetch_each(evaluator_t *ev, const node_t *sel, fetch_use_t use, int64_t mint,
                      int64_t maxt, fetch_each_fn fn, void *ctx, int concurrent)
{
    int tier = tier_choose(ev, sel, use);
    if (tier != 0)
        return tier_fetch_each(ev, sel, use, tier, mint, maxt, fn, ctx, concurrent);
    each_ctx_t c = {.ev = ev, .fn = fn, .ctx = ctx};
    omega_error_t serr;
    omega_error_clear(&serr);
    int rc = (concurrent ? omega_tsdb_select_concurrent : omega_tsdb_select)(
        ev->db, sel->matchers, sel->n_matchers, mint, maxt, on_each, &c, &serr);
    /* Budget, deadline and visitor errors are already in ev->err; storage errors are copied. */
    if (rc != 0 && rc != OMEGA_E2BIG && rc != OMEGA_ETIMEDOUT && serr.code != 0 && ev->err)
        *ev->err = serr;
    return rc;
}

int eval_fetch_each(evaluator_t *ev, const node_t *sel, fetch_use_t use, int64_t mint, int64_t maxt,
                    fetch_each_fn fn, void *ctx)
{
    return fetch_each(ev, sel, use, mint, maxt, fn, ctx, 0);
}

int eval_fetch_concurrent(evaluator_t *ev, const node_t *sel, fetch_use_t use, int64_t mint,
                          int64_t maxt, fetch_each_fn fn, void *ctx)
{
    return fetch_each(ev, sel, use, mint, maxt, fn, ctx, 1);
}

void raw_series_free(raw_series_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lset_free(&r[i].lbl);
        free(r[i].samples);
        free(r[i].agg);
    }
    free(r);
}

/* Prometheus' staleness marker, a NaN with this exact bit pattern. */
static int is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == 0x7ff0000000000002ULL;
}

typedef struct vsel_ctx {
    evaluator_t *ev;   /* the evaluation */
    const node_t *sel; /* the selector */
    qvalue_t *out;     /* series appended here */
} vsel_ctx_t;

/* One series of an instant selector: its latest sample within the lookback at each step. */
static int vsel_series(void *ctx, raw_series_t *r)
{
    vsel_ctx_t *c = ctx;
    evaluator_t *ev = c->ev;
    int rc = 0;
    qseries_t *s = qvalue_add_series(ev, c->out, r->lbl, &rc);
    r->lbl = (lset_t){0};
    size_t k = 0; /* first sample newer than the reference time */
    for (size_t st = 0; s && st < ev->n_steps; st++) {
        int64_t ref = ev_time(ev, st) - c->sel->offset_ms;
        while (k < r->n && r->samples[k].ts_ms <= ref)
            k++;
        if (k == 0)
            continue;
        const omega_sample_t *sm = &r->samples[k - 1];
        /* 2.42 keeps a sample exactly lookback old: the window is [ref - 5m, ref]
         * (a bucket's last value: [ref - resolution, ref]). */
        if (sm->ts_ms < ref - point_lookback(ev, r, k - 1) || is_stale(sm->value))
            continue;
        s->val[st] = sm->value;
        s->has[st] = 1;
    }
    return rc;
}

static int eval_vector_sel(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    int64_t last = ev_time(ev, ev->n_steps - 1);
    vsel_ctx_t c = {.ev = ev, .sel = n, .out = out};
    out->type = VT_VECTOR;
    return eval_fetch_each(ev, n, FETCH_INSTANT, ev->start - n->offset_ms - ev->lookback_ms,
                           last - n->offset_ms, vsel_series, &c);
}

static int cmp_series(const void *a, const void *b)
{
    return lset_cmp(&((const qseries_t *)a)->lbl, &((const qseries_t *)b)->lbl);
}

int eval_dedupe(evaluator_t *ev, qvalue_t *v, int strict)
{
    if (v->type != VT_VECTOR || v->n_series < 2)
        return 0;
    qsort(v->series, v->n_series, sizeof(qseries_t), cmp_series);
    size_t o = 0;
    for (size_t i = 0; i < v->n_series; i++) {
        qseries_t *cur = &v->series[i];
        if (o > 0 && lset_cmp(&v->series[o - 1].lbl, &cur->lbl) == 0) {
            qseries_t *dst = &v->series[o - 1];
            int clash = strict;
            for (size_t st = 0; st < ev->n_steps && !clash; st++) {
                if (cur->has[st] && dst->has[st])
                    clash = 1;
                else if (cur->has[st]) {
                    dst->has[st] = 1;
                    dst->val[st] = cur->val[st];
                }
            }
            lset_free(&cur->lbl);
            free(cur->val);
            free(cur->has);
            if (clash) {
                /* Keep the tail freeable: move the rest down over the hole. */
                memmove(&v->series[o], &v->series[i + 1],
                        (v->n_series - i - 1) * sizeof(qseries_t));
                v->n_series = o + (v->n_series - i - 1);
                return omega_error_set(ev->err, OMEGA_EEXIST,
                                       "vector cannot contain metrics with the same labelset");
            }
            continue;
        }
        v->series[o++] = *cur;
    }
    v->n_series = o;
    return 0;
}

static int eval_unary(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    int rc = eval_node(ev, n->lhs, out);
    if (rc != 0)
        return rc;
    if (out->type == VT_SCALAR) {
        for (size_t st = 0; st < ev->n_steps; st++)
            out->scalar[st] = -out->scalar[st];
        return 0;
    }
    for (size_t i = 0; i < out->n_series; i++) {
        lset_drop(&out->series[i].lbl, "__name__");
        for (size_t st = 0; st < ev->n_steps; st++)
            out->series[i].val[st] = -out->series[i].val[st];
    }
    return eval_dedupe(ev, out, 1);
}

int eval_node(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    memset(out, 0, sizeof(*out));
    if (omega_mono_ns() > ev->deadline_ns)
        return omega_error_set(ev->err, OMEGA_ETIMEDOUT,
                               "query timed out in expression evaluation");
    switch (n->kind) {
    case N_NUMBER:
        out->type = VT_SCALAR;
        out->scalar = omega_malloc(ev->n_steps * sizeof(double));
        for (size_t st = 0; st < ev->n_steps; st++)
            out->scalar[st] = n->num;
        return 0;
    case N_STRING:
        out->type = VT_STRING;
        out->str = omega_strdup(n->str);
        return 0;
    case N_VECTOR_SEL:
        return eval_vector_sel(ev, n, out);
    case N_PAREN:
        return eval_node(ev, n->lhs, out);
    case N_UNARY:
        return eval_unary(ev, n, out);
    case N_CALL:
        return eval_call(ev, n, out);
    case N_AGG:
        return eval_aggregate(ev, n, out);
    case N_BINARY:
        return eval_binary(ev, n, out);
    case N_MATRIX_SEL:
        break;
    }
    return omega_error_set(ev->err, OMEGA_EINVAL, "a range vector cannot be evaluated here");
}
