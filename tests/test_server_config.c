/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of the config API on the real server: GET /api/v1/config and its schema,
 * PUT applied live (log level, disk collection switched off) and refused whole (unknown key,
 * wrong type, bad JSON), permissions, snapshots, and the stored document surviving a restart
 * under the operator's environment settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

static char *const ENV[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=200",
    "OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL=300",
    NULL,
};

/* Send a request with the given auth headers; returns the parsed body (NULL when the body
 * is not JSON) and the status in *status. */
static json_t *call(const char *auth, const char *method, const char *path, const char *body,
                    int *status)
{
    httpc_resp_t r;
    char headers[1400];
    snprintf(headers, sizeof(headers), "%sContent-Type: application/json\r\n", auth);
    assert_int_equal(
        httpc_request(S.port, method, path, headers, body, body ? strlen(body) : 0, &r), 0);
    *status = r.status;
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    httpc_resp_free(&r);
    return j;
}

static json_t *get_ok(const char *path)
{
    int status;
    json_t *j = call(S.auth, "GET", path, NULL, &status);
    assert_int_equal(status, 200);
    assert_non_null(j);
    return j;
}

/* PUT doc as the admin; returns the response body, status in *status. */
static json_t *put_doc(json_t *doc, int *status)
{
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_t *j = call(S.auth, "PUT", "/api/v1/config", text, status);
    free(text);
    return j;
}

static double sum_query(const char *expr)
{
    char enc[512], path[700];
    httpc_urlencode(expr, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
    json_t *j = get_ok(path);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    double v = -1;
    if (json_array_size(res) > 0)
        v = atof(
            json_string_value(json_array_get(json_object_get(json_array_get(res, 0), "value"), 1)));
    json_decref(j);
    return v;
}

/* Wait (bounded: 150 tries, 100 ms apart) until sum_query(expr) >= at_least. */
static int wait_sum(const char *expr, double at_least)
{
    struct timespec pause = {0, 100 * 1000000};
    for (int i = 0; i < 150; i++) {
        if (sum_query(expr) >= at_least)
            return 1;
        nanosleep(&pause, NULL);
    }
    return 0;
}

static size_t log_count(const char *needle)
{
    FILE *f = fopen(S.log, "r");
    assert_non_null(f);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    return srvtest_start_session(&S, "server-config", ENV, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&S);
}

/* Check every member of doc (under prefix) is in the schema (paths: path -> type), counting
 * the value fields seen. A value field may hold an object (notification_templates). */
static void check_leaves(json_t *doc, const char *prefix, json_t *paths, size_t *seen)
{
    const char *type = json_string_value(json_object_get(paths, prefix));
    if (*prefix && !type)
        fail_msg("document field %s is not in the schema", prefix);
    if (*prefix && strcmp(type, "object") != 0) {
        (*seen)++;
        return;
    }
    assert_true(json_is_object(doc));
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        char path[300];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
        check_leaves(v, path, paths, seen);
    }
}

static void test_get_shape_and_schema(void **state)
{
    (void)state;
    json_t *cfg = get_ok("/api/v1/config");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(cfg, "server"), "log_level")), "info");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cfg, "system_monitor"),
                                                        "monitoring_interval")),
                     300);
    /* The schema lists exactly the document's fields, each described. */
    json_t *schema = get_ok("/api/v1/config/schema");
    json_t *fields = json_object_get(schema, "fields"), *paths = json_object();
    size_t i, n_values = 0;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *type = json_string_value(json_object_get(f, "type"));
        assert_non_null(path);
        assert_non_null(type);
        assert_true(strlen(json_string_value(json_object_get(f, "help"))) > 5);
        if (strcmp(type, "object") != 0) { /* sections have no value of their own */
            assert_non_null(json_object_get(f, "default"));
            n_values++;
        }
        if (strcmp(type, "enum") == 0)
            assert_true(json_array_size(json_object_get(f, "values")) >= 1);
        json_object_set_new(paths, path, json_string(type));
    }
    size_t seen = 0;
    check_leaves(cfg, "", paths, &seen);
    assert_int_equal(seen, n_values);
    assert_true(seen > 100);
    json_t *wt = NULL;
    json_array_foreach(fields, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "path")), "server.worker_threads") == 0)
            wt = f;
    }
    assert_non_null(wt);
    assert_int_equal(json_integer_value(json_object_get(wt, "min")), 1);
    assert_int_equal(json_integer_value(json_object_get(wt, "max")), 64);
    json_decref(paths);
    json_decref(schema);
    json_decref(cfg);
}

