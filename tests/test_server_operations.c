/* SPDX-License-Identifier: Apache-2.0 */
/* Integration test of the operations API through the real omega-monitor binary on a
 * loopback port: start/end/list over HTTP, the live `job` frames, the metrics in PromQL,
 * permissions, bad input answered in API.md's error shape, history kept across a restart,
 * and `omega-monitor run` recording a failing command (and running it anyway when the
 * server cannot be reached). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#define ADMIN_PW "correct-horse-battery-staple"
#define USER_PW  "another-long-password-42"

static srvtest_t S;
static char viewer_auth[1200]; /* "Authorization: Bearer ..." of a viewer */
static char ingest_key[200];   /* an API key with the ingest scope */

static char *const server_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, NULL};

/* Request with hdr (NULL: the admin session); returns the status, body parsed into *out. */
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

/* Same, asserting the API error shape for status. */
static void call_error(const char *hdr, const char *method, const char *path, const char *body,
                       int status, const char *type)
{
    httpc_resp_t r;
    char h[1400];
    snprintf(h, sizeof(h), "%sContent-Type: application/json\r\n", hdr ? hdr : S.auth);
    assert_int_equal(httpc_request(S.port, method, path, h, body, body ? strlen(body) : 0, &r), 0);
    srvtest_assert_error(&r, status, type);
    httpc_resp_free(&r);
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int group_setup(void **state)
{
    if (srvtest_start_session(&S, "server-ops", server_env, "admin", ADMIN_PW) != 0)
        return -1;
    json_t *j = NULL;
    if (call(NULL, "POST", "/api/v1/users",
             "{\"username\":\"vic\",\"password\":\"" USER_PW "\",\"role\":\"viewer\"}",
             NULL) != 201)
        return -1;
    char tok[1100];
    if (srvtest_login(&S, "vic", USER_PW, tok, sizeof(tok)) != 200)
        return -1;
    srvtest_bearer(tok, viewer_auth, sizeof(viewer_auth));
    if (call(NULL, "POST", "/api/v1/apikeys", "{\"name\":\"ci\",\"scopes\":[\"ingest\"]}", &j) !=
        201)
        return -1;
    snprintf(ingest_key, sizeof(ingest_key), "%s", sget(j, "key"));
    json_decref(j);
    return ingest_key[0] ? 0 : -1;
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

/* The first `job` frame on c within 10 s (other frames skipped), parsed. */
static json_t *next_job_frame(wsc_t *c)
{
    for (int i = 0; i < 100; i++) {
        char *p = NULL;
        int code = 0;
        int op = wsc_recv(c, 10000, &p, NULL, &code);
        if (op != 1) {
            free(p);
            fail_msg("no job frame (opcode %d, close %d)", op, code);
        }
        json_t *o = json_loads(p, 0, NULL);
        free(p);
        if (o && strcmp(sget(o, "type"), "job") == 0)
            return o;
        json_decref(o);
    }
    fail_msg("no job frame among 100 frames");
    return NULL;
}

static void test_start_end_list_live(void **state)
{
    wsc_t c;
    char path[1300];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", S.token);
    assert_int_equal(wsc_connect(&c, S.port, path, "omega-live.v1"), 101);
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"subscribe\",\"id\":\"s\",\"query\":"
                                       "\"system_memory_total_bytes\",\"interval_ms\":60000}"),
                     0);
    /* Job frames go to sockets holding a subscription: wait until this one is in place. */
    char *first = NULL;
    assert_int_equal(wsc_recv(&c, 10000, &first, NULL, NULL), 1);
    if (!strstr(first, "\"samples\""))
        fail_msg("first frame is not samples: %s", first);
    free(first);
    json_t *j = NULL;
    assert_int_equal(call(NULL, "POST", "/api/v1/operations/job-1/start",
                          "{\"kind\":\"compile\",\"labels\":{\"job\":\"core\"}}", &j),
                     201);
    assert_string_equal(sget(j, "status"), "running");
    json_decref(j);
    json_t *f = next_job_frame(&c);
    assert_string_equal(sget(f, "event"), "started");
    assert_string_equal(sget(f, "id"), "job-1");
    json_decref(f);

    assert_int_equal(call(viewer_auth, "GET", "/api/v1/operations?active=true", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(sget(json_array_get(items, 0), "id"), "job-1");
    json_decref(j);

    assert_int_equal(call(NULL, "POST", "/api/v1/operations/job-1/end",
                          "{\"status\":\"ok\",\"phases\":{\"lexical\":5,\"codegen\":20},"
                          "\"attributes\":{\"files\":12}}",
                          &j),
                     200);
    assert_string_equal(sget(j, "status"), "ok");
    json_decref(j);
    f = next_job_frame(&c);
    assert_string_equal(sget(f, "event"), "ended");
    assert_string_equal(sget(f, "status"), "ok");
    json_decref(f);
    wsc_close(&c);

    assert_int_equal(call(viewer_auth, "GET", "/api/v1/operations?active=false", NULL, &j), 200);
    items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 1);
    assert_string_equal(sget(json_array_get(items, 0), "id"), "job-1");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(items, 0), "attributes"), "files")),
                     12);
    json_decref(j);

    /* The metrics answer PromQL. */
    char q[512], enc[400];
    snprintf(q, sizeof(q), "/api/v1/query?query=%s",
             httpc_urlencode("omega_operations_total{kind=\"compile\",status=\"ok\",job=\"core\"}",
                             enc, sizeof(enc)));
    assert_int_equal(call(viewer_auth, "GET", q, NULL, &j), 200);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    assert_int_equal(json_array_size(res), 1);
    json_t *val = json_array_get(json_object_get(json_array_get(res, 0), "value"), 1);
    assert_string_equal(json_string_value(val), "1");
    json_decref(j);
}

