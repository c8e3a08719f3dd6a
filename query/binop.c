/* SPDX-License-Identifier: Apache-2.0 */
/* Binary operators: arithmetic (+ - * /) and comparisons (with or without bool) between
 * scalars, vector and scalar, and two vectors matched one-to-one on all labels but the
 * name, on(...) or ignoring(...), with Prometheus 2.42's rules for which results keep the
 * metric name and which duplicates are errors. */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

/* Value of l op r; *keep says whether a comparison holds (1 for arithmetic). */
static double elem(tok_kind_t op, double l, double r, int *keep)
{
    *keep = 1;
    switch (op) {
    case T_ADD:
        return l + r;
    case T_SUB:
        return l - r;
    case T_MUL:
        return l * r;
    case T_DIV:
        return l / r;
    case T_EQLC:
        *keep = l == r;
        break;
    case T_NEQ:
        *keep = l != r;
        break;
    case T_GTR:
        *keep = l > r;
        break;
    case T_LSS:
        *keep = l < r;
        break;
    case T_GTE:
        *keep = l >= r;
        break;
    case T_LTE:
        *keep = l <= r;
        break;
    default:
        break;
    }
    return l;
}

static int drops_name(const node_t *n)
{
    return !op_is_comparison(n->op) || n->return_bool;
}

static void scalar_scalar(evaluator_t *ev, const node_t *n, qvalue_t *l, const qvalue_t *r)
{
    for (size_t st = 0; st < ev->n_steps; st++) {
        int keep;
        double v = elem(n->op, l->scalar[st], r->scalar[st], &keep);
        l->scalar[st] = op_is_comparison(n->op) ? (keep ? 1 : 0) : v;
    }
}

/* vec is modified in place; swap: the scalar was the left operand. */
static int vector_scalar(evaluator_t *ev, const node_t *n, qvalue_t *vec, const qvalue_t *sc,
                         int swap)
{
    for (size_t i = 0; i < vec->n_series; i++) {
        qseries_t *s = &vec->series[i];
        if (drops_name(n))
            lset_drop(&s->lbl, "__name__");
        for (size_t st = 0; st < ev->n_steps; st++) {
            if (!s->has[st])
                continue;
            double lv = s->val[st], rv = sc->scalar[st];
            int keep;
            double v = swap ? elem(n->op, rv, lv, &keep) : elem(n->op, lv, rv, &keep);
            if (op_is_comparison(n->op) && swap)
                v = lv;
            if (n->return_bool) {
                v = keep ? 1 : 0;
                keep = 1;
            }
            s->has[st] = (uint8_t)keep;
            s->val[st] = v;
        }
    }
    return eval_dedupe(ev, vec, 0);
}

typedef struct sig {
    size_t idx; /* series */
    char *key;  /* matching signature */
} sig_t;

static int cmp_sig(const void *a, const void *b)
{
    const sig_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static sig_t *signatures(const node_t *n, const qvalue_t *v)
{
    sig_t *s = omega_calloc(v->n_series + 1, sizeof(sig_t));
    for (size_t i = 0; i < v->n_series; i++) {
        lset_t l = lset_filter(&v->series[i].lbl, n->labels, n->n_labels, n->matching_on == 1);
        if (n->matching_on != 1)
            lset_drop(&l, "__name__");
        s[i].idx = i;
        s[i].key = lset_key(&l);
        lset_free(&l);
    }
    qsort(s, v->n_series, sizeof(sig_t), cmp_sig);
    return s;
}

static void free_sigs(sig_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].key);
    free(s);
}

static lset_t result_labels(const node_t *n, const lset_t *l)
{
    lset_t out = lset_dup(l);
    if (drops_name(n))
        lset_drop(&out, "__name__");
    if (n->matching_on == 1) {
        lset_t k = lset_filter(&out, n->labels, n->n_labels, 1);
        lset_free(&out);
        return k;
    }
    if (n->matching_on == 2) {
        lset_t k = lset_filter(&out, n->labels, n->n_labels, 0);
        lset_free(&out);
        return k;
    }
    return out;
}

/* The one present series of the group [b, e) of sigs at step st: index, -1 none, -2 many. */
static long present_one(const qvalue_t *v, const sig_t *s, size_t b, size_t e, size_t st)
{
    long found = -1;
    for (size_t i = b; i < e; i++) {
        if (!v->series[s[i].idx].has[st])
            continue;
        if (found >= 0)
            return -2;
        found = (long)s[i].idx;
    }
    return found;
}

