/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest in auth/: sealed secrets never reach the data dir in plain text (every
 * file grepped after close), the master key from text or a 0600 file (generated, refused
 * when group/world-accessible or malformed), a wrong master key refused with a clear error,
 * values bound to their key, data key rotation with re-encryption and retirement, the
 * rotation schedule, and switching encryption off and on over an existing store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/auth.h"
#include "omega/tsdb.h"
#include "authtest.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
/* KEY_A in base64. */
#define KEY_A_B64 "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8="

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_auth_t *auth;
} fx_t;

static void db_open(fx_t *f)
{
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = f->dir;
    so.sync_writes = 0;
    f->db = omega_tsdb_open(&so, NULL);
    assert_non_null(f->db);
}

static void opts(omega_auth_options_t *o, int encrypt, const char *key)
{
    omega_auth_options_init(o);
    o->encrypt = encrypt;
    o->master_key = key;
}

/* Create an auth handle; returns NULL and fills err when creation fails. */
static omega_auth_t *auth_try(fx_t *f, const omega_auth_options_t *o, omega_error_t *err)
{
    omega_error_clear(err);
    return omega_auth_create(f->db, o, err);
}

static void auth_open(fx_t *f, int encrypt, const char *key)
{
    omega_auth_options_t o;
    opts(&o, encrypt, key);
    omega_error_t err;
    omega_auth_destroy(f->auth);
    f->auth = auth_try(f, &o, &err);
    if (!f->auth)
        fail_msg("auth create: %s", err.message);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("auth-crypto");
    db_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    omega_auth_destroy(f->auth);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The raw stored value of a META key (malloc'd). */
static char *raw_get(fx_t *f, const char *key)
{
    char *val = NULL;
    size_t n = 0;
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, key, strlen(key), &val, &n, NULL), 0);
    return val;
}

static char *secret_get(fx_t *f, const char *key)
{
    char *plain = NULL;
    size_t n = 0;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_secret_get(f->auth, key, &plain, &n, &err) != 0)
        fail_msg("secret_get %s: %s", key, err.message);
    return plain;
}

static void test_secrets_never_plain_on_disk(void **state)
{
    fx_t *f = *state;
    auth_open(f, 1, KEY_A);
    const char *secret = "https://hooks.example.org/T000/B000/tok-PLAINTEXT-ba5eba11";
    assert_int_equal(omega_auth_secret_put(f->auth, "test/hook", secret, strlen(secret), NULL), 0);
    char *raw = raw_get(f, "test/hook");
    assert_true(omega_auth_secret_sealed(raw, strlen(raw)));
    assert_null(strstr(raw, "PLAINTEXT"));
    free(raw);
    /* The JWT signing key and the API-key secret are sealed too. */
    char *jwt = secret_get(f, "auth/jwt_key"), *apikey = secret_get(f, "auth/apikey_key");
    assert_int_equal(strlen(jwt), 64);
    assert_int_equal(strlen(apikey), 64);
    char *plain = secret_get(f, "test/hook");
    assert_string_equal(plain, secret);
    free(plain);
    /* Flush to SST, compact, close: nothing in any file (SST, WAL, MANIFEST, LOG, OPTIONS)
     * holds a plaintext. */
    assert_int_equal(omega_tsdb_flush(f->db, NULL), 0);
    omega_auth_destroy(f->auth);
    f->auth = NULL;
    omega_tsdb_close(f->db);
    f->db = NULL;
    assert_false(testutil_dir_contains(f->dir, "tok-PLAINTEXT-ba5eba11"));
    assert_false(testutil_dir_contains(f->dir, jwt));
    assert_false(testutil_dir_contains(f->dir, apikey));
    assert_false(testutil_dir_contains(f->dir, KEY_A));
    /* Reopened with the same key (base64 this time): the same signing key. */
    db_open(f);
    auth_open(f, 1, KEY_A_B64);
    char *jwt2 = secret_get(f, "auth/jwt_key");
    assert_string_equal(jwt, jwt2);
    free(jwt2);
    free(jwt);
    free(apikey);
}

static void test_wrong_master_key_refused(void **state)
{
    fx_t *f = *state;
    auth_open(f, 1, KEY_A);
    omega_auth_destroy(f->auth);
    f->auth = NULL;
    omega_auth_options_t o;
    omega_error_t err;
    opts(&o, 1, KEY_B);
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EACCES);
    assert_non_null(strstr(err.message, "master key does not open"));
    /* No master key at all over a store with data keys, encryption on or off. */
    opts(&o, 0, NULL);
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EACCES);
    assert_non_null(strstr(err.message, "no master key"));
    opts(&o, 1, NULL);
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EACCES);
    assert_non_null(strstr(err.message, "OMEGA_MASTER_KEY"));
    /* Malformed key text. */
    const char *bad[] = {"short", KEY_A "00",
                         "zz112233445566778899aabbccddeeff0011223344556677"
                         "8899aabbccddeeff",
                         "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8", "!!!!"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        opts(&o, 1, bad[i]);
        assert_null(auth_try(f, &o, &err));
        assert_int_equal(err.code, OMEGA_EINVAL);
        assert_string_equal(err.path, "OMEGA_MASTER_KEY");
    }
    /* The right key still works afterwards. */
    auth_open(f, 1, KEY_A);
}

