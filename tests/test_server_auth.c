/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of the security endpoints on the real binary over loopback: refresh and
 * logout, the users API (shapes, admin vs superuser rules, hostile input), API keys
 * (shown once, scopes, both headers, revocation), the audit log API, the offline
 * `omega-monitor user` command, and login rate limits (429 + Retry-After) last, since
 * they lock out this test's address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ADMIN_PW "correct-horse-battery-staple"
#define USER_PW  "a fine long password"

static srvtest_t S;

typedef struct fixture {
    char root[1100];  /* superuser "admin" token */
    char admin[1100]; /* role admin token ("boss") */
    int failures;     /* failed logins sent from 127.0.0.1 so far */
} fixture_t;

static fixture_t F;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_SERVER_MAX_BODY_SIZE=65536",
    NULL,
};

/* method path with "Authorization: Bearer cred" (cred may be NULL) and a JSON body. */
static int req(const char *method, const char *path, const char *cred, const char *body,
               httpc_resp_t *r)
{
    char hdr[1400] = "Content-Type: application/json\r\n";
    if (cred)
        snprintf(hdr + strlen(hdr), sizeof(hdr) - strlen(hdr), "Authorization: Bearer %s\r\n",
                 cred);
    /* Browsers send "Content-Length: 0" on an empty POST; so do we. */
    if (!body && strcmp(method, "GET") != 0)
        body = "";
    return httpc_request(S.port, method, path, hdr, body, strlen(body ? body : ""), r);
}

/* Status of a request, response freed. */
static int status(const char *method, const char *path, const char *cred, const char *body)
{
    httpc_resp_t r;
    assert_int_equal(req(method, path, cred, body, &r), 0);
    int s = r.status;
    httpc_resp_free(&r);
    return s;
}

static int login_status(const char *user, const char *pw, char *token, size_t len)
{
    int s = srvtest_login(&S, user, pw, token, len);
    assert_int_not_equal(s, -1);
    if (s == 401)
        F.failures++;
    return s;
}

static void login_ok(const char *user, const char *pw, char *token, size_t len)
{
    int s = login_status(user, pw, token, len);
    if (s != 200)
        fail_msg("login %s: %d", user, s);
}

static void create_user(const char *name, const char *role)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"}",
             name, USER_PW, role);
    assert_int_equal(status("POST", "/api/v1/users", F.root, body), 201);
}

static int group_setup(void **state)
{
    if (srvtest_start(&S, "server_auth", server_env) != 0)
        return -1;
    if (login_status("admin", ADMIN_PW, F.root, sizeof(F.root)) != 200)
        return -1;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"username\":\"boss\",\"password\":\"%s\",\"role\":\"admin\"}", USER_PW);
    httpc_resp_t r;
    if (req("POST", "/api/v1/users", F.root, body, &r) != 0 || r.status != 201)
        return -1;
    httpc_resp_free(&r);
    return login_status("boss", USER_PW, F.admin, sizeof(F.admin)) == 200 ? 0 : -1;
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

/* ---- sessions ---- */

static void test_refresh_and_logout(void **state)
{
    char t1[1100], t2[1100];
    login_ok("admin", ADMIN_PW, t1, sizeof(t1));
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/auth/refresh", t1, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(t2, sizeof(t2), "%s", json_string_value(json_object_get(j, "token")));
    assert_string_equal(json_string_value(json_object_get(j, "role")), "superuser");
    assert_non_null(json_string_value(json_object_get(j, "expires_at")));
    json_decref(j);
    httpc_resp_free(&r);
    assert_string_not_equal(t1, t2);
    assert_int_equal(status("GET", "/api/v1/users", t1, NULL), 401); /* old one revoked */
    assert_int_equal(status("GET", "/api/v1/users", t2, NULL), 200);
    assert_int_equal(status("POST", "/api/v1/auth/logout", t2, NULL), 204);
    assert_int_equal(status("GET", "/api/v1/users", t2, NULL), 401);
    assert_int_equal(status("POST", "/api/v1/auth/logout", t2, NULL), 401);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", t2, NULL), 401);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", NULL, NULL), 401);
    assert_int_equal(status("GET", "/api/v1/auth/logout", F.root, NULL), 405);
}

/* ---- users API ---- */

