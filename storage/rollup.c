/* SPDX-License-Identifier: Apache-2.0 */
/* Rollup tiers h1/d1/w1/mo1: min, max, sum, count and last per series and UTC bucket
 * (hour, day, ISO week from Monday, calendar month). Seal rounds mark the hours they
 * touched ('D' keys in `default`, valued with the round's generation); a background
 * thread (or omega_tsdb_rollup_run) recomputes each marked hour from the raw chunks, then
 * its day from h1, its week and month from d1, and drops a mark only if no seal re-marked
 * it meanwhile. Recomputing rather than adding keeps rewrites (last write wins) exact.
 * Also the tier retention filters and reads. */
#include "storage_int.h"

#include "omega/log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS        3600000LL
#define DAY_MS         86400000LL
#define WEEK_MS        (7 * DAY_MS)
#define MARK_KEY_LEN   17   /* 'D' + id + hour */
#define PASS_MAX       4096 /* marks per pass */
#define BUCKET_VAL_LEN 48

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic, 400-year cycles). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Clamp so bucket arithmetic on any int64 timestamp cannot overflow. */
static int64_t clamp_ts(int64_t ts)
{
    const int64_t lim = INT64_MAX / 4;
    return ts < -lim ? -lim : ts > lim ? lim : ts;
}

int64_t omega_tsdb_bucket_start(omega_tsdb_tier_t tier, int64_t ts)
{
    ts = clamp_ts(ts);
    switch (tier) {
    case OMEGA_TSDB_TIER_H1:
        return floor_div(ts, HOUR_MS) * HOUR_MS;
    case OMEGA_TSDB_TIER_D1:
        return floor_div(ts, DAY_MS) * DAY_MS;
    case OMEGA_TSDB_TIER_W1: /* 1970-01-05 was a Monday */
        return floor_div(ts - 4 * DAY_MS, WEEK_MS) * WEEK_MS + 4 * DAY_MS;
    case OMEGA_TSDB_TIER_MO1: {
        int64_t y;
        int m;
        civil_from_days(floor_div(ts, DAY_MS), &y, &m);
        return days_from_civil(y, m, 1) * DAY_MS;
    }
    default:
        return ts;
    }
}

/* The first millisecond after the bucket that starts at start. */
static int64_t bucket_end(omega_tsdb_tier_t tier, int64_t start)
{
    switch (tier) {
    case OMEGA_TSDB_TIER_H1:
        return start + HOUR_MS;
    case OMEGA_TSDB_TIER_D1:
        return start + DAY_MS;
    case OMEGA_TSDB_TIER_W1:
        return start + WEEK_MS;
    default:
        return omega_tsdb_bucket_start(tier, start + 32 * DAY_MS);
    }
}

static int tier_cf(omega_tsdb_tier_t tier)
{
    return STORAGE_CF_H1 + (int)tier - 1;
}

int64_t storage_tier_retention(const omega_tsdb_t *db, omega_tsdb_tier_t tier)
{
    switch (tier) {
    case OMEGA_TSDB_TIER_H1:
        return db->opts.hourly_retention_ms;
    case OMEGA_TSDB_TIER_D1:
        return db->opts.daily_retention_ms;
    case OMEGA_TSDB_TIER_W1:
        return db->opts.weekly_retention_ms;
    case OMEGA_TSDB_TIER_MO1:
        return db->opts.monthly_retention_ms;
    default:
        return db->opts.raw_retention_ms;
    }
}

/* A bucket is kept (and returned) while its end is within the tier's retention. */
static int bucket_expired(const omega_tsdb_t *db, omega_tsdb_tier_t tier, int64_t start)
{
    int64_t keep = storage_tier_retention(db, tier);
    return keep > 0 && bucket_end(tier, start) <= storage_time_sub(omega_now_ms(), keep);
}

/* ---- bucket values ---- */

static void bucket_add(omega_tsdb_bucket_t *b, int64_t ts, double v)
{
    if (b->count == 0) {
        b->min = b->max = v;
        b->sum = 0;
    }
    /* min and max ignore NaN unless every value is NaN; sum propagates it */
    if (isnan(b->min) || v < b->min)
        b->min = isnan(v) ? b->min : v;
    if (isnan(b->max) || v > b->max)
        b->max = isnan(v) ? b->max : v;
    b->sum += v;
    b->count++;
    b->last = v;
    b->last_ts_ms = ts;
}

