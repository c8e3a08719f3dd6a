/* SPDX-License-Identifier: Apache-2.0 */
/* Automatic tier selection: picks the coarsest rollup tier a selector's step and range
 * allow, reads raw samples and every tier up to it, and merges them per series so that each
 * bucket is served by the finest source holding all of its samples (docs/api.md). */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

#define HOUR_MS  3600000LL
#define DAY_MS   (24 * HOUR_MS)
#define WEEK_MS  (7 * DAY_MS)
#define MONTH_MS (31 * DAY_MS) /* longest calendar month: mo1 fits only steps this long */

/* One point of a source: a raw sample or a bucket, with the span it covers. */
typedef struct tpoint {
    int64_t start, end; /* covered time [start, end) */
    omega_sample_t s;   /* last sample */
    point_agg_t a;      /* aggregates */
} tpoint_t;

/* One series of one source: raw samples (rank 0) as they are, buckets as points. */
typedef struct tseries {
    uint64_t id;         /* series id */
    int rank;            /* 0 raw, 1.. coarser tiers in merge order */
    lset_t lbl;          /* labels */
    tpoint_t *p;         /* points ascending (buckets, or raw samples once merged) */
    omega_sample_t *raw; /* raw samples ascending while p is NULL (rank 0) */
    size_t n;            /* entries in p or raw */
    int borrowed;        /* raw is storage's (read-only, not freed) */
} tseries_t;

typedef struct tcollect {
    evaluator_t *ev; /* budget and deadline */
    tseries_t *v;    /* collected series of every source */
    size_t n, cap;   /* used / allocated */
    int rank;        /* rank of the source being read */
    int tier;        /* its tier (0 = raw) */
} tcollect_t;

static int64_t tier_res(int tier)
{
    switch (tier) {
    case OMEGA_TSDB_TIER_H1:
        return HOUR_MS;
    case OMEGA_TSDB_TIER_D1:
        return DAY_MS;
    case OMEGA_TSDB_TIER_W1:
        return WEEK_MS;
    default:
        return MONTH_MS;
    }
}

static int64_t bucket_end(int tier, int64_t start)
{
    /* One resolution (31 days for months) past a start lies in the next bucket. */
    return omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, start + tier_res(tier));
}

int tier_choose(const evaluator_t *ev, const node_t *sel, fetch_use_t use)
{
    if (use == FETCH_RAW || (use == FETCH_INSTANT && ev->step <= 0))
        return 0;
    int64_t fit = ev->step;
    if (use != FETCH_INSTANT && (fit <= 0 || sel->range_ms < fit))
        fit = sel->range_ms;
    if (fit >= MONTH_MS)
        return OMEGA_TSDB_TIER_MO1;
    if (fit >= WEEK_MS)
        return OMEGA_TSDB_TIER_W1;
    if (fit >= DAY_MS)
        return OMEGA_TSDB_TIER_D1;
    return fit >= HOUR_MS ? OMEGA_TSDB_TIER_H1 : 0;
}

static tseries_t *collect_add(tcollect_t *c, const omega_series_t *s, size_t n, int *rc)
{
    *rc = eval_charge(c->ev, n + 1);
    if (*rc != 0)
        return NULL;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = omega_realloc(c->v, c->cap * sizeof(tseries_t));
    }
    tseries_t *t = &c->v[c->n++];
    t->id = s->id;
    t->rank = c->rank;
    t->lbl = lset_from_series(s);
    t->p = NULL;
    t->raw = NULL;
    t->n = n;
    t->borrowed = 0;
    return t;
}

/* Turn raw samples into points (each its own one-sample span) for a general merge. */
static void raw_to_points(tseries_t *t)
{
    if (!t->raw)
        return;
    t->p = omega_malloc((t->n ? t->n : 1) * sizeof(tpoint_t));
    for (size_t i = 0; i < t->n; i++) {
        double v = t->raw[i].value;
        t->p[i] = (tpoint_t){t->raw[i].ts_ms, t->raw[i].ts_ms + 1, t->raw[i], {v, v, v, 1, 0}};
    }
    if (!t->borrowed)
        free(t->raw);
    t->raw = NULL;
}

/* Whether every bucket of coarse holds at least as many of the raw samples as its count:
 * then merging changes nothing (the raw samples serve every bucket). */
static int raw_covers(const tseries_t *fine, const tseries_t *coarse)
{
    size_t j = 0;
    for (size_t i = 0; i < coarse->n; i++) {
        const tpoint_t *b = &coarse->p[i];
        while (j < fine->n && fine->raw[j].ts_ms < b->start)
            j++;
        size_t k = j;
        while (k < fine->n && fine->raw[k].ts_ms < b->end)
            k++;
        if ((uint64_t)(k - j) < b->a.count)
            return 0;
        j = k;
    }
    return 1;
}

