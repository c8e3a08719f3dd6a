/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of auth/'s session and account management against a real store in a temp dir:
 * refresh and logout (revocation surviving a restart), password changes and deletions
 * cutting off old tokens, login rate limits (including parallel attempts), and user
 * listing, updating and deleting with the last-superuser rule and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/auth.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "authtest.h"
#include "testutil.h"

#define PW "correct horse battery"

typedef authtest_t fx_t;


static int setup(void **state)
{
    return authtest_setup(state, "auth_session");
}

static int teardown(void **state)
{
    return authtest_teardown(state);
}

static void add(fx_t *f, const char *name, omega_role_t role)
{
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_user_add(f->auth, name, PW, role, &err) != 0)
        fail_msg("add %s: %s", name, err.message);
}

static void login(fx_t *f, const char *name, const char *pw, omega_token_t *tok)
{
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_login(f->auth, name, pw, tok, &err) != 0)
        fail_msg("login %s: %s", name, err.message);
}

static omega_principal_t verify_ok(fx_t *f, const char *token)
{
    omega_principal_t p;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_verify(f->auth, token, &p, &err) != 0)
        fail_msg("verify: %s", err.message);
    return p;
}

static void verify_denied(fx_t *f, const char *token, const char *reason)
{
    omega_principal_t p;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_verify(f->auth, token, &p, &err), OMEGA_EACCES);
    if (reason && !strstr(err.message, reason))
        fail_msg("expected '%s', got '%s'", reason, err.message);
}

/* ---- refresh and logout ---- */

static void test_refresh_issues_new_token_and_revokes_old(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_DEVELOPER);
    omega_token_t tok, fresh;
    login(f, "alice", PW, &tok);
    omega_principal_t p = verify_ok(f, tok.token);
    omega_error_t err;
    assert_int_equal(omega_auth_refresh(f->auth, &p, &fresh, &err), 0);
    assert_string_not_equal(fresh.token, tok.token);
    assert_int_equal(fresh.role, OMEGA_ROLE_DEVELOPER);
    omega_principal_t q = verify_ok(f, fresh.token);
    assert_string_not_equal(q.jti, p.jti);
    verify_denied(f, tok.token, "revoked");
    /* Refreshing with the revoked session is impossible: it no longer verifies. A refresh
     * for a user who was disabled in between is refused. */
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 1, NULL), 0);
    assert_int_equal(omega_auth_refresh(f->auth, &q, &fresh, &err), OMEGA_EACCES);
}

static void test_refresh_refuses_api_key_principal(void **state)
{
    fx_t *f = *state;
    omega_principal_t p = {.is_api_key = 1, .scopes = OMEGA_SCOPE_READ};
    omega_token_t t;
    assert_int_equal(omega_auth_refresh(f->auth, &p, &t, NULL), OMEGA_EINVAL);
}

static void test_logout_revocation_survives_restart(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t a1, a2;
    login(f, "alice", PW, &a1);
    login(f, "alice", PW, &a2);
    omega_principal_t p = verify_ok(f, a1.token);
    assert_int_equal(omega_auth_revoke(f->auth, p.jti, p.expires_at_ms, NULL), 0);
    assert_int_equal(omega_auth_revoke(f->auth, p.jti, p.expires_at_ms, NULL), 0); /* twice ok */
    verify_denied(f, a1.token, "token revoked");
    verify_ok(f, a2.token); /* only that session ends */
    authtest_open_auth(f, NULL);
    verify_denied(f, a1.token, "token revoked");
    verify_ok(f, a2.token);
}

static void test_revoke_rejects_bad_ids(void **state)
{
    fx_t *f = *state;
    const char *bad[] = {NULL, "", "abc", "00112233445566778899AABBCCDDEEFF",
                         "00112233445566778899aabbccddeef", "00112233445566778899aabbccddeeff0",
                         "../../../../etc/passwd0000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        omega_error_t err;
        assert_int_equal(omega_auth_revoke(f->auth, bad[i], omega_now_ms() + 1000, &err),
                         OMEGA_EINVAL);
    }
}

static void test_expired_revocations_are_dropped_at_load(void **state)
{
    fx_t *f = *state;
    /* A revocation whose token expired long ago (beyond the skew) is deleted at open. */
    const char *jti = "0123456789abcdef0123456789abcdef";
    assert_int_equal(omega_auth_revoke(f->auth, jti, omega_now_ms() - 3600 * 1000, NULL), 0);
    authtest_open_auth(f, NULL);
    char *val = NULL;
    size_t vlen = 0;
    char key[64];
    snprintf(key, sizeof(key), "revoked/%s", jti);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, key, strlen(key), &val, &vlen, NULL),
                     OMEGA_ENOENT);
    /* Junk under the prefix is left alone and does not stop the open. */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "revoked/xyz", 11, "oops", 4, NULL), 0);
    authtest_open_auth(f, NULL);
}

