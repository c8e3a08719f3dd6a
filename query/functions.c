/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL functions of the subset: the range-vector functions (rate, irate, increase, delta,
 * deriv, predict_linear, *_over_time) computed per step over a sliding window of raw
 * samples, the element-wise instant-vector functions, histogram_quantile and time(), each
 * with Prometheus 2.42's arithmetic. */
#include "query_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const func_def_t funcs[] = {
    {"rate", F_RATE, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"irate", F_IRATE, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"increase", F_INCREASE, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"delta", F_DELTA, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"deriv", F_DERIV, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"predict_linear", F_PREDICT_LINEAR, {VT_MATRIX, VT_SCALAR}, 2, 2, VT_VECTOR},
    {"avg_over_time", F_AVG_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"min_over_time", F_MIN_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"max_over_time", F_MAX_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"sum_over_time", F_SUM_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"count_over_time", F_COUNT_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"last_over_time", F_LAST_OT, {VT_MATRIX}, 1, 1, VT_VECTOR},
    {"quantile_over_time", F_QUANTILE_OT, {VT_SCALAR, VT_MATRIX}, 2, 2, VT_VECTOR},
    {"abs", F_ABS, {VT_VECTOR}, 1, 1, VT_VECTOR},
    {"clamp_min", F_CLAMP_MIN, {VT_VECTOR, VT_SCALAR}, 2, 2, VT_VECTOR},
    {"clamp_max", F_CLAMP_MAX, {VT_VECTOR, VT_SCALAR}, 2, 2, VT_VECTOR},
    {"round", F_ROUND, {VT_VECTOR, VT_SCALAR}, 1, 2, VT_VECTOR},
    {"histogram_quantile", F_HISTOGRAM_QUANTILE, {VT_SCALAR, VT_VECTOR}, 2, 2, VT_VECTOR},
    {"time", F_TIME, {VT_SCALAR}, 0, 0, VT_SCALAR},
};

const func_def_t *query_func_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
        if (strlen(funcs[i].name) == len && strncmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}

/* ---- range-vector functions ---- */

/* Prometheus' extrapolatedRate: counter resets added back, extrapolation to the range
 * boundaries when the data comes within 1.1 average intervals of them, never below zero
 * for counters. */
static int extrapolated(const omega_sample_t *w, size_t n, int64_t range_start, int64_t range_end,
                        int64_t range_ms, int counter, int rate, int resets, double *out)
{
    if (n < 2)
        return 0;
    double result = w[n - 1].value - w[0].value;
    if (counter && resets) {
        double prev = w[0].value;
        for (size_t i = 1; i < n; i++) {
            if (w[i].value < prev)
                result += prev;
            prev = w[i].value;
        }
    }
    double to_start = (double)(w[0].ts_ms - range_start) / 1000;
    double to_end = (double)(range_end - w[n - 1].ts_ms) / 1000;
    double sampled = (double)(w[n - 1].ts_ms - w[0].ts_ms) / 1000;
    double avg_step = sampled / (double)(n - 1);
    if (counter && result > 0 && w[0].value >= 0) {
        double to_zero = sampled * (w[0].value / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg_step * 1.1, interval = sampled;
    interval += to_start < threshold ? to_start : avg_step / 2;
    interval += to_end < threshold ? to_end : avg_step / 2;
    double factor = interval / sampled;
    if (rate)
        factor /= (double)range_ms / 1000;
    *out = result * factor;
    return 1;
}

static int irate(const omega_sample_t *w, size_t n, double *out)
{
    if (n < 2)
        return 0;
    const omega_sample_t *last = &w[n - 1], *prev = &w[n - 2];
    double v = last->value < prev->value ? last->value : last->value - prev->value;
    int64_t dt = last->ts_ms - prev->ts_ms;
    if (dt == 0)
        return 0;
    *out = v / ((double)dt / 1000);
    return 1;
}

/* Least squares over (seconds since t0, value), as Prometheus' linearRegression. */
static void linreg(const omega_sample_t *w, size_t n, int64_t t0, double *slope, double *intercept)
{
    double sx = 0, sy = 0, sxy = 0, sx2 = 0, cnt = 0;
    int const_y = 1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && w[i].value != w[0].value)
            const_y = 0;
        double x = (double)(w[i].ts_ms - t0) / 1e3;
        cnt += 1;
        sx += x;
        sy += w[i].value;
        sxy += x * w[i].value;
        sx2 += x * x;
    }
    if (const_y) {
        *slope = isinf(w[0].value) ? NAN : 0;
        *intercept = isinf(w[0].value) ? NAN : w[0].value;
        return;
    }
    double cov = sxy - sx * sy / cnt, var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
}

