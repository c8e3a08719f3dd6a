/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the alert engine's rules and state machine over a real store in a temp dir,
 * driven by a fake clock passed to omega_alert_evaluate(); notifications go to a real
 * loopback HTTP receiver through a webhook channel, so what is asserted is what a user's
 * endpoint would receive. Covers validation, firing, resolving, `for`, hysteresis,
 * severities, cooldown suppression and expiry, repeat, ack, inhibition, silences,
 * grouping, history and reloading. */
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

#define MIN (60 * 1000)

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_alert_engine_t *e;
    test_httpd_t *rx;
    int64_t t0; /* fake clock origin, close to the real clock */
    size_t seen; /* receiver requests already consumed */
} fx_t;

static void fx_engine(fx_t *f)
{
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.builtin_rules = 0;
    o.retry_base_ms = 10;
    omega_error_t err;
    omega_error_clear(&err);
    f->e = omega_alert_create(f->db, &o, &err);
    assert_non_null(f->e);
}

static int setup(void **state)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("alert");
    f->db = storetest_open(f->dir);
    fx_engine(f);
    f->rx = test_httpd_start();
    assert_non_null(f->rx);
    f->t0 = omega_now_ms() / 1000 * 1000;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"id\":\"hook\",\"name\":\"receiver\",\"type\":\"webhook\","
             "\"config\":{\"url\":\"http://127.0.0.1:%d/hook\"}}", test_httpd_port(f->rx));
    assert_int_equal(omega_alert_channel_put(f->e, NULL, body, NULL, NULL), 0);
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

/* Write value for metric{host=host} at t0 + at_ms. */
static void put(fx_t *f, const char *metric, const char *host, int64_t at_ms, double value)
{
    omega_label_t l = {"host", host};
    omega_point_t p = {metric, &l, 1, f->t0 + at_ms, value};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
}

static void rule(fx_t *f, const char *json)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_alert_rule_put(f->e, NULL, json, NULL, &err);
    if (rc != 0)
        fail_msg("rule rejected: %s (%s)", err.message, err.path);
}

/* Evaluate at t0 + at_ms and deliver; returns the notifications received since last call
 * as a JSON array (caller decrefs). */
static json_t *step(fx_t *f, int64_t at_ms)
{
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + at_ms), 0);
    omega_alert_deliver(f->e, f->t0 + at_ms);
    json_t *out = json_array();
    size_t n = test_httpd_count(f->rx);
    for (; f->seen < n; f->seen++) {
        httpd_req_t r;
        assert_int_equal(test_httpd_get(f->rx, f->seen, &r), 0);
        json_t *body = json_loads(r.body, 0, NULL);
        assert_non_null(body);
        json_array_append_new(out, body);
        httpd_req_free(&r);
    }
    return out;
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *active(fx_t *f)
{
    char *text = NULL;
    assert_int_equal(omega_alert_active(f->e, &text, NULL), 0);
    json_t *v = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(v);
    return v;
}