/* ---- credentials changing under a token ---- */

static void test_password_change_invalidates_older_tokens(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t old, fresh;
    login(f, "alice", PW, &old);
    omega_error_t err;
    assert_int_equal(omega_auth_user_set_password(f->auth, "alice", "a brand new secret", &err), 0);
    verify_denied(f, old.token, "password");
    omega_error_clear(&err);
    assert_int_equal(omega_auth_login(f->auth, "alice", PW, &fresh, &err), OMEGA_EACCES);
    login(f, "alice", "a brand new secret", &fresh);
    verify_ok(f, fresh.token); /* issued in the same second, still after the change */
    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "alice", &u, NULL), 0);
    assert_true(u.tokens_after_ms > 0);
}

static void test_deleted_then_recreated_user_does_not_inherit_tokens(void **state)
{
    fx_t *f = *state;
    add(f, "root", OMEGA_ROLE_SUPERUSER);
    add(f, "alice", OMEGA_ROLE_ADMIN);
    omega_token_t old, fresh;
    login(f, "alice", PW, &old);
    assert_int_equal(omega_auth_user_delete(f->auth, "alice", NULL), 0);
    verify_denied(f, old.token, "unknown user");
    add(f, "alice", OMEGA_ROLE_VIEWER);
    verify_denied(f, old.token, NULL);
    login(f, "alice", PW, &fresh);
    assert_int_equal(verify_ok(f, fresh.token).role, OMEGA_ROLE_VIEWER);
}

static void test_disabled_user_tokens_stop_and_resume(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_ANALYST);
    omega_token_t tok;
    login(f, "alice", PW, &tok);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 1, NULL), 0);
    verify_denied(f, tok.token, "disabled");
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "alice", 0, NULL), 0);
    verify_ok(f, tok.token);
}

/* ---- rate limits ---- */

static int count_cb(void *ctx, const char *json, size_t len)
{
    if (strstr(json, "\"outcome\":\"denied\""))
        (*(int *)ctx)++;
    return 0;
}

static void test_rate_limit_per_user(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    int64_t retry = -1;
    omega_error_t err;
    for (int i = 0; i < 5; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.0.0.%d", i); /* spread: only the user limit bites */
        assert_int_equal(
            omega_auth_login_limited(f->auth, "alice", "wrong", addr, &tok, &retry, &err),
            OMEGA_EACCES);
        assert_int_equal(retry, 0);
    }
    /* Sixth attempt: refused without a password check, even with the right password. */
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", PW, "10.0.0.9", &tok, &retry, &err),
                     OMEGA_EAGAIN);
    assert_true(retry >= 299 && retry <= 300);
    /* More refusals: the lock-out is audited once, not per attempt. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            omega_auth_login_limited(f->auth, "alice", PW, "10.0.0.9", &tok, &retry, &err),
            OMEGA_EAGAIN);
    int denied = 0;
    assert_int_equal(omega_auth_audit_query(f->auth, 0, INT64_MAX, "auth.login", 100, count_cb,
                                            &denied, NULL),
                     0);
    assert_int_equal(denied, 1);
    /* Other users are not affected. */
    add(f, "bob", OMEGA_ROLE_VIEWER);
    assert_int_equal(omega_auth_login_limited(f->auth, "bob", PW, "10.0.0.9", &tok, &retry, &err),
                     0);
}

static void test_rate_limit_success_clears_user_count(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    int64_t retry;
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            omega_auth_login_limited(f->auth, "alice", "wrong", NULL, &tok, &retry, NULL),
            OMEGA_EACCES);
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", PW, NULL, &tok, &retry, NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            omega_auth_login_limited(f->auth, "alice", "wrong", NULL, &tok, &retry, NULL),
            OMEGA_EACCES);
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", PW, NULL, &tok, &retry, NULL), 0);
}

