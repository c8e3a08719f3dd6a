/* SPDX-License-Identifier: Apache-2.0 */
/* Integration test of alerting through the real omega-monitor binary on a loopback port:
 * a webhook channel pointing at the test's own HTTP receiver and a rule over a metric the
 * server collects; the webhook must arrive with API.md's body. Also the Alerts API's
 * validation answers, permissions, silences, acknowledgement, history and channel tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpc.h"
#include "srvtest.h"
#include "httpd.h"
#include "testutil.h"

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

typedef struct fixture {
    test_httpd_t *rx; /* the webhook receiver */
} fixture_t;

static fixture_t F;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=200",
    "OMEGA_ALERTING_EVALUATION_INTERVAL=200",
    "OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL=300",
    NULL,
};

static int group_setup(void **state)
{
    if (srvtest_init(&S, "server-alert") != 0)
        return -1;
    F.rx = test_httpd_start();
    if (!F.rx)
        return -1;
    return srvtest_launch_session(&S, server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    int rc = srvtest_stop(&S);
    test_httpd_stop(F.rx);
    return rc;
}

/* Request as admin (or with hdr); returns the status and the parsed body in *out (may be
 * NULL). */
static int call(const char *hdr, const char *method, const char *path, const char *body,
                json_t **out)
{
    httpc_resp_t r;
    char h[1400];
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", hdr ? hdr : S.auth);
    assert_int_equal(httpc_request(S.port, method, path, h, body, body ? strlen(body) : 0, &r), 0);
    int status = r.status;
    if (out)
        *out = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    httpc_resp_free(&r);
    return status;
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void test_webhook_arrives_with_api_body(void **state)
{
    char body[512];
    json_t *j = NULL;
    snprintf(body, sizeof(body), "{\"id\":\"rx\",\"name\":\"test receiver\",\"type\":\"webhook\","
             "\"config\":{\"url\":\"http://127.0.0.1:%d/alert\"}}", test_httpd_port(F.rx));
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/channels", body, &j), 201);
    assert_string_equal(sget(j, "id"), "rx");
    json_decref(j);
    const char *rule = "{\"id\":\"mem-total\",\"name\":\"memory present\",\"expr\":"
                       "\"system_memory_total_bytes\",\"warning\":0,\"for\":\"0s\","
                       "\"category\":\"system\",\"channels\":[\"rx\"],\"annotations\":"
                       "{\"description\":\"total memory is positive\","
                       "\"recommended_action\":\"none\"}}";
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules", rule, &j), 201);
    json_decref(j);
    if (test_httpd_wait(F.rx, 1, 30000) < 1) {
        srvtest_dump_log(&S);
        fail_msg("no webhook within 30 s");
    }
    httpd_req_t r;
    assert_int_equal(test_httpd_get(F.rx, 0, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.target, "/alert");
    json_t *b = json_loads(r.body, 0, NULL);
    httpd_req_free(&r);
    assert_non_null(b);
    assert_int_equal(json_object_size(b), 10);
    assert_string_equal(sget(b, "alert"), "memory present");
    assert_string_equal(sget(b, "status"), "firing");
    assert_string_equal(sget(b, "severity"), "warning");
    assert_string_equal(sget(b, "metric"), "system_memory_total_bytes");
    assert_true(json_number_value(json_object_get(b, "value")) > 0);
    assert_true(json_is_number(json_object_get(b, "threshold")));
    assert_true(json_is_object(json_object_get(b, "labels")));
    assert_true(strlen(sget(b, "started_at")) >= 20);
    assert_string_equal(sget(b, "description"), "total memory is positive");
    assert_string_equal(sget(b, "recommended_action"), "none");
    json_decref(b);

    /* Active list, acknowledgement, history. */
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    char id[64] = "";
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(sget(json_array_get(items, i), "rule_id"), "mem-total") == 0)
            snprintf(id, sizeof(id), "%s", sget(json_array_get(items, i), "id"));
    json_decref(j);
    assert_true(id[0] != '\0');
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", id);
    assert_int_equal(call(NULL, "POST", path, "", NULL), 204);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/nope/ack", "", NULL), 404);
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts/history?rule=mem-total", NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 2); /* firing, acknowledged */
    json_decref(j);
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts/history?since=x", NULL, NULL), 400);

    /* The channel's "send test". */
    size_t before = test_httpd_count(F.rx);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/channels/rx/test", "", NULL), 200);
    assert_true(test_httpd_count(F.rx) > before);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/mem-total", NULL, NULL), 204);
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts/rules/mem-total", NULL, NULL), 404);
}

static void test_rule_and_channel_errors(void **state)
{
    json_t *j = NULL;
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules", "{\"name\":", NULL), 400);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules",
                          "{\"name\":\"x\",\"expr\":\"up{\",\"warning\":1}", &j), 422);
    assert_non_null(strstr(sget(j, "error"), "expr"));
    json_decref(j);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules",
                          "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1,\"channels\":[\"zz\"]}",
                          NULL), 422);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/builtin-cpu-usage", NULL, &j), 409);
    assert_string_equal(sget(j, "errorType"), "conflict");
    json_decref(j);
    assert_int_equal(call(NULL, "PUT", "/api/v1/alerts/rules/none",
                          "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1}", NULL), 404);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/channels",
                          "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\","
                          "\"to\":[\"+1\"],\"body_template\":\"{bogus}\"}}", &j), 422);
    assert_non_null(strstr(sget(j, "error"), "{bogus}"));
    json_decref(j);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/channels/none/test", "", NULL), 404);
    assert_int_equal(call("", "GET", "/api/v1/alerts/rules", NULL, NULL), 401);
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts/rules", NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 5); /* the built-in rules */
    json_decref(j);
}