static void expect_reject(fx_t *f, const char *json, const char *path, const char *needle)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_alert_rule_put(f->e, NULL, json, NULL, &err);
    assert_int_not_equal(rc, 0);
    if (path)
        assert_string_equal(err.path, path);
    if (needle && !strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static void test_rule_validation(void **state)
{
    fx_t *f = *state;
    expect_reject(f, "not json", NULL, "invalid JSON");
    expect_reject(f, "[1]", NULL, "object");
    expect_reject(f, "{\"expr\":\"up\",\"warning\":1}", "name", "required");
    expect_reject(f, "{\"name\":\"x\",\"warning\":1}", "expr", "required");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up{\",\"warning\":1}", "expr", "expr:");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\"}", "warning", "at least one");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":\"high\"}", "warning", NULL);
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"op\":\"=>\"}", "op", NULL);
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":90,\"critical\":80}",
                  "critical", "less severe");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":10,\"critical\":5,\"op\":\"<\","
                     "\"clear\":8}", "clear", "healthy side");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"for\":\"soon\"}", "for", NULL);
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"category\":\"misc\"}",
                  "category", NULL);
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"channels\":[\"nope\"]}",
                  "channels", "nope");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"id\":\"builtin-x\"}", "id",
                  "reserved");
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"labels\":{\"1a\":\"v\"}}",
                  "labels", NULL);
    expect_reject(f, "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"annotations\":[]}",
                  "annotations", NULL);

    char *out = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"r1\",\"name\":\"CPU\",\"expr\":\"cpu\","
                                          "\"warning\":80,\"critical\":95,\"for\":\"5m\","
                                          "\"channels\":[\"hook\"],\"annotations\":"
                                          "{\"description\":\"d\"}}", &out, &err), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_string_equal(sget(r, "id"), "r1");
    assert_string_equal(sget(r, "op"), ">");
    assert_int_equal((int)json_number_value(json_object_get(r, "for")), 300);
    assert_string_equal(sget(r, "category"), "performance");
    json_decref(r);
    assert_int_equal(omega_alert_rule_put(f->e, NULL, "{\"id\":\"r1\",\"name\":\"x\","
                                          "\"expr\":\"cpu\",\"warning\":1}", NULL, &err),
                     OMEGA_EEXIST);
    assert_int_equal(omega_alert_rule_put(f->e, "r2", "{\"name\":\"x\",\"expr\":\"cpu\","
                                          "\"warning\":1}", NULL, &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_rule_put(f->e, "r1", "{\"name\":\"CPU2\",\"expr\":\"cpu\","
                                          "\"warning\":1}", NULL, &err), 0);
    assert_int_equal(omega_alert_rule_get(f->e, "r1", &out, &err), 0);
    assert_non_null(strstr(out, "CPU2"));
    free(out);
    assert_int_equal(omega_alert_rule_delete(f->e, "r1", &err), 0);
    assert_int_equal(omega_alert_rule_delete(f->e, "r1", &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_rule_get(f->e, "r1", &out, &err), OMEGA_ENOENT);
}

static void test_fires_and_resolves_with_api_body(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"CPU high\",\"expr\":\"cpu\",\"warning\":80,\"critical\":95,"
            "\"channels\":[\"hook\"],\"labels\":{\"team\":\"build\"},\"annotations\":"
            "{\"description\":\"CPU is high\",\"recommended_action\":\"look\"}}");
    put(f, "cpu", "a", 0, 50);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);

    put(f, "cpu", "a", 1000, 85);
    n = step(f, 1000);
    assert_int_equal(json_array_size(n), 1);
    json_t *b = json_array_get(n, 0);
    const char *keys[] = {"alert", "status", "severity", "metric", "value", "threshold",
                          "labels", "started_at", "description", "recommended_action"};
    assert_int_equal(json_object_size(b), 10); /* exactly API.md's body: no dashboard link */
    for (size_t i = 0; i < 10; i++)
        assert_non_null(json_object_get(b, keys[i]));
    assert_string_equal(sget(b, "alert"), "CPU high");
    assert_string_equal(sget(b, "status"), "firing");
    assert_string_equal(sget(b, "severity"), "warning");
    assert_string_equal(sget(b, "metric"), "cpu");
    assert_true(json_number_value(json_object_get(b, "value")) == 85);
    assert_true(json_number_value(json_object_get(b, "threshold")) == 80);
    assert_string_equal(sget(json_object_get(b, "labels"), "host"), "a");
    assert_string_equal(sget(json_object_get(b, "labels"), "team"), "build");
    assert_string_equal(sget(b, "description"), "CPU is high");
    json_decref(n);

    json_t *a = active(f);
    assert_int_equal(json_array_size(json_object_get(a, "items")), 1);
    assert_string_equal(sget(json_array_get(json_object_get(a, "items"), 0), "state"), "firing");
    json_decref(a);

    put(f, "cpu", "a", 2000, 40);
    n = step(f, 2000);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "status"), "resolved");
    json_decref(n);
    a = active(f);
    assert_int_equal(json_array_size(json_object_get(a, "items")), 0);
    json_decref(a);
}