static double over_time(func_id_t f, const omega_sample_t *w, size_t n)
{
    double acc = w[0].value;
    switch (f) {
    case F_AVG_OT: {
        /* A plain sum divided once when it stays finite (within a few ulps of 2.42's
         * running mean); the running mean, which cannot overflow, when it does not. */
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += w[i].value;
        if (isfinite(sum))
            return sum / (double)n;
        double mean = 0, count = 0;
        for (size_t i = 0; i < n; i++) {
            double v = w[i].value;
            count++;
            if (isinf(mean) && ((isinf(v) && (mean > 0) == (v > 0)) || (!isinf(v) && !isnan(v))))
                continue;
            mean += v / count - mean / count;
        }
        return mean;
    }
    case F_MIN_OT:
        for (size_t i = 0; i < n; i++)
            if (w[i].value < acc || isnan(acc))
                acc = w[i].value;
        return acc;
    case F_MAX_OT:
        for (size_t i = 0; i < n; i++)
            if (w[i].value > acc || isnan(acc))
                acc = w[i].value;
        return acc;
    case F_SUM_OT:
        acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += w[i].value;
        return acc;
    case F_COUNT_OT:
        return (double)n;
    default:
        return w[n - 1].value;
    }
}

/* *_over_time over points of which some are rollup buckets: the buckets' aggregates
 * combine (avg = sum / count; min and max skip NaN as min_over_time does). */
static double agg_over_time(func_id_t f, const omega_sample_t *w, const point_agg_t *a, size_t n)
{
    double sum = 0, cnt = 0, mn = a[0].min, mx = a[0].max;
    for (size_t i = 0; i < n; i++) {
        sum += a[i].sum;
        cnt += (double)a[i].count;
        if (a[i].min < mn || isnan(mn))
            mn = a[i].min;
        if (a[i].max > mx || isnan(mx))
            mx = a[i].max;
    }
    switch (f) {
    case F_AVG_OT:
        return sum / cnt;
    case F_MIN_OT:
        return mn;
    case F_MAX_OT:
        return mx;
    case F_SUM_OT:
        return sum;
    case F_COUNT_OT:
        return cnt;
    default:
        return w[n - 1].value;
    }
}

static int has_buckets(const point_agg_t *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        if (a[i].res_ms != 0)
            return 1;
    return 0;
}

/* One step of a range function over window w (n >= 0 samples, a NULL or their aggregates);
 * 1 when it yields a value. */
static int range_step(const node_t *call, const omega_sample_t *w, const point_agg_t *a, size_t n,
                      int64_t t, int64_t ref, double param, int resets, double *out)
{
    const node_t *m = call->func->id == F_QUANTILE_OT ? call->args[1] : call->args[0];
    int64_t rs = ref - m->range_ms;
    switch (call->func->id) {
    case F_RATE:
        return extrapolated(w, n, rs, ref, m->range_ms, 1, 1, resets, out);
    case F_INCREASE:
        return extrapolated(w, n, rs, ref, m->range_ms, 1, 0, resets, out);
    case F_DELTA:
        return extrapolated(w, n, rs, ref, m->range_ms, 0, 0, 0, out);
    case F_IRATE:
        return irate(w, n, out);
    case F_DERIV:
    case F_PREDICT_LINEAR: {
        if (n < 2)
            return 0;
        double slope, icpt;
        if (call->func->id == F_DERIV) {
            linreg(w, n, w[0].ts_ms, &slope, &icpt);
            *out = slope;
        } else {
            linreg(w, n, t, &slope, &icpt);
            *out = slope * param + icpt;
        }
        return 1;
    }
    case F_QUANTILE_OT: {
        if (n == 0)
            return 0;
        double *vals = omega_malloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++)
            vals[i] = w[i].value;
        *out = query_quantile(param, vals, n);
        free(vals);
        return 1;
    }
    default:
        if (n == 0)
            return 0;
        /* Windows of raw samples only keep Prometheus' exact arithmetic. */
        *out = has_buckets(a, n) ? agg_over_time(call->func->id, w, a, n)
                                 : over_time(call->func->id, w, n);
        return 1;
    }
}