static void test_users_create_get_list_shapes(void **state)
{
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/users", F.admin,
                         "{\"username\":\"vera\",\"password\":\"" USER_PW
                         "\",\"email\":\"vera@example.org\"}",
                         &r),
                     0);
    assert_int_equal(r.status, 201);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "username")), "vera");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "viewer"); /* default */
    assert_string_equal(json_string_value(json_object_get(j, "email")), "vera@example.org");
    assert_true(json_is_false(json_object_get(j, "disabled")));
    assert_null(json_object_get(j, "password"));
    assert_null(json_object_get(j, "hash"));
    assert_null(strstr(r.body, "argon2"));
    json_decref(j);
    httpc_resp_free(&r);

    assert_int_equal(req("GET", "/api/v1/users", F.admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 3);
    assert_null(strstr(r.body, "argon2"));
    json_decref(j);
    httpc_resp_free(&r);

    assert_int_equal(req("GET", "/api/v1/users/vera", F.admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/users/nobody", F.admin, NULL, &r), 0);
    srvtest_assert_error(&r, 404, "not_found");
    httpc_resp_free(&r);
    /* Names are unique without regard to case. */
    assert_int_equal(req("POST", "/api/v1/users", F.admin,
                         "{\"username\":\"VERA\",\"password\":\"" USER_PW "\"}", &r),
                     0);
    srvtest_assert_error(&r, 409, "conflict");
    httpc_resp_free(&r);
}

static void test_users_bad_input(void **state)
{
    static const struct {
        const char *body;
        int status;
    } cases[] = {
        {"", 400},
        {"[]", 400},
        {"{\"username\":\"x1\"}", 400},
        {"{\"username\":\"x1\",\"password\":5}", 400},
        {"{\"username\":\"x1\",\"password\":\"" USER_PW "\",\"admin\":true}", 400},
        {"{\"username\":\"x1\",\"password\":\"" USER_PW "\",\"role\":\"god\"}", 422},
        {"{\"username\":\"x1\",\"password\":\"short\"}", 422},
        {"{\"username\":\"<script>alert(1)</script>\",\"password\":\"" USER_PW "\"}", 422},
        {"{\"username\":\"'; DROP TABLE users; --\",\"password\":\"" USER_PW "\"}", 422},
        {"{\"username\":\"$(rm -rf /)\",\"password\":\"" USER_PW "\"}", 422},
        /* Cyrillic "а" in place of the Latin one: a confusable of "admin". */
        {"{\"username\":\"\xd0\xb0" "dmin\",\"password\":\"" USER_PW "\"}", 422},
        {"{\"username\":\"x1\",\"password\":\"" USER_PW "\",\"email\":\"<b>@x\"}", 422},
        {"{\"username\":\"x1\",\"username\":\"x2\",\"password\":\"" USER_PW "\"}", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        httpc_resp_t r;
        assert_int_equal(req("POST", "/api/v1/users", F.admin, cases[i].body, &r), 0);
        if (r.status != cases[i].status)
            fail_msg("case %zu: expected %d, got %d: %s", i, cases[i].status, r.status, r.body);
        assert_null(strstr(r.body, "<script>")); /* never echoed back */
        httpc_resp_free(&r);
    }
    /* A 60 KB password: refused by policy, not hashed, no crash. */
    size_t big = 60000;
    char *body = malloc(big + 100);
    int n = snprintf(body, big + 100, "{\"username\":\"x1\",\"password\":\"");
    memset(body + n, 'p', big);
    snprintf(body + n + big, 100, "\"}");
    assert_int_equal(status("POST", "/api/v1/users", F.admin, body), 422);
    free(body);
    assert_int_equal(status("PUT", "/api/v1/users/boss", F.root, "{\"disabled\":\"yes\"}"), 400);
    assert_int_equal(status("PUT", "/api/v1/users/boss", F.root, "{\"role\":\"x\"}"), 422);
    assert_int_equal(status("PUT", "/api/v1/users/boss", F.root, "{\"hash\":\"x\"}"), 400);
}

static void test_admin_cannot_manage_superusers(void **state)
{
    const char *su = "{\"username\":\"su2\",\"password\":\"" USER_PW "\",\"role\":\"superuser\"}";
    assert_int_equal(status("POST", "/api/v1/users", F.admin, su), 403);
    assert_int_equal(status("PUT", "/api/v1/users/admin", F.admin, "{\"disabled\":true}"), 403);
    assert_int_equal(status("DELETE", "/api/v1/users/admin", F.admin, NULL), 403);
    create_user("pete", "viewer");
    assert_int_equal(status("PUT", "/api/v1/users/pete", F.admin, "{\"role\":\"superuser\"}"),
                     403);
    assert_int_equal(status("PUT", "/api/v1/users/pete", F.admin, "{\"role\":\"developer\"}"), 200);
    /* A superuser may do all of it. */
    assert_int_equal(status("POST", "/api/v1/users", F.root, su), 201);
    assert_int_equal(status("DELETE", "/api/v1/users/su2", F.root, NULL), 204);
    /* The last enabled superuser stays. */
    httpc_resp_t r;
    assert_int_equal(req("DELETE", "/api/v1/users/admin", F.root, NULL, &r), 0);
    srvtest_assert_error(&r, 409, "conflict");
    httpc_resp_free(&r);
    assert_int_equal(status("PUT", "/api/v1/users/admin", F.root, "{\"role\":\"admin\"}"), 409);
    /* Lower roles cannot reach the users API at all. */
    char tok[1100];
    login_ok("pete", USER_PW, tok, sizeof(tok));
    assert_int_equal(status("GET", "/api/v1/users", tok, NULL), 403);
}

static void test_password_change_disable_delete_cut_sessions(void **state)
{
    create_user("dora", "developer");
    char tok[1100];
    login_ok("dora", USER_PW, tok, sizeof(tok));
    assert_int_equal(status("POST", "/api/v1/auth/refresh", tok, NULL), 200); /* revokes tok */
    login_ok("dora", USER_PW, tok, sizeof(tok));
    assert_int_equal(
        status("PUT", "/api/v1/users/dora", F.admin, "{\"password\":\"another long secret\"}"),
        200);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", tok, NULL), 401);
    login_ok("dora", "another long secret", tok, sizeof(tok));
    assert_int_equal(status("PUT", "/api/v1/users/dora", F.admin, "{\"disabled\":true}"), 200);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", tok, NULL), 401);
    assert_int_equal(login_status("dora", "another long secret", NULL, 0), 401);
    assert_int_equal(status("PUT", "/api/v1/users/dora", F.admin, "{\"disabled\":false}"), 200);
    assert_int_equal(status("POST", "/api/v1/auth/logout", tok, NULL), 204);
    login_ok("dora", "another long secret", tok, sizeof(tok));
    assert_int_equal(status("DELETE", "/api/v1/users/dora", F.admin, NULL), 204);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", tok, NULL), 401);
    assert_int_equal(status("DELETE", "/api/v1/users/dora", F.admin, NULL), 404);
}

static void test_change_own_password(void **state)
{
    create_user("pat", "viewer");
    char tok[1100], fresh[1100];
    login_ok("pat", USER_PW, tok, sizeof(tok));
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/auth/password", tok,
                         "{\"current_password\":\"not it\",\"new_password\":\"pats new secret\"}",
                         &r),
                     0);
    srvtest_assert_error(&r, 403, "forbidden");
    httpc_resp_free(&r);
    F.failures++; /* a wrong current password counts as a failed login */
    assert_int_equal(status("POST", "/api/v1/auth/password", tok,
                            "{\"current_password\":\"" USER_PW "\",\"new_password\":\"short\"}"),
                     422);
    assert_int_equal(status("POST", "/api/v1/auth/password", tok, "{\"new_password\":\"x\"}"),
                     400);
    assert_int_equal(req("POST", "/api/v1/auth/password", tok,
                         "{\"current_password\":\"" USER_PW
                         "\",\"new_password\":\"pats new secret\"}",
                         &r),
                     0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(fresh, sizeof(fresh), "%s", json_string_value(json_object_get(j, "token")));
    assert_string_equal(json_string_value(json_object_get(j, "role")), "viewer");
    json_decref(j);
    httpc_resp_free(&r);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", tok, NULL), 401); /* old session */
    assert_int_equal(status("POST", "/api/v1/auth/refresh", fresh, NULL), 200);
    assert_int_equal(login_status("pat", USER_PW, NULL, 0), 401);
    login_ok("pat", "pats new secret", tok, sizeof(tok));
}

/* ---- API keys ---- */

/* Create a key with scopes (JSON array text); its key and id into key/id. */
static void create_key(const char *scopes, char *key, char *id)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"agent\",\"scopes\":%s}", scopes);
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/apikeys", F.admin, body, &r), 0);
    assert_int_equal(r.status, 201);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(key, 128, "%s", json_string_value(json_object_get(j, "key")));
    snprintf(id, 32, "%s", json_string_value(json_object_get(j, "id")));
    assert_int_equal(strncmp(key, "omk_", 4), 0);
    assert_int_equal(strncmp(key, json_string_value(json_object_get(j, "prefix")), 16), 0);
    assert_non_null(json_string_value(json_object_get(j, "created_at")));
    assert_true(json_is_array(json_object_get(j, "scopes")));
    json_decref(j);
    httpc_resp_free(&r);
}

