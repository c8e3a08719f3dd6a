/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of /api/v1/dashboards against the real omega-monitor binary on loopback:
 * create, read, list, update with version checks, delete, validation of ids and layouts,
 * permissions per role (users seeded through omega_auth before the server starts), and
 * layouts surviving a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#include "omega/auth.h"
#include "omega/tsdb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PW "correct-horse-battery-staple"
#define USER_PW "dashboards-Pa55word"

static srvtest_t S;

typedef struct fixture {
    char admin[1100];  /* bearer tokens per role */
    char dev[1100];
    char analyst[1100];
    char viewer[1100];
} fixture_t;

static fixture_t F;

static char *const server_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, NULL};

static const char *LAYOUT =
    "{\"title\":\"Build farm <b>overview</b>\",\"time\":\"1h\",\"refresh\":\"30s\","
    "\"variables\":[{\"name\":\"host\",\"values\":\"system_load1\",\"value\":\"web-1\"}],"
    "\"panels\":[{\"id\":\"p1\",\"title\":\"CPU\",\"query\":\"system_cpu_usage_percent{host=\\\"$host\\\"}\","
    "\"type\":\"line\",\"unit\":\"percent\",\"w\":6,\"h\":3},"
    "{\"title\":\"Load\",\"query\":\"system_load1\",\"type\":\"stat\"}]}";

/* Create the users the tests log in as, directly in the store, before the server opens it. */
static int seed_users(void)
{
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = S.data;
    omega_error_t err;
    omega_error_clear(&err);
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db)
        return -1;
    omega_auth_t *a = omega_auth_create(db, NULL, &err);
    int created = 0, rc = a ? 0 : -1;
    if (rc == 0)
        rc = omega_auth_bootstrap(a, ADMIN_PW, NULL, 0, &created, &err);
    if (rc == 0)
        rc = omega_auth_user_add(a, "dev", USER_PW, OMEGA_ROLE_DEVELOPER, &err);
    if (rc == 0)
        rc = omega_auth_user_add(a, "analyst", USER_PW, OMEGA_ROLE_ANALYST, &err);
    if (rc == 0)
        rc = omega_auth_user_add(a, "viewer", USER_PW, OMEGA_ROLE_VIEWER, &err);
    if (rc != 0)
        fprintf(stderr, "seeding users failed: %s\n", err.message);
    omega_auth_destroy(a);
    omega_tsdb_close(db);
    return rc;
}

/* Log in as every role the tests use. */
static int login_all(void)
{
    if (srvtest_login(&S, "admin", ADMIN_PW, F.admin, sizeof(F.admin)) != 200 ||
        srvtest_login(&S, "dev", USER_PW, F.dev, sizeof(F.dev)) != 200 ||
        srvtest_login(&S, "analyst", USER_PW, F.analyst, sizeof(F.analyst)) != 200 ||
        srvtest_login(&S, "viewer", USER_PW, F.viewer, sizeof(F.viewer)) != 200)
        return -1;
    return 0;
}

static int group_setup(void **state)
{
    if (srvtest_init(&S, "dashboards") != 0)
        return -1;
    if (seed_users() != 0 || srvtest_launch(&S, server_env) != 0 || login_all() != 0) {
        srvtest_dump_log(&S);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

/* One request as the holder of token (NULL: anonymous). */
static void req(const char *token, const char *method, const char *path, const char *body,
                httpc_resp_t *r)
{
    char h[1300] = "";
    if (token)
        snprintf(h, sizeof(h), "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
                 token);
    assert_int_equal(httpc_request(S.port, method, path, token ? h : NULL, body,
                                   body ? strlen(body) : 0, r),
                     0);
}

static void assert_error(const httpc_resp_t *r, int status, const char *type, const char *needle)
{
    if (r->status != status || !strstr(r->body, needle))
        fprintf(stderr, "expected %d with '%s', got %d: %s\n", status, needle, r->status, r->body);
    srvtest_assert_error(r, status, type);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), needle));
    json_decref(j);
}