/* Whether point i is a staleness marker (raw samples only: a bucket's aggregates stay). */
static int stale_at(const omega_sample_t *s, const point_agg_t *a, size_t i)
{
    uint64_t bits;
    memcpy(&bits, &s[i].value, sizeof(bits));
    return bits == 0x7ff0000000000002ULL && (!a || a[i].res_ms == 0);
}

/* Which rollup data a range function can use (tiers.c picks the tier). */
static fetch_use_t range_use(func_id_t f)
{
    switch (f) {
    case F_AVG_OT:
    case F_MIN_OT:
    case F_MAX_OT:
    case F_SUM_OT:
    case F_COUNT_OT:
    case F_LAST_OT:
        return FETCH_RANGE_AGG;
    case F_RATE:
    case F_INCREASE:
    case F_DELTA:
        return FETCH_RANGE_LAST;
    default:
        return FETCH_RAW;
    }
}

/* One range-function evaluation over series handed out concurrently
 * (eval_fetch_concurrent): each visit computes its series alone and only appending it to
 * out takes the lock. */
typedef struct range_ctx {
    evaluator_t *ev;       /* the evaluation */
    const node_t *call;    /* the function call */
    const node_t *m;       /* its matrix selector */
    const qvalue_t *param; /* scalar parameter per step, or none */
    qvalue_t *out;         /* series appended here, under lock */
    pthread_mutex_t lock;  /* guards out */
} range_ctx_t;

/* Whether values ever decrease (a counter reset; NaN never compares lower). */
static int has_reset(const raw_series_t *r)
{
    for (size_t k = 1; k < r->n; k++)
        if (r->samples[k].value < r->samples[k - 1].value)
            return 1;
    return 0;
}

/* A series without its staleness markers: r itself when it holds none (most), else a
 * copy (*copy set: free its samples and agg). *resets: whether its values ever decrease,
 * found in the same pass over the samples. */
static raw_series_t without_stale(const raw_series_t *r, int *copy, int *resets)
{
    size_t i = 0;
    int dec = 0;
    for (; i < r->n && !stale_at(r->samples, r->agg, i); i++)
        dec |= i > 0 && r->samples[i].value < r->samples[i - 1].value;
    *copy = i < r->n;
    *resets = dec;
    if (!*copy)
        return *r;
    raw_series_t d = {.lbl = r->lbl,
                      .samples = omega_malloc(r->n * sizeof(omega_sample_t)),
                      .agg = r->agg ? omega_malloc(r->n * sizeof(point_agg_t)) : NULL};
    for (size_t k = 0; k < r->n; k++) {
        if (k >= i && stale_at(r->samples, r->agg, k))
            continue;
        if (r->agg)
            d.agg[d.n] = r->agg[k];
        d.samples[d.n++] = r->samples[k];
    }
    *resets = has_reset(&d);
    return d;
}

/* The function's value at every step over one series' windows into val and has; resets:
 * whether the series holds a counter reset (most do not: their windows skip the scan). */
static void range_values(const range_ctx_t *c, const raw_series_t *r, int resets, double *val,
                         uint8_t *has)
{
    const evaluator_t *ev = c->ev;
    const node_t *m = c->m;
    size_t lo = 0, hi = 0;
    for (size_t st = 0; st < ev->n_steps; st++) {
        int64_t t = ev_time(ev, st), ref = t - m->offset_ms;
        while (hi < r->n && r->samples[hi].ts_ms <= ref)
            hi++;
        /* 2.42's window is closed on both ends: [ref - range, ref]. */
        while (lo < hi && r->samples[lo].ts_ms < ref - m->range_ms)
            lo++;
        double p = c->param->scalar ? c->param->scalar[st] : 0;
        const point_agg_t *a = r->agg ? r->agg + lo : NULL;
        has[st] =
            (uint8_t)range_step(c->call, r->samples + lo, a, hi - lo, t, ref, p, resets, &val[st]);
    }
}