static int with_x_api_key(const char *method, const char *path, const char *key,
                          const char *body)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\nContent-Type: text/plain\r\n", key);
    httpc_resp_t r;
    if (!body && strcmp(method, "GET") != 0)
        body = "";
    assert_int_equal(httpc_request(S.port, method, path, hdr, body, body ? strlen(body) : 0, &r),
                     0);
    int s = r.status;
    httpc_resp_free(&r);
    return s;
}

static void test_api_keys_scopes_and_revocation(void **state)
{
    char ingest[128], ingest_id[32], read[128], read_id[32];
    create_key("[\"ingest\"]", ingest, ingest_id);
    create_key("[\"read\"]", read, read_id);
    const char *line = "keytest,host=a value=1";
    assert_int_equal(with_x_api_key("POST", "/api/v1/write", ingest, line), 204);
    assert_int_equal(status("POST", "/api/v1/write", ingest, line), 204); /* Bearer works too */
    assert_int_equal(with_x_api_key("GET", "/api/v1/query?query=up", ingest, NULL), 403);
    assert_int_equal(with_x_api_key("GET", "/api/v1/query?query=keytest", read, NULL), 200);
    assert_int_equal(with_x_api_key("POST", "/api/v1/write", read, line), 403);
    assert_int_equal(status("GET", "/api/v1/users", read, NULL), 403);
    assert_int_equal(status("GET", "/api/v1/apikeys", ingest, NULL), 403);
    assert_int_equal(status("POST", "/api/v1/auth/refresh", read, NULL), 400);

    /* The list shows prefixes and use times, never keys or hashes. */
    httpc_resp_t r;
    assert_int_equal(req("GET", "/api/v1/apikeys", F.admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, ingest + 17));
    assert_null(strstr(r.body, "\"key\""));
    assert_null(strstr(r.body, "\"hash\""));
    assert_non_null(strstr(r.body, ingest_id));
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *it;
    size_t i;
    int used = 0;
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "id")), ingest_id) == 0)
            used = json_is_string(json_object_get(it, "last_used_at"));
    }
    assert_true(used);
    json_decref(j);
    httpc_resp_free(&r);

    char path[96];
    snprintf(path, sizeof(path), "/api/v1/apikeys/%s", ingest_id);
    assert_int_equal(status("DELETE", path, F.admin, NULL), 204);
    assert_int_equal(with_x_api_key("POST", "/api/v1/write", ingest, line), 401);
    assert_int_equal(status("DELETE", path, F.admin, NULL), 404);
    /* Forged and malformed keys. */
    char forged[128];
    snprintf(forged, sizeof(forged), "%s", read);
    forged[strlen(forged) - 1] ^= 1;
    assert_int_equal(with_x_api_key("GET", "/api/v1/query?query=up", forged, NULL), 401);
    assert_int_equal(with_x_api_key("GET", "/api/v1/query?query=up", "omk_", NULL), 401);
    assert_int_equal(status("DELETE", "/api/v1/apikeys/..%2f..%2fx", F.admin, NULL), 404);
}

