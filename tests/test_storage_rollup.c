/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the rollup tiers (storage/rollup.c): bucket boundaries against libc's calendar,
 * every tier equal to a brute-force computation over the final samples (after random
 * order writes, rewrites and duplicates), NaN rules, retention hiding and compaction
 * removing expired buckets, the background thread, and bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/tsdb.h"
#include "testutil.h"

#define DAY 86400000LL

typedef struct fixture {
    char *dir;              /* temp data dir */
    omega_tsdb_t *db;       /* open store */
    omega_tsdb_options_t o; /* its options */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-rollup");
    omega_tsdb_options_init(&f->o);
    f->o.data_dir = f->dir;
    f->o.sync_writes = 0;
    f->o.raw_retention_ms = 0;
    f->o.out_of_order_window_ms = 0;
    f->o.hourly_retention_ms = f->o.daily_retention_ms = 0;
    f->o.weekly_retention_ms = f->o.monthly_retention_ms = 0;
    f->o.chunk_max_samples = 64;
    omega_error_t err;
    f->db = omega_tsdb_open(&f->o, &err);
    *state = f;
    return f->db ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void reopen(fixture_t *f)
{
    omega_error_t err;
    omega_tsdb_close(f->db);
    f->db = omega_tsdb_open(&f->o, &err);
    if (!f->db)
        fail_msg("reopen: %s", err.message);
}

/* ---- an independent calendar, from libc ---- */

static int64_t libc_start(omega_tsdb_tier_t tier, int64_t ts)
{
    int64_t sec = ts >= 0 ? ts / 1000 : -((-ts + 999) / 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    switch (tier) {
    case OMEGA_TSDB_TIER_H1: tm.tm_min = tm.tm_sec = 0; break;
    case OMEGA_TSDB_TIER_D1: tm.tm_hour = tm.tm_min = tm.tm_sec = 0; break;
    case OMEGA_TSDB_TIER_W1:
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday; timegm normalises */
        break;
    default: tm.tm_mday = 1, tm.tm_hour = tm.tm_min = tm.tm_sec = 0; break;
    }
    return (int64_t)timegm(&tm) * 1000;
}

static void test_bucket_boundaries_match_libc(void **state)
{
    (void)state;
    /* 2024-02-29 12:34:56.789 UTC, a Thursday in a leap year */
    int64_t t = 1709210096789LL;
    assert_true(omega_tsdb_bucket_start(OMEGA_TSDB_TIER_H1, t) == 1709208000000LL);
    assert_true(omega_tsdb_bucket_start(OMEGA_TSDB_TIER_D1, t) == 1709164800000LL);
    assert_true(omega_tsdb_bucket_start(OMEGA_TSDB_TIER_W1, t) == 1708905600000LL); /* Mon 26 */
    assert_true(omega_tsdb_bucket_start(OMEGA_TSDB_TIER_MO1, t) == 1706745600000LL); /* Feb 1 */
    /* before 1970 and across many years, against gmtime/timegm */
    for (int64_t ts = -3000000000000LL; ts < 4000000000000LL; ts += 7777777777LL)
        for (int tier = 1; tier <= 4; tier++)
            assert_true(omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, ts) ==
                        libc_start((omega_tsdb_tier_t)tier, ts));
    /* extremes do not overflow */
    for (int tier = 1; tier <= 4; tier++) {
        (void)omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, INT64_MIN);
        (void)omega_tsdb_bucket_start((omega_tsdb_tier_t)tier, INT64_MAX);
    }
}

/* ---- brute force ---- */

#define MAXS 4096

typedef struct truth {
    int64_t ts[MAXS]; /* final sample times, sorted */
    double v[MAXS];   /* final values */
    size_t n;         /* samples */
} truth_t;

static void truth_set(truth_t *t, int64_t ts, double v)
{
    size_t i = 0;
    while (i < t->n && t->ts[i] < ts)
        i++;
    if (i < t->n && t->ts[i] == ts) {
        t->v[i] = v; /* last write wins */
        return;
    }
    assert_true(t->n < MAXS);
    memmove(t->ts + i + 1, t->ts + i, (t->n - i) * sizeof(*t->ts));
    memmove(t->v + i + 1, t->v + i, (t->n - i) * sizeof(*t->v));
    t->ts[i] = ts;
    t->v[i] = v;
    t->n++;
}

typedef struct check {
    const truth_t *t;         /* expected samples */
    omega_tsdb_tier_t tier;   /* tier checked */
    size_t buckets;           /* buckets seen */
} check_t;