static json_t *body_json(const httpc_resp_t *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_list_starts_empty(void **state)
{
    httpc_resp_t r;
    req(F.viewer, "GET", "/api/v1/dashboards", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"items\":[]}");
    httpc_resp_free(&r);
}

static void test_create_get_update_list(void **state)
{
    httpc_resp_t r;
    req(F.dev, "PUT", "/api/v1/dashboards/farm-1", LAYOUT, &r);
    assert_int_equal(r.status, 201);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "farm-1");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "updated_by")), "dev");
    char created[64];
    snprintf(created, sizeof(created), "%s", json_string_value(json_object_get(j, "created_at")));
    assert_true(strlen(created) >= 20);
    json_decref(j);
    httpc_resp_free(&r);

    /* Read back as a viewer: title kept verbatim (HTML is the browser's to escape). */
    req(F.viewer, "GET", "/api/v1/dashboards/farm-1", NULL, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "title")),
                        "Build farm <b>overview</b>");
    json_t *panels = json_object_get(j, "panels");
    assert_int_equal(json_array_size(panels), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(panels, 0), "query")),
                        "system_cpu_usage_percent{host=\"$host\"}");
    json_decref(j);
    httpc_resp_free(&r);

    /* Update based on version 1 (analyst may save too); created_at is carried over. */
    req(F.analyst, "PUT", "/api/v1/dashboards/farm-1",
        "{\"title\":\"Farm\",\"version\":1,\"panels\":[]}", &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "created_at")), created);
    assert_string_equal(json_string_value(json_object_get(j, "updated_by")), "analyst");
    json_decref(j);
    httpc_resp_free(&r);

    /* A stale version is a conflict, and nothing changes. */
    req(F.dev, "PUT", "/api/v1/dashboards/farm-1", "{\"title\":\"Stale\",\"version\":1,\"panels\":[]}",
        &r);
    assert_error(&r, 409, "conflict", "version 2");
    httpc_resp_free(&r);

    req(F.admin, "PUT", "/api/v1/dashboards/zz_second", "{\"title\":\"Second\",\"panels\":[]}", &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);

    req(F.viewer, "GET", "/api/v1/dashboards", NULL, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(first, "id")), "farm-1");
    assert_string_equal(json_string_value(json_object_get(first, "title")), "Farm");
    assert_int_equal(json_integer_value(json_object_get(first, "version")), 2);
    assert_int_equal(json_integer_value(json_object_get(first, "panels")), 0);
    json_decref(j);
    httpc_resp_free(&r);
}

static void test_permissions(void **state)
{
    httpc_resp_t r;
    req(NULL, "GET", "/api/v1/dashboards", NULL, &r);
    assert_error(&r, 401, "unauthorized", "authentication required");
    httpc_resp_free(&r);
    req(NULL, "GET", "/api/v1/dashboards/farm-1", NULL, &r);
    assert_int_equal(r.status, 401);
    httpc_resp_free(&r);
    req(F.viewer, "PUT", "/api/v1/dashboards/v1", "{\"title\":\"x\",\"panels\":[]}", &r);
    assert_error(&r, 403, "forbidden", "viewer");
    httpc_resp_free(&r);
    req(F.viewer, "DELETE", "/api/v1/dashboards/farm-1", NULL, &r);
    assert_error(&r, 403, "forbidden", "viewer");
    httpc_resp_free(&r);
    req(F.viewer, "GET", "/api/v1/dashboards/v1", NULL, &r);
    assert_error(&r, 404, "not_found", "'v1'");
    httpc_resp_free(&r);
    req(F.dev, "POST", "/api/v1/dashboards/farm-1", "{}", &r);
    assert_int_equal(r.status, 405);
    httpc_resp_free(&r);
}

static void test_bad_ids(void **state)
{
    static const char *const paths[] = {
        "/api/v1/dashboards/a.b",
        "/api/v1/dashboards/a%20b",
        "/api/v1/dashboards/%3Cscript%3E",
        "/api/v1/dashboards/x12345678901234567890123456789012345678901234567890123456789012345",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        httpc_resp_t r;
        req(F.dev, "PUT", paths[i], "{\"title\":\"x\",\"panels\":[]}", &r);
        assert_error(&r, 400, "bad_data", "invalid dashboard id");
        httpc_resp_free(&r);
        req(F.dev, "GET", paths[i], NULL, &r);
        assert_error(&r, 400, "bad_data", "invalid dashboard id");
        httpc_resp_free(&r);
    }
    /* An encoded slash is decoded before routing: two segments match no dashboard route. */
    httpc_resp_t r;
    req(F.dev, "PUT", "/api/v1/dashboards/a%2Fb", "{\"title\":\"x\",\"panels\":[]}", &r);
    assert_error(&r, 404, "not_found", "no such endpoint");
    httpc_resp_free(&r);
}

