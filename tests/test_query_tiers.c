/* SPDX-License-Identifier: Apache-2.0 */
/* Automatic tier selection: five days of 10-minute samples in a store keeping raw samples
 * 1 hour and hourly buckets 3 days, so every sample is older than raw retention and only
 * the rollups hold it. Range queries at 1 h and 1 d steps must return exactly the values
 * computed here from the samples; queries finer than the tiers must not use them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/query.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOUR   3600000LL
#define DAY    (24 * HOUR)
#define STEP10 600000LL                        /* sample spacing */
#define NSAMP  ((5 * DAY - 2 * HOUR) / STEP10) /* samples per series */

static char *g_dir;
static omega_tsdb_t *g_db;
static int64_t g_now;   /* wall clock at setup */
static int64_t g_h;     /* start of the current hour */
static int64_t g_first; /* first sample: g_h - 5 d */
static int64_t g_keep;  /* oldest hour-bucket end still in h1 */

/* Exactly representable values, so sums in any order are equal. */
static double gauge_at(int64_t i)
{
    return (double)((i * 7) % 13) + 0.5 * (double)(i % 3);
}

typedef struct stats {
    double sum, min, max, last;
    uint64_t count;
} stats_t;

/* The gauge's samples with time in [a, b). */
static stats_t stats_between(int64_t a, int64_t b)
{
    stats_t s = {0, INFINITY, -INFINITY, NAN, 0};
    for (int64_t i = 0; i < NSAMP; i++) {
        int64_t ts = g_first + i * STEP10;
        if (ts < a || ts >= b)
            continue;
        double v = gauge_at(i);
        s.sum += v;
        s.min = v < s.min ? v : s.min;
        s.max = v > s.max ? v : s.max;
        s.last = v;
        s.count++;
    }
    return s;
}

