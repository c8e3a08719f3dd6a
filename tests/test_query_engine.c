/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL engine tests: every function, aggregation and operator of the subset evaluated
 * over a real store filled with hand-made data (counter resets, gaps, staleness beyond the
 * 5-minute lookback, NaN), compared with results computed by hand from Prometheus 2.42's
 * definitions; range queries, limits and evaluation errors. Parser errors are in
 * test_query_parser.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/query.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* All data sits at T0 + seconds; T0 is a whole minute. */
#define T0      1764000000000LL
#define AT(sec) (T0 + (int64_t)((sec)*1000))

static char *g_dir;
static omega_tsdb_t *g_db;

static void put(const char *name, const char *l1, const char *v1, const char *l2, const char *v2,
                double sec, double value)
{
    omega_label_t l[2] = {{l1, v1}, {l2, v2}};
    size_t n = l2 ? 2 : l1 ? 1 : 0;
    omega_point_t p = {name, l, n, AT(sec), value};
    omega_error_t err;
    if (omega_tsdb_write(g_db, &p, 1, &err) != 0)
        fail_msg("write %s: %s", name, err.message);
}

static void load_counters(void)
{
    /* a: +10 every 15 s from 0 to 600 s. */
    for (int i = 0; i <= 40; i++)
        put("req_total", "instance", "a", "job", "api", i * 15, i * 10);
    /* b: a counter reset between 45 s (30) and 60 s (5). */
    const double b[] = {0, 10, 20, 30, 5, 15};
    for (int i = 0; i < 6; i++)
        put("req_total", "instance", "b", "job", "api", i * 15, b[i]);
    /* Starts at 5 at 30 s: increase extrapolates only back to the zero point. */
    put("c_zero", NULL, NULL, NULL, NULL, 30, 5);
    put("c_zero", NULL, NULL, NULL, NULL, 45, 10);
    put("c_zero", NULL, NULL, NULL, NULL, 60, 15);
}

static void load_gauges(void)
{
    for (int i = 0; i <= 3; i++)
        put("g", "x", "lin", NULL, NULL, i * 10, 3 + 0.5 * i * 10);
    const double t[] = {4, 1, 3, 2};
    for (int i = 0; i < 4; i++)
        put("temp", NULL, NULL, NULL, NULL, i * 10, t[i]);
    put("gap", NULL, NULL, NULL, NULL, 0, 7);
    /* A Prometheus staleness marker at 30 s ends "stale" at once. */
    uint64_t bits = 0x7ff0000000000002ULL;
    double stale;
    memcpy(&stale, &bits, sizeof(stale));
    put("stale", NULL, NULL, NULL, NULL, 0, 5);
    put("stale", NULL, NULL, NULL, NULL, 30, stale);
    put("nan_s", NULL, NULL, NULL, NULL, 0, NAN);
    put("one", NULL, NULL, NULL, NULL, 0, 1);
    put("neg", NULL, NULL, NULL, NULL, 0, -2.5);
    put("frac", NULL, NULL, NULL, NULL, 0, 2.567);
    const char *hosts[] = {"h1", "h2", "h3", "h4"}, *dcs[] = {"x", "x", "y", "y"};
    const double cpu[] = {1, 2, 3, 10}, mem[] = {10, 20, 30, 40};
    for (int i = 0; i < 4; i++) {
        put("cpu", "dc", dcs[i], "host", hosts[i], 0, cpu[i]);
        put("mem", "host", hosts[i], "kind", "m", 0, mem[i]);
    }
    put("cpu2", "dc", "x", "host", "h1", 0, 5);
    put("mx", "host", "h1", NULL, NULL, 0, NAN);
    put("mx", "host", "h2", NULL, NULL, 0, 1);
}