static void test_bad_layouts(void **state)
{
    static const struct {
        const char *body;
        const char *needle;
    } cases[] = {
        {"{\"title\":\"x\",", "not valid JSON"},
        {"[1]", "JSON object"},
        {"{\"panels\":[]}", "'title' is required"},
        {"{\"title\":\"\",\"panels\":[]}", "'title' must be a non-empty string"},
        {"{\"title\":7,\"panels\":[]}", "'title' must be"},
        {"{\"title\":\"x\"}", "'panels' is required"},
        {"{\"title\":\"x\",\"panels\":{}}", "'panels' is required"},
        {"{\"title\":\"x\",\"panels\":[],\"theme\":\"dark\"}", "unknown field 'theme'"},
        {"{\"title\":\"x\",\"id\":\"other\",\"panels\":[]}", "must equal the id in the URL"},
        {"{\"title\":\"x\",\"panels\":[1]}", "'panels[0]' must be an object"},
        {"{\"title\":\"x\",\"panels\":[{\"type\":\"line\"}]}", "'panels[0].query' is required"},
        {"{\"title\":\"x\",\"panels\":[{\"query\":\"up\",\"type\":\"pie\"}]}",
         "'panels[0].type' must be one of"},
        {"{\"title\":\"x\",\"panels\":[{\"query\":\"up\",\"type\":\"line\",\"w\":13}]}",
         "'panels[0].w' must be an integer from 1 to 12"},
        {"{\"title\":\"x\",\"panels\":[{\"query\":\"up\",\"type\":\"line\",\"js\":1}]}",
         "unknown field 'panels[0].js'"},
        {"{\"title\":\"x\",\"panels\":[],\"variables\":[{\"name\":\"9x\"}]}",
         "'variables[0].name' must match"},
        {"{\"title\":\"x\",\"panels\":[],\"variables\":[{\"value\":\"a\"}]}",
         "'variables[0].name' is required"},
        {"{\"title\":\"x\",\"panels\":[],\"version\":-1}", "'version' must be an integer"},
        {"{\"title\":\"x\",\"title\":\"y\",\"panels\":[]}", "duplicate"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        httpc_resp_t r;
        req(F.dev, "PUT", "/api/v1/dashboards/bad", cases[i].body, &r);
        assert_error(&r, 400, "bad_data", cases[i].needle);
        httpc_resp_free(&r);
    }
    /* Nothing was stored by any of them. */
    httpc_resp_t r;
    req(F.dev, "GET", "/api/v1/dashboards/bad", NULL, &r);
    assert_int_equal(r.status, 404);
    httpc_resp_free(&r);
}

static void test_limits(void **state)
{
    /* 101 panels. */
    size_t cap = 64 * 1024;
    char *body = malloc(cap);
    size_t n = (size_t)snprintf(body, cap, "{\"title\":\"x\",\"panels\":[");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"query\":\"up\",\"type\":\"line\"}",
                              i ? "," : "");
    snprintf(body + n, cap - n, "]}");
    httpc_resp_t r;
    req(F.dev, "PUT", "/api/v1/dashboards/big", body, &r);
    assert_error(&r, 400, "bad_data", "at most 100 panels");
    httpc_resp_free(&r);
    free(body);

    /* A layout over 256 KiB (a huge title inside an otherwise valid shape). */
    size_t big = 300 * 1024;
    body = malloc(big + 64);
    n = (size_t)snprintf(body, big, "{\"title\":\"");
    memset(body + n, 'a', big - n - 32);
    n = big - 32;
    snprintf(body + n, 64, "\",\"panels\":[]}");
    req(F.dev, "PUT", "/api/v1/dashboards/big", body, &r);
    assert_error(&r, 413, "too_large", "limit");
    httpc_resp_free(&r);
    free(body);

    /* A panel query over 4 KiB. */
    body = malloc(8192);
    n = (size_t)snprintf(body, 8192, "{\"title\":\"x\",\"panels\":[{\"type\":\"line\",\"query\":\"");
    memset(body + n, 'q', 5000);
    snprintf(body + n + 5000, 8192 - n - 5000, "\"}]}");
    req(F.dev, "PUT", "/api/v1/dashboards/big", body, &r);
    assert_error(&r, 400, "bad_data", "'panels[0].query' must be");
    httpc_resp_free(&r);
    free(body);
}

static void test_delete(void **state)
{
    httpc_resp_t r;
    req(F.dev, "PUT", "/api/v1/dashboards/gone", "{\"title\":\"g\",\"panels\":[]}", &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);
    req(F.dev, "DELETE", "/api/v1/dashboards/gone", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    httpc_resp_free(&r);
    req(F.dev, "GET", "/api/v1/dashboards/gone", NULL, &r);
    assert_int_equal(r.status, 404);
    httpc_resp_free(&r);
    req(F.dev, "DELETE", "/api/v1/dashboards/gone", NULL, &r);
    assert_error(&r, 404, "not_found", "'gone'");
    httpc_resp_free(&r);
}

static void test_restart_keeps_layouts(void **state)
{
    assert_int_equal(srvtest_restart(&S, server_env), 0);
    assert_int_equal(login_all(), 0);
    httpc_resp_t r;
    req(F.viewer, "GET", "/api/v1/dashboards/farm-1", NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Farm");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    json_decref(j);
    httpc_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_starts_empty),
        cmocka_unit_test(test_create_get_update_list),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_bad_layouts),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_restart_keeps_layouts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