static void test_for_duration(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"slow\",\"expr\":\"lat\",\"critical\":1,\"for\":\"30s\","
            "\"channels\":[\"hook\"]}");
    put(f, "lat", "a", 0, 2);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    json_t *a = active(f);
    assert_string_equal(sget(json_array_get(json_object_get(a, "items"), 0), "state"), "pending");
    json_decref(a);
    /* A pending alert that clears never notifies. */
    put(f, "lat", "a", 10000, 0.5);
    n = step(f, 10000);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    /* Breach again: the 30 s start over. */
    put(f, "lat", "a", 20000, 3);
    n = step(f, 20000);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    put(f, "lat", "a", 49000, 3);
    n = step(f, 49000);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    put(f, "lat", "a", 50000, 3);
    n = step(f, 50000);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "severity"), "critical");
    json_decref(n);
}

static void test_hysteresis_and_escalation(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"mem\",\"expr\":\"mem\",\"warning\":80,\"critical\":90,"
            "\"emergency\":98,\"clear\":70,\"channels\":[\"hook\"]}");
    put(f, "mem", "a", 0, 85);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "severity"), "warning");
    json_decref(n);
    /* Between clear and warning: still firing, no news. */
    put(f, "mem", "a", 1000, 75);
    n = step(f, 1000);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    json_t *a = active(f);
    assert_int_equal(json_array_size(json_object_get(a, "items")), 1);
    json_decref(a);
    /* Escalation is notified at once with the threshold of the new severity. */
    put(f, "mem", "a", 2000, 99);
    n = step(f, 2000);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "severity"), "emergency");
    assert_true(json_number_value(json_object_get(json_array_get(n, 0), "threshold")) == 98);
    json_decref(n);
    put(f, "mem", "a", 3000, 70);
    n = step(f, 3000);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "status"), "resolved");
    json_decref(n);
}

static void test_cooldown_suppression_and_expiry(void **state)
{
    fx_t *f = *state;
    /* system category: 600 s cooldown by default. */
    rule(f, "{\"name\":\"disk\",\"expr\":\"disk\",\"critical\":90,\"category\":\"system\","
            "\"channels\":[\"hook\"]}");
    put(f, "disk", "a", 0, 95);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    json_decref(n);
    put(f, "disk", "a", MIN, 50);
    n = step(f, MIN);
    assert_int_equal(json_array_size(n), 1); /* resolved */
    json_decref(n);
    /* Flaps back within the cooldown: firing but not notified. */
    put(f, "disk", "a", 2 * MIN, 95);
    n = step(f, 2 * MIN);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    json_t *a = active(f);
    assert_string_equal(sget(json_array_get(json_object_get(a, "items"), 0), "state"), "firing");
    json_decref(a);
    put(f, "disk", "a", 9 * MIN, 95);
    n = step(f, 9 * MIN);
    assert_int_equal(json_array_size(n), 0);
    json_decref(n);
    /* Cooldown over (600 s after the first notification): notified now. */
    put(f, "disk", "a", 10 * MIN, 95);
    n = step(f, 10 * MIN);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "status"), "firing");
    json_decref(n);
}