static void test_bad_input(void **state)
{
    const char *base = "/api/v1/operations/bad-1";
    call_error(NULL, "POST", "/api/v1/operations/bad-1/start", "{\"kind\":", 400, "bad_data");
    call_error(NULL, "POST", "/api/v1/operations/bad-1/start", "[1]", 400, "bad_data");
    call_error(NULL, "POST", "/api/v1/operations/bad-1/start", "{\"kind\":5}", 422, "bad_data");
    call_error(NULL, "POST", "/api/v1/operations/bad-1/start", "{\"labels\":{\"le\":\"1\"}}", 422,
               "bad_data");
    call_error(NULL, "POST", "/api/v1/operations/a%20b/start", "{}", 400, "bad_data");
    call_error(NULL, "POST", "/api/v1/operations/never/end", "{\"status\":\"ok\"}", 409,
               "conflict");
    char path[200];
    snprintf(path, sizeof(path), "%s/start", base);
    assert_int_equal(call(NULL, "POST", path, "", NULL), 201); /* empty body: defaults */
    call_error(NULL, "POST", path, "{}", 409, "conflict");
    snprintf(path, sizeof(path), "%s/end", base);
    call_error(NULL, "POST", path, "{\"status\":\"meh\"}", 422, "bad_data");
    call_error(NULL, "POST", path, "{\"phases\":{}}", 422, "bad_data");
    /* 100 phases: over the limit of 64 */
    char big[4096];
    size_t off = (size_t)snprintf(big, sizeof(big), "{\"status\":\"ok\",\"phases\":{");
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(big + off, sizeof(big) - off, "%s\"p%d\":1", i ? "," : "", i);
    snprintf(big + off, sizeof(big) - off, "}}");
    call_error(NULL, "POST", path, big, 422, "bad_data");
    assert_int_equal(call(NULL, "POST", path, "{\"status\":\"failed\"}", NULL), 200);
    call_error(NULL, "POST", path, "{\"status\":\"failed\"}", 409, "conflict");

    call_error(NULL, "GET", "/api/v1/operations?active=maybe", NULL, 400, "bad_data");
    call_error(NULL, "GET", "/api/v1/operations?since=yesterday", NULL, 400, "bad_data");
    call_error(NULL, "GET", "/api/v1/operations?since=2000&until=1000", NULL, 400, "bad_data");
    call_error(NULL, "GET", "/api/v1/operations?limit=0", NULL, 400, "bad_data");
    call_error(NULL, "GET", "/api/v1/operations?limit=10001", NULL, 400, "bad_data");
}

static void test_permissions(void **state)
{
    call_error(viewer_auth, "POST", "/api/v1/operations/p-1/start", "{}", 403, "forbidden");
    call_error("", "GET", "/api/v1/operations", NULL, 401, "unauthorized");
    char key[300];
    snprintf(key, sizeof(key), "X-API-Key: %s\r\n", ingest_key);
    assert_int_equal(call(key, "POST", "/api/v1/operations/p-1/start", "{}", NULL), 201);
    assert_int_equal(call(key, "POST", "/api/v1/operations/p-1/end", "{\"status\":\"ok\"}", NULL),
                     200);
}

