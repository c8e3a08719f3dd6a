/* SPDX-License-Identifier: Apache-2.0 */
/* Module test of analytics/ (operations): start/end/list against a real store in a temp
 * dir, the metrics they write into the TSDB (histogram, counters, phases, gauges), live
 * frames, restart, the abandoned sweep, limits, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/analytics.h"
#include "omega/tsdb.h"
#include "storetest.h"
#include "testutil.h"

#define HOUR (3600 * 1000LL)

typedef struct fixture {
    char *dir;            /* temp dir of the store */
    omega_tsdb_t *db;     /* the store */
    omega_analytics_t *a; /* module under test */
    json_t *frames;       /* live frames received */
    int64_t t0;           /* a base time: now, rounded to the second */
} fixture_t;

static void on_event(void *ctx, const char *json, size_t len)
{
    fixture_t *f = ctx;
    json_t *o = json_loadb(json, len, 0, NULL);
    assert_non_null(o);
    json_array_append_new(f->frames, o);
}

static omega_analytics_t *open_module_retention(fixture_t *f, size_t max_active,
                                                int64_t retention_ms)
{
    omega_analytics_options_t o;
    omega_analytics_options_init(&o);
    o.on_event = on_event;
    o.event_ctx = f;
    o.max_active = max_active;
    o.history_retention_ms = retention_ms;
    omega_error_t err;
    omega_error_clear(&err);
    omega_analytics_t *a = omega_analytics_create(f->db, &o, &err);
    assert_non_null(a);
    return a;
}

static omega_analytics_t *open_module(fixture_t *f, size_t max_active)
{
    return open_module_retention(f, max_active, 0);
}

static void open_store(fixture_t *f)
{
    /* no out-of-order window (storetest.h): the tests write at fake times hours apart */
    f->db = storetest_open(f->dir);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("analytics");
    f->frames = json_array();
    f->t0 = omega_now_ms() / 1000 * 1000;
    open_store(f);
    f->a = open_module(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    omega_analytics_destroy(f->a);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    json_decref(f->frames);
    free(f);
    return 0;
}

static int start(fixture_t *f, const char *id, const char *body, int64_t t, omega_error_t *err)
{
    omega_error_clear(err);
    return omega_analytics_op_start(f->a, id, body, body ? strlen(body) : 0, t, NULL, err);
}

static int end(fixture_t *f, const char *id, const char *body, int64_t t, omega_error_t *err)
{
    omega_error_clear(err);
    return omega_analytics_op_end(f->a, id, body, body ? strlen(body) : 0, t, NULL, err);
}

static json_t *list(fixture_t *f, int active, int64_t since, int64_t until, size_t limit)
{
    omega_analytics_query_t q = {active, since, until, limit};
    char *out = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_analytics_list(f->a, &q, &out, &err), 0);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(o);
    return o;
}

/* Last sample value of the one series matching name + labels "k=v" pairs, NAN when none;
 * *n gets the sample count. */
typedef struct last_ctx {
    double v;
    size_t n, series;
} last_ctx_t;

static int last_cb(void *ctx, const omega_series_t *s, const omega_sample_t *x, size_t n)
{
    last_ctx_t *c = ctx;
    c->series++;
    c->n = n;
    c->v = n ? x[n - 1].value : NAN;
    return 0;
}

static double last_value(fixture_t *f, const char *name, const char *l1, const char *v1,
                         const char *l2, const char *v2, size_t *n)
{
    omega_matcher_t m[3] = {{"__name__", name, OMEGA_MATCH_EQ}};
    size_t nm = 1;
    if (l1)
        m[nm++] = (omega_matcher_t){l1, v1, OMEGA_MATCH_EQ};
    if (l2)
        m[nm++] = (omega_matcher_t){l2, v2, OMEGA_MATCH_EQ};
    last_ctx_t c = {NAN, 0, 0};
    assert_int_equal(omega_tsdb_select(f->db, m, nm, 0, INT64_MAX, last_cb, &c, NULL), 0);
    if (n)
        *n = c.n;
    assert_true(c.series <= 1);
    return c.v;
}

