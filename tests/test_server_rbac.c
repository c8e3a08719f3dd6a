/* SPDX-License-Identifier: Apache-2.0 */
/* The RBAC matrix over HTTP: logs in a user of every role (created through the users API),
 * fetches every route with its permission from GET /api/v1/admin/routes, and for every
 * route asserts the status for each role, two API keys (read, ingest), no credentials and
 * hostile tokens (expired, signed with another key, alg none, tampered payload, revoked):
 * exactly 403 when the role lacks the permission, exactly 401 without valid credentials,
 * and otherwise that the handler ran (neither 401, 403 nor 5xx: what it answers to an
 * empty request is its own business). The expected matrix is API.md's table, written out
 * here independently of auth/. WebSocket message types are checked the same way. */
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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PW "correct-horse-battery-staple"
#define USER_PW  "a fine long password"
#define N_ROLES  5

static const char *const roles[N_ROLES] = {"viewer", "developer", "analyst", "admin",
                                           "superuser"};

/* API.md's table: which roles hold each permission (viewer..superuser). */
static const struct {
    const char *perm;
    int allowed[N_ROLES];
} table[] = {
    {"public", {1, 1, 1, 1, 1}},    {"authenticated", {1, 1, 1, 1, 1}},
    {"read", {1, 1, 1, 1, 1}},      {"ingest", {0, 1, 0, 1, 1}},
    {"ack", {0, 1, 0, 1, 1}},       {"export", {0, 0, 1, 1, 1}},
    {"dashboard_save", {0, 1, 1, 1, 1}}, {"admin", {0, 0, 0, 1, 1}},
    {"superuser", {0, 0, 0, 0, 1}},
};

static srvtest_t S;

typedef struct fixture {
    unsigned char key[32];         /* the server's JWT key, read before it started */
    char tok[N_ROLES][1100];       /* a session per role */
    char key_read[128], key_ingest[128];
    char expired[2048], foreign[2048], alg_none[2048], tampered[2048], revoked[1100];
} fixture_t;

static fixture_t F;

static char *const server_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, NULL};

/* ---- token crafting ---- */

static void b64url(const void *data, size_t n, char *out)
{
    static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = sym[(v >> 18) & 63];
        out[o++] = sym[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = sym[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = sym[v & 63];
    }
    out[o] = '\0';
}

/* header.payload.HMAC(key) (or .sig when key is NULL) into out (2048). */
static void craft(const char *header, const char *payload, const unsigned char *key,
                  const char *sig, char *out)
{
    char h[512], p[1024];
    b64url(header, strlen(header), h);
    b64url(payload, strlen(payload), p);
    int n = snprintf(out, 2048, "%s.%s", h, p);
    if (!key) {
        snprintf(out + n, 2048 - (size_t)n, ".%s", sig);
        return;
    }
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)out, (size_t)n, mac, &len);
    char s[64];
    b64url(mac, len, s);
    snprintf(out + n, 2048 - (size_t)n, ".%s", s);
}

static void claims(char *out, size_t len, const char *sub, const char *role, long iat_off,
                   long exp_off)
{
    long now = (long)(omega_now_ms() / 1000);
    snprintf(out, len,
             "{\"sub\":\"%s\",\"role\":\"%s\",\"iat\":%ld,\"exp\":%ld,"
             "\"jti\":\"00112233445566778899aabbccddeeff\"}",
             sub, role, now + iat_off, now + exp_off);
}

/* Create the store and its JWT key before the server does, to sign hostile tokens. */
static int read_server_key(void)
{
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = S.data;
    omega_tsdb_t *db = omega_tsdb_open(&so, NULL);
    if (!db)
        return -1;
    omega_auth_t *a = omega_auth_create(db, NULL, NULL);
    char *val = NULL;
    size_t vlen = 0;
    int rc = a ? omega_kv_get(db, OMEGA_KV_META, "auth/jwt_key", 12, &val, &vlen, NULL) : -1;
    for (int i = 0; rc == 0 && i < 32; i++) {
        unsigned b = 0;
        if (sscanf(val + 2 * i, "%2x", &b) != 1)
            rc = -1;
        F.key[i] = (unsigned char)b;
    }
    free(val);
    omega_auth_destroy(a);
    omega_tsdb_close(db);
    return rc;
}

/* ---- HTTP helpers ---- */

static int request(const char *method, const char *path, const char *extra, const char *body,
                   httpc_resp_t *r)
{
    /* Empty bodies as browsers send them ("Content-Length: 0"); PUT gets "{}" because
     * the HTTP layer does not yet answer a zero-length PUT (lws 4.1 gives no body
     * completion for it). */
    if (!body && strcmp(method, "GET") != 0)
        body = strcmp(method, "PUT") == 0 ? "{}" : "";
    return httpc_request(S.port, method, path, extra, body, body ? strlen(body) : 0, r);
}