static void test_master_key_file(void **state)
{
    fx_t *f = *state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/master.key", f->dir);
    omega_auth_options_t o;
    omega_error_t err;
    opts(&o, 1, NULL);
    o.data_dir = f->dir;
    f->auth = auth_try(f, &o, &err);
    assert_non_null(f->auth);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *jwt = secret_get(f, "auth/jwt_key");
    omega_auth_destroy(f->auth);
    /* Reused on the next start. */
    f->auth = auth_try(f, &o, &err);
    assert_non_null(f->auth);
    char *jwt2 = secret_get(f, "auth/jwt_key");
    assert_string_equal(jwt, jwt2);
    free(jwt);
    free(jwt2);
    omega_auth_destroy(f->auth);
    f->auth = NULL;
    /* Group- or world-accessible: refused, naming the fix. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EPERM);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(path, 0640), 0);
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EPERM);
    /* An explicit file with junk in it, and one that is a directory. */
    char junk[1024];
    snprintf(junk, sizeof(junk), "%s/junk.key", f->dir);
    assert_int_equal(testutil_write_file(junk, "not a key\n", 10), 0);
    assert_int_equal(chmod(junk, 0600), 0);
    o.master_key_file = junk;
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "64 hex digits"));
    o.master_key_file = f->dir;
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    /* The key file given explicitly in hex works like the generated one. */
    assert_int_equal(chmod(path, 0600), 0);
    o.master_key_file = path;
    f->auth = auth_try(f, &o, &err);
    assert_non_null(f->auth);
}

static void test_values_bound_to_key(void **state)
{
    fx_t *f = *state;
    auth_open(f, 1, KEY_A);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/a", "alpha", 5, NULL), 0);
    char *raw = raw_get(f, "test/a");
    size_t n = strlen(raw);
    /* Copied under another key: does not open. */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "test/b", 6, raw, n, NULL), 0);
    char *plain = NULL;
    size_t plen = 0;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_secret_get(f->auth, "test/b", &plain, &plen, &err), OMEGA_ECORRUPT);
    assert_null(plain);
    /* One altered character of the ciphertext. */
    raw[n - 3] = raw[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "test/a", 6, raw, n, NULL), 0);
    assert_int_equal(omega_auth_secret_get(f->auth, "test/a", &plain, &plen, &err), OMEGA_ECORRUPT);
    /* Truncated, bad version, bad base64. */
    const char *bad[] = {"$oms1$", "$oms1$0000000z$AAAA", "$oms1$00000001$@@@@",
                         "$oms1$00000009$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = omega_auth_secret_open(f->auth, "test/a", bad[i], strlen(bad[i]), &plain, &plen,
                                        NULL, &err);
        assert_true(rc == OMEGA_ECORRUPT || rc == OMEGA_EACCES);
        assert_null(plain);
    }
    /* A plain value (stored before encryption) opens as is and is reported stale. */
    int stale = 0;
    assert_int_equal(
        omega_auth_secret_open(f->auth, "test/c", "legacy", 6, &plain, &plen, &stale, NULL), 0);
    assert_string_equal(plain, "legacy");
    assert_int_equal(stale, 1);
    free(plain);
    free(raw);
    assert_int_equal(omega_auth_secret_put(f->auth, "", "x", 1, &err), OMEGA_EINVAL);
}

/* Count audit entries whose action is `action`. */
static int count_cb(void *ctx, const char *json, size_t len)
{
    (void)json, (void)len;
    (*(int *)ctx)++;
    return 0;
}

static int audit_count(fx_t *f, const char *action)
{
    int n = 0;
    assert_int_equal(
        omega_auth_audit_query(f->auth, 0, INT64_MAX, action, 1000, count_cb, &n, NULL), 0);
    return n;
}