static void test_start_end_list(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    char *out = NULL;
    const char *sb = "{\"kind\":\"compile\",\"labels\":{\"target\":\"wasm\",\"job\":\"core\"}}";
    assert_int_equal(omega_analytics_op_start(f->a, "build-1", sb, strlen(sb), f->t0, &out, &err),
                     0);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "running");
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "compile");
    json_decref(o);
    assert_int_equal(omega_analytics_active_count(f->a), 1);

    json_t *l = list(f, 1, 0, f->t0, 0);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
    json_decref(l);

    const char *eb = "{\"status\":\"failed\",\"phases\":{\"lexical\":12.5,\"codegen\":2000},"
                     "\"attributes\":{\"exit_code\":2,\"host\":\"runner-7\"}}";
    assert_int_equal(
        omega_analytics_op_end(f->a, "build-1", eb, strlen(eb), f->t0 + 2500, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    free(out);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
    assert_true(fabs(json_number_value(json_object_get(o, "duration_seconds")) - 2.5) < 1e-9);
    assert_true(json_is_string(json_object_get(o, "ended_at")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o, "attributes"), "exit_code")), 2);
    json_decref(o);
    assert_int_equal(omega_analytics_active_count(f->a), 0);

    l = list(f, 0, f->t0 - HOUR, f->t0 + HOUR, 0);
    json_t *items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(it, "id")), "build-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "labels"), "target")),
                        "wasm");
    assert_true(fabs(json_number_value(json_object_get(json_object_get(it, "phases"), "lexical")) -
                     12.5) < 1e-9);
    assert_false(json_is_true(json_object_get(l, "truncated")));
    json_decref(l);
    /* running only: nothing now */
    l = list(f, 1, 0, f->t0 + HOUR, 0);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 0);
    json_decref(l);

    /* live frames: started then ended */
    assert_int_equal(json_array_size(f->frames), 2);
    json_t *fr = json_array_get(f->frames, 0);
    assert_string_equal(json_string_value(json_object_get(fr, "type")), "job");
    assert_string_equal(json_string_value(json_object_get(fr, "event")), "started");
    fr = json_array_get(f->frames, 1);
    assert_string_equal(json_string_value(json_object_get(fr, "event")), "ended");
    assert_string_equal(json_string_value(json_object_get(fr, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(fr, "id")), "build-1");
}

static void test_metrics_written(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    const char *sb = "{\"kind\":\"compile\",\"labels\":{\"job\":\"core\"}}";
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof(id), "op-%d", i);
        assert_int_equal(start(f, id, sb, f->t0 + i * 10000, &err), 0);
        const char *eb = i == 2 ? "{\"status\":\"failed\"}"
                                : "{\"status\":\"ok\",\"phases\":{\"lexical\":250},"
                                  "\"attributes\":{\"cpu_user_seconds\":1.5,"
                                  "\"peak_rss_bytes\":1048576}}";
        /* durations 2 s, 2 s, 200 s */
        assert_int_equal(end(f, id, eb, f->t0 + i * 10000 + (i == 2 ? 200000 : 2000), &err), 0);
    }
    size_t n = 0;
    assert_true(last_value(f, "omega_operations_total", "status", "ok", "kind", "compile", &n) ==
                2);
    assert_int_equal(n, 3); /* the initial 0, then 1 and 2 */
    assert_true(last_value(f, "omega_operations_total", "status", "failed", NULL, NULL, &n) == 1);
    assert_int_equal(n, 2);
    assert_true(last_value(f, "omega_operation_duration_seconds_bucket", "status", "ok", "le",
                           "2.5", NULL) == 2);
    assert_true(last_value(f, "omega_operation_duration_seconds_bucket", "status", "ok", "le", "1",
                           NULL) == 0);
    assert_true(last_value(f, "omega_operation_duration_seconds_bucket", "status", "failed", "le",
                           "180", NULL) == 0);
    assert_true(last_value(f, "omega_operation_duration_seconds_bucket", "status", "failed", "le",
                           "300", NULL) == 1);
    assert_true(last_value(f, "omega_operation_duration_seconds_bucket", "status", "failed", "le",
                           "+Inf", NULL) == 1);
    assert_true(fabs(last_value(f, "omega_operation_duration_seconds_sum", "status", "ok", NULL,
                                NULL, NULL) -
                     4.0) < 1e-9);
    assert_true(last_value(f, "omega_operation_duration_seconds_count", "status", "ok", NULL, NULL,
                           NULL) == 2);
    assert_true(last_value(f, "omega_operation_last_duration_seconds", "status", "failed", "job",
                           "core", NULL) == 200);
    assert_true(fabs(last_value(f, "omega_operation_phase_duration_seconds", "phase", "lexical",
                                NULL, NULL, NULL) -
                     0.25) < 1e-9);
    assert_true(last_value(f, "omega_operation_cpu_seconds", "mode", "user", NULL, NULL, NULL) ==
                1.5);
    assert_true(last_value(f, "omega_operation_peak_rss_bytes", NULL, NULL, NULL, NULL, NULL) ==
                1048576);
    assert_true(last_value(f, "omega_operations_active", "job", "core", NULL, NULL, NULL) == 0);

    /* A tick re-writes counters and gauges; a running operation shows in the gauges. */
    assert_int_equal(start(f, "op-run", sb, f->t0 + 300000, &err), 0);
    assert_int_equal(omega_analytics_tick(f->a, f->t0 + 330000), 0);
    assert_true(last_value(f, "omega_operations_active", "job", "core", NULL, NULL, NULL) == 1);
    assert_true(last_value(f, "omega_operations_active_oldest_seconds", NULL, NULL, NULL, NULL,
                           NULL) == 30);
    assert_true(last_value(f, "omega_operations_total", "status", "ok", NULL, NULL, &n) == 2);
    assert_int_equal(n, 4);

    /* An empty label value is no label (Prometheus): the same family as without it. */
    assert_int_equal(start(f, "op-empty",
                           "{\"kind\":\"compile\",\"labels\":{\"branch\":\"\","
                           "\"job\":\"core\"}}",
                           f->t0 + 340000, &err),
                     0);
    assert_int_equal(end(f, "op-empty", "{\"status\":\"ok\"}", f->t0 + 341000, &err), 0);
    assert_true(last_value(f, "omega_operations_total", "status", "ok", "job", "core", NULL) == 3);
}