static void test_repeat_and_ack(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"id\":\"rep\",\"name\":\"q\",\"expr\":\"queue\",\"warning\":10,"
            "\"repeat_interval\":\"2m\",\"category\":\"application\",\"channels\":[\"hook\"]}");
    for (int m = 0; m <= 12; m++)
        put(f, "queue", "a", m * MIN, 20);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    json_decref(n);
    n = step(f, MIN);
    assert_int_equal(json_array_size(n), 0); /* before the repeat interval */
    json_decref(n);
    n = step(f, 2 * MIN);
    assert_int_equal(json_array_size(n), 0); /* application cooldown (3 m) is the floor */
    json_decref(n);
    n = step(f, 3 * MIN);
    assert_int_equal(json_array_size(n), 1); /* repeat */
    json_decref(n);

    json_t *a = active(f);
    const char *id = sget(json_array_get(json_object_get(a, "items"), 0), "id");
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_ack(f->e, "nope", "bob", &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_ack(f->e, id, "bob", &err), 0);
    json_decref(a);
    n = step(f, 10 * MIN);
    assert_int_equal(json_array_size(n), 0); /* acknowledged: no repeats */
    json_decref(n);
    a = active(f);
    json_t *it = json_array_get(json_object_get(a, "items"), 0);
    assert_true(json_is_true(json_object_get(it, "acknowledged")));
    assert_string_equal(sget(it, "acknowledged_by"), "bob");
    json_decref(a);
}

static void test_inhibition(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"temp warn\",\"expr\":\"temp\",\"warning\":60,\"channels\":[\"hook\"]}");
    rule(f, "{\"name\":\"temp crit\",\"expr\":\"temp\",\"critical\":80,\"channels\":[\"hook\"]}");
    put(f, "temp", "a", 0, 90);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "alert"), "temp crit");
    json_decref(n);
    json_t *a = active(f);
    json_t *items = json_object_get(a, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *it = json_array_get(items, i);
        int warn = strcmp(sget(it, "severity"), "warning") == 0;
        assert_int_equal(json_is_true(json_object_get(it, "inhibited")), warn);
    }
    json_decref(a);
    /* The critical clears: the warning is news now. */
    put(f, "temp", "a", 1000, 70);
    n = step(f, 1000);
    assert_int_equal(json_array_size(n), 2);
    int resolved = 0, warning = 0;
    for (size_t i = 0; i < 2; i++) {
        resolved += strcmp(sget(json_array_get(n, i), "status"), "resolved") == 0;
        warning += strcmp(sget(json_array_get(n, i), "alert"), "temp warn") == 0;
    }
    assert_int_equal(resolved, 1);
    assert_int_equal(warning, 1);
    json_decref(n);
}

