/* SPDX-License-Identifier: Apache-2.0 */
/* Integration test of POST /api/v1/reports through the real omega-monitor binary on a
 * loopback port: the permission per role, each format's Content-Type, Content-Disposition
 * and content over data ingested through the API, personal data masked (data_masking is on
 * by default), an audit entry for every export (and for refused ones), and bad input
 * answered in API.md's error shape naming the field; background reports ({"async":true}
 * then GET /api/v1/reports/<id>) and the schedules API (admin). */
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
#include <unistd.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#define ADMIN_PW "correct-horse-battery-staple"
#define USER_PW  "another-long-password-42"

static srvtest_t S;
static const char *const roles[] = {"viewer", "developer", "analyst", "admin"};
static char role_auth[4][1200]; /* "Authorization: Bearer ..." per role above */
static long long t_from, t_to;  /* the report window (Unix seconds) */

/* The server's own CPU collector is off: the CPU figures are the ones this test imports. */
static char *const server_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
                                   "OMEGA_SYSTEM_MONITOR_ENABLE_CPU_MONITORING=false", NULL};

/* POST /api/v1/reports with body as hdr (NULL: the admin session); response in *r. */
static void post_report(const char *hdr, const char *body, size_t len, httpc_resp_t *r)
{
    char h[4900];
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", hdr ? hdr : S.auth);
    assert_int_equal(httpc_request(S.port, "POST", "/api/v1/reports", h, body, len, r), 0);
}

static int call(const char *method, const char *path, const char *body, json_t **out)
{
    httpc_resp_t r;
    char h[4900];
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", S.auth);
    if (httpc_request(S.port, method, path, h, body, body ? strlen(body) : 0, &r) != 0)
        return -1;
    int status = r.status;
    if (out)
        *out = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    httpc_resp_free(&r);
    return status;
}

static int make_user(int i)
{
    char body[256], name[32], tok[1100];
    snprintf(name, sizeof(name), "u_%s", roles[i]);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"password\":\"" USER_PW "\",\"role\":\"%s\"}", name, roles[i]);
    if (call("POST", "/api/v1/users", body, NULL) != 201 ||
        srvtest_login(&S, name, USER_PW, tok, sizeof(tok)) != 200)
        return -1;
    srvtest_bearer(tok, role_auth[i], sizeof(role_auth[i]));
    return 0;
}

/* CPU samples over the last 50 minutes and one failed job whose label holds an e-mail. */
static int seed_data(void)
{
    long long now = (long long)time(NULL);
    char *body = malloc(64 * 1024);
    int n = snprintf(body, 64 * 1024,
                     "[{\"metric\":\"system_cpu_usage_percent\",\"labels\":"
                     "{\"cpu\":\"total\"},\"samples\":[");
    for (int k = 0; k < 50; k++)
        n += snprintf(body + n, 64 * 1024 - (size_t)n, "%s[%lld,%d]", k ? "," : "",
                      (now - 3000 + k * 60) * 1000, 20 + k);
    snprintf(body + n, 64 * 1024 - (size_t)n, "]}]");
    int s1 = call("POST", "/api/v1/import", body, NULL);
    free(body);
    int s2 = call("POST", "/api/v1/operations/build-7/start",
                  "{\"kind\":\"compile\",\"labels\":{\"owner\":\"dave@example.org\"}}", NULL);
    int s3 = call("POST", "/api/v1/operations/build-7/end", "{\"status\":\"failed\"}", NULL);
    t_from = now - 3600;
    t_to = now + 60;
    return s1 == 204 && s2 == 201 && s3 == 200 ? 0 : -1;
}