/* Run omega-monitor run with args; returns its exit status, stderr into err_out. */
static int run_cli(char *const args[], char *err_out, size_t len)
{
    char bin[600], errf[700];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    snprintf(errf, sizeof(errf), "%s/run.stderr", S.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        char *argv[32] = {bin};
        for (int i = 0; args[i] && i < 30; i++)
            argv[i + 1] = args[i];
        execv(bin, argv);
        _exit(99);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    size_t n = 0;
    char *text = testutil_read_file(errf, &n);
    snprintf(err_out, len, "%s", text ? text : "");
    free(text);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_run_records_failed_job(void **state)
{
    char url[64], err[4096];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
    char *const args[] = {"run", "--job",     "failing-build", "--server",
                          url,   "--api-key", ingest_key,      "--",
                          "sh",  "-c",        "exit 3",        NULL};
    assert_int_equal(run_cli(args, err, sizeof(err)), 3);
    assert_string_equal(err, "");
    json_t *j = NULL;
    assert_int_equal(call(NULL, "GET", "/api/v1/operations?active=false", NULL, &j), 200);
    json_t *items = json_object_get(j, "items"), *found = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (!found && strcmp(sget(json_object_get(it, "labels"), "job"), "failing-build") == 0)
            found = it;
    }
    assert_non_null(found);
    assert_string_equal(sget(found, "status"), "failed");
    assert_string_equal(sget(found, "kind"), "compile");
    json_t *at = json_object_get(found, "attributes");
    assert_int_equal(json_integer_value(json_object_get(at, "exit_code")), 3);
    assert_true(json_is_number(json_object_get(at, "cpu_user_seconds")));
    assert_true(json_integer_value(json_object_get(at, "peak_rss_bytes")) > 0);
    assert_string_equal(sget(at, "command"), "sh -c exit 3");
    json_decref(j);

    /* A signal: 128 + N, recorded as failed with the signal number. */
    char *const sig[] = {"run", "--job", "killed", "--server",      url, "--api-key", ingest_key,
                         "--",  "sh",    "-c",     "kill -TERM $$", NULL};
    assert_int_equal(run_cli(sig, err, sizeof(err)), 128 + 15);
    assert_int_equal(call(NULL, "GET", "/api/v1/operations?active=false&limit=1", NULL, &j), 200);
    it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(sget(json_object_get(it, "labels"), "job"), "killed");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(it, "attributes"), "signal")), 15);
    json_decref(j);
}

static void test_run_without_server(void **state)
{
    char err[4096];
    char *const args[] = {"run",    "--server", "http://127.0.0.1:1", "--", "sh", "-c",
                          "exit 0", NULL};
    assert_int_equal(run_cli(args, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "cannot reach"));
    assert_non_null(strstr(err, "not recorded"));
    char *const missing[] = {
        "run", "--server", "http://127.0.0.1:1", "--", "/nonexistent/omega-cmd", NULL};
    assert_int_equal(run_cli(missing, err, sizeof(err)), 127);
    assert_non_null(strstr(err, "No such file"));
    char *const usage[] = {"run", "--job", NULL};
    assert_int_equal(run_cli(usage, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "usage"));
}

static void test_restart_keeps_history(void **state)
{
    assert_int_equal(call(NULL, "POST", "/api/v1/operations/across/start", "{}", NULL), 201);
    assert_int_equal(srvtest_restart(&S, server_env), 0);
    assert_int_equal(srvtest_login_session(&S, "admin", ADMIN_PW), 0);
    json_t *j = NULL;
    assert_int_equal(call(NULL, "GET", "/api/v1/operations?active=true", NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(sget(json_array_get(items, 0), "id"), "across");
    json_decref(j);
    assert_int_equal(
        call(NULL, "POST", "/api/v1/operations/across/end", "{\"status\":\"ok\"}", NULL), 200);
    assert_int_equal(call(NULL, "GET", "/api/v1/operations?active=false", NULL, &j), 200);
    int saw_job1 = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j, "items"), i, it) {
        saw_job1 |= strcmp(sget(it, "id"), "job-1") == 0;
    }
    assert_true(saw_job1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_end_list_live), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_permissions),         cmocka_unit_test(test_run_records_failed_job),
        cmocka_unit_test(test_run_without_server),  cmocka_unit_test(test_restart_keeps_history),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