static int check_cb(void *ctx, const omega_series_t *series, const omega_tsdb_bucket_t *b,
                    size_t n)
{
    check_t *c = ctx;
    (void)series;
    /* recompute every expected bucket in order and compare one by one */
    size_t bi = 0;
    for (size_t i = 0; i < c->t->n;) {
        int64_t start = libc_start(c->tier, c->t->ts[i]);
        double mn = INFINITY, mx = -INFINITY, sum = 0, last = 0;
        uint64_t count = 0;
        int64_t last_ts = 0;
        for (; i < c->t->n && libc_start(c->tier, c->t->ts[i]) == start; i++) {
            mn = fmin(mn, c->t->v[i]);
            mx = fmax(mx, c->t->v[i]);
            sum += c->t->v[i];
            count++;
            last = c->t->v[i];
            last_ts = c->t->ts[i];
        }
        assert_true(bi < n);
        if (b[bi].start_ms != start || b[bi].count != count || b[bi].min != mn ||
            b[bi].max != mx || b[bi].sum != sum || b[bi].last != last ||
            b[bi].last_ts_ms != last_ts)
            fail_msg("tier %d bucket %zu at %lld: got n=%llu min=%g max=%g sum=%g last=%g, "
                     "want start %lld n=%llu min=%g max=%g sum=%g last=%g", (int)c->tier, bi,
                     (long long)b[bi].start_ms, (unsigned long long)b[bi].count, b[bi].min,
                     b[bi].max, b[bi].sum, b[bi].last, (long long)start,
                     (unsigned long long)count, mn, mx, sum, last);
        bi++;
    }
    assert_int_equal(bi, n);
    c->buckets += n;
    return 0;
}

static void check_all_tiers(omega_tsdb_t *db, const char *name, const truth_t *t)
{
    omega_error_t err;
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    for (int tier = 1; tier <= 4; tier++) {
        check_t c = {t, (omega_tsdb_tier_t)tier, 0};
        assert_int_equal(omega_tsdb_select_tier(db, (omega_tsdb_tier_t)tier, &m, 1, INT64_MIN,
                                                INT64_MAX, check_cb, &c, &err), 0);
        assert_true(c.buckets > 0);
    }
}

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void write1(omega_tsdb_t *db, const char *name, int64_t ts, double v)
{
    omega_error_t err;
    omega_point_t p = {.name = name, .ts_ms = ts, .value = v};
    if (omega_tsdb_write(db, &p, 1, &err) != 0)
        fail_msg("write: %s", err.message);
}

static void test_tiers_equal_brute_force(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    static truth_t t;
    t.n = 0;
    /* 40 days around a month end, random order, with rewrites of earlier times;
     * values are multiples of 1/4 so every sum is exact in any order */
    int64_t t0 = 1706400000000LL; /* 2024-01-28 */
    for (int i = 0; i < 3000; i++) {
        int64_t ts = t0 + (int64_t)(rnd() % (uint64_t)(40 * DAY));
        if (i % 10 == 9 && t.n) /* rewrite an existing time */
            ts = t.ts[rnd() % t.n];
        double v = (double)((int64_t)(rnd() % 4000) - 2000) / 4;
        write1(f->db, "roll", ts, v);
        truth_set(&t, ts, v);
    }
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(f->db, &err), 0);
    check_all_tiers(f->db, "roll", &t);
    /* rewrite and extend after the rollups exist: recomputed, not double counted */
    for (int i = 0; i < 500; i++) {
        int64_t ts = i % 2 ? t.ts[rnd() % t.n] : t0 + (int64_t)(rnd() % (uint64_t)(45 * DAY));
        double v = (double)(int64_t)(rnd() % 1000) / 4;
        write1(f->db, "roll", ts, v);
        truth_set(&t, ts, v);
    }
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(f->db, &err), 0);
    check_all_tiers(f->db, "roll", &t);
    /* in-order appends, rolled up after every seal: folded into the stored hour */
    static truth_t inc;
    inc.n = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t ts = t0 + (int64_t)i * 7000;
        double v = (double)(int64_t)(rnd() % 1000) / 4;
        write1(f->db, "inc", ts, v);
        truth_set(&inc, ts, v);
        if (i % 100 == 99)
            assert_int_equal(omega_tsdb_rollup_run(f->db, &err), 0);
    }
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(f->db, &err), 0);
    check_all_tiers(f->db, "inc", &inc);
    /* a clean close runs the rollups too */
    write1(f->db, "roll", t0 + 50 * DAY, 1.25);
    truth_set(&t, t0 + 50 * DAY, 1.25);
    reopen(f);
    check_all_tiers(f->db, "roll", &t);
}

typedef struct one {
    omega_tsdb_bucket_t b[64]; /* buckets seen */
    size_t n;                  /* buckets */
} one_t;

