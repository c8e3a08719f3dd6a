/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the auth module against a real store in a temp dir: roles, bootstrap, users,
 * login, and token verification, including hand-made hostile tokens ("alg":"none",
 * tampered payloads, foreign keys, bad claims, garbage). Forged tokens are signed with
 * the store's own key (read from KV "auth/jwt_key") so that claim checks are reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/auth.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "testutil.h"

#define PW_ALICE "correct horse battery"

/* One store and one auth handle per test. */
typedef struct fx {
    char *dir;          /* temp dir of the store (malloc'd) */
    omega_tsdb_t *db;   /* the real store */
    omega_auth_t *auth; /* handle under test */
} fx_t;

static void fx_open(fx_t *f, const omega_auth_options_t *o)
{
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = f->dir;
    so.sync_writes = 0;
    omega_error_t err;
    omega_error_clear(&err);
    f->db = omega_tsdb_open(&so, &err);
    assert_non_null(f->db);
    f->auth = omega_auth_create(f->db, o, &err);
    assert_non_null(f->auth);
}

static void fx_close(fx_t *f)
{
    omega_auth_destroy(f->auth);
    omega_tsdb_close(f->db);
    f->auth = NULL;
    f->db = NULL;
}

/* Replace the auth handle with one using options o, on the same store. */
static void fx_reauth(fx_t *f, const omega_auth_options_t *o)
{
    omega_auth_destroy(f->auth);
    f->auth = omega_auth_create(f->db, o, NULL);
    assert_non_null(f->auth);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("auth");
    fx_open(f, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    fx_close(f);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void add_user(fx_t *f, const char *name, const char *pw, omega_role_t role)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_user_add(f->auth, name, pw, role, &err);
    if (rc != 0)
        fail_msg("adding %s: %s", name, err.message);
}

static void login_ok(fx_t *f, const char *name, const char *pw, omega_token_t *tok)
{
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_login(f->auth, name, pw, tok, &err);
    if (rc != 0)
        fail_msg("login as %s: %s", name, err.message);
}

/* Verify must refuse token with OMEGA_EACCES and a message containing reason. */
static void assert_denied(fx_t *f, const char *token, const char *reason)
{
    omega_principal_t p;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_verify(f->auth, token, &p, &err), OMEGA_EACCES);
    assert_int_equal(err.code, OMEGA_EACCES);
    if (reason && !strstr(err.message, reason))
        fail_msg("expected reason '%s', got '%s'", reason, err.message);
    assert_string_equal(p.username, "");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- token crafting ---- */

static void b64url(const void *data, size_t n, char *out)
{
    static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = sym[(v >> 18) & 63];
        out[o++] = sym[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = sym[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = sym[v & 63];
    }
    out[o] = '\0';
}

/* The store's signing key, read the way auth stores it (64 hex chars). */
static void read_key(fx_t *f, unsigned char key[32])
{
    char *val = NULL;
    size_t vlen = 0;
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "auth/jwt_key", 12, &val, &vlen, NULL), 0);
    assert_int_equal(vlen, 64);
    for (int i = 0; i < 32; i++) {
        unsigned b = 0;
        assert_int_equal(sscanf(val + 2 * i, "%2x", &b), 1);
        key[i] = (unsigned char)b;
    }
    free(val);
}

/* header.payload.signature into out (>= 2048): HMAC-SHA256 with key when key != NULL,
 * else the given signature text (may be ""). */
static void craft(const char *header, const char *payload, const unsigned char *key,
                  const char *sig, char *out)
{
    char h[512], p[1024];
    b64url(header, strlen(header), h);
    b64url(payload, strlen(payload), p);
    int n = snprintf(out, 2048, "%s.%s", h, p);
    if (key) {
        unsigned char mac[32];
        unsigned int mac_len = 0;
        assert_non_null(
            HMAC(EVP_sha256(), key, 32, (const unsigned char *)out, (size_t)n, mac, &mac_len));
        char s[64];
        b64url(mac, mac_len, s);
        snprintf(out + n, 2048 - (size_t)n, ".%s", s);
    } else {
        snprintf(out + n, 2048 - (size_t)n, ".%s", sig ? sig : ""); /* NULL only with sign */
    }
}

