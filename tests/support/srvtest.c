/* SPDX-License-Identifier: Apache-2.0 */
/* Shared fixture of the server integration tests: temp dir, the real binary on a free
 * loopback port, logins, a stop that checks the exit status, and the API error shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "srvtest.h"
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int srvtest_init(srvtest_t *t, const char *tag)
{
    memset(t, 0, sizeof(*t));
    t->pid = -1;
    t->dir = testutil_mkdtemp(tag);
    snprintf(t->data, sizeof(t->data), "%s/data", t->dir);
    snprintf(t->log, sizeof(t->log), "%s/server.log", t->dir);
    t->port = testutil_free_port();
    return t->port > 0 ? 0 : -1;
}

int srvtest_launch(srvtest_t *t, char *const env[])
{
    t->pid = server_start(t->port, t->data, t->log, env);
    if (t->pid < 0) {
        t->pid = -1;
        srvtest_dump_log(t);
        return -1;
    }
    return 0;
}

int srvtest_start(srvtest_t *t, const char *tag, char *const env[])
{
    if (srvtest_init(t, tag) != 0)
        return -1;
    return srvtest_launch(t, env);
}

int srvtest_launch_session(srvtest_t *t, char *const env[], const char *user, const char *pw)
{
    if (srvtest_launch(t, env) != 0)
        return -1;
    if (srvtest_login_session(t, user, pw) != 0) {
        srvtest_dump_log(t);
        return -1;
    }
    return 0;
}

int srvtest_start_session(srvtest_t *t, const char *tag, char *const env[], const char *user,
                          const char *pw)
{
    if (srvtest_init(t, tag) != 0)
        return -1;
    return srvtest_launch_session(t, env, user, pw);
}

/* Stop the server; print its status and log unless it exited 0. */
static int stop_server(srvtest_t *t)
{
    int rc = server_stop(t->pid);
    t->pid = -1;
    if (rc != 0) {
        fprintf(stderr, "server exit status %d\n", rc);
        srvtest_dump_log(t);
    }
    return rc;
}

int srvtest_restart(srvtest_t *t, char *const env[])
{
    if (stop_server(t) != 0)
        return -1;
    return srvtest_launch(t, env);
}

int srvtest_stop(srvtest_t *t)
{
    int rc = stop_server(t);
    if (t->dir) {
        testutil_rmtree(t->dir);
        free(t->dir);
        t->dir = NULL;
    }
    return rc == 0 ? 0 : -1;
}

void srvtest_dump_log(const srvtest_t *t)
{
    char *log = testutil_read_file(t->log, NULL);
    fprintf(stderr, "---- server log ----\n%s\n--------------------\n", log ? log : "(none)");
    free(log);
}

int srvtest_login_request(const srvtest_t *t, const char *user, const char *pw, httpc_resp_t *r)
{
    char body[2048];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    return httpc_request(t->port, "POST", "/api/v1/auth/login",
                         "Content-Type: application/json\r\n", body, strlen(body), r);
}

int srvtest_login(const srvtest_t *t, const char *user, const char *pw, char *token_out, size_t len)
{
    httpc_resp_t r;
    if (token_out && len)
        token_out[0] = '\0';
    if (srvtest_login_request(t, user, pw, &r) != 0) {
        httpc_resp_free(&r);
        return -1;
    }
    int status = r.status;
    if (status == 200) {
        json_t *j = json_loads(r.body, 0, NULL);
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok)
            status = -1;
        else if (token_out && len)
            snprintf(token_out, len, "%s", tok);
        json_decref(j);
    }
    httpc_resp_free(&r);
    return status;
}

int srvtest_login_session(srvtest_t *t, const char *user, const char *pw)
{
    if (srvtest_login(t, user, pw, t->token, sizeof(t->token)) != 200)
        return -1;
    srvtest_bearer(t->token, t->auth, sizeof(t->auth));
    return 0;
}

char *srvtest_bearer(const char *token, char *buf, size_t len)
{
    snprintf(buf, len, "Authorization: Bearer %s\r\n", token);
    return buf;
}

void srvtest_assert_error(const httpc_resp_t *r, int status, const char *error_type)
{
    if (r->status != status)
        fail_msg("expected %d, got %d: %s", status, r->status, r->body ? r->body : "");
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "errorType")), error_type);
    const char *msg = json_string_value(json_object_get(j, "error"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 5);
    json_decref(j);
}