static void test_silence(void **state)
{
    fx_t *f = *state;
    omega_error_t err;
    omega_error_clear(&err);
    /* Bad silences. */
    assert_int_equal(omega_alert_silence_create(f->e, "{\"matchers\":[],\"ends_at\":1e10,"
                                                "\"author\":\"a\",\"comment\":\"c\"}", NULL, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_alert_silence_create(f->e, "{\"matchers\":[{\"name\":\"host\","
                                                "\"value\":\"(\",\"op\":\"=~\"}],\"ends_at\":1e10,"
                                                "\"author\":\"a\",\"comment\":\"c\"}", NULL, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_alert_silence_create(f->e, "{\"matchers\":[{\"name\":\"host\","
                                                "\"value\":\"a\"}],\"ends_at\":1e10,"
                                                "\"comment\":\"c\"}", NULL, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, "author");

    rule(f, "{\"name\":\"load\",\"expr\":\"load\",\"warning\":4,\"channels\":[\"hook\"]}");
    char body[256], *out = NULL;
    snprintf(body, sizeof(body),
             "{\"matchers\":[{\"name\":\"alertname\",\"value\":\"load\"},{\"name\":\"host\","
             "\"value\":\"a|b\",\"op\":\"=~\"}],\"starts_at\":%lld,\"ends_at\":%lld,"
             "\"author\":\"ops\",\"comment\":\"maintenance\"}",
             (long long)(f->t0 / 1000), (long long)(f->t0 / 1000 + 3600));
    assert_int_equal(omega_alert_silence_create(f->e, body, &out, &err), 0);
    json_t *s = json_loads(out, 0, NULL);
    free(out);
    char sid[80];
    snprintf(sid, sizeof(sid), "%s", sget(s, "id"));
    json_decref(s);
    put(f, "load", "a", 0, 9);
    put(f, "load", "c", 0, 9);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1); /* host c is not silenced */
    assert_string_equal(sget(json_object_get(json_array_get(n, 0), "labels"), "host"), "c");
    json_decref(n);
    assert_int_equal(omega_alert_silence_list(f->e, f->t0, &out, &err), 0);
    assert_non_null(strstr(out, "maintenance"));
    free(out);
    assert_int_equal(omega_alert_silence_delete(f->e, sid, &err), 0);
    assert_int_equal(omega_alert_silence_delete(f->e, sid, &err), OMEGA_ENOENT);
    put(f, "load", "a", 1000, 9);
    put(f, "load", "c", 1000, 9);
    n = step(f, 1000);
    assert_int_equal(json_array_size(n), 1); /* silence lifted: host a notified now */
    assert_string_equal(sget(json_object_get(json_array_get(n, 0), "labels"), "host"), "a");
    json_decref(n);

    /* An ended silence is listed until it ends, kept a week, then forgotten. */
    snprintf(body, sizeof(body),
             "{\"matchers\":[{\"name\":\"host\",\"value\":\"z\"}],\"starts_at\":%lld,"
             "\"ends_at\":%lld,\"author\":\"ops\",\"comment\":\"old\"}",
             (long long)(f->t0 / 1000), (long long)(f->t0 / 1000 + 60));
    assert_int_equal(omega_alert_silence_create(f->e, body, NULL, &err), 0);
    assert_int_equal(omega_alert_silence_list(f->e, f->t0 + 120000, &out, &err), 0);
    assert_null(strstr(out, "\"old\""));
    free(out);
    json_decref(step(f, 8LL * 86400 * 1000));
    omega_alert_destroy(f->e);
    fx_engine(f);
    assert_int_equal(omega_alert_silence_list(f->e, 0, &out, &err), 0);
    assert_string_equal(out, "{\"items\":[]}");
    free(out);
}

static void test_grouping(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"errs\",\"expr\":\"errors\",\"warning\":1,\"critical\":10,"
            "\"group_by\":[\"team\"],\"labels\":{\"team\":\"ci\"},\"channels\":[\"hook\"]}");
    put(f, "errors", "a", 0, 2);
    put(f, "errors", "b", 0, 20);
    put(f, "errors", "c", 0, 3);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    json_t *b = json_array_get(n, 0);
    assert_string_equal(sget(b, "severity"), "critical"); /* the most severe leads */
    assert_int_equal(json_array_size(json_object_get(b, "alerts")), 3);
    json_decref(n);
}

/* An expression that parses but fails on the data (many-to-one without group_left) is
 * reported on its rule; the other rules go on. */
static void test_rule_error_at_evaluation(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"id\":\"bad\",\"name\":\"bad\",\"expr\":\"ea + on() eb\",\"warning\":1,"
            "\"channels\":[\"hook\"]}");
    rule(f, "{\"id\":\"good\",\"name\":\"good\",\"expr\":\"ea\",\"warning\":1,"
            "\"channels\":[\"hook\"]}");
    put(f, "ea", "a", 0, 5);
    put(f, "eb", "x", 0, 5);
    put(f, "eb", "y", 0, 5);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    assert_string_equal(sget(json_array_get(n, 0), "alert"), "good");
    json_decref(n);
    char *out = NULL;
    assert_int_equal(omega_alert_rule_get(f->e, "bad", &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_true(strlen(sget(r, "last_error")) > 0);
    json_decref(r);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.rule_errors, 1);
}

/* 2,000 series breaching at once: one notification, every alert in the history. */
static void test_storm_is_one_notification(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"id\":\"storm\",\"name\":\"storm\",\"expr\":\"storm\",\"warning\":1,"
            "\"channels\":[\"hook\"]}");
    enum { N = 2000 };
    static char hosts[N][8];
    omega_label_t *labels = calloc(N, sizeof(*labels));
    omega_point_t *pts = calloc(N, sizeof(*pts));
    for (int i = 0; i < N; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "h%d", i);
        labels[i] = (omega_label_t){"host", hosts[i]};
        pts[i] = (omega_point_t){"storm", &labels[i], 1, f->t0, 5};
    }
    assert_int_equal(omega_tsdb_write(f->db, pts, N, NULL), 0);
    free(labels);
    free(pts);
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    json_t *b = json_array_get(n, 0);
    assert_int_equal(json_integer_value(json_object_get(b, "alerts_total")), N);
    assert_int_equal(json_array_size(json_object_get(b, "alerts")), 1000);
    json_decref(n);
    char *out = NULL;
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0, "storm", NULL, 0, &out, NULL), 0);
    json_t *h = json_loads(out, 0, NULL);
    free(out);
    assert_int_equal(json_array_size(json_object_get(h, "items")), N);
    json_decref(h);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.firing, N);
}