static void test_bad_input(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    char big_id[200];
    memset(big_id, 'a', sizeof(big_id) - 1);
    big_id[sizeof(big_id) - 1] = '\0';
    const char *bad_ids[] = {"", "a/b", "a b", "é", big_id, NULL};
    for (size_t i = 0; bad_ids[i]; i++) {
        assert_int_equal(start(f, bad_ids[i], NULL, f->t0, &err), OMEGA_EINVAL);
        assert_string_equal(err.path, "id");
    }
    /* unreadable bodies: no path */
    const char *unreadable[] = {"{", "[]", "\"x\"", "{\"kind\":\"a\",\"kind\":\"b\"}", NULL};
    for (size_t i = 0; unreadable[i]; i++) {
        assert_int_equal(start(f, "x", unreadable[i], f->t0, &err), OMEGA_EINVAL);
        assert_string_equal(err.path, "");
        assert_true(strlen(err.message) > 10);
    }
    struct {
        const char *body, *path;
    } bad_start[] = {
        {"{\"kind\":7}", "kind"},
        {"{\"kind\":\"\"}", "kind"},
        {"{\"name\":\"x\"}", "name"},
        {"{\"labels\":[]}", "labels"},
        {"{\"labels\":{\"job\":1}}", "labels.job"},
        {"{\"labels\":{\"status\":\"x\"}}", "labels.status"},
        {"{\"labels\":{\"__name__\":\"x\"}}", "labels.__name__"},
        {"{\"labels\":{\"9a\":\"x\"}}", "labels.9a"},
        {"{\"labels\":{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\",\"f\":\"1\","
         "\"g\":\"1\",\"h\":\"1\",\"i\":\"1\",\"j\":\"1\",\"k\":\"1\",\"l\":\"1\",\"m\":\"1\","
         "\"n\":\"1\",\"o\":\"1\",\"p\":\"1\",\"q\":\"1\"}}",
         "labels"},
    };
    for (size_t i = 0; i < sizeof(bad_start) / sizeof(bad_start[0]); i++) {
        assert_int_equal(start(f, "x", bad_start[i].body, f->t0, &err), OMEGA_EINVAL);
        assert_string_equal(err.path, bad_start[i].path);
    }
    assert_int_equal(omega_analytics_active_count(f->a), 0);

    /* end without start; double start; double end */
    assert_int_equal(end(f, "never", "{\"status\":\"ok\"}", f->t0, &err), OMEGA_ENOENT);
    assert_int_equal(start(f, "x", NULL, f->t0, &err), 0);
    assert_int_equal(start(f, "x", "{}", f->t0, &err), OMEGA_EEXIST);

    char phases[4096];
    size_t off = (size_t)snprintf(phases, sizeof(phases), "{\"status\":\"ok\",\"phases\":{");
    for (int i = 0; i < 65; i++)
        off += (size_t)snprintf(phases + off, sizeof(phases) - off, "%s\"p%d\":1", i ? "," : "", i);
    snprintf(phases + off, sizeof(phases) - off, "}}");
    struct {
        const char *body, *path;
    } bad_end[] = {
        {"{}", "status"},
        {"{\"status\":\"done\"}", "status"},
        {"{\"status\":1}", "status"},
        {"{\"status\":\"abandoned\"}", "status"},
        {phases, "phases"},
        {"{\"status\":\"ok\",\"phases\":{\"lex\":-1}}", "phases.lex"},
        {"{\"status\":\"ok\",\"phases\":{\"lex\":\"1\"}}", "phases.lex"},
        {"{\"status\":\"ok\",\"phases\":[1]}", "phases"},
        {"{\"status\":\"ok\",\"attributes\":{\"a\":{}}}", "attributes.a"},
        {"{\"status\":\"ok\",\"attributes\":{\"a-b\":1}}", "attributes.a-b"},
        {"{\"status\":\"ok\",\"extra\":1}", "extra"},
    };
    for (size_t i = 0; i < sizeof(bad_end) / sizeof(bad_end[0]); i++) {
        assert_int_equal(end(f, "x", bad_end[i].body, f->t0 + 1, &err), OMEGA_EINVAL);
        assert_string_equal(err.path, bad_end[i].path);
    }
    assert_int_equal(omega_analytics_active_count(f->a), 1); /* nothing half-applied */
    assert_int_equal(end(f, "x", "{\"status\":\"ok\"}", f->t0 + 1, &err), 0);
    assert_int_equal(end(f, "x", "{\"status\":\"ok\"}", f->t0 + 2, &err), OMEGA_ENOENT);

    omega_analytics_query_t q = {-1, f->t0, f->t0 - 1, 0};
    char *out = NULL;
    assert_int_equal(omega_analytics_list(f->a, &q, &out, &err), OMEGA_EINVAL);
    q = (omega_analytics_query_t){-1, 0, f->t0, 10001};
    assert_int_equal(omega_analytics_list(f->a, &q, &out, &err), OMEGA_EINVAL);
    assert_null(out);
}