static void load_histograms(void)
{
    const char *le[] = {"0.1", "0.5", "1", "+Inf"};
    const double c[] = {10, 30, 40, 40};
    for (int i = 0; i < 4; i++)
        put("lat_bucket", "le", le[i], "svc", "a", 0, c[i]);
    const char *le2[] = {"1", "2", "+Inf"};
    const double c2[] = {10, 8, 12};
    for (int i = 0; i < 3; i++)
        put("lat_bucket", "le", le2[i], "svc", "mono", 0, c2[i]);
    put("lat_bucket", "le", "1", "svc", "noinf", 0, 5);
    put("lat_bucket", "le", "2", "svc", "noinf", 0, 6);
}

/* 48 counter series fleet_total{k="00".."47"} every 15 s over 600 s, enough for storage to
 * hand them to several threads at once: every fifth resets at 300 s, every seventh has a
 * staleness marker at 450 s; fleet2_total repeats k 00-03. */
#define FLEET 48
static void load_fleet(void)
{
    uint64_t bits = 0x7ff0000000000002ULL;
    double stale;
    memcpy(&stale, &bits, sizeof(stale));
    for (int k = 0; k < FLEET; k++) {
        char kv[8];
        snprintf(kv, sizeof(kv), "%02d", k);
        for (int i = 0; i <= 40; i++) {
            double v = (k + 1) * i * 3.5 + (i % 3);
            if (k % 5 == 0 && i >= 20)
                v = (i - 20) * 2.0;
            put("fleet_total", "k", kv, NULL, NULL, i * 15, k % 7 == 0 && i == 30 ? stale : v);
        }
        if (k < 4)
            put("fleet2_total", "k", kv, NULL, NULL, 0, 1);
    }
}

static int setup(void **state)
{
    (void)state;
    g_dir = testutil_mkdtemp("qengine");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = g_dir;
    o.sync_writes = 0;
    o.raw_retention_ms = 0;
    o.out_of_order_window_ms = 0;
    g_db = omega_tsdb_open(&o, NULL);
    assert_non_null(g_db);
    load_counters();
    load_gauges();
    load_histograms();
    load_fleet();
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

/* ---- helpers ---- */

static omega_query_result_t *run(const char *q, double sec)
{
    omega_query_result_t *r = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(g_db, q, AT(sec), AT(sec), 0, NULL, &r, &err);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", q, rc, err.message);
    return r;
}

static int close_to(double got, double want)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want) || want == 0)
        return got == want;
    return fabs(got - want) <= 1e-9 * fabs(want);
}