static void test_api_keys_bad_input(void **state)
{
    const char *bodies[] = {"{\"name\":\"a\"}", "{\"name\":\"a\",\"scopes\":[]}",
                            "{\"scopes\":[\"read\"]}", "{\"name\":\"a\",\"scopes\":\"read\"}",
                            "{\"name\":\"a\",\"scopes\":[\"read\"],\"x\":1}", "nope"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_int_equal(status("POST", "/api/v1/apikeys", F.admin, bodies[i]), 400);
    assert_int_equal(status("POST", "/api/v1/apikeys", F.admin,
                            "{\"name\":\"a\",\"scopes\":[\"admin\"]}"),
                     422);
    assert_int_equal(status("POST", "/api/v1/apikeys", F.admin,
                            "{\"name\":\"\",\"scopes\":[\"read\"]}"),
                     422);
}

/* ---- audit ---- */

static void test_audit_api(void **state)
{
    httpc_resp_t r;
    assert_int_equal(req("GET", "/api/v1/audit", F.root, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) > 10);
    int login_ok_seen = 0, create_seen = 0, key_seen = 0, logout_seen = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *action = json_string_value(json_object_get(it, "action"));
        const char *outcome = json_string_value(json_object_get(it, "outcome"));
        const char *actor = json_string_value(json_object_get(it, "actor"));
        assert_non_null(json_string_value(json_object_get(it, "address")));
        assert_non_null(json_string_value(json_object_get(it, "time")));
        assert_int_equal(strlen(json_string_value(json_object_get(it, "prev"))), 64);
        login_ok_seen |= !strcmp(action, "auth.login") && !strcmp(outcome, "success");
        create_seen |= !strcmp(action, "user.create") && !strcmp(actor, "boss");
        key_seen |= !strcmp(action, "apikey.delete");
        logout_seen |= !strcmp(action, "auth.logout");
    }
    assert_true(login_ok_seen && create_seen && key_seen && logout_seen);
    json_decref(j);
    httpc_resp_free(&r);

    assert_int_equal(req("GET", "/api/v1/audit?event=user.delete", F.root, NULL, &r), 0);
    j = json_loads(r.body, 0, NULL);
    items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 2);
    json_array_foreach(items, i, it)
    {
        assert_string_equal(json_string_value(json_object_get(it, "action")), "user.delete");
        assert_string_equal(json_string_value(json_object_get(it, "category")), "deletion");
    }
    json_decref(j);
    httpc_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/audit?since=2999-01-01T00:00:00Z", F.root, NULL, &r), 0);
    assert_string_equal(r.body, "{\"items\":[]}");
    httpc_resp_free(&r);
    assert_int_equal(status("GET", "/api/v1/audit?since=yesterday", F.root, NULL), 400);
    assert_int_equal(status("GET", "/api/v1/audit?limit=0", F.root, NULL), 400);
    assert_int_equal(status("GET", "/api/v1/audit?limit=2", F.root, NULL), 200);
    assert_int_equal(status("GET", "/api/v1/audit", F.admin, NULL), 403);
}