static int group_setup(void **state)
{
    if (srvtest_start_session(&S, "server-reports", server_env, "admin", ADMIN_PW) != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (make_user(i) != 0)
            return -1;
    return seed_data();
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

static void body_for(const char *format, char *buf, size_t len)
{
    snprintf(buf, len, "{\"type\":\"custom\",\"from\":%lld,\"to\":%lld,\"format\":\"%s\"}", t_from,
             t_to, format);
}

static void test_permission_per_role(void **state)
{
    char body[256];
    body_for("json", body, sizeof(body));
    static const int want[] = {403, 403, 200, 200};
    for (int i = 0; i < 4; i++) {
        httpc_resp_t r;
        post_report(role_auth[i], body, strlen(body), &r);
        if (r.status != want[i])
            fail_msg("%s: %d, expected %d: %s", roles[i], r.status, want[i], r.body);
        if (want[i] == 403)
            srvtest_assert_error(&r, 403, "forbidden");
        httpc_resp_free(&r);
    }
    httpc_resp_t r;
    post_report("", body, strlen(body), &r); /* no credentials */
    srvtest_assert_error(&r, 401, "unauthorized");
    httpc_resp_free(&r);
    post_report(NULL, body, strlen(body), &r); /* the superuser */
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
}

static void check_headers(const httpc_resp_t *r, const char *type, const char *ext)
{
    char buf[256], want[160], a[32], b[32];
    time_t f = (time_t)t_from, t = (time_t)t_to;
    struct tm tm;
    strftime(a, sizeof(a), "%Y%m%dT%H%M%SZ", gmtime_r(&f, &tm));
    strftime(b, sizeof(b), "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
    assert_int_equal(r->status, 200);
    assert_non_null(httpc_header(r, "content-type", buf, sizeof(buf)));
    assert_string_equal(buf, type);
    snprintf(want, sizeof(want), "attachment; filename=\"omega-custom-%s-%s.%s\"", a, b, ext);
    assert_non_null(httpc_header(r, "content-disposition", buf, sizeof(buf)));
    assert_string_equal(buf, want);
}

static void test_each_format(void **state)
{
    static const struct {
        const char *format, *type, *start;
    } fmts[] = {
        {"json", "application/json", "{\"title\":"},
        {"csv", "text/csv; charset=utf-8", "report,type,from,to\r\n"},
        {"html", "text/html; charset=utf-8", "<!DOCTYPE html>"},
        {"pdf", "application/pdf", "%PDF-"},
    };
    for (size_t i = 0; i < 4; i++) {
        char body[256];
        body_for(fmts[i].format, body, sizeof(body));
        httpc_resp_t r;
        post_report(role_auth[2], body, strlen(body), &r);
        check_headers(&r, fmts[i].type, fmts[i].format);
        assert_memory_equal(r.body, fmts[i].start, strlen(fmts[i].start));
        if (strcmp(fmts[i].format, "pdf") == 0) {
            assert_non_null(memmem(r.body + r.body_len - 16, 16, "%%EOF", 5));
        } else {
            /* the ingested CPU series and the job are there; the e-mail is masked */
            assert_non_null(strstr(r.body, "CPU usage"));
            assert_non_null(strstr(r.body, "compile"));
            assert_null(strstr(r.body, "dave@example.org"));
            assert_non_null(strstr(r.body, "[EMAIL]"));
        }
        httpc_resp_free(&r);
    }
    /* JSON: CPU 20 .. 69 % */
    char body[256];
    body_for("json", body, sizeof(body));
    httpc_resp_t r;
    post_report(role_auth[3], body, strlen(body), &r);
    json_t *rep = json_loads(r.body, 0, NULL);
    httpc_resp_free(&r);
    assert_non_null(rep);
    json_t *sec = json_array_get(json_object_get(rep, "sections"), 1);
    assert_string_equal(json_string_value(json_object_get(sec, "id")), "system_resources");
    json_t *row = json_array_get(
        json_object_get(json_array_get(json_object_get(sec, "tables"), 0), "rows"), 0);
    assert_string_equal(json_string_value(json_array_get(row, 0)), "CPU usage");
    assert_true(json_number_value(json_array_get(row, 4)) == 69.0);
    json_decref(rep);
}

/* The audit entries of action report.export, as a JSON array (owned). */
static json_t *exports(void)
{
    json_t *j = NULL;
    assert_int_equal(call("GET", "/api/v1/audit?event=report.export&limit=10000", NULL, &j), 200);
    json_t *items = json_incref(json_object_get(j, "items"));
    json_decref(j);
    return items;
}

static void test_exports_audited(void **state)
{
    json_t *before = exports();
    char body[256];
    body_for("csv", body, sizeof(body));
    httpc_resp_t r;
    post_report(role_auth[2], body, strlen(body), &r);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    const char *bad = "{\"type\":\"custom\",\"format\":\"xlsx\"}";
    post_report(role_auth[2], bad, strlen(bad), &r);
    assert_int_equal(r.status, 400);
    httpc_resp_free(&r);
    post_report(role_auth[0], body, strlen(body), &r); /* a viewer: refused, audited */
    assert_int_equal(r.status, 403);
    httpc_resp_free(&r);
    json_t *after = exports();
    assert_int_equal(json_array_size(after), json_array_size(before) + 2);
    json_t *ok = json_array_get(after, json_array_size(after) - 2);
    json_t *no = json_array_get(after, json_array_size(after) - 1);
    assert_string_equal(json_string_value(json_object_get(ok, "actor")), "u_analyst");
    assert_string_equal(json_string_value(json_object_get(ok, "role")), "analyst");
    assert_string_equal(json_string_value(json_object_get(ok, "category")), "export");
    assert_string_equal(json_string_value(json_object_get(ok, "outcome")), "success");
    assert_string_equal(json_string_value(json_object_get(ok, "address")), "127.0.0.1");
    assert_non_null(strstr(json_string_value(json_object_get(ok, "target")), "omega-custom-"));
    assert_non_null(strstr(json_string_value(json_object_get(ok, "detail")), "format=csv"));
    assert_string_equal(json_string_value(json_object_get(no, "outcome")), "failure");
    assert_non_null(strstr(json_string_value(json_object_get(no, "detail")), "format"));
    json_decref(before);
    json_decref(after);
    json_t *j = NULL;
    assert_int_equal(call("GET", "/api/v1/audit?event=request.export&limit=10000", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    json_t *denied = json_array_get(items, json_array_size(items) - 1);
    assert_non_null(denied);
    assert_string_equal(json_string_value(json_object_get(denied, "actor")), "u_viewer");
    assert_string_equal(json_string_value(json_object_get(denied, "role")), "viewer");
    assert_string_equal(json_string_value(json_object_get(denied, "outcome")), "denied");
    assert_string_equal(json_string_value(json_object_get(denied, "target")), "/api/v1/reports");
    assert_string_equal(json_string_value(json_object_get(denied, "category")), "export");
    json_decref(j);
}

static void test_bad_input(void **state)
{
    static const struct {
        const char *body, *says;
    } bad[] = {
        {"", "empty"},
        {"not json", "JSON"},
        {"[]", "object"},
        {"{\"format\":\"pdf\"}", "type"},
        {"{\"type\":\"yearly\"}", "type"},
        {"{\"type\":\"daily\",\"format\":\"docx\"}", "format"},
        {"{\"type\":\"daily\",\"sections\":[\"cpu\"]}", "sections[0]"},
        {"{\"type\":\"daily\",\"sections\":\"cpu\"}", "sections"},
        {"{\"type\":\"daily\",\"bogus\":1}", "bogus"},
        {"{\"type\":\"custom\",\"from\":100,\"to\":100}", "after from"},
        {"{\"type\":\"custom\",\"from\":200,\"to\":100}", "after from"},
        {"{\"type\":\"custom\",\"from\":0,\"to\":\"2026-01-01T00:00:00Z\"}", "400 days"},
        {"{\"type\":\"custom\",\"from\":\"last week\",\"to\":100}", "from"},
        {"{\"type\":\"custom\",\"from\":[1],\"to\":100}", "from"},
        {"{\"type\":\"custom\",\"from\":1}", "to"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        httpc_resp_t r;
        post_report(role_auth[2], bad[i].body, strlen(bad[i].body), &r);
        srvtest_assert_error(&r, 400, "bad_data");
        if (!strstr(r.body, bad[i].says))
            fail_msg("%s: '%s' does not name '%s'", bad[i].body, r.body, bad[i].says);
        httpc_resp_free(&r);
    }
    /* a body over the limit */
    size_t big = 70000;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "{\"type\":\"daily\"}", 16);
    huge[big] = '\0';
    httpc_resp_t r;
    post_report(role_auth[2], huge, big, &r);
    free(huge);
    srvtest_assert_error(&r, 413, "too_large");
    httpc_resp_free(&r);
    /* other methods */
    char h[4900];
    snprintf(h, sizeof(h), "%s", role_auth[2]);
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/reports", h, NULL, 0, &r), 0);
    srvtest_assert_error(&r, 405, "method_not_allowed");
    httpc_resp_free(&r);
}

static void test_async_report(void **state)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"type\":\"custom\",\"from\":%lld,\"to\":%lld,\"format\":\"html\",\"async\":true}",
             t_from, t_to);
    httpc_resp_t r;
    post_report(role_auth[2], body, strlen(body), &r);
    assert_int_equal(r.status, 202);
    json_t *j = json_loads(r.body, 0, NULL);
    char loc[128], path[128];
    assert_non_null(httpc_header(&r, "location", loc, sizeof(loc)));
    httpc_resp_free(&r);
    const char *id = json_string_value(json_object_get(j, "id"));
    assert_non_null(id);
    snprintf(path, sizeof(path), "/api/v1/reports/%s", id);
    assert_string_equal(loc, path);
    json_decref(j);
    int status = 0;
    for (int i = 0; i < 600; i++) { /* bounded wait for the report thread */
        assert_int_equal(httpc_request(S.port, "GET", path, role_auth[2], NULL, 0, &r), 0);
        status = r.status;
        if (status == 200)
            break;
        assert_int_equal(status, 202);
        httpc_resp_free(&r);
        usleep(100 * 1000);
    }
    assert_int_equal(status, 200); /* within the bound */
    check_headers(&r, "text/html; charset=utf-8", "html");
    assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
    assert_non_null(strstr(r.body, "[EMAIL]"));
    httpc_resp_free(&r);
    /* the record, and ids that are not there */
    char meta[200];
    snprintf(meta, sizeof(meta), "%s?meta=true", path);
    assert_int_equal(httpc_request(S.port, "GET", meta, role_auth[2], NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"done\""));
    assert_non_null(strstr(r.body, "\"owner\":\"u_analyst\""));
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "GET", path, role_auth[0], NULL, 0, &r), 0);
    srvtest_assert_error(&r, 403, "forbidden");
    httpc_resp_free(&r);
    static const char *const missing[] = {"/api/v1/reports/0123456789abcdef0123456789abcdef",
                                          "/api/v1/reports/nope", "/api/v1/reports/..%2f..%2fx"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(httpc_request(S.port, "GET", missing[i], role_auth[2], NULL, 0, &r), 0);
        srvtest_assert_error(&r, 404, "not_found");
        httpc_resp_free(&r);
    }
    const char *bad = "{\"type\":\"daily\",\"async\":1}";
    post_report(role_auth[2], bad, strlen(bad), &r);
    srvtest_assert_error(&r, 400, "bad_data");
    httpc_resp_free(&r);
}

static void test_schedules_api(void **state)
{
    httpc_resp_t r;
    char h[4900];
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", role_auth[2]);
    const char *body = "{\"name\":\"team <b>weekly</b>\",\"type\":\"weekly\","
                       "\"at\":\"friday 17:00\",\"formats\":[\"pdf\"]}";
    /* analysts export but do not manage schedules */
    assert_int_equal(
        httpc_request(S.port, "POST", "/api/v1/reports/schedules", h, body, strlen(body), &r), 0);
    srvtest_assert_error(&r, 403, "forbidden");
    httpc_resp_free(&r);
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", role_auth[3]);
    assert_int_equal(
        httpc_request(S.port, "POST", "/api/v1/reports/schedules", h, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 201);
    json_t *j = json_loads(r.body, 0, NULL);
    httpc_resp_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/reports/schedules/%s",
             json_string_value(json_object_get(j, "id")));
    assert_non_null(json_string_value(json_object_get(j, "next_run")));
    json_decref(j);
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/reports/schedules", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"builtin-daily\""));
    assert_non_null(strstr(r.body, "team <b>weekly</b>"));
    httpc_resp_free(&r);
    const char *bad = "{\"name\":\"x\",\"type\":\"weekly\",\"at\":\"someday\"}";
    assert_int_equal(
        httpc_request(S.port, "POST", "/api/v1/reports/schedules", h, bad, strlen(bad), &r), 0);
    srvtest_assert_error(&r, 400, "bad_data");
    assert_non_null(strstr(r.body, "at:"));
    httpc_resp_free(&r);
    assert_int_equal(
        httpc_request(S.port, "DELETE", "/api/v1/reports/schedules/builtin-daily", h, NULL, 0, &r),
        0);
    srvtest_assert_error(&r, 409, "conflict");
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "DELETE", path, h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "DELETE", path, h, NULL, 0, &r), 0);
    srvtest_assert_error(&r, 404, "not_found");
    httpc_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permission_per_role), cmocka_unit_test(test_each_format),
        cmocka_unit_test(test_exports_audited),     cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_async_report),        cmocka_unit_test(test_schedules_api),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