static const char *hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* A payload with the given sub and times (seconds from now). */
static void payload(char *out, size_t len, const char *sub, const char *role, long iat_off,
                    long exp_off)
{
    long now = (long)(omega_now_ms() / 1000);
    snprintf(out, len,
             "{\"sub\":\"%s\",\"role\":\"%s\",\"iat\":%ld,\"exp\":%ld,"
             "\"jti\":\"00112233445566778899aabbccddeeff\"}",
             sub, role, now + iat_off, now + exp_off);
}

/* ---- roles and options ---- */

static void test_role_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"viewer", "developer", "analyst", "admin", "superuser"};
    for (int r = OMEGA_ROLE_VIEWER; r <= OMEGA_ROLE_SUPERUSER; r++) {
        omega_role_t back = (omega_role_t)-1;
        assert_string_equal(omega_role_name((omega_role_t)r), names[r]);
        assert_int_equal(omega_role_parse(names[r], &back), 0);
        assert_int_equal(back, r);
    }
    omega_role_t out = OMEGA_ROLE_VIEWER;
    assert_null(omega_role_name((omega_role_t)5));
    assert_null(omega_role_name((omega_role_t)-1));
    assert_int_equal(omega_role_parse("root", &out), OMEGA_EINVAL);
    assert_int_equal(omega_role_parse("Admin", &out), OMEGA_EINVAL);
    assert_int_equal(omega_role_parse("", &out), OMEGA_EINVAL);
    assert_int_equal(omega_role_parse(NULL, &out), OMEGA_EINVAL);
    assert_int_equal(out, OMEGA_ROLE_VIEWER);
}