/* A built-in rule edited over HTTP (PATCH, shown modified), disabled, its identity
 * refused, restored with DELETE .../override; templates with unknown placeholders are
 * refused when saved through the config API as through the channels API. */
static void test_builtin_rule_edit(void **state)
{
    const char *path = "/api/v1/alerts/rules/builtin-disk-usage";
    json_t *j = NULL;
    assert_int_equal(call(NULL, "PATCH", path, "{\"warning\":97,\"for\":\"1m\"}", &j), 200);
    assert_true(json_is_true(json_object_get(j, "modified")));
    assert_true(json_number_value(json_object_get(j, "warning")) == 97);
    assert_true(json_is_number(json_object_get(json_object_get(j, "defaults"), "warning")));
    json_decref(j);
    assert_int_equal(call(NULL, "PATCH", path, "{\"enabled\":false}", &j), 200);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    json_decref(j);
    assert_int_equal(call(NULL, "PUT", path, "{\"expr\":\"up\"}", &j), 422);
    assert_non_null(strstr(sget(j, "error"), "expr"));
    json_decref(j);
    assert_int_equal(call(NULL, "PATCH", path, "{\"enabled\":", NULL), 400);
    assert_int_equal(call(NULL, "PATCH", "/api/v1/alerts/rules/none", "{}", NULL), 404);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/none/override", NULL, NULL), 404);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules",
                          "{\"id\":\"plain\",\"name\":\"p\",\"expr\":\"up\",\"warning\":1}",
                          NULL), 201);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/plain/override", NULL, NULL), 422);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/plain", NULL, NULL), 204);
    assert_int_equal(call(NULL, "DELETE", path, NULL, NULL), 409);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/builtin-disk-usage/override",
                          NULL, &j), 200);
    assert_true(json_is_false(json_object_get(j, "modified")));
    assert_true(json_is_true(json_object_get(j, "enabled")));
    assert_null(json_object_get(j, "defaults"));
    json_decref(j);
    assert_int_equal(call(NULL, "GET", path, NULL, &j), 200);
    assert_true(json_is_false(json_object_get(j, "modified")));
    json_decref(j);
    assert_int_equal(call(NULL, "PUT", "/api/v1/config",
                          "{\"notification_templates\":{\"linked\":{\"body\":"
                          "\"{dashboard_url} {dashboard_link}\"}}}", &j), 422);
    char *text = json_dumps(j, 0);
    assert_non_null(strstr(text, "unknown placeholder {dashboard_link}"));
    free(text);
    json_decref(j);
}

/* The evaluator's cost is exported on /metrics: passes, time spent, the last pass. */
static void test_evaluation_metrics(void **state)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", S.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    const char *names[] = {"\nomega_monitor_alert_evaluations_total ",
                           "\nomega_monitor_alert_evaluation_seconds_total ",
                           "\nomega_monitor_alert_last_evaluation_seconds ",
                           "\nomega_monitor_alert_rules "};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *at = strstr(r.body, names[i]);
        if (!at)
            fail_msg("/metrics lacks%s", names[i]);
        double v = strtod(at + strlen(names[i]), NULL);
        if (!(v > 0)) /* passes ran (interval 200 ms), took time, rules are loaded */
            fail_msg("%s is %g", names[i] + 1, v);
    }
    httpc_resp_free(&r);
}