static void test_history_and_reload(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"id\":\"h\",\"name\":\"h\",\"expr\":\"hist\",\"warning\":1,\"channels\":[\"hook\"]}");
    put(f, "hist", "a", 0, 5);
    json_decref(step(f, 0));
    put(f, "hist", "a", 1000, 0);
    json_decref(step(f, 1000));
    char *out = NULL;
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0 + 1000, NULL, NULL, 0, &out, NULL), 0);
    json_t *h = json_loads(out, 0, NULL);
    free(out);
    json_t *items = json_object_get(h, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(sget(json_array_get(items, 0), "status"), "firing");
    assert_string_equal(sget(json_array_get(items, 1), "status"), "resolved");
    assert_string_equal(sget(json_array_get(items, 1), "rule_id"), "h");
    json_decref(h);
    assert_int_equal(omega_alert_history(f->e, f->t0 + 500, f->t0 + 600, NULL, NULL, 0, &out,
                                         NULL), 0);
    assert_string_equal(out, "{\"items\":[]}");
    free(out);
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0 + 1000, "other", NULL, 0, &out,
                                         NULL), 0);
    assert_string_equal(out, "{\"items\":[]}");
    free(out);
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0 + 1000, "h", "warning", 1, &out,
                                         NULL), 0);
    assert_non_null(strstr(out, "\"status\":\"firing\""));
    assert_null(strstr(out, "resolved"));
    free(out);
    assert_int_equal(omega_alert_history(f->e, 10, 5, NULL, NULL, 0, &out, NULL), OMEGA_EINVAL);

    /* Rules and channels survive a restart of the engine. */
    omega_alert_destroy(f->e);
    fx_engine(f);
    assert_int_equal(omega_alert_rule_get(f->e, "h", &out, NULL), 0);
    free(out);
    assert_int_equal(omega_alert_channel_list(f->e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"hook\""));
    free(out);
}

/* A restart neither re-notifies a firing alert nor restarts a pending alert's `for`. */
static void test_state_survives_restart(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"id\":\"fire\",\"name\":\"fire\",\"expr\":\"st_a\",\"warning\":1,"
            "\"channels\":[\"hook\"]}");
    rule(f, "{\"id\":\"wait\",\"name\":\"wait\",\"expr\":\"st_b\",\"warning\":1,"
            "\"for\":\"30s\",\"channels\":[\"hook\"]}");
    for (int s = 0; s <= 40; s += 10) {
        put(f, "st_a", "a", s * 1000, 5);
        put(f, "st_b", "a", s * 1000, 5);
    }
    json_t *n = step(f, 0);
    assert_int_equal(json_array_size(n), 1);
    json_decref(n);
    char *before = NULL, *after = NULL;
    assert_int_equal(omega_alert_active(f->e, &before, NULL), 0);

    omega_alert_destroy(f->e);
    fx_engine(f);
    assert_int_equal(omega_alert_active(f->e, &after, NULL), 0);
    assert_string_equal(after, before);
    free(before);
    free(after);
    n = step(f, 10000);
    assert_int_equal(json_array_size(n), 0); /* still firing, already notified */
    json_decref(n);
    n = step(f, 30000);
    assert_int_equal(json_array_size(n), 1); /* `for` counted from before the restart */
    assert_string_equal(sget(json_array_get(n, 0), "alert"), "wait");
    json_decref(n);
    /* Deleting a rule forgets its alerts' states too. */
    assert_int_equal(omega_alert_rule_delete(f->e, "fire", NULL), 0);
    omega_alert_destroy(f->e);
    fx_engine(f);
    assert_int_equal(omega_alert_active(f->e, &after, NULL), 0);
    assert_null(strstr(after, "\"rule_id\":\"fire\""));
    assert_non_null(strstr(after, "\"rule_id\":\"wait\""));
    free(after);
}

