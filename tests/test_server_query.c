/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of the query endpoints: a data dir pre-filled through the storage API,
 * then the real omega-monitor binary on a loopback port answering /api/v1/query,
 * /query_range (GET and form POST), /series, /labels and /label/<name>/values with
 * Prometheus' JSON shapes, value formatting and error types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "srvtest.h"
#include "omega/tsdb.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

typedef struct fixture {
    int64_t t0; /* first sample time, a whole minute, 30 min ago */
} fixture_t;

static fixture_t F;

static char *const server_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, NULL};

static void write_point(omega_tsdb_t *db, const char *name, const omega_label_t *l, size_t n,
                        int64_t ts, double v)
{
    omega_point_t p = {name, l, n, ts, v};
    omega_error_t err;
    if (omega_tsdb_write(db, &p, 1, &err) != 0)
        fail_msg("prefill %s: %s", name, err.message);
}

/* Data written with the storage API while the server is not running. */
static int prefill(void)
{
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = S.data;
    o.sync_writes = 0;
    o.out_of_order_window_ms = 0;
    omega_tsdb_t *db = omega_tsdb_open(&o, NULL);
    if (!db)
        return -1;
    omega_label_t req[] = {{"instance", "a"}, {"job", "api"}};
    for (int i = 0; i <= 120; i++) /* 30 min, +10 every 15 s */
        write_point(db, "http_requests_total", req, 2, F.t0 + i * 15000, i * 10.0);
    omega_label_t room[] = {{"room", "x"}};
    write_point(db, "temp", room, 1, F.t0, 21.5);
    write_point(db, "temp2", room, 1, F.t0, 1);
    omega_label_t odd[] = {{"room", "q\"b\\s"}};
    write_point(db, "temp", odd, 1, F.t0, NAN);
    write_point(db, "big", NULL, 0, F.t0, 1e21);
    write_point(db, "small", NULL, 0, F.t0, 1e-7);
    write_point(db, "fraction", NULL, 0, F.t0, -0.125);
    omega_tsdb_close(db);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (srvtest_init(&S, "srvquery") != 0)
        return -1;
    F.t0 = (omega_now_ms() / 60000 - 30) * 60000;
    if (prefill() != 0)
        return -1;
    return srvtest_launch_session(&S, server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&S);
}

/* ---- helpers ---- */

/* GET path?args (args already encoded) and parse the JSON body. */
static json_t *get(const char *path, const char *args, int want_status)
{
    char url[8192];
    snprintf(url, sizeof(url), "%s%s%s", path, args ? "?" : "", args ? args : "");
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", url, S.auth, NULL, 0, &r), 0);
    if (r.status != want_status)
        fail_msg("GET %s: status %d, want %d: %s", url, r.status, want_status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j)
        fail_msg("GET %s: body is not JSON: %s", url, r.body);
    httpc_resp_free(&r);
    return j;
}

static json_t *post_form(const char *path, const char *form, int want_status)
{
    httpc_resp_t r;
    char hdr[1400];
    snprintf(hdr, sizeof(hdr), "%sContent-Type: application/x-www-form-urlencoded\r\n", S.auth);
    assert_int_equal(httpc_request(S.port, "POST", path, hdr, form, strlen(form), &r), 0);
    if (r.status != want_status)
        fail_msg("POST %s: status %d, want %d: %s", path, r.status, want_status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    httpc_resp_free(&r);
    return j;
}

/* /api/v1/query?query=<q>&time=<t0 + sec> */
static json_t *instant(const char *q, int64_t sec, int want_status)
{
    char enc[4096], args[4200];
    httpc_urlencode(q, enc, sizeof(enc));
    snprintf(args, sizeof(args), "query=%s&time=%lld", enc, (long long)(F.t0 / 1000 + sec));
    return get("/api/v1/query", args, want_status);
}

static const char *jstr(json_t *j, const char *path)
{
    /* "a.b" walks objects. */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

static void assert_error(json_t *j, const char *type, const char *needle)
{
    assert_string_equal(jstr(j, "status"), "error");
    assert_string_equal(jstr(j, "errorType"), type);
    if (!strstr(jstr(j, "error"), needle))
        fail_msg("error '%s' lacks '%s'", jstr(j, "error"), needle);
    json_decref(j);
}

/* ---- tests ---- */

static void test_instant_vector_shape(void **state)
{
    (void)state;
    json_t *j = instant("temp{room=\"x\"}", 60, 200);
    assert_string_equal(jstr(j, "status"), "success");
    assert_string_equal(jstr(j, "data.resultType"), "vector");
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    assert_int_equal(json_array_size(res), 1);
    json_t *el = json_array_get(res, 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(el, "metric"), "__name__")), "temp");
    assert_string_equal(json_string_value(json_object_get(json_object_get(el, "metric"), "room")),
                        "x");
    json_t *val = json_object_get(el, "value");
    assert_true(json_is_integer(json_array_get(val, 0))); /* whole seconds: no ".000" */
    assert_int_equal(json_integer_value(json_array_get(val, 0)), F.t0 / 1000 + 60);
    assert_string_equal(json_string_value(json_array_get(val, 1)), "21.5");
    json_decref(j);
    /* Label values with quotes and backslashes survive; NaN is the string "NaN". */
    j = instant("temp{room!=\"x\"}", 0, 200);
    el = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(el, "metric"), "room")),
                        "q\"b\\s");
    assert_string_equal(json_string_value(json_array_get(json_object_get(el, "value"), 1)), "NaN");
    json_decref(j);
}