static int on_buckets(void *ctx, const omega_series_t *s, const omega_tsdb_bucket_t *b, size_t n)
{
    tcollect_t *c = ctx;
    int rc;
    tseries_t *t = collect_add(c, s, n, &rc);
    int64_t res = tier_res(c->tier);
    if (t)
        t->p = omega_malloc((n ? n : 1) * sizeof(tpoint_t));
    for (size_t i = 0; t && i < n; i++)
        t->p[i] = (tpoint_t){b[i].start_ms,
                             bucket_end(c->tier, b[i].start_ms),
                             {b[i].last_ts_ms, b[i].last},
                             {b[i].sum, b[i].min, b[i].max, b[i].count, res}};
    return rc;
}

static void tseries_free(tseries_t *t)
{
    lset_free(&t->lbl);
    free(t->p);
    if (!t->borrowed)
        free(t->raw);
    t->p = NULL;
    t->raw = NULL;
}

/* Fine points inside a coarse bucket replace it when they hold at least its samples
 * (complete raw data, or a rollup not yet caught up); else the bucket serves. Points of
 * either side outside the other's spans are kept. Frees both inputs' points. */
static void merge_into(tseries_t *fine, tseries_t *coarse)
{
    tpoint_t *out = omega_malloc((fine->n + coarse->n + 1) * sizeof(tpoint_t));
    size_t o = 0, i = 0, j = 0;
    while (i < coarse->n || j < fine->n) {
        if (j < fine->n && (i == coarse->n || fine->p[j].start < coarse->p[i].start)) {
            out[o++] = fine->p[j++];
            continue;
        }
        const tpoint_t *cb = &coarse->p[i++];
        size_t k = j;
        uint64_t cnt = 0;
        while (k < fine->n && fine->p[k].start < cb->end)
            cnt += fine->p[k++].a.count;
        if (k > j && cnt >= cb->a.count) {
            memcpy(out + o, fine->p + j, (k - j) * sizeof(tpoint_t));
            o += k - j;
        } else {
            out[o++] = *cb;
        }
        j = k;
    }
    free(fine->p);
    fine->p = out;
    fine->n = o;
}

static int cmp_tseries(const void *a, const void *b)
{
    const tseries_t *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->rank - y->rank;
}

/* Merge the coarser sources of one series (ascending rank, freed here) into cur. Raw
 * samples stay as they are while they serve every bucket of the coarser sources (the
 * common case within raw retention: the answer is then a plain raw series, evaluated
 * without aggregates); the first bucket they cannot serve turns them into points. */
static void merge_series(tseries_t *cur, tseries_t *coarser, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!(cur->raw && raw_covers(cur, &coarser[i]))) {
            raw_to_points(cur);
            merge_into(cur, &coarser[i]);
        }
        tseries_free(&coarser[i]);
    }
}

/* Hand one merged series to the visitor (its labels may be taken), then free it. */
static int emit_series(tseries_t *cur, fetch_each_fn fn, void *ctx)
{
    int rc = 0;
    raw_series_t d = {.lbl = cur->lbl, .n = cur->n};
    if (cur->n == 0) {
        /* nothing in range */
    } else if (cur->raw) {
        d.samples = cur->raw;
        rc = fn(ctx, &d);
    } else {
        d.samples = omega_malloc(cur->n * sizeof(omega_sample_t));
        d.agg = omega_malloc(cur->n * sizeof(point_agg_t));
        for (size_t k = 0; k < cur->n; k++) {
            d.samples[k] = cur->p[k].s;
            d.agg[k] = cur->p[k].a;
        }
        rc = fn(ctx, &d);
        free(d.samples);
        free(d.agg);
    }
    cur->lbl = d.lbl;
    tseries_free(cur);
    return rc;
}

/* A tier read in progress: the buckets of every tier (read first, sorted by id then
 * rank, then only read), then raw samples streamed and merged with them one series at a
 * time; the tier series no raw series claimed are merged and handed out serially. */
typedef struct tstream {
    tcollect_t c;     /* the tiers' series */
    uint8_t *claimed; /* per entry of c.v: its id's raw series took it (one writer each) */
    size_t next;      /* serial mode: first entry not yet handed out or skipped */
    int concurrent;   /* raw series may arrive on several threads, in any order */
    fetch_each_fn fn; /* visitor */
    void *ctx;        /* its context */
} tstream_t;