static void test_builtin_rules(void **state)
{
    fx_t *f = *state;
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    omega_alert_engine_t *e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(e);
    char *out = NULL;
    assert_int_equal(omega_alert_rule_get(e, "builtin-cpu-usage", &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_number_value(json_object_get(r, "warning")) == 80);
    assert_true(json_number_value(json_object_get(r, "critical")) == 95);
    assert_true(json_is_true(json_object_get(r, "builtin")));
    json_decref(r);
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_rule_delete(e, "builtin-cpu-usage", &err), OMEGA_EPERM);
    /* Built-in rules are edited, not replaced: their identity is fixed (test_alert_rules). */
    assert_int_equal(omega_alert_rule_put(e, "builtin-memory-usage", "{\"name\":\"m\","
                                          "\"expr\":\"m\",\"warning\":1}", NULL, &err),
                     OMEGA_EINVAL);
    assert_string_equal(err.path, "name");
    assert_int_equal(omega_alert_channel_delete(e, "builtin-log", &err), OMEGA_EPERM);
    omega_label_t l = {"cpu", "total"};
    omega_point_t p = {"system_cpu_usage_percent", &l, 1, f->t0, 99};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_evaluate(e, f->t0), 0);
    /* Every built-in expression evaluates (no last_error on any rule). */
    assert_int_equal(omega_alert_rule_list(e, &out, NULL), 0);
    json_t *all = json_loads(out, 0, NULL);
    free(out);
    size_t i, builtins = 0;
    json_t *it;
    json_array_foreach(json_object_get(all, "items"), i, it)
    {
        if (!json_is_true(json_object_get(it, "builtin")))
            continue;
        builtins++;
        if (!json_is_null(json_object_get(it, "last_error")))
            fail_msg("%s: %s", sget(it, "id"), sget(it, "last_error"));
    }
    assert_int_equal((int)builtins, 16);
    json_decref(all);
    assert_int_equal(omega_alert_active(e, &out, NULL), 0);
    assert_non_null(strstr(out, "builtin-cpu-usage"));
    assert_non_null(strstr(out, "builtin-system-cpu"));
    free(out);
    omega_alert_stats_t st;
    omega_alert_stats(e, &st);
    assert_int_equal(st.evaluations, 1);
    assert_true(st.firing >= 2);
    assert_true(st.last_eval_duration_ns > 0);
    assert_true(st.queue_depth >= 1); /* the built-in log channel */
    assert_int_equal((int)omega_alert_deliver(e, f->t0), 0);
    omega_alert_destroy(e);
}

/* A process whose RSS grows 200 KiB/s for 25 minutes trips the built-in leak rule, only
 * after its `for` (10 min) has passed. */