static void test_permissions(void **state)
{
    (void)state;
    int status;
    json_decref(call("", "GET", "/api/v1/config", NULL, &status));
    assert_int_equal(status, 401);
    json_decref(call("", "PUT", "/api/v1/config", "{}", &status));
    assert_int_equal(status, 401);
    json_decref(call(S.auth, "POST", "/api/v1/users",
                     "{\"username\":\"vera\",\"password\":\"viewer-password-1\","
                     "\"role\":\"viewer\"}",
                     &status));
    assert_int_equal(status, 201);
    char tok[1100], viewer[1200];
    assert_int_equal(srvtest_login(&S, "vera", "viewer-password-1", tok, sizeof(tok)), 200);
    srvtest_bearer(tok, viewer, sizeof(viewer));
    const char *paths[] = {"/api/v1/config", "/api/v1/config/schema", "/api/v1/config/snapshots"};
    for (size_t i = 0; i < 3; i++) {
        json_decref(call(viewer, "GET", paths[i], NULL, &status));
        assert_int_equal(status, 403);
    }
    json_decref(call(viewer, "PUT", "/api/v1/config", "{}", &status));
    assert_int_equal(status, 403);
}

static json_t *problem_at(json_t *problems, const char *path)
{
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "path")), path) == 0)
            return p;
    }
    fail_msg("no problem for %s", path);
    return NULL;
}

static void test_put_bad(void **state)
{
    (void)state;
    json_t *before = get_ok("/api/v1/config");
    int status;
    json_t *r = call(S.auth, "PUT", "/api/v1/config",
                     "{\n"
                     "  \"server\": {\n"
                     "    \"bogus\": 1,\n"
                     "    \"log_level\": \"debug\",\n"
                     "    \"worker_threads\": \"many\"\n"
                     "  }\n"
                     "}\n",
                     &status);
    assert_int_equal(status, 422);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(r, "errorType")), "invalid_config");
    assert_string_equal(json_string_value(json_object_get(r, "error")), "2 problems");
    json_t *problems = json_object_get(r, "problems");
    assert_int_equal(json_array_size(problems), 2);
    json_t *p = problem_at(problems, "server.bogus");
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 3);
    assert_int_equal(json_integer_value(json_object_get(p, "column")), 5);
    p = problem_at(problems, "server.worker_threads");
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 5);
    assert_true(strlen(json_string_value(json_object_get(p, "message"))) > 5);
    json_decref(r);

    /* Not JSON: 400 naming the position. */
    httpc_resp_t raw;
    char headers[1400];
    snprintf(headers, sizeof(headers), "%sContent-Type: application/json\r\n", S.auth);
    assert_int_equal(
        httpc_request(S.port, "PUT", "/api/v1/config", headers, "{\"server\": {", 12, &raw), 0);
    srvtest_assert_error(&raw, 400, "bad_data");
    httpc_resp_free(&raw);

    /* The data directory cannot move through the API. */
    json_t *doc = json_deep_copy(before);
    json_object_set_new(json_object_get(doc, "server"), "data_dir", json_string("/tmp/elsewhere"));
    r = put_doc(doc, &status);
    assert_int_equal(status, 422);
    problem_at(json_object_get(r, "problems"), "server.data_dir");
    json_decref(r);
    json_decref(doc);

    /* Nothing half-applied. */
    json_t *after = get_ok("/api/v1/config");
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