static void test_silences_and_roles(void **state)
{
    json_t *j = NULL;
    const char *sil = "{\"matchers\":[{\"name\":\"alertname\",\"value\":\"CPU.*\",\"op\":\"=~\"}],"
                      "\"ends_at\":\"2099-01-01T00:00:00Z\",\"author\":\"ops\",\"comment\":\"m\"}";
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/silences", sil, &j), 201);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/alerts/silences/%s", sget(j, "id"));
    json_decref(j);
    assert_int_equal(call(NULL, "GET", "/api/v1/alerts/silences", NULL, &j), 200);
    assert_int_equal((int)json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/silences", "{\"matchers\":[]}", NULL), 422);

    /* A viewer reads but may not change rules or silence. */
    assert_int_equal(call(NULL, "POST", "/api/v1/users",
                          "{\"username\":\"vic\",\"password\":\"viewer-password-1\","
                          "\"role\":\"viewer\"}", NULL), 201);
    char viewer[1200], tok[1100];
    assert_int_equal(srvtest_login(&S, "vic", "viewer-password-1", tok, sizeof(tok)), 200);
    srvtest_bearer(tok, viewer, sizeof(viewer));
    assert_int_equal(call(viewer, "GET", "/api/v1/alerts", NULL, NULL), 200);
    assert_int_equal(call(viewer, "POST", "/api/v1/alerts/rules",
                          "{\"name\":\"x\",\"expr\":\"up\",\"warning\":1}", NULL), 403);
    assert_int_equal(call(viewer, "DELETE", path, NULL, NULL), 403);
    assert_int_equal(call(viewer, "GET", "/api/v1/alerts/channels", NULL, NULL), 403);
    assert_int_equal(call(NULL, "DELETE", path, NULL, NULL), 204);
    assert_int_equal(call(NULL, "DELETE", path, NULL, NULL), 404);
}

/* A subscribed dashboard gets {"type":"alert",...} when an alert fires. */
static void test_live_alert_message(void **state)
{
    char path[1300];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", S.token);
    wsc_t ws;
    assert_int_equal(wsc_connect(&ws, S.port, path, "omega-live.v1"), 101);
    assert_int_equal(wsc_send_text(&ws, "{\"type\":\"subscribe\",\"id\":\"m\",\"query\":"
                                        "\"system_memory_total_bytes\",\"interval_ms\":1000}"), 0);
    char *payload = NULL;
    size_t len;
    int code;
    assert_int_equal(wsc_recv(&ws, 10000, &payload, &len, &code), 1); /* first samples */
    free(payload);
    assert_int_equal(call(NULL, "POST", "/api/v1/alerts/rules",
                          "{\"id\":\"live\",\"name\":\"live check\",\"expr\":"
                          "\"system_memory_total_bytes\",\"warning\":0}", NULL), 201);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        if (wsc_recv(&ws, 10000, &payload, &len, &code) != 1)
            break;
        json_t *m = json_loads(payload, 0, NULL);
        free(payload);
        seen = strcmp(sget(m, "type"), "alert") == 0 && strcmp(sget(m, "alert"), "live check") == 0 &&
               strcmp(sget(m, "status"), "firing") == 0;
        json_decref(m);
    }
    wsc_close(&ws);
    assert_true(seen);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/alerts/rules/live", NULL, NULL), 204);
}

/* A watched child (its name starts with "omega") that exits 3, and one killed by SIGKILL,
 * stay unreaped zombies until the built-in process-exit rule shows them as warning (failure)
 * and critical (crash). */
static pid_t child(const char *name, int how)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NAME, name);
        usleep(300000);
        if (how)
            kill(getpid(), SIGKILL);
        _exit(3);
    }
    return pid;
}

static void test_process_exit_alerts(void **state)
{
    pid_t a = child("omegafail", 0), b = child("omegacrash", 1);
    assert_true(a > 0 && b > 0);
    int found = 0;
    for (int i = 0; i < 150 && found != 2; i++) {
        json_t *j = NULL;
        assert_int_equal(call(NULL, "GET", "/api/v1/alerts", NULL, &j), 200);
        found = 0;
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(j, "items"), k, it)
        {
            const char *name = sget(json_object_get(it, "labels"), "name");
            if (strcmp(sget(it, "rule_id"), "builtin-process-exit") != 0)
                continue;
            found += strcmp(name, "omegafail") == 0 && strcmp(sget(it, "severity"), "warning") == 0;
            found += strcmp(name, "omegacrash") == 0 && strcmp(sget(it, "severity"), "critical") == 0;
        }
        json_decref(j);
        if (found != 2)
            usleep(100000);
    }
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);
    if (found != 2)
        srvtest_dump_log(&S);
    assert_int_equal(found, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_arrives_with_api_body),
        cmocka_unit_test(test_rule_and_channel_errors),
        cmocka_unit_test(test_builtin_rule_edit),
        cmocka_unit_test(test_evaluation_metrics),
        cmocka_unit_test(test_silences_and_roles),
        cmocka_unit_test(test_live_alert_message),
        cmocka_unit_test(test_process_exit_alerts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