/* Fold finer bucket f (later in time than everything folded so far) into b. */
static void bucket_merge(omega_tsdb_bucket_t *b, const omega_tsdb_bucket_t *f)
{
    if (f->count == 0)
        return;
    if (b->count == 0) {
        int64_t start = b->start_ms;
        *b = *f;
        b->start_ms = start;
        return;
    }
    if (isnan(b->min) || f->min < b->min)
        b->min = isnan(f->min) ? b->min : f->min;
    if (isnan(b->max) || f->max > b->max)
        b->max = isnan(f->max) ? b->max : f->max;
    b->sum += f->sum;
    b->count += f->count;
    b->last = f->last;
    b->last_ts_ms = f->last_ts_ms;
}

static void put_f64(char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (char)(u >> (8 * i));
}

static double get_f64(const char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | (unsigned char)p[i];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Value: min, max, sum, last (f64 LE), count (u64 BE), last_ts (u64 BE flipped). */
static void bucket_encode(const omega_tsdb_bucket_t *b, char v[BUCKET_VAL_LEN])
{
    put_f64(v, b->min);
    put_f64(v + 8, b->max);
    put_f64(v + 16, b->sum);
    put_f64(v + 24, b->last);
    storage_put_u64be(v + 32, b->count);
    storage_put_u64be(v + 40, (uint64_t)b->last_ts_ms ^ (UINT64_C(1) << 63));
}

static int bucket_decode(const char *key, const char *v, size_t vlen, omega_tsdb_bucket_t *b)
{
    if (vlen != BUCKET_VAL_LEN)
        return OMEGA_ECORRUPT;
    b->start_ms = storage_sample_key_ts(key);
    b->min = get_f64(v);
    b->max = get_f64(v + 8);
    b->sum = get_f64(v + 16);
    b->last = get_f64(v + 24);
    b->count = storage_get_u64be(v + 32);
    b->last_ts_ms = (int64_t)(storage_get_u64be(v + 40) ^ (UINT64_C(1) << 63));
    return 0;
}

/* Decode a stored bucket, sealed (a sensitive series: crypt.c) or plain. 0, OMEGA_ECORRUPT
 * or OMEGA_EACCES (sealed and no usable key), with err naming the series. */
static int bucket_read(omega_tsdb_t *db, const char *key, const char *v, size_t vlen,
                       omega_tsdb_bucket_t *b, omega_error_t *err)
{
    if (vlen == BUCKET_VAL_LEN || !storage_crypt_is_sealed(v, vlen))
        return bucket_decode(key, v, vlen, b);
    char *owned;
    int rc = storage_crypt_view(db, key, STORAGE_SAMPLE_KEY_LEN, v, vlen, &v, &vlen, &owned, err);
    if (rc == 0)
        rc = bucket_decode(key, v, vlen, b);
    free(owned);
    return rc;
}

/* ---- marking (seal rounds) ---- */

void storage_rollup_mark(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                         const omega_sample_t *s, size_t n, uint64_t gen, int append)
{
    char key[MARK_KEY_LEN], val[16];
    int64_t prev = 0;
    storage_put_u64be(val, gen);
    key[0] = STORAGE_ROLLUP_MARK;
    for (size_t i = 0; i < n; i++) { /* s is sorted: one mark per distinct hour */
        int64_t h = omega_tsdb_bucket_start(OMEGA_TSDB_TIER_H1, s[i].ts_ms);
        if (i > 0 && h == prev)
            continue;
        prev = h;
        storage_sample_key(key + 1, id, h);
        /* Appends past everything sealed can be folded into the hour from their first
         * time on; anything else (or an append to an hour already marked for a full
         * recompute) recomputes the whole hour. */
        int64_t from = append ? s[i].ts_ms : INT64_MIN;
        if (append) {
            char *errptr = NULL;
            size_t vlen = 0;
            char *v = rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_DEFAULT], key,
                                     sizeof(key), &vlen, &errptr);
            if (errptr || (v && vlen != 16))
                from = INT64_MIN;
            else if (v && (int64_t)(storage_get_u64be(v + 8) ^ (UINT64_C(1) << 63)) < from)
                from = (int64_t)(storage_get_u64be(v + 8) ^ (UINT64_C(1) << 63));
            rocksdb_free(errptr);
            rocksdb_free(v);
        }
        storage_put_u64be(val + 8, (uint64_t)from ^ (UINT64_C(1) << 63));
        rocksdb_writebatch_put_cf(wb, db->cf[STORAGE_CF_DEFAULT], key, sizeof(key), val,
                                  sizeof(val));
    }
}