static void test_value_formatting(void **state)
{
    (void)state;
    const struct {
        const char *q;
        const char *want;
    } cases[] = {
        {"big", "1000000000000000000000"},
        {"small", "0.0000001"},
        {"fraction", "-0.125"},
        {"1/0", "+Inf"},
        {"-1/0", "-Inf"},
        {"0.1+0.2", "0.30000000000000004"},
        {"3", "3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = instant(cases[i].q, 0, 200);
        json_t *res = json_object_get(json_object_get(j, "data"), "result");
        const char *type = jstr(j, "data.resultType");
        json_t *pt =
            strcmp(type, "scalar") == 0 ? res : json_object_get(json_array_get(res, 0), "value");
        if (strcmp(json_string_value(json_array_get(pt, 1)), cases[i].want) != 0)
            fail_msg("%s: got %s, want %s", cases[i].q, json_string_value(json_array_get(pt, 1)),
                     cases[i].want);
        json_decref(j);
    }
}

static void test_scalar_string_and_fractional_time(void **state)
{
    (void)state;
    json_t *j = get("/api/v1/query", "query=1%2B2&time=1700000000.5", 200);
    assert_string_equal(jstr(j, "data.resultType"), "scalar");
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    assert_true(fabs(json_real_value(json_array_get(res, 0)) - 1700000000.5) < 1e-6);
    assert_string_equal(json_string_value(json_array_get(res, 1)), "3");
    json_decref(j);
    j = get("/api/v1/query", "query=%22hello%22&time=1700000000", 200);
    assert_string_equal(jstr(j, "data.resultType"), "string");
    assert_int_equal(json_integer_value(
                         json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0)),
                     1700000000);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(j, "data"), "result"), 1)),
        "hello");
    json_decref(j);
    /* '+' in a query string is a space, as browsers and Grafana send it. */
    char args[200];
    snprintf(args, sizeof(args), "query=count+by+(room)+(temp)&time=%lld",
             (long long)(F.t0 / 1000));
    j = get("/api/v1/query", args, 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "data"), "result")), 2);
    json_decref(j);
    j = get("/api/v1/query", "query=time()&time=2023-11-14T22:13:20Z", 200);
    res = json_object_get(json_object_get(j, "data"), "result");
    assert_string_equal(json_string_value(json_array_get(res, 1)), "1700000000");
    json_decref(j);
}

static void test_rate_and_post(void **state)
{
    (void)state;
    /* +10 per 15 s everywhere: rate is 2/3 per second. */
    json_t *j = instant("sum by (job) (rate(http_requests_total[5m]))", 900, 200);
    json_t *el = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(el, "metric"), "job")),
                        "api");
    assert_true(fabs(atof(json_string_value(json_array_get(json_object_get(el, "value"), 1))) -
                     2.0 / 3) < 1e-9);
    json_decref(j);
    char form[512];
    snprintf(form, sizeof(form), "query=increase(http_requests_total%%5B1m%%5D)+*+2&time=%lld",
             (long long)(F.t0 / 1000 + 600));
    j = post_form("/api/v1/query?query=nonsense(", form, 200); /* the body wins */
    el = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(el, "value"), 1)), "80");
    assert_null(json_object_get(json_object_get(el, "metric"), "__name__"));
    json_decref(j);
}

static void test_query_range(void **state)
{
    (void)state;
    char args[512];
    long long s0 = F.t0 / 1000;
    snprintf(args, sizeof(args),
             "query=rate(http_requests_total%%5B1m%%5D)&start=%lld&end=%lld&step=60", s0 + 60,
             s0 + 600);
    json_t *j = get("/api/v1/query_range", args, 200);
    assert_string_equal(jstr(j, "data.resultType"), "matrix");
    json_t *el = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    json_t *vals = json_object_get(el, "values");
    assert_int_equal(json_array_size(vals), 10);
    for (size_t i = 0; i < 10; i++) {
        json_t *pt = json_array_get(vals, i);
        assert_int_equal(json_integer_value(json_array_get(pt, 0)), s0 + 60 + 60 * (long long)i);
        assert_true(fabs(atof(json_string_value(json_array_get(pt, 1))) - 2.0 / 3) < 1e-9);
    }
    json_decref(j);
    /* Form POST with a duration step, and a scalar over a range. */
    char form[512];
    snprintf(form, sizeof(form), "query=time()&start=%lld&end=%lld&step=1m", s0, s0 + 120);
    j = post_form("/api/v1/query_range", form, 200);
    el = json_array_get(json_object_get(json_object_get(j, "data"), "result"), 0);
    assert_int_equal(json_object_size(json_object_get(el, "metric")), 0);
    assert_int_equal(json_array_size(json_object_get(el, "values")), 3);
    json_decref(j);
}