static void test_options_defaults_and_limits(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    assert_int_equal(o.token_ttl_ms, 12LL * 3600 * 1000);
    assert_int_equal(o.clock_skew_ms, 60000);
    assert_int_equal(o.min_password_len, 8);

    omega_error_t err;
    o.token_ttl_ms = 0;
    assert_null(omega_auth_create(f->db, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    omega_auth_options_init(&o);
    o.clock_skew_ms = -1;
    assert_null(omega_auth_create(f->db, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    omega_auth_options_init(&o);
    o.min_password_len = 0;
    assert_null(omega_auth_create(f->db, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_null(omega_auth_create(NULL, NULL, &err));
    omega_auth_destroy(NULL);
}

/* ---- bootstrap ---- */

static void test_bootstrap_with_given_password_once(void **state)
{
    fx_t *f = *state;
    char gen[32] = "x";
    int created = -1;
    omega_error_t err;
    assert_int_equal(
        omega_auth_bootstrap(f->auth, "from-the-env", gen, sizeof(gen), &created, &err), 0);
    assert_int_equal(created, 1);
    assert_string_equal(gen, "");

    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "admin", &u, &err), 0);
    assert_int_equal(u.role, OMEGA_ROLE_SUPERUSER);
    assert_int_equal(u.disabled, 0);
    omega_token_t tok;
    login_ok(f, "admin", "from-the-env", &tok);
    assert_int_equal(tok.role, OMEGA_ROLE_SUPERUSER);

    created = -1;
    assert_int_equal(
        omega_auth_bootstrap(f->auth, "another-password", gen, sizeof(gen), &created, &err), 0);
    assert_int_equal(created, 0);
    size_t n = 0;
    assert_int_equal(omega_auth_user_count(f->auth, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(omega_auth_login(f->auth, "admin", "another-password", &tok, &err),
                     OMEGA_EACCES);
}

static void test_bootstrap_generates_password(void **state)
{
    fx_t *f = *state;
    char gen[32];
    int created = 0;
    omega_error_t err;
    assert_int_equal(omega_auth_bootstrap(f->auth, NULL, gen, sizeof(gen), &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(strlen(gen), 20);
    for (size_t i = 0; i < 20; i++) {
        assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", gen[i]));
        assert_null(strchr("0Oo1lI", gen[i]));
    }
    omega_token_t tok;
    login_ok(f, "admin", gen, &tok);

    /* The empty string also means "generate"; a second run creates nothing. */
    char gen2[40] = "x";
    assert_int_equal(omega_auth_bootstrap(f->auth, "", gen2, sizeof(gen2), &created, &err), 0);
    assert_int_equal(created, 0);
    assert_string_equal(gen2, "");
}

static void test_bootstrap_generated_passwords_differ(void **state)
{
    fx_t *f = *state;
    fx_t g = {.dir = testutil_mkdtemp("auth2")};
    fx_open(&g, NULL);
    char a[32], b[32];
    int created = 0;
    assert_int_equal(omega_auth_bootstrap(f->auth, NULL, a, sizeof(a), &created, NULL), 0);
    assert_int_equal(created, 1);
    assert_int_equal(omega_auth_bootstrap(g.auth, NULL, b, sizeof(b), &created, NULL), 0);
    assert_int_equal(created, 1);
    assert_string_not_equal(a, b);
    fx_close(&g);
    testutil_rmtree(g.dir);
    free(g.dir);
}

static void test_bootstrap_rejects_bad_input(void **state)
{
    fx_t *f = *state;
    char small[16];
    int created = -1;
    omega_error_t err;
    assert_int_equal(omega_auth_bootstrap(f->auth, "short", NULL, 0, &created, &err), OMEGA_EINVAL);
    assert_int_equal(created, 0);
    assert_int_equal(omega_auth_bootstrap(f->auth, NULL, NULL, 0, &created, &err), OMEGA_EINVAL);
    assert_int_equal(omega_auth_bootstrap(f->auth, NULL, small, sizeof(small), &created, &err),
                     OMEGA_EINVAL);
    size_t n = 99;
    assert_int_equal(omega_auth_user_count(f->auth, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_bootstrap_skipped_when_users_exist(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ADMIN);
    char gen[32] = "x";
    int created = -1;
    assert_int_equal(omega_auth_bootstrap(f->auth, NULL, gen, sizeof(gen), &created, NULL), 0);
    assert_int_equal(created, 0);
    assert_string_equal(gen, "");
    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "admin", &u, NULL), OMEGA_ENOENT);
}

struct boot_race {
    omega_auth_t *auth; /* shared handle */
    int created;        /* result of this thread */
    int rc;             /* status of this thread */
};

static void *boot_thread(void *arg)
{
    struct boot_race *r = arg;
    char gen[32];
    r->rc = omega_auth_bootstrap(r->auth, NULL, gen, sizeof(gen), &r->created, NULL);
    return NULL;
}

static void test_bootstrap_concurrent_creates_one_admin(void **state)
{
    fx_t *f = *state;
    struct boot_race r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct boot_race){.auth = f->auth};
        assert_int_equal(pthread_create(&t[i], NULL, boot_thread, &r[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
        total += r[i].created;
    }
    assert_int_equal(total, 1);
    size_t n = 0;
    assert_int_equal(omega_auth_user_count(f->auth, &n, NULL), 0);
    assert_int_equal(n, 1);
}

/* ---- users ---- */

static void test_user_add_get_count(void **state)
{
    fx_t *f = *state;
    int64_t before = omega_now_ms();
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ANALYST);
    add_user(f, "bob.smith@example-1_x", "bobs password", OMEGA_ROLE_VIEWER);
    omega_user_info_t u;
    omega_error_t err;
    assert_int_equal(omega_auth_user_get(f->auth, "alice", &u, &err), 0);
    assert_string_equal(u.username, "alice");
    assert_int_equal(u.role, OMEGA_ROLE_ANALYST);
    assert_int_equal(u.disabled, 0);
    assert_true(u.created_at_ms >= before && u.created_at_ms <= omega_now_ms());
    assert_int_equal(u.updated_at_ms, u.created_at_ms);
    size_t n = 0;
    assert_int_equal(omega_auth_user_count(f->auth, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(omega_auth_user_get(f->auth, "carol", &u, &err), OMEGA_ENOENT);
    assert_int_equal(omega_auth_user_get(f->auth, "bad name", &u, &err), OMEGA_ENOENT);
    assert_int_equal(omega_auth_user_get(f->auth, NULL, &u, &err), OMEGA_ENOENT);

    /* The stored record holds an Argon2id hash with OWASP's parameters, never the password. */
    char *val = NULL;
    size_t vlen = 0;
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "user/alice", 10, &val, &vlen, NULL), 0);
    assert_non_null(strstr(val, "$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_null(strstr(val, PW_ALICE));
    assert_non_null(strstr(val, "\"role\":\"analyst\""));
    free(val);
}

static void test_user_add_duplicate_is_eexist(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_error_t err;
    assert_int_equal(
        omega_auth_user_add(f->auth, "alice", "other password", OMEGA_ROLE_ADMIN, &err),
        OMEGA_EEXIST);
    assert_int_equal(err.code, OMEGA_EEXIST);
    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "alice", &u, NULL), 0);
    assert_int_equal(u.role, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
}

static void test_user_add_rejects_bad_usernames(void **state)
{
    fx_t *f = *state;
    char long65[66], long64[65];
    memset(long65, 'a', 65);
    long65[65] = '\0';
    memset(long64, 'b', 64);
    long64[64] = '\0';
    const char *bad[] = {"", "a b", "a/b", "../etc", "user\n", "\xc3\xbc", "a:b", "a*", long65};
    omega_error_t err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(omega_auth_user_add(f->auth, bad[i], PW_ALICE, OMEGA_ROLE_VIEWER, &err),
                         OMEGA_EINVAL);
        assert_string_equal(err.path, "username");
        assert_false(omega_auth_username_valid(bad[i]));
    }
    assert_int_equal(omega_auth_user_add(f->auth, NULL, PW_ALICE, OMEGA_ROLE_VIEWER, &err),
                     OMEGA_EINVAL);
    assert_true(omega_auth_username_valid(long64));
    add_user(f, long64, PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    login_ok(f, long64, PW_ALICE, &tok);
    assert_int_equal(omega_auth_user_add(f->auth, "carol", PW_ALICE, (omega_role_t)99, &err),
                     OMEGA_EINVAL);
    assert_string_equal(err.path, "role");
    size_t n = 0;
    assert_int_equal(omega_auth_user_count(f->auth, &n, NULL), 0);
    assert_int_equal(n, 1);
}

static void test_user_add_rejects_bad_passwords(void **state)
{
    fx_t *f = *state;
    char huge[OMEGA_AUTH_PASSWORD_MAX + 2];
    memset(huge, 'p', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    /* 7 code points in 14 bytes: short although strlen says 14. */
    const char *bad[] = {"", "1234567", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                         "abcdefg\xff", huge};
    omega_error_t err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(omega_auth_user_add(f->auth, "alice", bad[i], OMEGA_ROLE_VIEWER, &err),
                         OMEGA_EINVAL);
        assert_string_equal(err.path, "password");
    }
    assert_int_equal(omega_auth_user_add(f->auth, "alice", NULL, OMEGA_ROLE_VIEWER, &err),
                     OMEGA_EINVAL);
    add_user(f, "alice", "12345678", OMEGA_ROLE_VIEWER);
    add_user(f, "eve", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
             OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    login_ok(f, "eve", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", &tok);

    /* The minimum comes from the options. */
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.min_password_len = 12;
    fx_reauth(f, &o);
    assert_int_equal(omega_auth_user_add(f->auth, "bob", "eleven char", OMEGA_ROLE_VIEWER, &err),
                     OMEGA_EINVAL);
    add_user(f, "bob", "twelve chars", OMEGA_ROLE_VIEWER);
}

/* ---- login ---- */

static void test_login_issues_verifiable_token(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ANALYST);
    int64_t before = omega_now_ms();
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    assert_int_equal(tok.role, OMEGA_ROLE_ANALYST);
    assert_true(strlen(tok.token) > 0 && strlen(tok.token) < sizeof(tok.token));
    int64_t ttl = 12LL * 3600 * 1000;
    assert_true(tok.expires_at_ms <= omega_now_ms() + ttl);
    assert_true(tok.expires_at_ms > before + ttl - 2000);

    omega_principal_t p;
    omega_error_t err;
    assert_int_equal(omega_auth_verify(f->auth, tok.token, &p, &err), 0);
    assert_string_equal(p.username, "alice");
    assert_int_equal(p.role, OMEGA_ROLE_ANALYST);
    assert_int_equal(p.expires_at_ms, tok.expires_at_ms);
    assert_int_equal(strlen(p.jti), 32);
    assert_int_equal(strspn(p.jti, "0123456789abcdef"), 32);

    /* Each login gets its own token id. */
    omega_token_t tok2;
    omega_principal_t p2;
    login_ok(f, "alice", PW_ALICE, &tok2);
    assert_int_equal(omega_auth_verify(f->auth, tok2.token, &p2, &err), 0);
    assert_string_not_equal(p.jti, p2.jti);
}

static void test_login_wrong_password(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    omega_error_t err;
    const char *wrong[] = {"correct horse battery ", "Correct horse battery", "", "x"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_int_equal(omega_auth_login(f->auth, "alice", wrong[i], &tok, &err), OMEGA_EACCES);
        assert_string_equal(err.message, "invalid username or password");
    }
    assert_int_equal(omega_auth_login(f->auth, "alice", NULL, &tok, &err), OMEGA_EACCES);
}

static void test_login_unknown_user_same_answer(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    omega_error_t err;
    const char *names[] = {"bob", "Alice", "", "../alice", NULL};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(omega_auth_login(f->auth, names[i], PW_ALICE, &tok, &err), OMEGA_EACCES);
        assert_string_equal(err.message, "invalid username or password");
    }
}

/* An unknown user still pays for one Argon2id run (the dummy hash). Wide margin: the
 * point is that the hash runs at all, not a precise timing comparison. */
static void test_login_unknown_user_costs_a_hash(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    int64_t known = INT64_MAX, unknown = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = omega_mono_ns();
        assert_int_equal(omega_auth_login(f->auth, "alice", "wrong password", &tok, NULL),
                         OMEGA_EACCES);
        int64_t t1 = omega_mono_ns();
        assert_int_equal(omega_auth_login(f->auth, "nobody", "wrong password", &tok, NULL),
                         OMEGA_EACCES);
        int64_t t2 = omega_mono_ns();
        known = t1 - t0 < known ? t1 - t0 : known;
        unknown = t2 - t1 < unknown ? t2 - t1 : unknown;
    }
    assert_true(unknown * 4 > known);
    assert_true(known * 4 > unknown);
}

static void test_login_disabled_user(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ADMIN);
    omega_error_t err;
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 1, &err), 0);
    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "alice", &u, &err), 0);
    assert_int_equal(u.disabled, 1);
    assert_true(u.updated_at_ms >= u.created_at_ms);
    omega_token_t tok;
    assert_int_equal(omega_auth_login(f->auth, "alice", PW_ALICE, &tok, &err), OMEGA_EACCES);
    assert_string_equal(err.message, "invalid username or password");

    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 0, &err), 0);
    login_ok(f, "alice", PW_ALICE, &tok);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "nobody", 1, &err), OMEGA_ENOENT);
}