/* ---- recomputing ---- */

typedef struct mark {
    uint64_t id;   /* series */
    int64_t start; /* bucket start */
    uint64_t gen;  /* seal generation in the mark as read */
    int64_t from;  /* appended samples start here; INT64_MIN: recompute the hour */
    int inc;       /* set by recompute_hours: delta holds exactly what the hour gained */
    omega_tsdb_bucket_t delta; /* the appended samples' aggregate (when inc) */
    int64_t delta_first;       /* time of the first of them */
} mark_t;

static int cmp_mark(const void *a, const void *b)
{
    const mark_t *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Put (or delete, when empty) bucket b of tier for id into wb, sealed for a sensitive
 * series. 0 or the cipher's error. */
static int put_bucket(omega_tsdb_t *db, rocksdb_writebatch_t *wb, omega_tsdb_tier_t tier,
                      uint64_t id, const omega_tsdb_bucket_t *b, omega_error_t *err)
{
    char key[STORAGE_SAMPLE_KEY_LEN], val[BUCKET_VAL_LEN];
    storage_sample_key(key, id, b->start_ms);
    if (b->count == 0) {
        rocksdb_writebatch_delete_cf(wb, db->cf[tier_cf(tier)], key, sizeof(key));
        return 0;
    }
    bucket_encode(b, val);
    return storage_crypt_put(db, wb, tier_cf(tier), key, sizeof(key), val, sizeof(val),
                             storage_crypt_sensitive(db, id, NULL), err);
}

/* Fold every stored bucket of id in [start, end) into out, reading through it (an
 * iterator over the finer tier, reused across calls: creating one costs more than a
 * seek). */
static int fold_tier(omega_tsdb_t *db, rocksdb_iterator_t *it, uint64_t id, int64_t start,
                     int64_t end, omega_tsdb_bucket_t *out, omega_error_t *err)
{
    char lo[STORAGE_SAMPLE_KEY_LEN];
    storage_sample_key(lo, id, start);
    for (rocksdb_iter_seek(it, lo, sizeof(lo)); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || storage_get_u64be(k) != id ||
            storage_sample_key_ts(k) >= end)
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        omega_tsdb_bucket_t f;
        int rc = bucket_read(db, k, v, vlen, &f, err);
        if (rc == OMEGA_EACCES)
            return rc; /* never fold a partial bucket from buckets that did not open */
        if (rc == 0)
            bucket_merge(out, &f);
    }
    return 0;
}

static int commit_batch(omega_tsdb_t *db, rocksdb_writebatch_t *wb, omega_error_t *err)
{
    char *errptr = NULL;
    if (rocksdb_writebatch_count(wb) > 0)
        rocksdb_write(db->rdb, db->seal_wopts, wb, &errptr);
    rocksdb_writebatch_clear(wb);
    return errptr ? storage_rocks_error(errptr, err, "rollup write") : 0;
}

/* The stored bucket of tier for id at start: 1 and *b when present, 0 when absent. */
static int get_bucket(omega_tsdb_t *db, omega_tsdb_tier_t tier, uint64_t id, int64_t start,
                      omega_tsdb_bucket_t *b, omega_error_t *err)
{
    char key[STORAGE_SAMPLE_KEY_LEN], *errptr = NULL;
    size_t vlen = 0;
    storage_sample_key(key, id, start);
    char *v =
        rocksdb_get_cf(db->rdb, db->ropts, db->cf[tier_cf(tier)], key, sizeof(key), &vlen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "rollup read");
    int rc = v ? bucket_read(db, key, v, vlen, b, err) : OMEGA_ENOENT;
    rocksdb_free(v);
    return rc == OMEGA_EACCES ? rc : rc == 0;
}