static void test_put_applies_live(void **state)
{
    (void)state;
    json_t *doc = get_ok("/api/v1/config");
    json_t *server = json_object_get(doc, "server");
    /* Log level: the change's own info line is skipped at "warn", written at "info". */
    size_t changed0 = log_count("configuration changed by admin");
    json_object_set_new(server, "log_level", json_string("warn"));
    int status;
    json_t *r = put_doc(doc, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r, "config"), "server"), "log_level")),
                        "warn");
    assert_int_equal(json_array_size(json_object_get(r, "restart_required")), 0);
    json_decref(r);
    assert_int_equal(log_count("configuration changed by admin"), changed0);

    /* Disk collection off (and log level back to info): disk series stop growing while
     * the network series of the same collector keep going. */
    assert_true(wait_sum("sum(count_over_time(system_disk_reads_total[1h]))", 2));
    json_object_set_new(server, "log_level", json_string("info"));
    json_object_set_new(json_object_get(doc, "system_monitor"), "enable_disk_monitoring",
                        json_false());
    json_object_set_new(json_object_get(json_object_get(doc, "alerting"), "alert_thresholds"),
                        "cpu_usage_critical", json_real(97));
    r = put_doc(doc, &status);
    assert_int_equal(status, 200);
    json_t *restart = json_object_get(r, "restart_required");
    assert_int_equal(json_array_size(restart), 1);
    assert_string_equal(json_string_value(json_array_get(restart, 0)),
                        "alerting.alert_thresholds.cpu_usage_critical");
    json_decref(r);
    assert_int_equal(log_count("configuration changed by admin"), changed0 + 1);
    double disk = sum_query("sum(count_over_time(system_disk_reads_total[1h]))");
    const char *net = "sum(count_over_time(system_network_receive_bytes_total{interface=\"lo\"}"
                      "[1h]))";
    assert_true(wait_sum(net, sum_query(net) + 3));
    assert_true(sum_query("sum(count_over_time(system_disk_reads_total[1h]))") == disk);

    json_t *now = get_ok("/api/v1/config");
    assert_true(json_is_false(
        json_object_get(json_object_get(now, "system_monitor"), "enable_disk_monitoring")));
    json_decref(now);
    json_decref(doc);
}

static void test_snapshots(void **state)
{
    (void)state;
    json_t *list = get_ok("/api/v1/config/snapshots");
    json_t *items = json_object_get(list, "items");
    assert_true(json_array_size(items) >= 2); /* the two PUTs of test_put_applies_live */
    json_t *newest = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(newest, "user")), "admin");
    assert_non_null(json_string_value(json_object_get(newest, "created_at")));
    const char *id0 = json_string_value(json_object_get(newest, "id"));
    char id1[32];
    snprintf(id1, sizeof(id1), "%s",
             json_string_value(json_object_get(json_array_get(items, 1), "id")));
    assert_true(strcmp(id0, id1) > 0);
    /* The newest snapshot holds the document before the last PUT: log level warn, disk on. */
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/config/snapshots/%s", id0);
    json_t *snap = get_ok(path);
    json_t *sm = json_object_get(snap, "system_monitor");
    assert_true(json_is_true(json_object_get(sm, "enable_disk_monitoring")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(snap, "server"), "log_level")), "warn");
    json_decref(snap);
    int status;
    json_decref(call(S.auth, "GET", "/api/v1/config/snapshots/123", NULL, &status));
    assert_int_equal(status, 404);
    json_decref(call(S.auth, "GET", "/api/v1/config/snapshots/..%2fcurrent", NULL, &status));
    assert_int_equal(status, 404);
    json_decref(list);

    /* Only the newest 50 are kept. */
    json_t *doc = get_ok("/api/v1/config");
    for (int i = 0; i < 50; i++) {
        json_decref(put_doc(doc, &status));
        assert_int_equal(status, 200);
    }
    json_decref(doc);
    list = get_ok("/api/v1/config/snapshots");
    items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), 50);
    snprintf(path, sizeof(path), "/api/v1/config/snapshots/%s", id1);
    json_decref(call(S.auth, "GET", path, NULL, &status));
    assert_int_equal(status, 404); /* the oldest went */
    json_decref(list);
}

static void test_persisted_across_restart(void **state)
{
    (void)state;
    json_t *doc = get_ok("/api/v1/config");
    json_object_set_new(json_object_get(json_object_get(doc, "retention"), "archive_settings"),
                        "archive_format", json_string("csv"));
    /* The environment sets monitoring_interval: after a restart it wins over the API. */
    json_object_set_new(json_object_get(doc, "system_monitor"), "monitoring_interval",
                        json_integer(700));
    int status;
    json_t *r = put_doc(doc, &status);
    assert_int_equal(status, 200);
    json_decref(r);
    json_decref(doc);

    assert_int_equal(srvtest_restart(&S, ENV), 0);
    assert_int_equal(srvtest_login_session(&S, "admin", ADMIN_PW), 0);
    json_t *cfg = get_ok("/api/v1/config");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(cfg, "retention"), "archive_settings"),
                            "archive_format")),
                        "csv");
    json_t *sm = json_object_get(cfg, "system_monitor");
    assert_true(json_is_false(json_object_get(sm, "enable_disk_monitoring")));
    assert_int_equal(json_integer_value(json_object_get(sm, "monitoring_interval")), 300);
    json_decref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_shape_and_schema),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_put_bad),
        cmocka_unit_test(test_put_applies_live),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_persisted_across_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