static void test_rotation_reencrypts_and_retires(void **state)
{
    fx_t *f = *state;
    auth_open(f, 1, KEY_A);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s1", "one", 3, NULL), 0);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s2", "two", 3, NULL), 0);
    char *old = raw_get(f, "test/s1");
    assert_int_equal(strncmp(old, "$oms1$00000001$", 15), 0);
    omega_key_status_t st;
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.current_version, 1);
    assert_int_equal(st.versions_held, 1);
    uint32_t v = 0;
    assert_int_equal(omega_auth_key_rotate(f->auth, &v, NULL), 0);
    assert_int_equal(v, 2);
    /* Whether or not the background walk got there yet, every secret opens. */
    char *p = secret_get(f, "test/s1");
    assert_string_equal(p, "one");
    free(p);
    /* New writes use v2 at once. */
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s3", "three", 5, NULL), 0);
    char *r3 = raw_get(f, "test/s3");
    assert_int_equal(strncmp(r3, "$oms1$00000002$", 15), 0);
    free(r3);
    /* Finish the walk here (it waits for a background one). */
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    authtest_key_status_settled(f->auth, &st);
    assert_int_equal(st.current_version, 2);
    assert_int_equal(st.versions_held, 1);
    assert_int_equal(st.reencrypting, 0);
    const char *keys[] = {"test/s1", "test/s2", "auth/jwt_key", "auth/apikey_key"};
    for (size_t i = 0; i < 4; i++) {
        char *r = raw_get(f, keys[i]);
        assert_int_equal(strncmp(r, "$oms1$00000002$", 15), 0);
        free(r);
    }
    /* The v1 data key left the store; this handle still opens a value read before the walk
     * (a reader racing the walk), a new handle does not. */
    char *plain = NULL;
    size_t plen = 0;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(
        omega_auth_secret_open(f->auth, "test/s1", old, strlen(old), &plain, &plen, NULL, &err), 0);
    assert_string_equal(plain, "one");
    free(plain);
    auth_open(f, 1, KEY_A);
    assert_int_equal(
        omega_auth_secret_open(f->auth, "test/s1", old, strlen(old), &plain, &plen, NULL, &err),
        OMEGA_EACCES);
    free(old);
    char name[40];
    snprintf(name, sizeof(name), "auth/datakey/%08x", 1u);
    char *gone = NULL;
    size_t glen = 0;
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, name, strlen(name), &gone, &glen, NULL),
                     OMEGA_ENOENT);
    assert_int_equal(audit_count(f, "security.reencrypt"), 1);
    /* Nothing left to do: another walk changes nothing and is not audited. */
    size_t n = 99;
    assert_int_equal(omega_auth_key_reencrypt(f->auth, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(audit_count(f, "security.reencrypt"), 1);
    /* Survives a restart. */
    auth_open(f, 1, KEY_A);
    p = secret_get(f, "test/s2");
    assert_string_equal(p, "two");
    free(p);
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.current_version, 2);
}

static void test_rotation_schedule(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    opts(&o, 1, KEY_A);
    o.key_rotation_interval_ms = 3600 * 1000;
    omega_error_t err;
    f->auth = auth_try(f, &o, &err);
    assert_non_null(f->auth);
    int64_t now = omega_now_ms();
    assert_int_equal(omega_auth_key_rotate_due(f->auth, now), 0);
    assert_int_equal(omega_auth_key_rotate_due(f->auth, now + 3601 * 1000), 1);
    omega_key_status_t st;
    omega_auth_key_status(f->auth, &st);
    assert_true(st.next_rotation_ms >= now + 3599 * 1000);
    assert_true(st.next_rotation_ms <= now + 3601 * 1000);
    omega_auth_destroy(f->auth);
    /* Interval 0: never due. Bad intervals refused. */
    o.key_rotation_interval_ms = 0;
    f->auth = auth_try(f, &o, &err);
    assert_non_null(f->auth);
    assert_int_equal(omega_auth_key_rotate_due(f->auth, INT64_MAX / 2), 0);
    omega_auth_destroy(f->auth);
    f->auth = NULL;
    o.key_rotation_interval_ms = 10;
    assert_null(auth_try(f, &o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_string_equal(err.path, "key_rotation_interval_ms");
}

static void test_encryption_off_and_on(void **state)
{
    fx_t *f = *state;
    /* Off from the start: plain values, no keys, rotation refused. */
    auth_open(f, 0, NULL);
    char *jwt = raw_get(f, "auth/jwt_key");
    assert_int_equal(strlen(jwt), 64);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s", "plain-secret", 12, NULL), 0);
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_key_rotate(f->auth, NULL, &err), OMEGA_EINVAL);
    omega_key_status_t st;
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.enabled, 0);
    assert_int_equal(st.current_version, 0);
    /* Turned on: the auth secrets are sealed at start; a plain value still opens. */
    auth_open(f, 1, KEY_A);
    char *sealed = raw_get(f, "auth/jwt_key");
    assert_true(omega_auth_secret_sealed(sealed, strlen(sealed)));
    free(sealed);
    char *p = secret_get(f, "auth/jwt_key");
    assert_string_equal(p, jwt);
    free(p);
    p = secret_get(f, "test/s");
    assert_string_equal(p, "plain-secret");
    free(p);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s", "plain-secret", 12, NULL), 0);
    /* Off again with the key available: everything back to plain, data keys dropped. */
    auth_open(f, 0, KEY_A);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    char *r = raw_get(f, "test/s");
    assert_string_equal(r, "plain-secret");
    free(r);
    r = raw_get(f, "auth/jwt_key");
    assert_string_equal(r, jwt);
    free(r);
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.versions_held, 0);
    /* ...so the store opens without any master key now. */
    auth_open(f, 0, NULL);
    free(jwt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_secrets_never_plain_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_master_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_bound_to_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_reencrypts_and_retires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encryption_off_and_on, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