/* Bring the h1 buckets of marks up to date: fold in only the appended samples when the
 * stored bucket ends before them, else recompute the hour from the chunks. */
static int recompute_hours(omega_tsdb_t *db, mark_t *m, size_t n, rocksdb_writebatch_t *wb,
                           omega_error_t *err)
{
    storage_sbuf_t s = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        omega_tsdb_bucket_t b = {.start_ms = m[i].start};
        int64_t from = m[i].start;
        if (m[i].from != INT64_MIN) {
            int found = get_bucket(db, OMEGA_TSDB_TIER_H1, m[i].id, m[i].start, &b, err);
            if (found < 0) {
                rc = found;
                break;
            }
            if (found && b.last_ts_ms < m[i].from) {
                from = m[i].from;
                m[i].inc = 1;
            } else {
                b = (omega_tsdb_bucket_t){.start_ms = m[i].start};
            }
        }
        s.n = 0;
        rc = storage_chunks_read(db, db->ropts, m[i].id, from, m[i].start + HOUR_MS - 1, &s, err);
        if (rc == OMEGA_ECORRUPT) { /* logged; the integrity check reports it */
            rc = 0;
            m[i].inc = 0;
        }
        m[i].delta = (omega_tsdb_bucket_t){0};
        m[i].delta_first = s.n ? s.v[0].ts_ms : INT64_MAX;
        for (size_t k = 0; rc == 0 && k < s.n; k++) {
            bucket_add(&b, s.v[k].ts_ms, s.v[k].value);
            bucket_add(&m[i].delta, s.v[k].ts_ms, s.v[k].value);
        }
        if (rc == 0)
            rc = put_bucket(db, wb, OMEGA_TSDB_TIER_H1, m[i].id, &b, err);
    }
    free(s.v);
    if (rc)
        rocksdb_writebatch_clear(wb);
    return rc ? rc : commit_batch(db, wb, err);
}

/* Recompute the buckets of tier that contain the marks' times, folding tier `from`. */
static int recompute_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier, omega_tsdb_tier_t from,
                          const mark_t *m, size_t n, rocksdb_writebatch_t *wb, omega_error_t *err)
{
    uint64_t last_id = 0;
    int64_t last_start = 0;
    int rc = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[tier_cf(from)]);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t start = omega_tsdb_bucket_start(tier, m[i].start);
        if (i > 0 && m[i].id == last_id && start == last_start)
            continue; /* marks are sorted: one recompute per bucket */
        last_id = m[i].id;
        last_start = start;
        omega_tsdb_bucket_t b = {.start_ms = start};
        /* the common case, one hour that only gained later samples: fold in its delta */
        int alone = (i + 1 == n || m[i + 1].id != m[i].id ||
                     omega_tsdb_bucket_start(tier, m[i + 1].start) != start);
        if (alone && m[i].inc) {
            if (m[i].delta.count == 0)
                continue;
            int found = get_bucket(db, tier, m[i].id, start, &b, err);
            if (found < 0) {
                rocksdb_iter_destroy(it);
                rocksdb_writebatch_clear(wb);
                return found;
            }
            if (found && b.last_ts_ms < m[i].delta_first) {
                bucket_merge(&b, &m[i].delta);
                rc = put_bucket(db, wb, tier, m[i].id, &b, err);
                continue;
            }
            b = (omega_tsdb_bucket_t){.start_ms = start};
        }
        rc = fold_tier(db, it, m[i].id, start, bucket_end(tier, start), &b, err);
        if (rc == 0)
            rc = put_bucket(db, wb, tier, m[i].id, &b, err);
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr && rc == 0)
        rc = storage_rocks_error(errptr, err, "rollup read");
    else
        rocksdb_free(errptr);
    if (rc) {
        rocksdb_writebatch_clear(wb);
        return rc;
    }
    return commit_batch(db, wb, err);
}