static void test_rate_limit_per_address(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.addr_max_failures = 3;
    authtest_open_auth(f, &o);
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    int64_t retry;
    const char *names[] = {"nobody1", "nobody2", "bad name!"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(omega_auth_login_limited(f->auth, names[i], "x", "192.0.2.1", &tok,
                                                  &retry, NULL),
                         OMEGA_EACCES);
    assert_int_equal(
        omega_auth_login_limited(f->auth, "alice", PW, "192.0.2.1", &tok, &retry, NULL),
        OMEGA_EAGAIN);
    assert_true(retry >= 59 && retry <= 60);
    assert_int_equal(
        omega_auth_login_limited(f->auth, "alice", PW, "192.0.2.2", &tok, &retry, NULL), 0);
}

static void test_rate_limit_window_passes(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.user_max_failures = 1;
    o.user_window_ms = 1000;
    authtest_open_auth(f, &o);
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_token_t tok;
    int64_t retry;
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", "x", NULL, &tok, &retry, NULL),
                     OMEGA_EACCES);
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", PW, NULL, &tok, &retry, NULL),
                     OMEGA_EAGAIN);
    assert_int_equal(retry, 1);
    struct timespec ts = {1, 100000000};
    nanosleep(&ts, NULL);
    assert_int_equal(omega_auth_login_limited(f->auth, "alice", PW, NULL, &tok, &retry, NULL), 0);
}

typedef struct par {
    fx_t *f;
    int rc;
} par_t;

static void *parallel_fail(void *arg)
{
    par_t *p = arg;
    omega_token_t tok;
    int64_t retry;
    p->rc = omega_auth_login_limited(p->f->auth, "alice", "wrong", "198.51.100.7", &tok, &retry,
                                     NULL);
    return NULL;
}

/* 16 parallel wrong passwords: exactly 5 are checked, the rest are refused up front. */
static void test_rate_limit_holds_under_parallel_attempts(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    pthread_t th[16];
    par_t p[16];
    for (int i = 0; i < 16; i++) {
        p[i] = (par_t){f, 0};
        assert_int_equal(pthread_create(&th[i], NULL, parallel_fail, &p[i]), 0);
    }
    int checked = 0, refused = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        checked += p[i].rc == OMEGA_EACCES;
        refused += p[i].rc == OMEGA_EAGAIN;
    }
    assert_int_equal(checked, 5);
    assert_int_equal(refused, 11);
}