static int one_cb(void *ctx, const omega_series_t *series, const omega_tsdb_bucket_t *b,
                  size_t n)
{
    one_t *o = ctx;
    (void)series;
    for (size_t i = 0; i < n && o->n < 64; i++)
        o->b[o->n++] = b[i];
    return 0;
}

static int get_tier(fixture_t *f, omega_tsdb_tier_t tier, const char *name, int64_t start,
                    int64_t end, one_t *o)
{
    omega_error_t err;
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    memset(o, 0, sizeof(*o));
    return omega_tsdb_select_tier(f->db, tier, &m, 1, start, end, one_cb, o, &err);
}

static void test_nan_rules_and_range_selection(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    one_t o;
    int64_t h = 1700000000000LL / 3600000 * 3600000;
    write1(f->db, "nan", h + 1000, 1);
    write1(f->db, "nan", h + 2000, NAN);
    write1(f->db, "nan", h + 3000, 3);
    write1(f->db, "nan", h + 3600000, NAN); /* an all-NaN hour */
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(f->db, &err), 0);
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "nan", INT64_MIN, INT64_MAX, &o), 0);
    assert_int_equal(o.n, 2);
    assert_true(o.b[0].min == 1 && o.b[0].max == 3 && isnan(o.b[0].sum) && o.b[0].count == 3 &&
                o.b[0].last == 3 && o.b[0].last_ts_ms == h + 3000);
    assert_true(isnan(o.b[1].min) && isnan(o.b[1].max) && o.b[1].count == 1);
    /* the range takes buckets whose start lies in [bucket_start(start), end] */
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "nan", h + 5000, h + 3599999, &o), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "nan", h + 3600000, h + 3600000, &o), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "nan", h - 7200000, h - 1, &o), 0);
    assert_int_equal(o.n, 0);
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_D1, "nan", INT64_MIN, INT64_MAX, &o), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.b[0].count, 4);
    /* bad arguments */
    omega_matcher_t m = {"__name__", "nan", OMEGA_MATCH_EQ};
    assert_int_equal(omega_tsdb_select_tier(f->db, (omega_tsdb_tier_t)0, &m, 1, 0, 1, one_cb,
                                            &o, &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_select_tier(f->db, (omega_tsdb_tier_t)5, &m, 1, 0, 1, one_cb,
                                            &o, &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_select_tier(f->db, OMEGA_TSDB_TIER_H1, &m, 1, 0, 1, NULL, &o,
                                            &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_rollup_run(NULL, &err), OMEGA_EINVAL);
}

static void test_retention_hides_and_compaction_removes(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    one_t o;
    int64_t now = omega_now_ms();
    for (int i = 0; i < 5 * 24; i++) /* one sample per hour for five days */
        write1(f->db, "ret", now - (int64_t)i * 3600000, i);
    f->o.hourly_retention_ms = 2 * DAY;
    reopen(f); /* the close sealed and rolled up everything */
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "ret", INT64_MIN, INT64_MAX, &o), 0);
    int64_t cutoff = now - 2 * DAY;
    assert_true(o.n >= 47 && o.n <= 49);
    for (size_t i = 0; i < o.n; i++)
        assert_true(o.b[i].start_ms + 3600000 > cutoff - 60000); /* end within retention */
    /* the daily tier keeps everything */
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_D1, "ret", INT64_MIN, INT64_MAX, &o), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < o.n; i++)
        total += o.b[i].count;
    assert_int_equal(total, 120);
    /* compaction removes expired hours: with retention off again, they stay gone */
    assert_int_equal(omega_tsdb_compact(f->db, &err), 0);
    f->o.hourly_retention_ms = 0;
    reopen(f);
    assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_H1, "ret", INT64_MIN, INT64_MAX, &o), 0);
    assert_true(o.n >= 47 && o.n <= 49);
}

static void test_background_thread_catches_up(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    one_t o;
    for (int i = 0; i < 100; i++)
        write1(f->db, "bg", 1700000000000LL + (int64_t)i * 60000, i);
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    /* no omega_tsdb_rollup_run: the worker was kicked by the seal; allow it 30 s */
    for (int tries = 0; tries < 300; tries++) {
        assert_int_equal(get_tier(f, OMEGA_TSDB_TIER_D1, "bg", INT64_MIN, INT64_MAX, &o), 0);
        if (o.n == 1 && o.b[0].count == 100)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(o.n, 1);
    assert_int_equal(o.b[0].count, 100);
    assert_true(o.b[0].sum == 4950 && o.b[0].last == 99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_boundaries_match_libc),
        cmocka_unit_test_setup_teardown(test_tiers_equal_brute_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_rules_and_range_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_hides_and_compaction_removes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_background_thread_catches_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
