/* SPDX-License-Identifier: Apache-2.0 */
/* The alert engine under volume: history queries by time over entries that straddle the
 * key blocks the history scan seeks to (exact inclusive bounds, oldest first, far older
 * entries never visited in the result), and 100,000 alerts firing in one evaluation
 * (one grouped notification to the real receiver, every transition in the history) and
 * resolving in the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "omega/alert.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "storetest.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_alert_engine_t *e;
    test_httpd_t *rx;
    int64_t t0; /* an instant in the past, aligned to 2^24 ms (a history key block) */
} fx_t;

static int setup(void **state)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("alertload");
    omega_tsdb_options_t so;
    storetest_options(&so, f->dir);
    so.max_series = 0;
    f->db = omega_tsdb_open(&so, NULL);
    assert_non_null(f->db);
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.builtin_rules = 0;
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
    f->rx = test_httpd_start();
    assert_non_null(f->rx);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"hook\",\"name\":\"receiver\",\"type\":\"webhook\","
             "\"config\":{\"url\":\"http://127.0.0.1:%d/hook\"}}",
             test_httpd_port(f->rx));
    assert_int_equal(omega_alert_channel_put(f->e, NULL, body, NULL, NULL), 0);
    f->t0 = (omega_now_ms() - 24 * 3600 * 1000LL) & ~(int64_t)0xffffff;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    test_httpd_stop(f->rx);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Write v for metric{host=host} at t0 + at_ms and evaluate there: each flip of a
 * one-series rule between 5 (breach) and 0 records one transition at that instant. */
static void flip(fx_t *f, int64_t at_ms, double v)
{
    omega_label_t l = {"host", "a"};
    omega_point_t p = {"flip", &l, 1, f->t0 + at_ms, v};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + at_ms), 0);
}

/* The "at" times (ms after t0) of the history of [since, until] (after t0), in order. */
static size_t history_at(fx_t *f, int64_t since, int64_t until, int64_t *out, size_t max)
{
    char *text = NULL;
    assert_int_equal(
        omega_alert_history(f->e, f->t0 + since, f->t0 + until, NULL, NULL, 0, &text, NULL), 0);
    json_t *h = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(h);
    size_t i, n = 0;
    json_t *it;
    json_array_foreach(json_object_get(h, "items"), i, it)
    {
        const char *at = json_string_value(json_object_get(it, "at"));
        int64_t ms = 0;
        assert_int_equal(omega_time_parse(at, &ms), 0);
        assert_true(n < max);
        out[n++] = ms - f->t0;
    }
    json_decref(h);
    return n;
}

/* Transitions at -3 days, -1 ms, 0, 65535, 65536 and 16777216 ms (key-block edges of
 * 2^16 and 2^24 ms) come back exactly for every range, bounds included. The re-firing at
 * 65536 is within the cooldown of the one at 0: a second entry there ("suppressed"). */
static void test_history_time_ranges(void **state)
{
    fx_t *f = *state;
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"flip\",\"name\":\"flip\",\"expr\":\"flip\","
                                          "\"warning\":1}",
                                          NULL, NULL),
                     0);
    const int64_t flips[] = {-3 * 86400000LL, -1, 0, 65535, 65536, 16777216};
    for (size_t i = 0; i < 6; i++)
        flip(f, flips[i], i % 2 ? 0 : 5); /* firing, resolved, firing, ... */
    const int64_t at[] = {-3 * 86400000LL, -1, 0, 65535, 65536, 65536, 16777216};
    int64_t got[16];
    struct {
        int64_t since, until;
        size_t first, n; /* expected: at[first .. first + n) */
    } cases[] = {
        {-3 * 86400000LL, 16777216, 0, 7},
        {-1, 0, 1, 2},
        {0, 65535, 2, 2},
        {1, 65536, 3, 3},
        {65536, 65536, 4, 2},
        {65537, 16777215, 0, 0},
        {-2, -2, 0, 0},
        {-86400000, -1, 1, 1},
        {16777216, INT64_MAX / 4, 6, 1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = history_at(f, cases[c].since, cases[c].until, got, 16);
        if (n != cases[c].n)
            fail_msg("range %zu: %zu entries, expected %zu", c, n, cases[c].n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], at[cases[c].first + i]);
    }
}

/* 100,000 series breach at once: one notification for the storm (alerts_total 100000, the
 * first 1,000 listed), 100,000 "firing" transitions stored; all resolve in the next pass
 * with one more notification. */
static void test_100k_alerts_at_once(void **state)
{
    fx_t *f = *state;
    enum { N = 100000 };
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"storm\",\"name\":\"storm\",\"expr\":\"storm\","
                                          "\"warning\":1,\"channels\":[\"hook\"]}",
                                          NULL, NULL),
                     0);
    char(*hosts)[8] = calloc(N, sizeof(*hosts));
    omega_label_t *labels = calloc(N, sizeof(*labels));
    omega_point_t *pts = calloc(N, sizeof(*pts));
    for (int i = 0; i < N; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "h%d", i);
        labels[i] = (omega_label_t){"host", hosts[i]};
        pts[i] = (omega_point_t){"storm", &labels[i], 1, f->t0, 5};
    }
    assert_int_equal(omega_tsdb_write(f->db, pts, N, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    assert_int_equal((int)test_httpd_count(f->rx), 1);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    json_t *b = json_loads(r.body, 0, NULL);
    httpd_req_free(&r);
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "alerts_total")), N);
    assert_int_equal(json_array_size(json_object_get(b, "alerts")), 1000);
    json_decref(b);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.firing, N);

    char *text = NULL;
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0, "storm", NULL, 2 * N, &text, NULL), 0);
    json_t *h = json_loads(text, 0, NULL);
    free(text);
    assert_int_equal(json_array_size(json_object_get(h, "items")), N);
    json_decref(h);

    for (int i = 0; i < N; i++)
        pts[i].ts_ms = f->t0 + 1000, pts[i].value = 0;
    assert_int_equal(omega_tsdb_write(f->db, pts, N, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 1000), 0);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 1000), 0);
    assert_int_equal((int)test_httpd_count(f->rx), 2);
    assert_int_equal(test_httpd_get(f->rx, 1, &r), 0);
    assert_non_null(strstr(r.body, "\"status\":\"resolved\""));
    assert_non_null(strstr(r.body, "\"alerts_total\":100000"));
    httpd_req_free(&r);
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.firing, 0);
    free(hosts);
    free(labels);
    free(pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_history_time_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_100k_alerts_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