/* Read up to PASS_MAX marks. */
static size_t read_marks(omega_tsdb_t *db, mark_t *m)
{
    char prefix = STORAGE_ROLLUP_MARK, upper = STORAGE_ROLLUP_MARK + 1;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, &upper, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STORAGE_CF_DEFAULT]);
    size_t n = 0;
    for (rocksdb_iter_seek(it, &prefix, 1); n < PASS_MAX && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen != MARK_KEY_LEN || vlen != 16)
            continue;
        m[n++] = (mark_t){.id = storage_get_u64be(k + 1),
                          .start = storage_sample_key_ts(k + 1),
                          .gen = storage_get_u64be(v),
                          .from = (int64_t)(storage_get_u64be(v + 8) ^ (UINT64_C(1) << 63))};
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

/* Drop the marks no seal touched since they were read (seals hold the lock exclusively,
 * so holding it shared makes check-and-delete atomic with respect to them). */
static int clear_marks(omega_tsdb_t *db, const mark_t *m, size_t n, rocksdb_writebatch_t *wb,
                       omega_error_t *err)
{
    pthread_rwlock_rdlock(&db->heads.seal_lock);
    for (size_t i = 0; i < n; i++) {
        char key[MARK_KEY_LEN], *errptr = NULL;
        size_t vlen = 0;
        key[0] = STORAGE_ROLLUP_MARK;
        storage_sample_key(key + 1, m[i].id, m[i].start);
        char *v = rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_DEFAULT], key, sizeof(key),
                                 &vlen, &errptr);
        rocksdb_free(errptr);
        if (v && vlen == 16 && storage_get_u64be(v) == m[i].gen)
            rocksdb_writebatch_delete_cf(wb, db->cf[STORAGE_CF_DEFAULT], key, sizeof(key));
        rocksdb_free(v);
    }
    int rc = commit_batch(db, wb, err);
    pthread_rwlock_unlock(&db->heads.seal_lock);
    return rc;
}

int omega_tsdb_rollup_run(omega_tsdb_t *db, omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    pthread_mutex_lock(&db->rollup.run_lock);
    mark_t *m = omega_malloc(PASS_MAX * sizeof(*m));
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int rc = 0;
    size_t n;
    while (rc == 0 && (n = read_marks(db, m)) > 0) {
        qsort(m, n, sizeof(*m), cmp_mark);
        rc = recompute_hours(db, m, n, wb, err);
        if (rc == 0)
            rc = recompute_tier(db, OMEGA_TSDB_TIER_D1, OMEGA_TSDB_TIER_H1, m, n, wb, err);
        if (rc == 0)
            rc = recompute_tier(db, OMEGA_TSDB_TIER_W1, OMEGA_TSDB_TIER_D1, m, n, wb, err);
        if (rc == 0)
            rc = recompute_tier(db, OMEGA_TSDB_TIER_MO1, OMEGA_TSDB_TIER_D1, m, n, wb, err);
        if (rc == 0)
            rc = clear_marks(db, m, n, wb, err);
        if (rc == 0 && n < PASS_MAX)
            break;
    }
    rocksdb_writebatch_destroy(wb);
    free(m);
    pthread_mutex_unlock(&db->rollup.run_lock);
    return rc;
}

/* ---- the background thread ---- */