static void test_active_limit(void **state)
{
    fixture_t *f = *state;
    omega_analytics_destroy(f->a);
    f->a = open_module(f, 2);
    omega_error_t err;
    assert_int_equal(start(f, "a", NULL, f->t0, &err), 0);
    assert_int_equal(start(f, "b", NULL, f->t0, &err), 0);
    assert_int_equal(start(f, "c", NULL, f->t0, &err), OMEGA_E2BIG);
    assert_true(strstr(err.message, "limit") != NULL);
    assert_int_equal(end(f, "a", "{\"status\":\"ok\"}", f->t0 + 1, &err), 0);
    assert_int_equal(start(f, "c", NULL, f->t0 + 2, &err), 0);
}

static void test_restart_keeps_running_and_history(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    assert_int_equal(
        start(f, "long", "{\"kind\":\"build\",\"labels\":{\"job\":\"a\"}}", f->t0, &err), 0);
    assert_int_equal(start(f, "short", NULL, f->t0, &err), 0);
    assert_int_equal(end(f, "short", "{\"status\":\"ok\"}", f->t0 + 1000, &err), 0);
    omega_analytics_destroy(f->a);
    omega_tsdb_close(f->db);
    open_store(f);
    f->a = open_module(f, 0);
    assert_int_equal(omega_analytics_active_count(f->a), 1);
    json_t *l = list(f, -1, f->t0 - HOUR, f->t0 + HOUR, 0);
    json_t *items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "long");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "status")),
                        "running");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")),
                        "short");
    json_decref(l);
    assert_int_equal(end(f, "long", "{\"status\":\"ok\"}", f->t0 + 5000, &err), 0);
    assert_true(last_value(f, "omega_operations_total", "job", "a", "status", "ok", NULL) == 1);
}

static void test_list_ranges_and_limit(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    /* ends spread over 3 days, every 5 h (crossing scan windows of ~4.7 h) */
    for (int i = 0; i < 15; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%02d", i);
        int64_t t = f->t0 - 72 * HOUR + i * 5 * HOUR;
        assert_int_equal(start(f, id, NULL, t - 1000, &err), 0);
        assert_int_equal(end(f, id, "{\"status\":\"ok\"}", t, &err), 0);
    }
    int64_t last = f->t0 - 72 * HOUR + 14 * 5 * HOUR;
    json_t *l = list(f, 0, 0, f->t0, 0);
    json_t *items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 15);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "r14");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 14), "id")), "r00");
    json_decref(l);
    /* inclusive bounds: exactly r03..r05 */
    l = list(f, 0, last - 55 * HOUR, last - 45 * HOUR, 0);
    items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "r05");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "id")), "r03");
    json_decref(l);
    /* limit keeps the newest and says truncated */
    l = list(f, 0, 0, f->t0, 4);
    items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 3), "id")), "r11");
    assert_true(json_is_true(json_object_get(l, "truncated")));
    json_decref(l);
    l = list(f, 0, 0, f->t0, 15);
    assert_false(json_is_true(json_object_get(l, "truncated")));
    json_decref(l);
    /* a range before every record */
    l = list(f, 0, 0, f->t0 - 100 * HOUR, 0);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 0);
    json_decref(l);
}