/* ---- verify ---- */

static void test_verify_refuses_token_of_disabled_user(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ADMIN);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 1, NULL), 0);
    assert_denied(f, tok.token, "user disabled");
}

static void test_verify_reports_current_role(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_DEVELOPER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    omega_error_t err;
    assert_int_equal(omega_auth_user_set_role(f->auth, "alice", OMEGA_ROLE_VIEWER, &err), 0);
    omega_principal_t p;
    assert_int_equal(omega_auth_verify(f->auth, tok.token, &p, &err), 0);
    assert_int_equal(p.role, OMEGA_ROLE_VIEWER);
    assert_int_equal(omega_auth_user_set_role(f->auth, "alice", (omega_role_t)7, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_user_set_role(f->auth, "bob", OMEGA_ROLE_ADMIN, &err),
                     OMEGA_ENOENT);
}

static void test_verify_rejects_token_of_other_instance(void **state)
{
    fx_t *f = *state;
    fx_t g = {.dir = testutil_mkdtemp("auth-other")};
    fx_open(&g, NULL);
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_ADMIN);
    add_user(&g, "alice", PW_ALICE, OMEGA_ROLE_ADMIN);
    omega_token_t mine, theirs;
    login_ok(f, "alice", PW_ALICE, &mine);
    login_ok(&g, "alice", PW_ALICE, &theirs);
    assert_denied(f, theirs.token, "bad signature");
    assert_denied(&g, mine.token, "bad signature");
    omega_principal_t p;
    assert_int_equal(omega_auth_verify(f->auth, mine.token, &p, NULL), 0);
    fx_close(&g);
    testutil_rmtree(g.dir);
    free(g.dir);
}