static const char *lbl(const omega_query_series_t *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

/* The vector element whose label `name` is `value` (name NULL: the only element). */
static const omega_query_series_t *find(const omega_query_result_t *r, const char *name,
                                        const char *value)
{
    for (size_t i = 0; i < r->n_series; i++) {
        const char *v = name ? lbl(&r->series[i], name) : NULL;
        if (!name || (v && strcmp(v, value) == 0))
            return &r->series[i];
    }
    return NULL;
}

/* Assert q at sec yields value for the element selected by name=value. */
static void check_value(const char *q, double sec, const char *name, const char *value, double want)
{
    omega_query_result_t *r = run(q, sec);
    double got = NAN;
    if (r->type == OMEGA_QUERY_SCALAR) {
        got = r->scalar;
    } else {
        assert_int_equal(r->type, OMEGA_QUERY_VECTOR);
        const omega_query_series_t *s = find(r, name, value);
        if (!s)
            fail_msg("%s @%g: no element %s=%s (%zu elements)", q, sec, name ? name : "-",
                     value ? value : "-", r->n_series);
        assert_int_equal(s->n_points, 1);
        assert_int_equal(s->points[0].ts_ms, AT(sec));
        got = s->points[0].value;
    }
    if (!close_to(got, want))
        fail_msg("%s @%g: got %.17g, want %.17g", q, sec, got, want);
    omega_query_result_destroy(r);
}

static void check_count(const char *q, double sec, size_t n)
{
    omega_query_result_t *r = run(q, sec);
    if (r->n_series != n)
        fail_msg("%s @%g: %zu elements, want %zu", q, sec, r->n_series, n);
    omega_query_result_destroy(r);
}

static void check_error(const char *q, int code, const char *needle)
{
    omega_query_result_t *r = (omega_query_result_t *)0x1;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(g_db, q, AT(0), AT(0), 0, NULL, &r, &err);
    if (rc != code || !strstr(err.message, needle))
        fail_msg("%s: rc %d '%s', want %d '%s'", q, rc, err.message, code, needle);
    assert_null(r);
}

/* ---- tests ---- */

static void test_rate_increase_delta(void **state)
{
    (void)state;
    /* Window [240, 300]: 5 samples 160..200, no extrapolation needed. */
    check_value("increase(req_total{instance=\"a\"}[1m])", 300, NULL, NULL, 40);
    check_value("rate(req_total{instance=\"a\"}[1m])", 300, NULL, NULL, 40.0 / 60);
    /* Window [247, 307]: 255..300 (30 over 45 s) extrapolated by 8 s and 7 s. */
    check_value("increase(req_total{instance=\"a\"}[1m])", 307, NULL, NULL, 40);
    /* Counter reset 30 -> 5 adds 30: increase 45 over 75 s, then to 80 s. */
    check_value("increase(req_total{instance=\"b\"}[75s])", 75, NULL, NULL, 45);
    check_value("increase(req_total{instance=\"b\"}[80s])", 80, NULL, NULL, 48);
    check_value("rate(req_total{instance=\"b\"}[80s])", 80, NULL, NULL, 0.6);
    /* Zero point: extrapolation stops 15 s before the first sample, not 30 s. */
    check_value("increase(c_zero[1m])", 60, NULL, NULL, 15);
    /* delta does not know about zero: 30 s gap > 1.1 * 15 s, so half an interval. */
    check_value("delta(c_zero[1m])", 60, NULL, NULL, 12.5);
    /* Fewer than two samples: nothing. */
    check_count("rate(c_zero[10s])", 60, 0);
    check_count("rate(gap[5m])", 100, 0);
    /* Labels: the name goes, the others stay. */
    omega_query_result_t *r = run("rate(req_total[1m])", 300);
    assert_int_equal(r->n_series, 1); /* b has no samples after 75 s */
    assert_null(lbl(&r->series[0], "__name__"));
    assert_string_equal(lbl(&r->series[0], "job"), "api");
    omega_query_result_destroy(r);
}

static void test_irate_deriv_predict(void **state)
{
    (void)state;
    check_value("irate(req_total{instance=\"b\"}[1m])", 75, NULL, NULL, 10.0 / 15);
    check_value("irate(req_total{instance=\"b\"}[1m])", 60, NULL, NULL, 5.0 / 15);
    check_value("deriv(g[1m])", 30, NULL, NULL, 0.5);
    check_value("predict_linear(g[1m], 60)", 30, NULL, NULL, 48);
    check_value("deriv(req_total{instance=\"a\"}[1m])", 300, NULL, NULL, 10.0 / 15);
    check_count("deriv(gap[1m])", 10, 0);
}

static void test_over_time(void **state)
{
    (void)state;
    check_value("avg_over_time(temp[30s])", 30, NULL, NULL, 2.5);
    check_value("min_over_time(temp[30s])", 30, NULL, NULL, 1);
    check_value("max_over_time(temp[30s])", 30, NULL, NULL, 4);
    check_value("sum_over_time(temp[30s])", 30, NULL, NULL, 10);
    check_value("count_over_time(temp[30s])", 30, NULL, NULL, 4);
    check_value("last_over_time(temp[30s])", 30, NULL, NULL, 2);
    check_value("quantile_over_time(0.5, temp[30s])", 30, NULL, NULL, 2.5);
    check_value("quantile_over_time(0.9, temp[30s])", 30, NULL, NULL, 3.7);
    check_value("quantile_over_time(2, temp[30s])", 30, NULL, NULL, INFINITY);
    check_value("quantile_over_time(-1, temp[30s])", 30, NULL, NULL, -INFINITY);
    /* Closed window [10, 30] keeps the sample at exactly 10 s. */
    check_value("count_over_time(temp[20s])", 30, NULL, NULL, 3);
    /* Offset moves the window: [0, 20]. */
    check_value("sum_over_time(temp[20s] offset 10s)", 30, NULL, NULL, 8);
    /* last_over_time keeps the metric name; the others drop it. */
    omega_query_result_t *r = run("last_over_time(temp[30s])", 30);
    assert_string_equal(lbl(&r->series[0], "__name__"), "temp");
    omega_query_result_destroy(r);
    r = run("max_over_time(temp[30s])", 30);
    assert_null(lbl(&r->series[0], "__name__"));
    omega_query_result_destroy(r);
    /* NaN: max ignores it unless alone. */
    check_value("max_over_time(nan_s[1m])", 10, NULL, NULL, NAN);
}

static void test_selectors_lookback_offset(void **state)
{
    (void)state;
    check_value("temp", 25, NULL, NULL, 3);
    check_value("temp offset 10s", 30, NULL, NULL, 3);
    /* The sample at 0 is visible until exactly 300 s, gone 1 ms later. */
    check_value("gap", 300, NULL, NULL, 7);
    omega_query_result_t *r = NULL;
    assert_int_equal(omega_query_exec(g_db, "gap", AT(300) + 1, 0, 0, NULL, &r, NULL), 0);
    assert_int_equal(r->n_series, 0);
    omega_query_result_destroy(r);
    /* Staleness marker: visible before it, gone from it on, never counted in windows. */
    check_value("stale", 29, NULL, NULL, 5);
    check_count("stale", 30, 0);
    check_count("stale", 200, 0);
    check_value("count_over_time(stale[1m])", 40, NULL, NULL, 1);
        /* Before the first sample: nothing. */
    check_count("temp", -1, 0);
    check_count("cpu{host=~\"h[12]\"}", 0, 2);
    check_count("cpu{host!~\"h[12]\",dc!=\"x\"}", 0, 2);
    check_count("{__name__=~\"cpu2?\"}", 0, 5);
    check_value("nan_s", 0, NULL, NULL, NAN);
    /* A bare range selector in an instant query: its raw samples. */
    r = run("temp[20s]", 30);
    assert_int_equal(r->type, OMEGA_QUERY_MATRIX);
    assert_int_equal(r->series[0].n_points, 3);
    assert_int_equal(r->series[0].points[0].ts_ms, AT(10));
    assert_string_equal(lbl(&r->series[0], "__name__"), "temp");
    omega_query_result_destroy(r);
}

static void test_aggregations(void **state)
{
    (void)state;
    check_value("sum(cpu)", 0, NULL, NULL, 16);
    check_value("avg(cpu)", 0, NULL, NULL, 4);
    check_value("min(cpu)", 0, NULL, NULL, 1);
    check_value("max(cpu)", 0, NULL, NULL, 10);
    check_value("count(cpu)", 0, NULL, NULL, 4);
    check_value("stddev(cpu)", 0, NULL, NULL, sqrt(12.5));
    check_value("quantile(0.5, cpu)", 0, NULL, NULL, 2.5);
    check_value("sum by (dc) (cpu)", 0, "dc", "x", 3);
    check_value("sum(cpu) by (dc)", 0, "dc", "y", 13);
    check_value("sum without (host) (cpu)", 0, "dc", "y", 13);
    check_value("max(mx)", 0, NULL, NULL, 1);
    check_value("min(mx)", 0, NULL, NULL, 1);
    check_value("sum(mx)", 0, NULL, NULL, NAN);
    omega_query_result_t *r = run("sum by (dc) (cpu)", 0);
    assert_int_equal(r->n_series, 2);
    assert_int_equal(r->series[0].n_labels, 1); /* only dc */
    omega_query_result_destroy(r);
    r = run("sum without (host) (cpu)", 0);
    assert_null(lbl(&r->series[0], "__name__"));
    omega_query_result_destroy(r);
    r = run("topk(2, cpu)", 0);
    assert_int_equal(r->n_series, 2);
    assert_non_null(find(r, "host", "h4"));
    assert_non_null(find(r, "host", "h3"));
    assert_string_equal(lbl(&r->series[0], "__name__"), "cpu");
    omega_query_result_destroy(r);
    check_value("bottomk(1, cpu)", 0, "host", "h1", 1);
    check_count("bottomk(1, cpu)", 0, 1);
    check_count("topk by (dc) (1, cpu)", 0, 2);
    check_count("topk(0, cpu)", 0, 0);
    check_count("topk(100, cpu)", 0, 4);
    check_count("sum(does_not_exist)", 0, 0);
}

static void test_binary_operators(void **state)
{
    (void)state;
    check_value("1 + 2 * 3", 0, NULL, NULL, 7);
    check_value("(1 + 2) * 3", 0, NULL, NULL, 9);
    check_value("10 - 4 - 3", 0, NULL, NULL, 3);
    check_value("12 / 3 / 2", 0, NULL, NULL, 2);
    check_value("1 - -1", 0, NULL, NULL, 2);
    check_value("-2 * 3", 0, NULL, NULL, -6);
    check_value("2 > bool 1", 0, NULL, NULL, 1);
    check_value("2 == bool 1", 0, NULL, NULL, 0);
    check_value("1 / 0", 0, NULL, NULL, INFINITY);
    check_value("time()", 90, NULL, NULL, (double)AT(90) / 1000);
    check_value("cpu * 2", 0, "host", "h4", 20);
    check_value("2 - cpu", 0, "host", "h4", -8);
    check_value("cpu / on(host) mem", 0, "host", "h4", 0.25);
    check_value("cpu + ignoring(dc, kind) mem", 0, "host", "h1", 11);
    check_count("cpu > 2", 0, 2);
    check_value("cpu > 2", 0, "host", "h4", 10);
    check_value("2 < cpu", 0, "host", "h3", 3);
    check_count("cpu > bool 2", 0, 4);
    check_value("cpu > bool 2", 0, "host", "h1", 0);
    check_count("cpu > on(host) mem", 0, 0);
    check_count("mem >= on(host) cpu", 0, 4);
    check_count("nan_s > 0", 0, 0);
    check_count("nan_s != 0", 0, 1);
    check_value("-cpu", 0, "host", "h2", -2);
    /* Which results keep the name: comparisons without bool only. */
    omega_query_result_t *r = run("cpu > 2", 0);
    assert_string_equal(lbl(&r->series[0], "__name__"), "cpu");
    omega_query_result_destroy(r);
    r = run("cpu > bool 2", 0);
    assert_null(lbl(&r->series[0], "__name__"));
    omega_query_result_destroy(r);
    r = run("cpu / on(host) mem", 0);
    assert_int_equal(r->series[0].n_labels, 1);
    omega_query_result_destroy(r);
    r = run("-cpu", 0);
    assert_null(lbl(&r->series[0], "__name__"));
    omega_query_result_destroy(r);
    /* No match: no result. */
    check_count("cpu + mem", 0, 0);
}

static void test_simple_functions(void **state)
{
    (void)state;
    check_value("abs(neg)", 0, NULL, NULL, 2.5);
    check_value("abs(-cpu)", 0, "host", "h4", 10);
    check_value("clamp_min(cpu, 2.5)", 0, "host", "h1", 2.5);
    check_value("clamp_min(cpu, 2.5)", 0, "host", "h4", 10);
    check_value("clamp_max(cpu, 2.5)", 0, "host", "h4", 2.5);
    check_value("round(frac, 0.1)", 0, NULL, NULL, 2.6);
    check_value("round(frac)", 0, NULL, NULL, 3);
    check_value("round(neg)", 0, NULL, NULL, -2);
    check_value("clamp_max(nan_s, 1)", 0, NULL, NULL, NAN);
}

static void test_histogram_quantile(void **state)
{
    (void)state;
    check_value("histogram_quantile(0.5, lat_bucket)", 0, "svc", "a", 0.3);
    check_value("histogram_quantile(0.99, lat_bucket)", 0, "svc", "a", 0.98);
    check_value("histogram_quantile(0.5, lat_bucket)", 0, "svc", "mono", 0.6);
    check_value("histogram_quantile(0.9, lat_bucket)", 0, "svc", "mono", 2);
    check_value("histogram_quantile(0.5, lat_bucket)", 0, "svc", "noinf", NAN);
    check_value("histogram_quantile(1.5, lat_bucket)", 0, "svc", "a", INFINITY);
    omega_query_result_t *r = run("histogram_quantile(0.5, lat_bucket)", 0);
    assert_int_equal(r->n_series, 3);
    assert_null(lbl(&r->series[0], "le"));
    assert_null(lbl(&r->series[0], "__name__"));
    omega_query_result_destroy(r);
    check_value("histogram_quantile(0.5, sum by (le) (lat_bucket{svc=\"a\"}))", 0, NULL, NULL, 0.3);
}

static void test_range_queries(void **state)
{
    (void)state;
    omega_query_result_t *r = NULL;
    omega_error_t err;
    assert_int_equal(omega_query_exec(g_db, "rate(req_total{instance=\"a\"}[1m])", AT(60), AT(600),
                                      60000, NULL, &r, &err),
                     0);
    assert_int_equal(r->type, OMEGA_QUERY_MATRIX);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_points, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(r->series[0].points[i].ts_ms, AT(60 + 60 * i));
        assert_true(close_to(r->series[0].points[i].value, 40.0 / 60));
    }
    omega_query_result_destroy(r);
    /* The gap: visible for 5 minutes after its only sample. */
    assert_int_equal(omega_query_exec(g_db, "gap", AT(0), AT(600), 60000, NULL, &r, &err), 0);
    assert_int_equal(r->series[0].n_points, 6);
    omega_query_result_destroy(r);
    /* A scalar becomes one series without labels; end not on a step is not included. */
    assert_int_equal(omega_query_exec(g_db, "time()", AT(0), AT(150), 60000, NULL, &r, &err), 0);
    assert_int_equal(r->type, OMEGA_QUERY_MATRIX);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_labels, 0);
    assert_int_equal(r->series[0].n_points, 3);
    assert_true(close_to(r->series[0].points[2].value, (double)AT(120) / 1000));
    omega_query_result_destroy(r);
    /* Aggregation over steps: sum of both counters' rate while both exist. */
    assert_int_equal(omega_query_exec(g_db, "sum(increase(req_total[75s]))", AT(75), AT(150), 75000,
                                      NULL, &r, &err),
                     0);
    assert_int_equal(r->series[0].n_points, 2);
    assert_true(close_to(r->series[0].points[0].value, 45 + 50));
    omega_query_result_destroy(r);
}

