/* SPDX-License-Identifier: Apache-2.0 */
/* Aggregation operators (sum, avg, min, max, count, stddev, quantile, topk, bottomk) with
 * by/without grouping, per step, with Prometheus 2.42's accumulation order and arithmetic
 * (incremental mean, Welford-style population stddev, NaN-aware min/max). */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* NaN sorts first, as Prometheus' vectorByValueHeap. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y;
}

double query_quantile(double q, double *vals, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof(double), cmp_double);
    double rank = q * (double)(n - 1);
    double lower = fmax(0, floor(rank)), upper = fmin((double)n - 1, lower + 1);
    double weight = rank - floor(rank);
    return vals[(size_t)lower] * (1 - weight) + vals[(size_t)upper] * weight;
}

typedef struct member {
    size_t idx; /* input series */
    char *key;  /* group key */
} member_t;

static int cmp_member(const void *a, const void *b)
{
    const member_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static lset_t group_labels(const node_t *n, const lset_t *l)
{
    if (!n->without)
        return lset_filter(l, n->labels, n->n_labels, 1);
    lset_t g = lset_filter(l, n->labels, n->n_labels, 0);
    lset_drop(&g, "__name__");
    return g;
}

/* One group at one step for the value-producing operators; 1 when it yields a value. */
static int reduce(agg_op_t op, const qvalue_t *in, const member_t *m, size_t n, size_t st,
                  double param, double *scratch, double *out)
{
    double value = 0, mean = 0, count = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const qseries_t *s = &in->series[m[i].idx];
        if (!s->has[st])
            continue;
        double v = s->val[st];
        if (count == 0) {
            value = op == A_STDDEV ? 0 : v;
            mean = v;
            count = 1;
            scratch[k++] = v;
            continue;
        }
        count++;
        scratch[k++] = v;
        switch (op) {
        case A_SUM:
            value += v;
            break;
        case A_MIN:
            if (value > v || isnan(value))
                value = v;
            break;
        case A_MAX:
            if (value < v || isnan(value))
                value = v;
            break;
        case A_AVG:
            if (isinf(mean) && ((isinf(v) && (mean > 0) == (v > 0)) || (!isinf(v) && !isnan(v))))
                break;
            mean += v / count - mean / count;
            break;
        case A_STDDEV: {
            double delta = v - mean;
            mean += delta / count;
            value += delta * (v - mean);
            break;
        }
        default:
            break;
        }
    }
    if (count == 0)
        return 0;
    switch (op) {
    case A_AVG:
        *out = mean;
        break;
    case A_COUNT:
        *out = count;
        break;
    case A_STDDEV:
        *out = sqrt(value / count);
        break;
    case A_QUANTILE:
        *out = query_quantile(param, scratch, k);
        break;
    default:
        *out = value;
        break;
    }
    return 1;
}

typedef struct ranked {
    double v;   /* value */
    size_t pos; /* member position, for a stable order */
} ranked_t;

static int cmp_top(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    int nx = isnan(x->v), ny = isnan(y->v);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->pos < y->pos ? -1 : 1;
}

static int cmp_bottom(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    int nx = isnan(x->v), ny = isnan(y->v);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->pos < y->pos ? -1 : 1;
}

/* topk/bottomk: out->series[j] mirrors member j; mark the chosen ones present. */
static void select_k(agg_op_t op, const qvalue_t *in, const member_t *m, size_t n, size_t first,
                     size_t st, double param, ranked_t *scratch, qvalue_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const qseries_t *s = &in->series[m[i].idx];
        if (s->has[st]) {
            scratch[k].v = s->val[st];
            scratch[k++].pos = i;
        }
    }
    double want = isnan(param) ? 0 : param;
    if (want < 1 || k == 0)
        return;
    qsort(scratch, k, sizeof(ranked_t), op == A_TOPK ? cmp_top : cmp_bottom);
    size_t take = want >= (double)k ? k : (size_t)want;
    for (size_t i = 0; i < take; i++) {
        qseries_t *o = &out->series[first + scratch[i].pos];
        o->has[st] = 1;
        o->val[st] = scratch[i].v;
    }
}

static int build_groups(evaluator_t *ev, const node_t *n, const qvalue_t *in, qvalue_t *out,
                        member_t *m, size_t *gstart, size_t *ngroups)
{
    int rc = 0;
    size_t g = 0;
    for (size_t i = 0; i < in->n_series && rc == 0; i++) {
        if (i > 0 && strcmp(m[i].key, m[i - 1].key) == 0)
            continue;
        gstart[g++] = i;
        if (n->agg != A_TOPK && n->agg != A_BOTTOMK)
            qvalue_add_series(ev, out, group_labels(n, &in->series[m[i].idx].lbl), &rc);
    }
    gstart[g] = in->n_series;
    *ngroups = g;
    for (size_t i = 0; rc == 0 && (n->agg == A_TOPK || n->agg == A_BOTTOMK) && i < in->n_series;
         i++)
        qvalue_add_series(ev, out, lset_dup(&in->series[m[i].idx].lbl), &rc);
    return rc;
}

int eval_aggregate(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    qvalue_t in = {0}, param = {0};
    int rc = eval_node(ev, n->args[0], &in);
    if (rc == 0 && n->args[1])
        rc = eval_node(ev, n->args[1], &param);
    out->type = VT_VECTOR;
    size_t ns = in.n_series, ngroups = 0;
    member_t *m = omega_calloc(ns + 1, sizeof(member_t));
    size_t *gstart = omega_calloc(ns + 1, sizeof(size_t));
    double *scratch = omega_malloc((ns + 1) * sizeof(double));
    ranked_t *ranked = omega_malloc((ns + 1) * sizeof(ranked_t));
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        lset_t g = group_labels(n, &in.series[i].lbl);
        m[i].idx = i;
        m[i].key = lset_key(&g);
        lset_free(&g);
    }
    if (rc == 0) {
        qsort(m, ns, sizeof(member_t), cmp_member);
        rc = build_groups(ev, n, &in, out, m, gstart, &ngroups);
    }
    for (size_t st = 0; rc == 0 && st < ev->n_steps; st++) {
        double p = param.scalar ? param.scalar[st] : 0;
        for (size_t g = 0; g < ngroups; g++) {
            const member_t *gm = m + gstart[g];
            size_t gn = gstart[g + 1] - gstart[g];
            if (n->agg == A_TOPK || n->agg == A_BOTTOMK) {
                select_k(n->agg, &in, gm, gn, gstart[g], st, p, ranked, out);
            } else {
                qseries_t *o = &out->series[g];
                o->has[st] = (uint8_t)reduce(n->agg, &in, gm, gn, st, p, scratch, &o->val[st]);
            }
        }
        if (st % 64 == 0)
            rc = eval_charge(ev, 0);
    }
    for (size_t i = 0; i < ns; i++)
        free(m[i].key);
    free(m);
    free(gstart);
    free(scratch);
    free(ranked);
    qvalue_free(&in);
    qvalue_free(&param);
    return rc;
}