static int range_series(void *ctx, raw_series_t *in)
{
    range_ctx_t *c = ctx;
    evaluator_t *ev = c->ev;
    int rc = eval_charge(ev, ev->n_steps);
    if (rc != 0)
        return rc;
    int copy, resets;
    raw_series_t r = without_stale(in, &copy, &resets);
    double *val = omega_calloc(ev->n_steps, sizeof(double));
    uint8_t *has = omega_calloc(ev->n_steps, 1);
    range_values(c, &r, resets, val, has);
    if (copy) {
        free(r.samples);
        free(r.agg);
    }
    if (c->call->func->id != F_LAST_OT)
        lset_drop(&in->lbl, "__name__");
    pthread_mutex_lock(&c->lock);
    qvalue_append(c->out, in->lbl, val, has);
    pthread_mutex_unlock(&c->lock);
    in->lbl = (lset_t){0};
    return 0;
}

static int eval_range_func(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    int qot = n->func->id == F_QUANTILE_OT;
    const node_t *m = n->args[qot ? 1 : 0];
    qvalue_t param = {0};
    int rc = 0;
    if (n->n_args == 2 && (rc = eval_node(ev, n->args[qot ? 0 : 1], &param)) != 0)
        return rc;
    int64_t last = ev_time(ev, ev->n_steps - 1);
    range_ctx_t c = {.ev = ev, .call = n, .m = m, .param = &param, .out = out};
    pthread_mutex_init(&c.lock, NULL);
    out->type = VT_VECTOR;
    /* Series come in any order: eval_dedupe sorts them by labels. */
    rc =
        eval_fetch_concurrent(ev, m, range_use(n->func->id), ev->start - m->offset_ms - m->range_ms,
                              last - m->offset_ms, range_series, &c);
    pthread_mutex_destroy(&c.lock);
    qvalue_free(&param);
    return rc ? rc : eval_dedupe(ev, out, 1);
}

/* ---- instant-vector functions ---- */

static double apply_simple(func_id_t f, double v, double p)
{
    switch (f) {
    case F_ABS:
        return fabs(v);
    case F_CLAMP_MIN:
        return isnan(v) || isnan(p) ? NAN : (v < p ? p : v);
    case F_CLAMP_MAX:
        return isnan(v) || isnan(p) ? NAN : (v > p ? p : v);
    default: {
        double inv = 1.0 / p;
        return floor(v * inv + 0.5) / inv;
    }
    }
}

static int eval_simple_func(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    qvalue_t param = {0};
    int rc = eval_node(ev, n->args[0], out);
    if (rc == 0 && n->n_args == 2)
        rc = eval_node(ev, n->args[1], &param);
    for (size_t i = 0; rc == 0 && i < out->n_series; i++) {
        qseries_t *s = &out->series[i];
        lset_drop(&s->lbl, "__name__");
        for (size_t st = 0; st < ev->n_steps; st++)
            if (s->has[st])
                s->val[st] =
                    apply_simple(n->func->id, s->val[st], param.scalar ? param.scalar[st] : 1);
    }
    qvalue_free(&param);
    return rc ? rc : eval_dedupe(ev, out, 0);
}

int eval_call(evaluator_t *ev, const node_t *n, qvalue_t *out)
{
    switch (n->func->id) {
    case F_TIME:
        out->type = VT_SCALAR;
        out->scalar = omega_malloc(ev->n_steps * sizeof(double));
        for (size_t st = 0; st < ev->n_steps; st++)
            out->scalar[st] = (double)ev_time(ev, st) / 1000;
        return 0;
    case F_ABS:
    case F_CLAMP_MIN:
    case F_CLAMP_MAX:
    case F_ROUND:
        return eval_simple_func(ev, n, out);
    case F_HISTOGRAM_QUANTILE:
        return eval_histogram_quantile(ev, n, out);
    default:
        return eval_range_func(ev, n, out);
    }
}