/* The first entry of c.v with id at least id. */
static size_t tier_lower(const tstream_t *t, uint64_t id)
{
    size_t lo = 0, hi = t->c.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->c.v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Hand out every unclaimed tier-only series with an id below id (all: UINT64_MAX), in id
 * order. Serial. */
static int emit_tiers_before(tstream_t *t, uint64_t id)
{
    int rc = 0;
    while (rc == 0 && t->next < t->c.n && t->c.v[t->next].id < id) {
        size_t i = t->next, j = i + 1;
        while (j < t->c.n && t->c.v[j].id == t->c.v[i].id)
            j++;
        t->next = j;
        if (t->claimed[i])
            continue;
        t->claimed[i] = 1;
        merge_series(&t->c.v[i], &t->c.v[i + 1], j - i - 1);
        rc = emit_series(&t->c.v[i], t->fn, t->ctx);
    }
    return rc;
}

static int on_raw(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    tstream_t *t = ctx;
    int rc = eval_charge(t->c.ev, n + 1);
    if (rc == 0 && !t->concurrent)
        rc = emit_tiers_before(t, s->id);
    if (rc != 0)
        return rc;
    tseries_t cur = {.id = s->id,
                     .lbl = lset_from_series(s),
                     .n = n,
                     .raw = (omega_sample_t *)samples,
                     .borrowed = 1};
    size_t i = tier_lower(t, s->id), j = i;
    while (j < t->c.n && t->c.v[j].id == s->id)
        j++;
    if (j > i)
        t->claimed[i] = 1;
    merge_series(&cur, t->c.v + i, j - i);
    return emit_series(&cur, t->fn, t->ctx);
}

int tier_fetch_each(evaluator_t *ev, const node_t *sel, fetch_use_t use, int tier, int64_t mint,
                    int64_t maxt, fetch_each_fn fn, void *ctx, int concurrent)
{
    /* An instant selector looks back one resolution over buckets. Widen to whole buckets
     * of the coarsest tier so that sources compare like for like. */
    if (use == FETCH_INSTANT)
        mint -= tier_res(tier);
    int64_t lo = omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, mint);
    int64_t hi = bucket_end(tier, omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, maxt)) - 1;
    tstream_t t = {.c = {.ev = ev}, .concurrent = concurrent, .fn = fn, .ctx = ctx};
    omega_error_t serr;
    omega_error_clear(&serr);
    static const int chain_w[] = {OMEGA_TSDB_TIER_H1, OMEGA_TSDB_TIER_D1, OMEGA_TSDB_TIER_W1};
    static const int chain_mo[] = {OMEGA_TSDB_TIER_H1, OMEGA_TSDB_TIER_D1, OMEGA_TSDB_TIER_MO1};
    const int *chain = tier == OMEGA_TSDB_TIER_MO1 ? chain_mo : chain_w;
    int rc = 0;
    for (int k = 0; rc == 0 && k < 3 && chain[k] <= tier; k++) {
        t.c.rank = k + 1;
        t.c.tier = chain[k];
        rc = omega_tsdb_select_tier(ev->db, (omega_tsdb_tier_t)chain[k], sel->matchers,
                                    sel->n_matchers, lo, hi, on_buckets, &t.c, &serr);
    }
    if (rc == 0 && t.c.n > 1)
        qsort(t.c.v, t.c.n, sizeof(tseries_t), cmp_tseries);
    t.claimed = omega_calloc(t.c.n + 1, 1);
    if (rc == 0)
        rc = (concurrent ? omega_tsdb_select_concurrent : omega_tsdb_select)(
            ev->db, sel->matchers, sel->n_matchers, lo, hi, on_raw, &t, &serr);
    if (rc == 0)
        rc = emit_tiers_before(&t, UINT64_MAX);
    /* Budget, deadline and visitor errors are already in ev->err; storage errors are copied. */
    if (rc != 0 && rc != OMEGA_E2BIG && rc != OMEGA_ETIMEDOUT && serr.code != 0 && ev->err)
        *ev->err = serr;
    /* what is left: groups never claimed nor handed out (on a stop), with their tails */
    for (size_t i = 0; i < t.c.n; i++)
        if (!t.claimed[i] && (i == 0 || t.c.v[i - 1].id != t.c.v[i].id))
            for (size_t k = i; k < t.c.n && t.c.v[k].id == t.c.v[i].id; k++)
                tseries_free(&t.c.v[k]);
    free(t.claimed);
    free(t.c.v);
    return rc;
}