static void test_bad_requests(void **state)
{
    (void)state;
    assert_error(instant("sum(rate(x[5m])", 0, 400), "bad_data",
                 "invalid parameter \"query\": 1:16: parse error");
    assert_error(instant("foo(up)", 0, 400), "bad_data", "unknown function: foo");
    assert_error(instant("up + on(a) group_left up", 0, 400), "bad_data",
                 "group_left is not supported");
    assert_error(instant("up[5m:1m]", 0, 400), "bad_data", "subqueries are not supported");
    assert_error(get("/api/v1/query", NULL, 400), "bad_data", "query");
    assert_error(get("/api/v1/query", "query=up&time=yesterday", 400), "bad_data",
                 "invalid parameter \"time\"");
    assert_error(get("/api/v1/query_range", "query=up&start=1&end=2", 400), "bad_data", "\"step\"");
    assert_error(get("/api/v1/query_range", "query=up&start=1&end=2&step=abc", 400), "bad_data",
                 "\"step\"");
    assert_error(get("/api/v1/query_range", "query=up&start=1&end=2&step=0", 400), "bad_data",
                 "zero or negative");
    assert_error(get("/api/v1/query_range", "query=up&start=3&end=2&step=1", 400), "bad_data",
                 "end timestamp");
    assert_error(get("/api/v1/query_range", "query=up&start=0&end=1000000000&step=1", 400),
                 "bad_data", "11,000 points");
    assert_error(get("/api/v1/query_range", "query=up%5B5m%5D&start=1&end=2&step=1", 400),
                 "bad_data", "range vector");
    /* Ambiguous results: 422 execution. */
    assert_error(instant("abs({__name__=~\"temp|temp2\",room=\"x\"})", 0, 422), "execution",
                 "same labelset");
    /* A POST body that is not a form. */
    httpc_resp_t r;
    char hdr[1400];
    snprintf(hdr, sizeof(hdr), "%sContent-Type: application/json\r\n", S.auth);
    assert_int_equal(
        httpc_request(S.port, "POST", "/api/v1/query", hdr, "{\"query\":\"up\"}", 14, &r), 0);
    assert_int_equal(r.status, 400);
    httpc_resp_free(&r);
    assert_error(post_form("/api/v1/query", "query=%ZZ", 400), "bad_data", "escape");
    /* No credentials. */
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/query?query=up", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/label/room/values", NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 401);
    httpc_resp_free(&r);
}

static void test_series_and_labels(void **state)
{
    (void)state;
    json_t *j = get("/api/v1/series", "match%5B%5D=temp&match%5B%5D=big", 200);
    assert_string_equal(jstr(j, "status"), "success");
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "__name__")),
                        "big");
    json_decref(j);
    j = post_form("/api/v1/series", "match%5B%5D=%7Broom%3D%22x%22%7D", 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 2);
    json_decref(j);
    assert_error(get("/api/v1/series", NULL, 400), "bad_data", "match[]");
    assert_error(get("/api/v1/series", "match%5B%5D=rate(x%5B5m%5D)", 400), "bad_data",
                 "series selector");
    assert_error(get("/api/v1/series", "match%5B%5D=up&start=nope", 400), "bad_data", "\"start\"");
    j = get("/api/v1/labels", NULL, 200);
    data = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_array_get(data, 0)), "__name__");
    size_t n = json_array_size(data);
    int saw_room = 0;
    for (size_t i = 0; i < n; i++)
        saw_room |= strcmp(json_string_value(json_array_get(data, i)), "room") == 0;
    assert_true(saw_room);
    json_decref(j);
    j = get("/api/v1/label/room/values", NULL, 200);
    data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(json_string_value(json_array_get(data, 0)), "q\"b\\s");
    assert_string_equal(json_string_value(json_array_get(data, 1)), "x");
    json_decref(j);
    j = get("/api/v1/label/__name__/values", "match%5B%5D=%7Broom%3D%22x%22%7D", 200);
    data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(json_string_value(json_array_get(data, 0)), "temp");
    json_decref(j);
    j = get("/api/v1/label/nope/values", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 0);
    json_decref(j);
    assert_error(get("/api/v1/label/bad-name/values", NULL, 400), "bad_data", "invalid label name");
    json_decref(get("/api/v1/label/room/other", NULL, 404));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instant_vector_shape),
        cmocka_unit_test(test_value_formatting),
        cmocka_unit_test(test_scalar_string_and_fractional_time),
        cmocka_unit_test(test_rate_and_post),
        cmocka_unit_test(test_query_range),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_series_and_labels),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