static int status_as(const char *method, const char *path, const char *cred, int api_key_header)
{
    char hdr[2200] = "";
    if (cred && api_key_header)
        snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\n", cred);
    else if (cred)
        srvtest_bearer(cred, hdr, sizeof(hdr));
    httpc_resp_t r;
    if (request(method, path, hdr, NULL, &r) != 0)
        return -1;
    int s = r.status;
    httpc_resp_free(&r);
    return s;
}

/* Log in; tok (1100 bytes) gets the token, or "" when the login fails. Returns 0 or -1. */
static int login(const char *user, const char *pw, char *tok)
{
    return srvtest_login(&S, user, pw, tok, 1100) == 200 ? 0 : -1;
}

static int post_json(const char *path, const char *body, json_t **out)
{
    char hdr[1300];
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             F.tok[4]);
    httpc_resp_t r;
    if (request("POST", path, hdr, body, &r) != 0)
        return -1;
    int s = r.status;
    if (out)
        *out = json_loads(r.body ? r.body : "", 0, NULL);
    httpc_resp_free(&r);
    return s;
}

static int make_key(const char *scope, char *out)
{
    char body[128];
    json_t *j = NULL;
    snprintf(body, sizeof(body), "{\"name\":\"rbac %s\",\"scopes\":[\"%s\"]}", scope, scope);
    int s = post_json("/api/v1/apikeys", body, &j);
    const char *key = json_string_value(json_object_get(j, "key"));
    snprintf(out, 128, "%s", key ? key : "");
    json_decref(j);
    return s == 201 ? 0 : -1;
}

static int group_setup(void **state)
{
    if (srvtest_init(&S, "server_rbac") != 0 || read_server_key() != 0)
        return -1;
    if (srvtest_launch(&S, server_env) != 0 || login("admin", ADMIN_PW, F.tok[4]) != 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        char body[256], name[32];
        snprintf(name, sizeof(name), "r_%s", roles[i]);
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"}",
                 name, USER_PW, roles[i]);
        if (post_json("/api/v1/users", body, NULL) != 201 || login(name, USER_PW, F.tok[i]) != 0)
            return -1;
    }
    if (make_key("read", F.key_read) || make_key("ingest", F.key_ingest))
        return -1;
    /* Hostile tokens. */
    static const char *hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char body[512];
    unsigned char other[32];
    claims(body, sizeof(body), "admin", "superuser", -7200, -3600);
    craft(hs256, body, F.key, NULL, F.expired);
    memset(other, 0x5a, sizeof(other));
    claims(body, sizeof(body), "admin", "superuser", 0, 3600);
    craft(hs256, body, other, NULL, F.foreign);
    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", body, NULL, "", F.alg_none);
    char *dot1 = strchr(F.tok[0], '.'), *dot2 = strchr(dot1 + 1, '.');
    char b64[1024];
    b64url(body, strlen(body), b64);
    snprintf(F.tampered, sizeof(F.tampered), "%.*s.%s%s", (int)(dot1 - F.tok[0]), F.tok[0], b64,
             dot2);
    if (login("admin", ADMIN_PW, F.revoked) != 0 ||
        status_as("POST", "/api/v1/auth/logout", F.revoked, 0) != 204)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

static const int *allowed_for(const char *perm)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].perm, perm) == 0)
            return table[i].allowed;
    fail_msg("route permission '%s' is not in API.md's table", perm);
    return NULL;
}