static size_t group_end(const sig_t *s, size_t n, size_t b)
{
    size_t e = b + 1;
    while (e < n && strcmp(s[e].key, s[b].key) == 0)
        e++;
    return e;
}

/* Prometheus checks the right side for duplicates before matching, whenever both sides
 * have elements at the step. */
static int right_unique(evaluator_t *ev, const qvalue_t *l, const qvalue_t *r, const sig_t *rs,
                        size_t st)
{
    int any = 0;
    for (size_t i = 0; i < l->n_series && !any; i++)
        any = l->series[i].has[st];
    for (size_t b = 0; any && b < r->n_series;) {
        size_t e = group_end(rs, r->n_series, b);
        if (present_one(r, rs, b, e, st) == -2)
            return omega_error_set(
                ev->err, OMEGA_EEXIST,
                "found duplicate series for the match group on the "
                "right hand-side of the operation; many-to-many matching not allowed: "
                "matching labels must be unique on one side");
        b = e;
    }
    return 0;
}

static int vector_vector(evaluator_t *ev, const node_t *n, const qvalue_t *l, const qvalue_t *r,
                         qvalue_t *out)
{
    sig_t *ls = signatures(n, l), *rs = signatures(n, r);
    int rc = 0;
    out->type = VT_VECTOR;
    /* Output series index per left series (indices: adding series may move them). */
    long *o = omega_malloc((l->n_series + 1) * sizeof(long));
    for (size_t i = 0; i < l->n_series; i++)
        o[i] = -1;
    for (size_t st = 0; st < ev->n_steps && rc == 0 && r->n_series; st++)
        rc = right_unique(ev, l, r, rs, st);
    size_t ri = 0;
    for (size_t li = 0; li < l->n_series && rc == 0;) {
        size_t le = group_end(ls, l->n_series, li);
        while (ri < r->n_series && strcmp(rs[ri].key, ls[li].key) < 0)
            ri = group_end(rs, r->n_series, ri);
        size_t re = ri < r->n_series && strcmp(rs[ri].key, ls[li].key) == 0
                        ? group_end(rs, r->n_series, ri)
                        : ri;
        for (size_t st = 0; re > ri && st < ev->n_steps && rc == 0; st++) {
            long rv = present_one(r, rs, ri, re, st), lv = present_one(l, ls, li, le, st);
            if (rv >= 0 && lv == -2)
                rc = omega_error_set(ev->err, OMEGA_EEXIST,
                                     "multiple matches for labels: many-to-one matching "
                                     "must be explicit (group_left/group_right)");
            if (rc != 0 || rv < 0 || lv < 0)
                continue;
            int keep;
            double v = elem(n->op, l->series[lv].val[st], r->series[rv].val[st], &keep);
            if (n->return_bool) {
                v = keep ? 1 : 0;
                keep = 1;
            }
            if (!keep)
                continue;
            if (o[lv] < 0) {
                if (!qvalue_add_series(ev, out, result_labels(n, &l->series[lv].lbl), &rc))
                    continue;
                o[lv] = (long)out->n_series - 1;
            }
            out->series[o[lv]].has[st] = 1;
            out->series[o[lv]].val[st] = v;
        }
        li = le;
    }
    free(o);
    free_sigs(ls, l->n_series);
    free_sigs(rs, r->n_series);
    return rc ? rc : eval_dedupe(ev, out, 0);
}

int eval_binary(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    qvalue_t l = {0}, r = {0};
    int rc = eval_node(ev, n->lhs, &l);
    if (rc == 0)
        rc = eval_node(ev, n->rhs, &r);
    if (rc == 0) {
        if (l.type == VT_SCALAR && r.type == VT_SCALAR) {
            scalar_scalar(ev, n, &l, &r);
            *out = l;
            memset(&l, 0, sizeof(l));
        } else if (l.type == VT_VECTOR && r.type == VT_SCALAR) {
            rc = vector_scalar(ev, n, &l, &r, 0);
            *out = l;
            memset(&l, 0, sizeof(l));
        } else if (l.type == VT_SCALAR) {
            rc = vector_scalar(ev, n, &r, &l, 1);
            *out = r;
            memset(&r, 0, sizeof(r));
        } else {
            rc = vector_vector(ev, n, &l, &r, out);
        }
    }
    qvalue_free(&l);
    qvalue_free(&r);
    return rc;
}