static void test_result_types(void **state)
{
    (void)state;
    omega_query_result_t *r = run("\"hello\"", 0);
    assert_int_equal(r->type, OMEGA_QUERY_STRING);
    assert_string_equal(r->string, "hello");
    omega_query_result_destroy(r);
    r = run("42", 0);
    assert_int_equal(r->type, OMEGA_QUERY_SCALAR);
    assert_int_equal(r->ts_ms, AT(0));
    omega_query_result_destroy(r);
    omega_error_t err;
    assert_int_equal(omega_query_exec(g_db, "temp[1m]", AT(0), AT(60), 1000, NULL, &r, &err),
                     OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "range vector"));
    assert_int_equal(omega_query_exec(g_db, "\"s\"", AT(0), AT(60), 1000, NULL, &r, &err),
                     OMEGA_EINVAL);
}

static void test_evaluation_errors(void **state)
{
    (void)state;
    check_error("abs({__name__=~\"cpu2?\",host=\"h1\"})", OMEGA_EEXIST, "same labelset");
    check_error("cpu + on(dc) mem", OMEGA_EEXIST, "many-to-many");
    check_error("cpu{host=\"h1\"} + on(kind) mem", OMEGA_EEXIST, "many-to-many");
    check_error("mem + on() cpu{host=\"h1\"}", OMEGA_EEXIST, "many-to-one");
    check_error("cpu + on(dc) cpu", OMEGA_EEXIST, "many-to-many");
    check_error("sum(cpu) by (dc) * on() sum(cpu) by (dc)", OMEGA_EEXIST, "many-to-many");
}