static void test_verify_rejects_alg_none_and_others(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    unsigned char key[32];
    read_key(f, key);
    char body[512], tok[2048];
    payload(body, sizeof(body), "alice", "superuser", 0, 3600);

    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", body, NULL, "", tok);
    assert_denied(f, tok, "unsupported algorithm");
    craft("{\"alg\":\"none\"}", body, NULL, "", tok);
    assert_denied(f, tok, "unsupported algorithm");
    tok[strlen(tok) - 1] = '\0'; /* "header.payload" without the last dot */
    assert_denied(f, tok, "malformed token");
    /* Other spellings and algorithms, even when signed with our key. */
    const char *headers[] = {"{\"alg\":\"None\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"hs256\"}",
                             "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"RS256\"}",
                             "{\"typ\":\"JWT\"}",
                             "{\"alg\":256}"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        craft(headers[i], body, key, NULL, tok);
        assert_denied(f, tok, "unsupported algorithm");
    }
    /* A correctly signed HS256 token with the same claims is fine: the refusals above
     * are about the algorithm. */
    craft(hs256, body, key, NULL, tok);
    omega_principal_t p;
    assert_int_equal(omega_auth_verify(f->auth, tok, &p, NULL), 0);
    assert_int_equal(p.role, OMEGA_ROLE_VIEWER);
}