/* ---- the offline user command ---- */

/* Run omega-monitor with args, feeding stdin_text; returns the exit status and the
 * combined output in out (malloc'd). */
static int run_cli(const char *args, const char *stdin_text, char **out)
{
    char bin[600], cmd[2000], outf[700];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    snprintf(outf, sizeof(outf), "%s/cli.out", S.dir);
    snprintf(cmd, sizeof(cmd), "'%s' %s >'%s' 2>&1", bin, args, outf);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    if (stdin_text)
        fputs(stdin_text, p);
    int st = pclose(p);
    *out = testutil_read_file(outf, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_refuses_while_server_runs(void **state)
{
    char args[800], *out = NULL;
    snprintf(args, sizeof(args), "user add clara --data-dir '%s'", S.data);
    assert_int_equal(run_cli(args, USER_PW "\n", &out), 1);
    assert_non_null(strstr(out, "cannot open the data directory"));
    assert_non_null(strstr(out, "server running"));
    free(out);
}

static void test_cli_add_passwd_disable_offline(void **state)
{
    char dir[700], args[1000], *out = NULL;
    snprintf(dir, sizeof(dir), "%s/offline", S.dir);
    snprintf(args, sizeof(args), "user add clara --role analyst --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, USER_PW "\n", &out), 0);
    free(out);
    snprintf(args, sizeof(args), "user add clara --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, USER_PW "\n", &out), 1);
    assert_non_null(strstr(out, "already exists"));
    free(out);
    snprintf(args, sizeof(args), "user add bad --role king --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, USER_PW "\n", &out), 2);
    free(out);
    snprintf(args, sizeof(args), "user passwd clara --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, "short\n", &out), 1);
    assert_non_null(strstr(out, "shorter"));
    free(out);
    assert_int_equal(run_cli(args, "the new clara secret\n", &out), 0);
    free(out);
    /* A server on that directory knows clara, with her role and new password. */
    char log[800], tok[1100];
    snprintf(log, sizeof(log), "%s/offline.log", S.dir);
    int main_port = S.port;
    S.port = testutil_free_port();
    pid_t pid = server_start(S.port, dir, log, server_env);
    assert_true(pid > 0);
    int s = login_status("clara", "the new clara secret", tok, sizeof(tok));
    assert_int_equal(server_stop(pid), 0);
    S.port = main_port;
    assert_int_equal(s, 200);
    snprintf(args, sizeof(args), "user disable clara --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, NULL, &out), 0);
    free(out);
    snprintf(args, sizeof(args), "user disable nobody --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, NULL, &out), 1);
    assert_non_null(strstr(out, "nobody"));
    free(out);
    snprintf(args, sizeof(args), "user --data-dir '%s'", dir);
    assert_int_equal(run_cli(args, NULL, &out), 2);
    free(out);
}

/* ---- rate limits (last: they lock this address out) ---- */

static void test_login_rate_limit_per_user(void **state)
{
    create_user("victim", "viewer");
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_status("victim", "wrong password", NULL, 0), 401);
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/auth/login", NULL,
                         "{\"username\":\"victim\",\"password\":\"" USER_PW "\"}", &r),
                     0);
    srvtest_assert_error(&r, 429, "rate_limited");
    char h[32];
    assert_non_null(httpc_header(&r, "retry-after", h, sizeof(h)));
    long secs = strtol(h, NULL, 10);
    assert_true(secs >= 1 && secs <= 300);
    httpc_resp_free(&r);
}

#define BURST_THREADS 50
#define BURST_EACH    200

/* BURST_EACH failed logins; counts answers other than 429/503 into *arg. */
static void *burst(void *arg)
{
    const char *body = "{\"username\":\"admin\",\"password\":\"x\"}";
    for (int i = 0; i < BURST_EACH; i++) {
        httpc_resp_t r;
        int rc = httpc_request(S.port, "POST", "/api/v1/auth/login", NULL, body, strlen(body), &r);
        if (rc != 0 || (r.status != 429 && r.status != 503))
            (*(int *)arg)++;
        if (rc == 0)
            httpc_resp_free(&r);
    }
    return NULL;
}

static void test_login_rate_limit_per_address(void **state)
{
    /* Unknown names: no per-user limit applies, only this address's 20 a minute. */
    int first_429 = -1;
    for (int i = 0; i < 40 && first_429 < 0; i++) {
        char name[32];
        snprintf(name, sizeof(name), "ghost%d", i);
        int before = F.failures;
        int s = login_status(name, "nope", NULL, 0);
        if (s == 429)
            first_429 = before;
        else
            assert_int_equal(s, 401);
    }
    assert_int_equal(first_429, 20);
    httpc_resp_t r;
    assert_int_equal(req("POST", "/api/v1/auth/login", NULL,
                         "{\"username\":\"admin\",\"password\":\"" ADMIN_PW "\"}", &r),
                     0);
    assert_int_equal(r.status, 429);
    char h[32];
    assert_non_null(httpc_header(&r, "retry-after", h, sizeof(h)));
    long secs = strtol(h, NULL, 10);
    assert_true(secs >= 1 && secs <= 60);
    httpc_resp_free(&r);
    /* 10,000 failed logins from 50 parallel clients while locked out are answered at once,
     * without password checks:
     * 429, or 503 when the worker queue is full; never a crash. */
    pthread_t th[BURST_THREADS];
    int bad[BURST_THREADS];
    for (int i = 0; i < BURST_THREADS; i++) {
        bad[i] = 0;
        assert_int_equal(pthread_create(&th[i], NULL, burst, &bad[i]), 0);
    }
    int total_bad = 0;
    for (int i = 0; i < BURST_THREADS; i++) {
        pthread_join(th[i], NULL);
        total_bad += bad[i];
    }
    assert_int_equal(total_bad, 0);
    /* Existing sessions are unaffected. */
    assert_int_equal(status("GET", "/api/v1/users", F.root, NULL), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh_and_logout),
        cmocka_unit_test(test_users_create_get_list_shapes),
        cmocka_unit_test(test_users_bad_input),
        cmocka_unit_test(test_admin_cannot_manage_superusers),
        cmocka_unit_test(test_password_change_disable_delete_cut_sessions),
        cmocka_unit_test(test_change_own_password),
        cmocka_unit_test(test_api_keys_scopes_and_revocation),
        cmocka_unit_test(test_api_keys_bad_input),
        cmocka_unit_test(test_audit_api),
        cmocka_unit_test(test_cli_refuses_while_server_runs),
        cmocka_unit_test(test_cli_add_passwd_disable_offline),
        cmocka_unit_test(test_login_rate_limit_per_user),
        cmocka_unit_test(test_login_rate_limit_per_address),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
