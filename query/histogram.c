/* SPDX-License-Identifier: Apache-2.0 */
/* histogram_quantile(φ, buckets): groups bucket series by their labels without "le",
 * then per step sorts the buckets, merges equal bounds, forces monotonic counts and
 * interpolates linearly inside the bucket holding the rank (Prometheus' bucketQuantile). */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
    double upper; /* le */
    double count; /* cumulative count */
} bucket_t;

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const bucket_t *)a)->upper, y = ((const bucket_t *)b)->upper;
    return x < y ? -1 : x > y;
}

static double bucket_quantile(double q, bucket_t *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(b, n, sizeof(bucket_t), cmp_bucket);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0)
        return NAN;
    size_t m = 0; /* coalesce equal bounds */
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && b[m - 1].upper == b[i].upper)
            b[m - 1].count += b[i].count;
        else
            b[m++] = b[i];
    }
    double max = -INFINITY;
    for (size_t i = 0; i < m; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (m < 2)
        return NAN;
    double obs = b[m - 1].count;
    if (obs == 0)
        return NAN;
    double rank = q * obs;
    size_t k = 0;
    while (k < m - 1 && !(b[k].count >= rank))
        k++;
    if (k == m - 1)
        return b[m - 2].upper;
    if (k == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[k].upper, count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

typedef struct hmember {
    size_t idx;   /* input series */
    double upper; /* parsed le */
    char *key;    /* labels without le (name included, as 2.42 groups) */
} hmember_t;

static int cmp_hmember(const void *a, const void *b)
{
    const hmember_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static int parse_le(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

int eval_histogram_quantile(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    qvalue_t q = {0}, in = {0};
    int rc = eval_node(ev, n->args[0], &q);
    if (rc == 0)
        rc = eval_node(ev, n->args[1], &in);
    out->type = VT_VECTOR;
    hmember_t *m = omega_calloc(in.n_series + 1, sizeof(hmember_t));
    size_t nm = 0;
    static char *const le[] = {"le"};
    for (size_t i = 0; rc == 0 && i < in.n_series; i++) {
        if (parse_le(lset_get(&in.series[i].lbl, "le"), &m[nm].upper) != 0)
            continue; /* no or malformed bucket label: skipped, as Prometheus does */
        lset_t g = lset_filter(&in.series[i].lbl, le, 1, 0);
        m[nm].idx = i;
        m[nm++].key = lset_key(&g);
        lset_free(&g);
    }
    qsort(m, nm, sizeof(hmember_t), cmp_hmember);
    bucket_t *b = omega_malloc((nm + 1) * sizeof(bucket_t));
    for (size_t i = 0; rc == 0 && i < nm;) {
        size_t j = i;
        while (j < nm && strcmp(m[j].key, m[i].key) == 0)
            j++;
        static char *const drop[] = {"le", "__name__"};
        qseries_t *o =
            qvalue_add_series(ev, out, lset_filter(&in.series[m[i].idx].lbl, drop, 2, 0), &rc);
        for (size_t st = 0; o && st < ev->n_steps; st++) {
            size_t nb = 0;
            for (size_t k = i; k < j; k++) {
                const qseries_t *s = &in.series[m[k].idx];
                if (s->has[st]) {
                    b[nb].upper = m[k].upper;
                    b[nb++].count = s->val[st];
                }
            }
            if (nb == 0)
                continue;
            o->val[st] = bucket_quantile(q.scalar[st], b, nb);
            o->has[st] = 1;
        }
        i = j;
    }
    for (size_t i = 0; i < nm; i++)
        free(m[i].key);
    free(m);
    free(b);
    qvalue_free(&q);
    qvalue_free(&in);
    return rc ? rc : eval_dedupe(ev, out, 0);
}