static void test_verify_rejects_odd_headers(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    unsigned char key[32];
    read_key(f, key);
    char body[512], tok[2048];
    payload(body, sizeof(body), "alice", "viewer", 0, 3600);
    const char *headers[] = {"{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
                             "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
                             "{\"alg\":\"HS256\",\"alg\":\"none\"}",
                             "[\"HS256\"]",
                             "HS256",
                             "{\"alg\":\"HS256\""};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        craft(headers[i], body, key, NULL, tok);
        assert_denied(f, tok, NULL);
    }
}

static void test_verify_rejects_tampered_payload(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    add_user(f, "root", "root password", OMEGA_ROLE_SUPERUSER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);

    char *dot1 = strchr(tok.token, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    char forged[2048], body[512], b64[1024];
    const char *subs[] = {"alice", "root"};
    for (int i = 0; i < 2; i++) {
        payload(body, sizeof(body), subs[i], "superuser", 0, 3600);
        b64url(body, strlen(body), b64);
        snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - tok.token), tok.token, b64,
                 dot2);
        assert_denied(f, forged, "bad signature");
    }
    /* Flip one signature character, then drop it. */
    snprintf(forged, sizeof(forged), "%s", tok.token);
    size_t n = strlen(forged);
    forged[n - 2] = forged[n - 2] == 'A' ? 'B' : 'A';
    assert_denied(f, forged, "bad signature");
    snprintf(forged, sizeof(forged), "%s", tok.token);
    forged[n - 1] = '\0';
    assert_denied(f, forged, "bad signature");
    /* The original still verifies, with alice's own role. */
    omega_principal_t p;
    assert_int_equal(omega_auth_verify(f->auth, tok.token, &p, NULL), 0);
    assert_int_equal(p.role, OMEGA_ROLE_VIEWER);
}

static void test_verify_rejects_expired_token(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.token_ttl_ms = 1;
    o.clock_skew_ms = 0;
    fx_reauth(f, &o);
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    assert_true(tok.expires_at_ms <= omega_now_ms() + 1);
    sleep_ms(1100);
    assert_denied(f, tok.token, "token expired");
}