static void test_builtin_memory_leak(void **state)
{
    fx_t *f = *state;
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    omega_alert_engine_t *e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(e);
    omega_label_t l[2] = {{"name", "leaky"}, {"pid", "4242"}};
    for (int s = 0; s <= 25 * 60; s += 30) {
        omega_point_t p = {"system_process_resident_memory_bytes", l, 2, f->t0 + s * 1000LL,
                           100e6 + 204800.0 * s};
        assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    }
    char *out = NULL;
    assert_int_equal(omega_alert_evaluate(e, f->t0 + 15 * 60000), 0);
    assert_int_equal(omega_alert_active(e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"state\":\"pending\""));
    assert_non_null(strstr(out, "builtin-memory-leak"));
    free(out);
    assert_int_equal(omega_alert_evaluate(e, f->t0 + 25 * 60000), 0);
    assert_int_equal(omega_alert_active(e, &out, NULL), 0);
    json_t *a = json_loads(out, 0, NULL);
    free(out);
    json_t *it = json_array_get(json_object_get(a, "items"), 0);
    assert_string_equal(sget(it, "rule_id"), "builtin-memory-leak");
    assert_string_equal(sget(it, "state"), "firing");
    assert_string_equal(sget(json_object_get(it, "labels"), "name"), "leaky");
    json_decref(a);
    omega_alert_destroy(e);
}

/* Process failures and crashes through the built-in event rule. */
static void test_process_exit_events(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
    omega_error_t err;
    omega_error_clear(&err);
    omega_label_t l[2] = {{"name", "cc1"}, {"pid", "77"}};
    assert_int_equal(omega_alert_raise(f->e, "nope", l, 2, 1, f->t0, &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_raise(f->e, "builtin-cpu-usage", l, 2, 1, f->t0, &err),
                     OMEGA_EINVAL);
    omega_label_t bad[1] = {{"bad name", "x"}};
    assert_int_equal(omega_alert_raise(f->e, "builtin-process-exit", bad, 1, 1, f->t0, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_alert_raise(f->e, "builtin-process-exit", l, 2, 0, f->t0, &err), 0);
    char *out = NULL;
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    assert_null(strstr(out, "process_exit_status")); /* exit 0 is no failure */
    free(out);
    assert_int_equal(omega_alert_raise(f->e, "builtin-process-exit", l, 2, 139, f->t0, &err), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    json_t *a = json_loads(out, 0, NULL);
    free(out);
    json_t *it = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(a, "items"), i, x)
        if (strcmp(sget(x, "rule_id"), "builtin-process-exit") == 0)
            it = x;
    assert_non_null(it);
    assert_string_equal(sget(it, "state"), "firing");
    assert_string_equal(sget(it, "severity"), "critical"); /* killed by SIGSEGV: a crash */
    assert_string_equal(sget(it, "metric"), "process_exit_status");
    assert_string_equal(sget(json_object_get(it, "labels"), "name"), "cc1");
    json_decref(a);
    /* Still firing within the hold, resolved after it. */
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 60000), 0);
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    assert_non_null(strstr(out, "process_exit_status"));
    free(out);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 5 * 60000), 0);
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    assert_null(strstr(out, "process_exit_status"));
    free(out);
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0 + 5 * 60000, "builtin-process-exit",
                                         NULL, 0, &out, NULL), 0);
    assert_non_null(strstr(out, "\"status\":\"firing\""));
    assert_non_null(strstr(out, "\"status\":\"resolved\""));
    free(out);
}

static void test_threads_start_stop(void **state)
{
    fx_t *f = *state;
    rule(f, "{\"name\":\"live\",\"expr\":\"live\",\"warning\":1,\"channels\":[\"hook\"]}");
    omega_label_t l = {"host", "a"};
    omega_point_t p = {"live", &l, 1, omega_now_ms(), 5};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_start(f->e), 0);
    assert_int_equal(omega_alert_start(f->e), 0);
    assert_int_equal((int)test_httpd_wait(f->rx, 1, 20000), 1);
    omega_alert_stop(f->e);
    omega_alert_stop(f->e);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    assert_non_null(strstr(r.body, "\"status\":\"firing\""));
    httpd_req_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fires_and_resolves_with_api_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_for_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hysteresis_and_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cooldown_suppression_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inhibition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_error_at_evaluation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storm_is_one_notification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtin_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtin_memory_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_exit_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_start_stop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