static void *rollup_thread(void *arg)
{
    omega_tsdb_t *db = arg;
    storage_rollup_t *r = &db->rollup;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        if (!r->kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        int work = r->kicked;
        r->kicked = 0;
        if (r->stop || !work)
            continue;
        pthread_mutex_unlock(&r->lock);
        omega_error_t err;
        int64_t t0 = omega_mono_ns();
        if (omega_tsdb_rollup_run(db, &err) != 0)
            omega_log_warn("storage: rollup pass failed: %s", err.message);
        int64_t pause_ns = 10 * (omega_mono_ns() - t0);
        pthread_mutex_lock(&r->lock);
        /* At most one pass a second, and at most a tenth of a core: during a bulk load a
         * pass re-reads the open hour of every series, so marks of many seal rounds are
         * better handled together. */
        if (pause_ns < 1000000000LL)
            pause_ns = 1000000000LL;
        if (pause_ns > 30000000000LL)
            pause_ns = 30000000000LL;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += pause_ns / 1000000000LL;
        ts.tv_nsec += pause_ns % 1000000000LL;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        /* kicks during the pause only set `kicked`; stop ends it */
        while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int storage_rollup_start(omega_tsdb_t *db)
{
    storage_rollup_t *r = &db->rollup;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->run_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    r->ready = 1;
    r->kicked = 1; /* marks left by the previous run */
    if (pthread_create(&r->thread, NULL, rollup_thread, db) != 0)
        return -1;
    r->running = 1;
    return 0;
}

void storage_rollup_kick(omega_tsdb_t *db)
{
    storage_rollup_t *r = &db->rollup;
    if (!r->running)
        return;
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void storage_rollup_stop(omega_tsdb_t *db)
{
    storage_rollup_t *r = &db->rollup;
    if (!r->ready)
        return;
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stop = 1;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        r->running = 0;
    }
}

void storage_rollup_deinit(omega_tsdb_t *db)
{
    storage_rollup_t *r = &db->rollup;
    if (!r->ready)
        return;
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->run_lock);
    r->ready = 0;
}

/* ---- reads and retention ---- */

rocksdb_iterator_t *storage_tier_iterator(omega_tsdb_t *db, omega_tsdb_tier_t tier)
{
    return rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[tier_cf(tier)]);
}

int storage_tier_read(omega_tsdb_t *db, rocksdb_iterator_t *it, omega_tsdb_tier_t tier, uint64_t id,
                      int64_t start, int64_t end, storage_bbuf_t *out, omega_error_t *err)
{
    char lo[STORAGE_SAMPLE_KEY_LEN], hi[STORAGE_SAMPLE_KEY_LEN];
    storage_sample_key(lo, id, omega_tsdb_bucket_start(tier, start));
    storage_sample_key(hi, id, end);
    int rc = 0;
    out->n = 0;
    for (rocksdb_iter_seek(it, lo, sizeof(lo)); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        /* the range ends at hi inclusive: a longer key starting with hi lies past it */
        int past = memcmp(k, hi, klen < sizeof(hi) ? klen : sizeof(hi));
        if (past > 0 || (past == 0 && klen > sizeof(hi)))
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        omega_tsdb_bucket_t b;
        if (klen == STORAGE_SAMPLE_KEY_LEN && vlen != BUCKET_VAL_LEN &&
            storage_crypt_is_sealed(v, vlen) && (rc = bucket_read(db, k, v, vlen, &b, err)) != 0)
            break; /* err says why it does not open */
        if (klen != STORAGE_SAMPLE_KEY_LEN ||
            (vlen == BUCKET_VAL_LEN && bucket_decode(k, v, vlen, &b) != 0) ||
            (vlen != BUCKET_VAL_LEN && !storage_crypt_is_sealed(v, vlen))) {
            rc = omega_error_set(err, OMEGA_ECORRUPT,
                                 "storage: malformed rollup bucket of "
                                 "series %llu",
                                 (unsigned long long)id);
            break;
        }
        if (bucket_expired(db, tier, b.start_ms))
            continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 64;
            out->v = omega_realloc(out->v, out->cap * sizeof(*out->v));
        }
        out->v[out->n++] = b;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    if (errptr && rc == 0)
        return storage_rocks_error(errptr, err, "rollup read");
    rocksdb_free(errptr);
    return rc;
}

static unsigned char tier_filter(void *state, int level, const char *key, size_t klen,
                                 const char *val, size_t vlen, char **new_val, size_t *new_vlen,
                                 unsigned char *changed)
{
    const storage_tier_filter_t *tf = state;
    (void)level, (void)val, (void)vlen, (void)new_val, (void)new_vlen;
    *changed = 0;
    if (klen != STORAGE_SAMPLE_KEY_LEN)
        return 0;
    return bucket_expired(tf->db, tf->tier, storage_sample_key_ts(key));
}

static const char *tier_filter_name(void *state)
{
    (void)state;
    return "omega.rollup_retention";
}

static void tier_filter_destroy(void *state)
{
    (void)state; /* the state lives in the omega_tsdb_t */
}

rocksdb_compactionfilter_t *storage_tier_filter_create(storage_tier_filter_t *tf)
{
    return rocksdb_compactionfilter_create(tf, tier_filter_destroy, tier_filter, tier_filter_name);
}