/* Tokens signed with the right key whose claims are wrong. */
static void test_verify_checks_claims(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    unsigned char key[32];
    read_key(f, key);
    char body[512], tok[2048];
    long now = (long)(omega_now_ms() / 1000);
    omega_principal_t p;

    /* Default skew is 60 s: inside it passes, beyond it fails. */
    payload(body, sizeof(body), "alice", "viewer", -3600, -30);
    craft(hs256, body, key, NULL, tok);
    assert_int_equal(omega_auth_verify(f->auth, tok, &p, NULL), 0);
    payload(body, sizeof(body), "alice", "viewer", -3600, -120);
    craft(hs256, body, key, NULL, tok);
    assert_denied(f, tok, "token expired");
    payload(body, sizeof(body), "alice", "viewer", 30, 3600);
    craft(hs256, body, key, NULL, tok);
    assert_int_equal(omega_auth_verify(f->auth, tok, &p, NULL), 0);
    payload(body, sizeof(body), "alice", "viewer", 300, 3600);
    craft(hs256, body, key, NULL, tok);
    assert_denied(f, tok, "issued in the future");

    snprintf(body, sizeof(body),
             "{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,\"nbf\":%ld,"
             "\"jti\":\"00112233445566778899aabbccddeeff\"}",
             now, now + 3600, now + 600);
    craft(hs256, body, key, NULL, tok);
    assert_denied(f, tok, "not yet valid");

    payload(body, sizeof(body), "ghost", "viewer", 0, 3600);
    craft(hs256, body, key, NULL, tok);
    assert_denied(f, tok, "unknown user");

    const char *jti = "\"jti\":\"00112233445566778899aabbccddeeff\"";
    const struct {
        const char *fmt; /* printf format taking iat, exp, jti */
        const char *why; /* expected reason */
    } cases[] = {
        {"{\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"xp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"at\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":\"%ld\",%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld.5,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld9999999,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld99999999999,%s}", NULL},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":-%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"../alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":7,\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"god\",\"iat\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"iat\":%ld,\"exp\":%ld,%s}", "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"x\"}",
         "bad claims"},
        {"{\"sub\":\"alice\",\"role\":\"viewer\",\"iat\":%ld,\"exp\":%ld,\"x\":%s}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), cases[i].fmt, now, now + 3600, jti);
        craft(hs256, body, key, NULL, tok);
        assert_denied(f, tok, cases[i].why);
    }
    /* Payload that is not a JSON object at all. */
    craft(hs256, "[1,2,3]", key, NULL, tok);
    assert_denied(f, tok, NULL);
    craft(hs256, "not json", key, NULL, tok);
    assert_denied(f, tok, NULL);
}

static void test_verify_rejects_garbage(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    char padded[1100], spaced[1100];
    snprintf(padded, sizeof(padded), "%s=", tok.token);
    snprintf(spaced, sizeof(spaced), " %s", tok.token);
    const char *garbage[] = {"",
                             "abc",
                             ".",
                             "..",
                             "...",
                             "a.b",
                             "a.b.c",
                             "a..c",
                             ".b.c",
                             "a.b.c.d",
                             "\xff\xfe.x.y",
                             "Bearer x.y.z",
                             "eyJhbGciOiJIUzI1NiJ9.e30.",
                             "e30.e30.e30",
                             padded,
                             spaced,
                             "%%%.%%%.%%%"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
        assert_denied(f, garbage[i], NULL);
    assert_denied(f, NULL, "missing token");

    /* 10 KB: one long run, and a long run shaped like a JWT. */
    size_t big = 10 * 1024;
    char *s = malloc(big + 1);
    memset(s, 'A', big);
    s[big] = '\0';
    assert_denied(f, s, "token too long");
    s[3000] = '.';
    s[6000] = '.';
    assert_denied(f, s, "token too long");
    /* Just over the limit of omega_token_t.token, built from a real token. */
    snprintf(s, big, "%s", tok.token);
    size_t n = strlen(s);
    memset(s + n, 'A', 1024 - n);
    s[1024] = '\0';
    assert_denied(f, s, "token too long");
    free(s);

    /* Random bytes shaped into three segments. */
    srand(1234);
    char r[300];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(rand() % 299);
        for (size_t i = 0; i < len; i++)
            r[i] = (char)(rand() % 255 + 1);
        r[len] = '\0';
        if (len > 20) {
            r[len / 3] = '.';
            r[2 * len / 3] = '.';
        }
        assert_denied(f, r, NULL);
    }
    omega_principal_t p;
    assert_int_equal(omega_auth_verify(f->auth, tok.token, &p, NULL), 0);
}

static void test_tokens_survive_reopen(void **state)
{
    fx_t *f = *state;
    add_user(f, "alice", PW_ALICE, OMEGA_ROLE_DEVELOPER);
    omega_token_t tok;
    login_ok(f, "alice", PW_ALICE, &tok);
    unsigned char key1[32], key2[32];
    read_key(f, key1);
    fx_close(f);
    fx_open(f, NULL);
    read_key(f, key2);
    assert_memory_equal(key1, key2, 32);
    omega_principal_t p;
    omega_error_t err;
    assert_int_equal(omega_auth_verify(f->auth, tok.token, &p, &err), 0);
    assert_string_equal(p.username, "alice");
    assert_int_equal(p.role, OMEGA_ROLE_DEVELOPER);
    login_ok(f, "alice", PW_ALICE, &tok);
}

