/* SPDX-License-Identifier: Apache-2.0 */
/* Right to erasure (storage/erase.c): matching series leave every tier (raw chunks,
 * h1/d1/w1/mo1 rollups, the memory head and its log) and the index, stay gone after a
 * reopen, other series are untouched, the same labels written again start a new empty
 * series, and bad selectors are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/tsdb.h"
#include "testutil.h"

#define HOUR 3600000LL

typedef struct fixture {
    char *dir;
    omega_tsdb_t *db;
    omega_tsdb_options_t o;
    int64_t t0; /* first sample time: three days ago, on the hour */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-erase");
    omega_tsdb_options_init(&f->o);
    f->o.data_dir = f->dir;
    f->o.sync_writes = 0;
    f->o.raw_retention_ms = 0;
    f->o.out_of_order_window_ms = 0;
    f->o.hourly_retention_ms = f->o.daily_retention_ms = 0;
    f->o.weekly_retention_ms = f->o.monthly_retention_ms = 0;
    f->o.chunk_max_samples = 16;
    f->db = omega_tsdb_open(&f->o, NULL);
    f->t0 = (omega_now_ms() - 3 * 24 * HOUR) / HOUR * HOUR;
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

/* n samples of name{user=user}, one every 10 minutes from t. */
static void put(fixture_t *f, const char *name, const char *user, int64_t t, int n)
{
    omega_label_t l[] = {{"user", user}, {"host", "h1"}};
    omega_point_t *p = calloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = (omega_point_t){name, l, 2, t + i * 600000LL, (double)i};
    omega_error_t err;
    if (omega_tsdb_write(f->db, p, (size_t)n, &err) != 0)
        fail_msg("write: %s", err.message);
    free(p);
}

static int count_samples(void *ctx, const omega_series_t *s, const omega_sample_t *v, size_t n)
{
    (void)s, (void)v;
    *(size_t *)ctx += n;
    return 0;
}

static int count_series(void *ctx, const omega_series_t *s, const omega_sample_t *v, size_t n)
{
    (void)s, (void)v, (void)n;
    (*(size_t *)ctx)++;
    return 0;
}

static int count_buckets(void *ctx, const omega_series_t *s, const omega_tsdb_bucket_t *b, size_t n)
{
    (void)s, (void)b;
    *(size_t *)ctx += n;
    return 0;
}

/* Samples of user=<user> (head and raw). */
static size_t samples_of(fixture_t *f, const char *user)
{
    omega_matcher_t m = {"user", user, OMEGA_MATCH_EQ};
    size_t n = 0;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, 0, INT64_MAX / 2, count_samples, &n, NULL), 0);
    return n;
}

/* Samples of user=<user> in raw, buckets in every tier, and series in the index. */
static size_t everything(fixture_t *f, const char *user)
{
    omega_matcher_t m = {"user", user, OMEGA_MATCH_EQ};
    size_t n = 0, series = 0;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, 0, INT64_MAX / 2, count_samples, &n, NULL), 0);
    for (int t = OMEGA_TSDB_TIER_H1; t <= OMEGA_TSDB_TIER_MO1; t++)
        assert_int_equal(omega_tsdb_select_tier(f->db, (omega_tsdb_tier_t)t, &m, 1, 0,
                                                INT64_MAX / 2, count_buckets, &n, NULL),
                         0);
    assert_int_equal(omega_tsdb_series_match(f->db, &m, 1, count_series, &series, NULL), 0);
    return n + series;
}

static void test_erase_every_tier(void **state)
{
    fixture_t *f = *state;
    put(f, "proc_cpu", "alice", f->t0, 60);
    put(f, "proc_mem", "alice", f->t0, 60);
    put(f, "proc_cpu", "bob", f->t0, 60);
    assert_int_equal(omega_tsdb_flush(f->db, NULL), 0);
    assert_int_equal(omega_tsdb_rollup_run(f->db, NULL), 0);
    /* Some of alice's samples only in the memory head (and its log). */
    put(f, "proc_cpu", "alice", f->t0 + 60 * 600000LL, 3);
    size_t before_bob = everything(f, "bob");
    assert_true(everything(f, "alice") > 120);

    omega_matcher_t m = {"user", "alice", OMEGA_MATCH_EQ};
    omega_tsdb_erase_stats_t st;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_tsdb_erase(f->db, &m, 1, &st, &err) != 0)
        fail_msg("erase: %s", err.message);
    assert_int_equal(st.series, 2);
    assert_true(st.raw_chunks >= 8);
    for (int t = 0; t < 4; t++)
        assert_true(st.rollup_buckets[t] >= 1);
    assert_int_equal(everything(f, "alice"), 0);
    assert_int_equal(everything(f, "bob"), before_bob);
    omega_tsdb_stats_t ts;
    omega_tsdb_stats(f->db, &ts);
    assert_int_equal(ts.series, 1);

    /* Gone for good: after a reopen (head log replay) and a rollup pass. */
    reopen(f);
    assert_int_equal(omega_tsdb_rollup_run(f->db, NULL), 0);
    assert_int_equal(everything(f, "alice"), 0);
    assert_int_equal(everything(f, "bob"), before_bob);

    /* Written again: a new series holding only the new sample. */
    put(f, "proc_cpu", "alice", omega_now_ms() - 1000, 1);
    size_t n = 0;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, 0, INT64_MAX / 2, count_samples, &n, NULL), 0);
    assert_int_equal(n, 1);
    reopen(f);
    n = 0;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, 0, INT64_MAX / 2, count_samples, &n, NULL), 0);
    assert_int_equal(n, 1);
}

static void test_erase_head_only_survives_reopen(void **state)
{
    fixture_t *f = *state;
    int64_t now = omega_now_ms();
    put(f, "proc_io", "carol", now - 5 * 600000LL, 5); /* never flushed: head + log only */
    put(f, "proc_io", "dave", now - 5 * 600000LL, 5);
    omega_matcher_t m = {"user", "carol", OMEGA_MATCH_EQ};
    omega_tsdb_erase_stats_t st;
    assert_int_equal(omega_tsdb_erase(f->db, &m, 1, &st, NULL), 0);
    assert_int_equal(st.series, 1);
    assert_int_equal(everything(f, "carol"), 0);
    reopen(f);
    assert_int_equal(everything(f, "carol"), 0);
    assert_int_equal(samples_of(f, "dave"), 5);
}

static void test_erase_nothing_and_bad_input(void **state)
{
    fixture_t *f = *state;
    put(f, "proc_cpu", "erin", f->t0, 3);
    omega_matcher_t none = {"user", "nobody", OMEGA_MATCH_EQ};
    omega_tsdb_erase_stats_t st;
    memset(&st, 0xff, sizeof(st));
    assert_int_equal(omega_tsdb_erase(f->db, &none, 1, &st, NULL), 0);
    assert_int_equal(st.series, 0);
    assert_int_equal(st.raw_chunks, 0);
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_tsdb_erase(f->db, NULL, 0, &st, &err), OMEGA_EINVAL);
    omega_matcher_t empty = {"user", "", OMEGA_MATCH_EQ}; /* matches everything: refused */
    assert_int_equal(omega_tsdb_erase(f->db, &empty, 1, &st, &err), OMEGA_EINVAL);
    omega_matcher_t badre = {"user", "(", OMEGA_MATCH_RE};
    assert_int_equal(omega_tsdb_erase(f->db, &badre, 1, &st, &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_erase(NULL, &none, 1, &st, &err), OMEGA_EINVAL);
    assert_int_equal(samples_of(f, "erin"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_erase_every_tier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_head_only_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_nothing_and_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