static int setup(void **state)
{
    (void)state;
    g_now = omega_now_ms();
    g_h = g_now - g_now % HOUR;
    g_first = g_h - 5 * DAY;
    g_dir = testutil_mkdtemp("qtiers");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = g_dir;
    o.sync_writes = 0;
    o.out_of_order_window_ms = 0;
    o.raw_retention_ms = HOUR;
    /* Hour buckets ending at g_h - 3 d or later stay, for 30 minutes of test time. */
    o.hourly_retention_ms = g_now - (g_h - 3 * DAY) + HOUR / 2;
    o.daily_retention_ms = o.weekly_retention_ms = o.monthly_retention_ms = 0;
    g_keep = g_h - 3 * DAY;
    g_db = omega_tsdb_open(&o, NULL);
    assert_non_null(g_db);

    omega_label_t host = {"host", "a"};
    omega_point_t *p = calloc(2 * NSAMP, sizeof(*p));
    for (int64_t i = 0; i < NSAMP; i++) {
        int64_t ts = g_first + i * STEP10;
        p[2 * i] = (omega_point_t){"tq_gauge", &host, 1, ts, gauge_at(i)};
        p[2 * i + 1] = (omega_point_t){"tq_counter", &host, 1, ts, 1000 + 5 * (double)i};
    }
    omega_error_t err;
    assert_int_equal(omega_tsdb_write(g_db, p, 2 * NSAMP, &err), 0);
    free(p);
    assert_int_equal(omega_tsdb_flush(g_db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(g_db, &err), 0);
    /* Recent samples stay in the head: raw only, no bucket yet. */
    omega_point_t r[3];
    for (int i = 0; i < 3; i++)
        r[i] = (omega_point_t){"tq_recent", &host, 1, g_now - 3 + i, (double)(i + 1)};
    assert_int_equal(omega_tsdb_write(g_db, r, 3, &err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    omega_tsdb_close(g_db);
    testutil_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static omega_query_result_t *range(const char *q, int64_t start, int64_t end, int64_t step)
{
    omega_query_result_t *r = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(g_db, q, start, end, step, NULL, &r, &err);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", q, rc, err.message);
    assert_int_equal(r->type, OMEGA_QUERY_MATRIX);
    return r;
}

/* Points expected at 1 h steps: one per hour bucket kept in h1, at the bucket's end. */
static void check_hourly(const char *q, int which)
{
    omega_query_result_t *r = range(q, g_h - 30 * DAY, g_h, HOUR);
    assert_int_equal(r->n_series, 1);
    const omega_query_series_t *s = &r->series[0];
    size_t want_n = 0;
    for (int64_t b = g_first; b < g_h - 2 * HOUR; b += HOUR) {
        if (b + HOUR < g_keep)
            continue;
        assert_true(want_n < s->n_points);
        stats_t st = stats_between(b, b + HOUR);
        double want[] = {st.sum / (double)st.count, st.min, st.max, st.sum,
                         (double)st.count,          st.last};
        assert_int_equal(s->points[want_n].ts_ms, b + HOUR);
        if (s->points[want_n].value != want[which])
            fail_msg("%s at %lld: got %.17g want %.17g", q, (long long)(b + HOUR),
                     s->points[want_n].value, want[which]);
        want_n++;
    }
    assert_int_equal(s->n_points, want_n);
    assert_true(want_n >= 3 * 24 - 2);
    omega_query_result_destroy(r);
}

static void test_over_time_hourly(void **state)
{
    (void)state;
    check_hourly("avg_over_time(tq_gauge[1h])", 0);
    check_hourly("min_over_time(tq_gauge[1h])", 1);
    check_hourly("max_over_time(tq_gauge[1h])", 2);
    check_hourly("sum_over_time(tq_gauge[1h])", 3);
    check_hourly("count_over_time(tq_gauge[1h])", 4);
    check_hourly("last_over_time(tq_gauge[1h])", 5);
    /* An instant selector takes a bucket's last value within one resolution. */
    check_hourly("tq_gauge", 5);
}

static void test_rate_from_last_values(void **state)
{
    (void)state;
    /* Two hourly last values 6 samples (30) apart over 1 h 50 min of a 2 h window:
     * extrapolated to the window, increase 60, rate 60 / 7200 s. */
    const char *qs[] = {"increase(tq_counter[2h])", "rate(tq_counter[2h])"};
    double want[] = {60, 60.0 / 7200};
    for (int k = 0; k < 2; k++) {
        omega_query_result_t *r = range(qs[k], g_h - 30 * DAY, g_h, HOUR);
        assert_int_equal(r->n_series, 1);
        const omega_query_series_t *s = &r->series[0];
        /* Steps whose window holds two kept hours: g_keep + 1 h .. g_h - 2 h. */
        size_t n = (size_t)((g_h - 2 * HOUR - (g_keep + HOUR)) / HOUR) + 1;
        assert_int_equal(s->n_points, n);
        for (size_t i = 0; i < s->n_points; i++) {
            assert_int_equal(s->points[i].ts_ms, g_keep + HOUR + (int64_t)i * HOUR);
            assert_true(fabs(s->points[i].value - want[k]) <= 1e-12 * want[k]);
        }
        omega_query_result_destroy(r);
    }
}

static void test_daily_merges_tiers(void **state)
{
    (void)state;
    /* Days before g_keep come from d1, later ones from h1: the same aggregates. */
    int64_t end = g_h - g_h % DAY + DAY;
    omega_query_result_t *r = range("avg_over_time(tq_gauge[1d])", end - 30 * DAY, end, DAY);
    assert_int_equal(r->n_series, 1);
    const omega_query_series_t *s = &r->series[0];
    size_t n = 0;
    for (int64_t d = g_first - g_first % DAY; d < g_h; d += DAY) {
        stats_t st = stats_between(d, d + DAY);
        if (st.count == 0)
            continue;
        assert_true(n < s->n_points);
        assert_int_equal(s->points[n].ts_ms, d + DAY);
        assert_true(s->points[n].value == st.sum / (double)st.count);
        n++;
    }
    assert_int_equal(s->n_points, n);
    assert_true(n >= 5);
    omega_query_result_destroy(r);

    /* An instant query whose range is a whole day reads the tiers too. */
    int64_t d = (g_h - 2 * HOUR) - (g_h - 2 * HOUR) % DAY;
    omega_query_result_t *v = NULL;
    omega_error_t err;
    assert_int_equal(
        omega_query_exec(g_db, "count_over_time(tq_gauge[1d])", d, d, 0, NULL, &v, &err), 0);
    assert_int_equal(v->n_series, 1);
    assert_true(v->series[0].points[0].value == (double)stats_between(d - DAY, d).count);
    omega_query_result_destroy(v);
}

static void test_weekly_and_monthly(void **state)
{
    (void)state;
    /* Windows tile time, so their counts add up to every sample whichever of w1 / mo1 /
     * d1 / h1 serves each part. */
    const char *qs[] = {"count_over_time(tq_gauge[7d])", "count_over_time(tq_gauge[31d])",
                        "count_over_time(tq_gauge[40d])"};
    int64_t steps[] = {7 * DAY, 31 * DAY, 40 * DAY};
    for (int k = 0; k < 3; k++) {
        int64_t end = g_h + steps[k];
        omega_query_result_t *r = range(qs[k], end - 10 * steps[k], end, steps[k]);
        assert_int_equal(r->n_series, 1);
        double total = 0;
        for (size_t i = 0; i < r->series[0].n_points; i++)
            total += r->series[0].points[i].value;
        if (total != (double)NSAMP)
            fail_msg("%s: %g samples, want %d", qs[k], total, (int)NSAMP);
        omega_query_result_destroy(r);
    }
}

static void test_head_samples_still_count(void **state)
{
    (void)state;
    /* The newest samples are only raw: the merge keeps them next to the buckets. */
    int64_t end = g_h + HOUR;
    omega_query_result_t *r = range("sum_over_time(tq_recent[1h])", end - 30 * DAY, end, HOUR);
    assert_int_equal(r->n_series, 1);
    double total = 0;
    for (size_t i = 0; i < r->series[0].n_points; i++)
        total += r->series[0].points[i].value;
    assert_true(total == 6);
    omega_query_result_destroy(r);
}

static void test_fine_queries_stay_raw(void **state)
{
    (void)state;
    /* A range below the resolution, a finer step, or a function buckets cannot answer read
     * raw samples only: nothing is left of data older than raw retention. */
    const char *qs[] = {"avg_over_time(tq_gauge[5m])", "quantile_over_time(0.5, tq_gauge[1h])",
                        "irate(tq_counter[2h])", "tq_gauge"};
    int64_t steps[] = {HOUR, HOUR, HOUR, 30 * 60000};
    for (int k = 0; k < 4; k++) {
        omega_query_result_t *r = range(qs[k], g_h - 10 * DAY, g_h, steps[k]);
        assert_int_equal(r->n_series, 0);
        omega_query_result_destroy(r);
    }
    /* A bare range selector returns raw samples: the recent ones only. */
    omega_query_result_t *v = NULL;
    omega_error_t err;
    assert_int_equal(omega_query_exec(g_db, "tq_recent[30d]", g_now, g_now, 0, NULL, &v, &err), 0);
    assert_int_equal(v->n_series, 1);
    assert_int_equal(v->series[0].n_points, 3);
    omega_query_result_destroy(v);
    assert_int_equal(omega_query_exec(g_db, "tq_gauge[30d]", g_now, g_now, 0, NULL, &v, &err), 0);
    assert_int_equal(v->n_series, 0);
    omega_query_result_destroy(v);
}

static void test_complete_raw_wins(void **state)
{
    (void)state;
    /* Raw samples kept and rolled up: a 1 h step reads them, not the buckets, so the
     * closed window [t - 1h, t] holds 7 samples exactly as Prometheus counts them. */
    char *dir = testutil_mkdtemp("qtiers-raw");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = dir;
    o.sync_writes = 0;
    o.out_of_order_window_ms = o.raw_retention_ms = 0;
    omega_tsdb_t *db = omega_tsdb_open(&o, NULL);
    assert_non_null(db);
    omega_label_t host = {"host", "b"};
    enum { N = 2 * 24 * 6 };
    omega_point_t p[N];
    int64_t first = g_h - 2 * DAY - 2 * HOUR;
    for (int i = 0; i < N; i++)
        p[i] = (omega_point_t){"tq_full", &host, 1, first + i * STEP10, gauge_at(i)};
    omega_error_t err;
    assert_int_equal(omega_tsdb_write(db, p, N, &err), 0);
    assert_int_equal(omega_tsdb_flush(db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(db, &err), 0);
    omega_query_result_t *r = NULL;
    assert_int_equal(omega_query_exec(db, "count_over_time(tq_full[1h])", first + HOUR,
                                      first + 2 * DAY - HOUR, HOUR, NULL, &r, &err),
                     0);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_points, 2 * 24 - 1);
    for (size_t i = 0; i < r->series[0].n_points; i++)
        assert_true(r->series[0].points[i].value == 7);
    omega_query_result_destroy(r);
    omega_tsdb_close(db);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_over_time_hourly),
        cmocka_unit_test(test_rate_from_last_values),
        cmocka_unit_test(test_daily_merges_tiers),
        cmocka_unit_test(test_weekly_and_monthly),
        cmocka_unit_test(test_head_samples_still_count),
        cmocka_unit_test(test_fine_queries_stay_raw),
        cmocka_unit_test(test_complete_raw_wins),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