static void test_rate_limit_per_address_entries_and_long_keys(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.addr_max_failures = 1;
    authtest_open_auth(f, &o);
    omega_token_t tok;
    int64_t retry;
    /* Many addresses, each failing once: each gets its own entry. */
    char addr[64];
    for (int i = 0; i < 20; i++) {
        snprintf(addr, sizeof(addr), "2001:db8::%x", i);
        assert_int_equal(omega_auth_login_limited(f->auth, "", "x", addr, &tok, &retry, NULL),
                         OMEGA_EACCES);
    }
    /* A long address is truncated, not overflowed. */
    char longaddr[300];
    memset(longaddr, 'a', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    assert_int_equal(omega_auth_login_limited(f->auth, "", "x", longaddr, &tok, &retry, NULL),
                     OMEGA_EACCES);
    assert_int_equal(omega_auth_login_limited(f->auth, "", "x", longaddr, &tok, &retry, NULL),
                     OMEGA_EAGAIN);
}

static void test_rate_limit_options_checked(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    assert_int_equal(o.user_max_failures, 5);
    assert_int_equal(o.user_window_ms, 300000);
    assert_int_equal(o.addr_max_failures, 20);
    assert_int_equal(o.addr_window_ms, 60000);
    omega_error_t err;
    o.user_max_failures = 0;
    assert_null(omega_auth_create(f->db, &o, &err));
    omega_auth_options_init(&o);
    o.addr_window_ms = 10;
    assert_null(omega_auth_create(f->db, &o, &err));
    omega_auth_options_init(&o);
    o.default_role = (omega_role_t)9;
    assert_null(omega_auth_create(f->db, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
}

/* ---- user management ---- */

static void test_user_create_list_with_email(void **state)
{
    fx_t *f = *state;
    omega_error_t err;
    assert_int_equal(omega_auth_user_create(f->auth, "zed", PW, OMEGA_ROLE_VIEWER,
                                            "zed@example.org", &err),
                     0);
    add(f, "amy", OMEGA_ROLE_ADMIN);
    omega_user_info_t *list = NULL;
    size_t n = 0;
    assert_int_equal(omega_auth_user_list(f->auth, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].username, "amy");
    assert_string_equal(list[0].email, "");
    assert_string_equal(list[1].username, "zed");
    assert_string_equal(list[1].email, "zed@example.org");
    free(list);
    /* Names are unique regardless of case (look-alike accounts). */
    assert_int_equal(omega_auth_user_create(f->auth, "ZED", PW, OMEGA_ROLE_VIEWER, NULL, &err),
                     OMEGA_EEXIST);
}

static void test_user_create_rejects_bad_email(void **state)
{
    fx_t *f = *state;
    const char *bad[] = {"plain", "@example.org", "a@", "a@@b.c", "a b@c.d", "<script>@x.y",
                         "a@b_c.d", "a@.b", "a@b.", "\xc3\xa9@x.org", "a\"@b.c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        omega_error_t err;
        omega_error_clear(&err);
        assert_int_equal(
            omega_auth_user_create(f->auth, "u1", PW, OMEGA_ROLE_VIEWER, bad[i], &err),
            OMEGA_EINVAL);
        assert_string_equal(err.path, "email");
    }
    char longmail[300];
    memset(longmail, 'a', sizeof(longmail));
    memcpy(longmail + 280, "@example.org", 13);
    assert_int_equal(omega_auth_user_create(f->auth, "u1", PW, OMEGA_ROLE_VIEWER, longmail, NULL),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_email_valid("first.last+tag@sub.example-1.org"), 1);
}

static void test_user_update_all_or_nothing(void **state)
{
    fx_t *f = *state;
    add(f, "alice", OMEGA_ROLE_VIEWER);
    omega_user_update_t up;
    omega_user_update_init(&up);
    up.set_role = 1;
    up.role = OMEGA_ROLE_ADMIN;
    up.password = "short"; /* fails the policy: nothing may change */
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_user_update(f->auth, "alice", &up, NULL, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, "password");
    omega_user_info_t u;
    assert_int_equal(omega_auth_user_get(f->auth, "alice", &u, NULL), 0);
    assert_int_equal(u.role, OMEGA_ROLE_VIEWER);

    up.password = "long enough now";
    up.disabled = 1;
    up.email = "alice@example.org";
    assert_int_equal(omega_auth_user_update(f->auth, "alice", &up, &u, &err), 0);
    assert_int_equal(u.role, OMEGA_ROLE_ADMIN);
    assert_int_equal(u.disabled, 1);
    assert_string_equal(u.email, "alice@example.org");
    up = (omega_user_update_t){.disabled = 7};
    assert_int_equal(omega_auth_user_update(f->auth, "alice", &up, NULL, &err), OMEGA_EINVAL);
    omega_user_update_init(&up);
    up.email = "";
    assert_int_equal(omega_auth_user_update(f->auth, "alice", &up, &u, &err), 0);
    assert_string_equal(u.email, "");
    assert_int_equal(omega_auth_user_update(f->auth, "nobody", &up, NULL, &err), OMEGA_ENOENT);
}

static void test_last_superuser_is_kept(void **state)
{
    fx_t *f = *state;
    add(f, "root", OMEGA_ROLE_SUPERUSER);
    omega_error_t err;
    assert_int_equal(omega_auth_user_delete(f->auth, "root", &err), OMEGA_EPERM);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "root", 1, &err), OMEGA_EPERM);
    assert_int_equal(omega_auth_user_set_role(f->auth, "root", OMEGA_ROLE_ADMIN, &err),
                     OMEGA_EPERM);
    /* A disabled second superuser does not count; an enabled one does. */
    add(f, "root2", OMEGA_ROLE_SUPERUSER);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "root2", 1, &err), 0);
    assert_int_equal(omega_auth_user_delete(f->auth, "root", &err), OMEGA_EPERM);
    assert_int_equal(omega_auth_user_set_disabled(f->auth, "root2", 0, &err), 0);
    assert_int_equal(omega_auth_user_delete(f->auth, "root", &err), 0);
    assert_int_equal(omega_auth_user_delete(f->auth, "root", &err), OMEGA_ENOENT);
    assert_int_equal(omega_auth_user_delete(f->auth, "../etc", &err), OMEGA_ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    omega_log_set_level(OMEGA_LOG_WARN);
    const struct CMUnitTest tests[] = {
        T(test_refresh_issues_new_token_and_revokes_old),
        T(test_refresh_refuses_api_key_principal),
        T(test_logout_revocation_survives_restart),
        T(test_revoke_rejects_bad_ids),
        T(test_expired_revocations_are_dropped_at_load),
        T(test_password_change_invalidates_older_tokens),
        T(test_deleted_then_recreated_user_does_not_inherit_tokens),
        T(test_disabled_user_tokens_stop_and_resume),
        T(test_rate_limit_per_user),
        T(test_rate_limit_success_clears_user_count),
        T(test_rate_limit_per_address),
        T(test_rate_limit_window_passes),
        T(test_rate_limit_holds_under_parallel_attempts),
        T(test_rate_limit_per_address_entries_and_long_keys),
        T(test_rate_limit_options_checked),
        T(test_user_create_list_with_email),
        T(test_user_create_rejects_bad_email),
        T(test_user_update_all_or_nothing),
        T(test_last_superuser_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