static void test_corrupt_key_refuses_create(void **state)
{
    fx_t *f = *state;
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "auth/jwt_key", 12, "short", 5, NULL), 0);
    omega_error_t err;
    omega_auth_t *a = omega_auth_create(f->db, NULL, &err);
    assert_null(a);
    assert_int_equal(err.code, OMEGA_ECORRUPT);
}

static void test_corrupt_user_record(void **state)
{
    fx_t *f = *state;
    const char *rec[] = {"{not json", "{\"username\":\"mallory\"}",
                         "{\"username\":\"other\",\"role\":\"viewer\",\"hash\":\"x\","
                         "\"disabled\":false,\"created_at\":1,\"updated_at\":1}"};
    for (size_t i = 0; i < sizeof(rec) / sizeof(rec[0]); i++) {
        assert_int_equal(
            omega_kv_put(f->db, OMEGA_KV_META, "user/mallory", 12, rec[i], strlen(rec[i]), NULL),
            0);
        omega_user_info_t u;
        omega_token_t tok;
        assert_int_equal(omega_auth_user_get(f->auth, "mallory", &u, NULL), OMEGA_ECORRUPT);
        assert_int_equal(omega_auth_login(f->auth, "mallory", "whatever1", &tok, NULL),
                         OMEGA_ECORRUPT);
    }
    /* A readable record whose hash is not ours cannot be logged into. */
    const char *bad_hash = "{\"username\":\"mallory\",\"role\":\"superuser\",\"hash\":\"plain\","
                           "\"disabled\":false,\"created_at\":1,\"updated_at\":1}";
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_META, "user/mallory", 12, bad_hash, strlen(bad_hash), NULL),
        0);
    omega_token_t tok;
    assert_int_equal(omega_auth_login(f->auth, "mallory", "plain", &tok, NULL), OMEGA_ECORRUPT);
}

struct worker {
    omega_auth_t *auth; /* shared handle */
    int id;             /* thread number */
    int failures;       /* checks that failed */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[32];
    snprintf(name, sizeof(name), "user%d", w->id);
    omega_token_t tok;
    omega_principal_t p;
    if (omega_auth_user_add(w->auth, name, PW_ALICE, OMEGA_ROLE_DEVELOPER, NULL) != 0)
        w->failures++;
    for (int i = 0; i < 2; i++) {
        if (omega_auth_login(w->auth, name, PW_ALICE, &tok, NULL) != 0 ||
            omega_auth_verify(w->auth, tok.token, &p, NULL) != 0 || strcmp(p.username, name) != 0)
            w->failures++;
        if (omega_auth_user_set_role(w->auth, name, (omega_role_t)(i % 5), NULL) != 0)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_use_of_one_handle(void **state)
{
    fx_t *f = *state;
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.auth = f->auth, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    size_t n = 0;
    assert_int_equal(omega_auth_user_count(f->auth, &n, NULL), 0);
    assert_int_equal(n, 4);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    omega_log_set_level(OMEGA_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names_round_trip),
        T(test_options_defaults_and_limits),
        T(test_bootstrap_with_given_password_once),
        T(test_bootstrap_generates_password),
        T(test_bootstrap_generated_passwords_differ),
        T(test_bootstrap_rejects_bad_input),
        T(test_bootstrap_skipped_when_users_exist),
        T(test_bootstrap_concurrent_creates_one_admin),
        T(test_user_add_get_count),
        T(test_user_add_duplicate_is_eexist),
        T(test_user_add_rejects_bad_usernames),
        T(test_user_add_rejects_bad_passwords),
        T(test_login_issues_verifiable_token),
        T(test_login_wrong_password),
        T(test_login_unknown_user_same_answer),
        T(test_login_unknown_user_costs_a_hash),
        T(test_login_disabled_user),
        T(test_verify_refuses_token_of_disabled_user),
        T(test_verify_reports_current_role),
        T(test_verify_rejects_token_of_other_instance),
        T(test_verify_rejects_alg_none_and_others),
        T(test_verify_rejects_odd_headers),
        T(test_verify_rejects_tampered_payload),
        T(test_verify_rejects_expired_token),
        T(test_verify_checks_claims),
        T(test_verify_rejects_garbage),
        T(test_tokens_survive_reopen),
        T(test_corrupt_key_refuses_create),
        T(test_corrupt_user_record),
        T(test_concurrent_use_of_one_handle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