static void test_limits(void **state)
{
    (void)state;
    omega_query_result_t *r = (omega_query_result_t *)0x1;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_query_exec(g_db, "cpu", AT(0), AT(11000), 1000, NULL, &r, &err),
                     OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "11,000 points"));
    assert_null(r);
    assert_int_equal(omega_query_exec(g_db, "cpu", AT(0), AT(10999), 1000, NULL, &r, &err), 0);
    omega_query_result_destroy(r);
    assert_int_equal(omega_query_exec(g_db, "cpu", AT(10), AT(0), 1000, NULL, &r, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_query_exec(g_db, "cpu", AT(0), AT(10), -5, NULL, &r, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_query_exec(g_db, "cpu", INT64_MAX, INT64_MAX, 0, NULL, &r, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_query_exec(g_db, "cpu", INT64_MIN, 0, 1, NULL, &r, &err), OMEGA_EINVAL);
    assert_int_equal(omega_query_exec(g_db, "cpu", 0, INT64_MAX, INT64_MAX / 2, NULL, &r, &err),
                     OMEGA_EINVAL);
    /* Extreme but valid: far in the past with the longest offset. */
    assert_int_equal(omega_query_exec(g_db, "rate(cpu[290y] offset 290y)", -OMEGA_QUERY_MAX_TIME_MS,
                                      -OMEGA_QUERY_MAX_TIME_MS, 0, NULL, &r, &err),
                     0);
    assert_int_equal(r->n_series, 0);
    omega_query_result_destroy(r);
    omega_query_opts_t o;
    omega_query_opts_init(&o);
    o.max_samples = 10;
    assert_int_equal(omega_query_exec(g_db, "sum(req_total)", AT(0), AT(600), 15000, &o, &r, &err),
                     OMEGA_E2BIG);
    assert_non_null(strstr(err.message, "too many samples"));
    omega_query_opts_init(&o);
    o.timeout_ms = -1;
    assert_int_equal(omega_query_exec(g_db, "sum(cpu)", AT(0), AT(0), 0, &o, &r, &err),
                     OMEGA_ETIMEDOUT);
    assert_non_null(strstr(err.message, "timed out"));
    assert_null(r);
}

/* Range functions over many series run their per-series work on several threads: the
 * answer must equal the same function applied to each series alone (one thread), the
 * budget and duplicate-label errors must still come out whole. */
static void test_many_series_concurrent(void **state)
{
    (void)state;
    static const char *fns[] = {"rate", "increase", "avg_over_time", "max_over_time", "irate"};
    omega_error_t err;
    for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
        char q[96];
        snprintf(q, sizeof(q), "%s(fleet_total[1m])", fns[f]);
        omega_query_result_t *all = NULL;
        assert_int_equal(omega_query_exec(g_db, q, AT(0), AT(600), 30000, NULL, &all, &err), 0);
        assert_int_equal(all->n_series, FLEET);
        for (size_t i = 0; i < all->n_series; i++) {
            const omega_query_series_t *s = &all->series[i];
            assert_int_equal(s->n_labels, 1);
            snprintf(q, sizeof(q), "%s(fleet_total{k=\"%s\"}[1m])", fns[f], s->labels[0].value);
            omega_query_result_t *one = NULL;
            assert_int_equal(omega_query_exec(g_db, q, AT(0), AT(600), 30000, NULL, &one, &err),
                             0);
            assert_int_equal(one->n_series, 1);
            assert_int_equal(one->series[0].n_points, s->n_points);
            for (size_t k = 0; k < s->n_points; k++) {
                assert_int_equal(one->series[0].points[k].ts_ms, s->points[k].ts_ms);
                assert_memory_equal(&one->series[0].points[k].value, &s->points[k].value,
                                    sizeof(double));
            }
            omega_query_result_destroy(one);
        }
        /* sorted by labels */
        for (size_t i = 1; i < all->n_series; i++)
            assert_true(strcmp(all->series[i - 1].labels[0].value,
                               all->series[i].labels[0].value) < 0);
        omega_query_result_destroy(all);
    }
    omega_query_opts_t o;
    omega_query_opts_init(&o);
    o.max_samples = 400;
    omega_query_result_t *r = NULL;
    assert_int_equal(
        omega_query_exec(g_db, "rate(fleet_total[1m])", AT(0), AT(600), 15000, &o, &r, &err),
        OMEGA_E2BIG);
    assert_non_null(strstr(err.message, "too many samples"));
    assert_null(r);
    assert_int_equal(omega_query_exec(g_db, "rate({__name__=~\"fleet_total|fleet2_total\"}[1m])",
                                      AT(0), AT(60), 15000, NULL, &r, &err),
                     OMEGA_EEXIST);
    assert_non_null(strstr(err.message, "same labelset"));
    assert_null(r);
}

static void test_listings(void **state)
{
    (void)state;
    omega_query_labelsets_t *ls = NULL;
    omega_error_t err;
    const char *m1[] = {"cpu{dc=\"x\"}", "mem{host=\"h1\"}", "cpu{host=\"h1\"}"};
    assert_int_equal(omega_query_series(g_db, m1, 3, 0, 0, 0, &ls, &err), 0);
    assert_int_equal(ls->n, 3); /* h1 cpu once */
    omega_query_labelsets_destroy(ls);
    /* Time range: gap only has a sample at 0. */
    const char *m2[] = {"gap"};
    assert_int_equal(omega_query_series(g_db, m2, 1, AT(10), AT(20), 0, &ls, &err), 0);
    assert_int_equal(ls->n, 0);
    omega_query_labelsets_destroy(ls);
    assert_int_equal(omega_query_series(g_db, m2, 1, AT(0), AT(20), 0, &ls, &err), 0);
    assert_int_equal(ls->n, 1);
    omega_query_labelsets_destroy(ls);
    const char *bad[] = {"rate(x[5m])"};
    assert_int_equal(omega_query_series(g_db, bad, 1, 0, 0, 0, &ls, &err), OMEGA_EINVAL);
    assert_int_equal(omega_query_series(g_db, NULL, 0, 0, 0, 0, &ls, &err), OMEGA_EINVAL);
    const char *m3[] = {"cpu"};
    assert_int_equal(omega_query_series(g_db, m3, 1, 0, 0, 2, &ls, &err), OMEGA_E2BIG);
    omega_query_strings_t *s = NULL;
    assert_int_equal(omega_query_label_names(g_db, m3, 1, 0, 0, &s, &err), 0);
    assert_int_equal(s->n, 3);
    assert_string_equal(s->v[0], "__name__");
    assert_string_equal(s->v[1], "dc");
    assert_string_equal(s->v[2], "host");
    omega_query_strings_destroy(s);
    assert_int_equal(omega_query_label_names(g_db, NULL, 0, 0, 0, &s, &err), 0);
    assert_true(s->n >= 8);
    omega_query_strings_destroy(s);
    assert_int_equal(omega_query_label_values(g_db, "dc", NULL, 0, 0, 0, &s, &err), 0);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->v[1], "y");
    omega_query_strings_destroy(s);
    assert_int_equal(omega_query_label_values(g_db, "__name__", m3, 1, 0, 0, &s, &err), 0);
    assert_int_equal(s->n, 1);
    omega_query_strings_destroy(s);
    assert_int_equal(omega_query_label_values(g_db, "bad-name", NULL, 0, 0, 0, &s, &err),
                     OMEGA_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_increase_delta),
        cmocka_unit_test(test_irate_deriv_predict),
        cmocka_unit_test(test_over_time),
        cmocka_unit_test(test_selectors_lookback_offset),
        cmocka_unit_test(test_aggregations),
        cmocka_unit_test(test_binary_operators),
        cmocka_unit_test(test_simple_functions),
        cmocka_unit_test(test_histogram_quantile),
        cmocka_unit_test(test_range_queries),
        cmocka_unit_test(test_result_types),
        cmocka_unit_test(test_evaluation_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_many_series_concurrent),
        cmocka_unit_test(test_listings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