static void test_abandoned_sweep(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    assert_int_equal(start(f, "old", NULL, f->t0 - 25 * HOUR, &err), 0);
    assert_int_equal(start(f, "young", NULL, f->t0 - HOUR, &err), 0);
    json_array_clear(f->frames);
    assert_int_equal(omega_analytics_tick(f->a, f->t0), 0);
    assert_int_equal(omega_analytics_active_count(f->a), 1);
    assert_int_equal(json_array_size(f->frames), 1);
    json_t *fr = json_array_get(f->frames, 0);
    assert_string_equal(json_string_value(json_object_get(fr, "id")), "old");
    assert_string_equal(json_string_value(json_object_get(fr, "status")), "abandoned");
    assert_int_equal(end(f, "old", "{\"status\":\"ok\"}", f->t0, &err), OMEGA_ENOENT);
    assert_true(last_value(f, "omega_operations_total", "status", "abandoned", NULL, NULL, NULL) ==
                1);
}

static void test_history_retention(void **state)
{
    fixture_t *f = *state;
    omega_analytics_destroy(f->a);
    f->a = open_module_retention(f, 0, 48 * HOUR);
    omega_error_t err;
    const int64_t ends[] = {f->t0 - 72 * HOUR, f->t0 - 49 * HOUR, f->t0 - 47 * HOUR, f->t0 - HOUR};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof(id), "h%d", i);
        assert_int_equal(start(f, id, NULL, ends[i] - 1000, &err), 0);
        assert_int_equal(end(f, id, "{\"status\":\"ok\"}", ends[i], &err), 0);
    }
    assert_int_equal(omega_analytics_tick(f->a, f->t0), 0);
    json_t *l = list(f, 0, 0, f->t0, 0);
    json_t *items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "h3");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")), "h2");
    json_decref(l);
}

typedef struct worker {
    fixture_t *f; /* shared fixture */
    int n;        /* worker number */
    int failures; /* calls that did not return 0 */
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 200; i++) {
        char id[32];
        omega_error_t err;
        snprintf(id, sizeof(id), "w%d-%d", w->n, i);
        int64_t t = omega_now_ms();
        w->failures += start(w->f, id, "{\"kind\":\"compile\"}", t, &err) != 0;
        w->failures += end(w->f, id, i % 3 ? "{\"status\":\"ok\"}" : "{\"status\":\"failed\"}",
                           t + 1, &err) != 0;
    }
    return NULL;
}

/* Two writer threads and the metrics thread (every 5 ms) at once: nothing lost, counters
 * exact (run under ASan/UBSan here; the code takes one lock for all shared state). */
static void test_concurrent_writers_and_metrics_thread(void **state)
{
    fixture_t *f = *state;
    omega_analytics_destroy(f->a);
    omega_analytics_options_t o;
    omega_analytics_options_init(&o);
    o.metrics_interval_ms = 5;
    f->a = omega_analytics_create(f->db, &o, NULL);
    assert_non_null(f->a);
    assert_int_equal(omega_analytics_start(f->a), 0);
    worker_t w[2] = {{f, 0, 0}, {f, 1, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    omega_analytics_stop(f->a);
    assert_int_equal(w[0].failures + w[1].failures, 0);
    assert_int_equal(omega_analytics_active_count(f->a), 0);
    json_t *l = list(f, 0, 0, omega_now_ms() + 1000, 10000);
    assert_int_equal(json_array_size(json_object_get(l, "items")), 400);
    json_decref(l);
    assert_int_equal(omega_analytics_tick(f->a, omega_now_ms() + 1000), 0);
    double ok = last_value(f, "omega_operations_total", "status", "ok", NULL, NULL, NULL);
    double failed = last_value(f, "omega_operations_total", "status", "failed", NULL, NULL, NULL);
    assert_true(ok == 266 && failed == 134);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_end_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_running_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_ranges_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_and_metrics_thread, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