/* The route path with each "*" segment replaced by a probe name. */
static void concrete(const char *pattern, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 12 < len; p++) {
        if (*p == '*') {
            memcpy(out + o, "rbac-probe", 10);
            o += 10;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* Requests that end the session used for them get a fresh one. */
static int ends_session(const char *path)
{
    return strcmp(path, "/api/v1/auth/logout") == 0 || strcmp(path, "/api/v1/auth/refresh") == 0;
}

static void expect_ran(int s, const char *who, const char *method, const char *path)
{
    if (s == 401 || s == 403 || s >= 500 || s <= 0)
        fail_msg("%s: %s %s answered %d, expected the handler to run", who, method, path, s);
}

static void expect_exact(int s, int want, const char *who, const char *method, const char *path)
{
    if (s != want)
        fail_msg("%s: %s %s answered %d, expected %d", who, method, path, s, want);
}

static void check_route(const char *method, const char *pattern, const char *perm)
{
    char path[512];
    concrete(pattern, path, sizeof(path));
    const int *allowed = allowed_for(perm);
    int pub = strcmp(perm, "public") == 0;
    for (int r = 0; r < N_ROLES; r++) {
        char fresh[1100], name[32];
        const char *tok = F.tok[r];
        if (ends_session(path)) {
            snprintf(name, sizeof(name), r == 4 ? "admin" : "r_%s", roles[r]);
            assert_int_equal(login(name, r == 4 ? ADMIN_PW : USER_PW, fresh), 0);
            tok = fresh;
        }
        int s = status_as(method, path, tok, 0);
        if (allowed[r])
            expect_ran(s, roles[r], method, path);
        else
            expect_exact(s, 403, roles[r], method, path);
    }
    const char *bad[] = {NULL, F.expired, F.foreign, F.alg_none, F.tampered, F.revoked,
                         "garbage", "omk_0123456789ab_00"};
    const char *bad_names[] = {"no token", "expired",  "foreign key", "alg none",
                               "tampered", "revoked", "garbage", "malformed key"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int s = status_as(method, path, bad[i], 0);
        if (pub)
            expect_ran(s, bad_names[i], method, path);
        else
            expect_exact(s, 401, bad_names[i], method, path);
    }
    /* API keys: read scope -> read, ingest scope -> ingest, both may call authenticated
     * routes (which then refuse them for what they are); nothing else. */
    const struct {
        const char *key, *name, *scope;
    } keys[] = {{F.key_read, "read key", "read"}, {F.key_ingest, "ingest key", "ingest"}};
    for (int k = 0; k < 2; k++) {
        int ok = pub || strcmp(perm, "authenticated") == 0 || strcmp(perm, keys[k].scope) == 0;
        int s = status_as(method, path, keys[k].key, k); /* Bearer for one, X-API-Key for other */
        if (ok)
            expect_ran(s, keys[k].name, method, path);
        else
            expect_exact(s, 403, keys[k].name, method, path);
    }
}

static void test_every_route_every_role(void **state)
{
    httpc_resp_t r;
    char hdr[1200];
    srvtest_bearer(F.tok[4], hdr, sizeof(hdr));
    assert_int_equal(request("GET", "/api/v1/admin/routes", hdr, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    httpc_resp_free(&r);
    json_t *items = json_object_get(j, "items");
    assert_true(json_array_size(items) >= 15);
    size_t i, checked = 0;
    json_t *it;
    int saw_users = 0, saw_login = 0, saw_ws = 0;
    json_array_foreach(items, i, it)
    {
        const char *method = json_string_value(json_object_get(it, "method"));
        const char *path = json_string_value(json_object_get(it, "path"));
        const char *perm = json_string_value(json_object_get(it, "permission"));
        assert_non_null(method);
        assert_non_null(path);
        assert_non_null(perm);
        saw_users |= strcmp(path, "/api/v1/users/*") == 0 && strcmp(perm, "admin") == 0;
        saw_login |= strcmp(path, "/api/v1/auth/login") == 0 && strcmp(perm, "public") == 0;
        if (strcmp(method, "WS") == 0) {
            saw_ws |= strcmp(path, "/api/v1/live#subscribe") == 0 && strcmp(perm, "read") == 0;
            continue; /* checked over a WebSocket below */
        }
        check_route(method, path, perm);
        checked++;
    }
    json_decref(j);
    assert_true(saw_users && saw_login && saw_ws);
    assert_true(checked >= 15);
}

static void test_routes_listing_is_admin_only(void **state)
{
    assert_int_equal(status_as("GET", "/api/v1/admin/routes", F.tok[2], 0), 403);
    assert_int_equal(status_as("GET", "/api/v1/admin/routes", F.tok[3], 0), 200);
    assert_int_equal(status_as("GET", "/api/v1/admin/routes", NULL, 0), 401);
}

/* The first frame after subscribing: "samples" when allowed, an error when not. */
static char *subscribe_first_frame(const char *cred)
{
    wsc_t c;
    char path[400];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", cred);
    assert_int_equal(wsc_connect(&c, S.port, path, "omega-live.v1"), 101);
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"subscribe\",\"id\":\"s\",\"query\":\"vector(1)\","
                                       "\"interval_ms\":100}"),
                     0);
    char *payload = NULL;
    int code = 0;
    int op = wsc_recv(&c, 10000, &payload, NULL, &code);
    wsc_close(&c);
    if (op != 1)
        fail_msg("no frame (opcode %d, close %d)", op, code);
    return payload;
}

static void test_live_messages_use_the_same_check(void **state)
{
    for (int r = 0; r < N_ROLES; r++) {
        char *f = subscribe_first_frame(F.tok[r]);
        if (strstr(f, "forbidden"))
            fail_msg("%s may read but was refused: %s", roles[r], f);
        free(f);
    }
    char *f = subscribe_first_frame(F.key_read);
    assert_null(strstr(f, "forbidden"));
    free(f);
    f = subscribe_first_frame(F.key_ingest);
    assert_non_null(strstr(f, "forbidden"));
    free(f);
    /* A revoked token never gets a socket. */
    wsc_t c;
    char path[1400], *payload = NULL;
    int code = 0;
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", F.revoked);
    assert_int_equal(wsc_connect(&c, S.port, path, "omega-live.v1"), 101);
    assert_int_equal(wsc_recv(&c, 5000, &payload, NULL, &code), 8);
    assert_int_equal(code, 4401);
    free(payload);
    wsc_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_listing_is_admin_only),
        cmocka_unit_test(test_every_route_every_role),
        cmocka_unit_test(test_live_messages_use_the_same_check),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
