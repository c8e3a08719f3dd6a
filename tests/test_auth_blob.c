/* SPDX-License-Identifier: Apache-2.0 */
/* Sealed blobs for storage's sensitive series (omega_auth_blob_seal/open) on a real store:
 * round trip, wrong associated data, every kind of tampering, short buffers, encryption off,
 * and old blobs still opening after rotations, re-encryption walks and a restart (their key
 * version is pinned) until the holder releases them (omega_auth_blob_release); version numbers
 * are never reused; plus omega_auth_env_take() wiping a secret from the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/auth.h"
#include "omega/tsdb.h"
#include "authtest.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_auth_t *auth;
} fx_t;

static void auth_open(fx_t *f, int encrypt, const char *key)
{
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.encrypt = encrypt;
    o.master_key = key;
    omega_error_t err;
    omega_error_clear(&err);
    omega_auth_destroy(f->auth);
    f->auth = omega_auth_create(f->db, &o, &err);
    if (!f->auth)
        fail_msg("auth create: %s", err.message);
}

static void db_open(fx_t *f)
{
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = f->dir;
    so.sync_writes = 0;
    f->db = omega_tsdb_open(&so, NULL);
    assert_non_null(f->db);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("auth-blob");
    db_open(f);
    auth_open(f, 1, KEY_A);
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

static const char AAD[] = "series 0000000000000042";
static const char PLAIN[] = "chunk: 1.5 2.5 3.5 and a secret label value";

/* Seal PLAIN with aad into blob (>= sizeof(PLAIN) + overhead); returns its length. */
static size_t seal(fx_t *f, const char *aad, unsigned char *blob)
{
    size_t len = 0;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_blob_seal(f->auth, aad, strlen(aad), PLAIN, sizeof(PLAIN), blob,
                                  sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD, &len, &err);
    if (rc != 0)
        fail_msg("seal: %s", err.message);
    assert_int_equal(len, sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD);
    return len;
}

/* Open blob with aad; returns the OMEGA_E* code, and checks the plain text on success. */
static int open_blob(fx_t *f, const char *aad, const unsigned char *blob, size_t len)
{
    char out[sizeof(PLAIN)];
    size_t n = 99;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_auth_blob_open(f->auth, aad, strlen(aad), blob, len, out, sizeof(out), &n, &err);
    if (rc == 0) {
        assert_int_equal(n, sizeof(PLAIN));
        assert_memory_equal(out, PLAIN, sizeof(PLAIN));
    } else {
        assert_int_equal(n, 0);
        assert_true(err.message[0] != '\0');
        assert_null(strstr(err.message, "secret label")); /* nothing of the plain text leaks */
    }
    return rc;
}

static void test_round_trip_and_format(void **state)
{
    fx_t *f = *state;
    unsigned char blob[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD];
    size_t len = seal(f, AAD, blob);
    assert_memory_equal(blob, "OMB1", 4);
    assert_int_equal(omega_auth_blob_version(blob, len), 1);
    assert_null(memmem(blob, len, "secret label", 12)); /* encrypted */
    assert_int_equal(open_blob(f, AAD, blob, len), 0);
    /* Two seals of the same input differ (fresh nonce). */
    unsigned char again[sizeof(blob)];
    seal(f, AAD, again);
    assert_memory_not_equal(blob, again, len);
    /* Empty plain text and empty aad. */
    unsigned char tiny[OMEGA_AUTH_BLOB_OVERHEAD];
    size_t tlen = 0, olen = 7;
    assert_int_equal(
        omega_auth_blob_seal(f->auth, NULL, 0, NULL, 0, tiny, sizeof(tiny), &tlen, NULL), 0);
    assert_int_equal(tlen, OMEGA_AUTH_BLOB_OVERHEAD);
    assert_int_equal(omega_auth_blob_open(f->auth, NULL, 0, tiny, tlen, NULL, 0, &olen, NULL), 0);
    assert_int_equal(olen, 0);
    assert_int_equal(omega_auth_blob_open(f->auth, "x", 1, tiny, tlen, NULL, 0, &olen, NULL),
                     OMEGA_ECORRUPT);
}

static void test_wrong_aad_and_tampering(void **state)
{
    fx_t *f = *state;
    unsigned char blob[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD];
    size_t len = seal(f, AAD, blob);
    assert_int_equal(open_blob(f, "series 0000000000000043", blob, len), OMEGA_ECORRUPT);
    assert_int_equal(open_blob(f, "", blob, len), OMEGA_ECORRUPT);
    /* Flip one bit at every position: the magic or version make it "not a blob" or name a
     * key that is not held; anything else fails authentication. */
    for (size_t i = 0; i < len; i++) {
        unsigned char bad[sizeof(blob)];
        memcpy(bad, blob, len);
        bad[i] ^= 0x01;
        int rc = open_blob(f, AAD, bad, len);
        if (i >= 4 && i < 8) /* another version (EACCES), or 0: not a blob */
            assert_true(rc == OMEGA_EACCES || rc == OMEGA_ECORRUPT);
        else
            assert_int_equal(rc, OMEGA_ECORRUPT);
    }
    /* Truncated or extended. */
    for (size_t cut = 0; cut < len; cut += 7)
        assert_int_equal(open_blob(f, AAD, blob, cut), OMEGA_ECORRUPT);
    unsigned char longer[sizeof(blob) + 1];
    memcpy(longer, blob, len);
    longer[len] = 0;
    char out[sizeof(PLAIN) + 1];
    size_t n = 0;
    assert_int_equal(omega_auth_blob_open(f->auth, AAD, strlen(AAD), longer, len + 1, out,
                                          sizeof(out), &n, NULL),
                     OMEGA_ECORRUPT);
    assert_int_equal(omega_auth_blob_version("OMB1", 4), 0);
    assert_int_equal(omega_auth_blob_version(NULL, 100), 0);
}

static void test_bad_arguments(void **state)
{
    fx_t *f = *state;
    unsigned char blob[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD];
    size_t len = 5;
    omega_error_t err;
    omega_error_clear(&err);
    /* Output one byte short: refused, nothing written past it. */
    assert_int_equal(omega_auth_blob_seal(f->auth, AAD, strlen(AAD), PLAIN, sizeof(PLAIN), blob,
                                          sizeof(blob) - 1, &len, &err),
                     OMEGA_EINVAL);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err.message, "needed"));
    assert_int_equal(omega_auth_blob_seal(NULL, AAD, 1, PLAIN, 1, blob, sizeof(blob), &len, NULL),
                     OMEGA_EINVAL);
    assert_int_equal(
        omega_auth_blob_seal(f->auth, NULL, 3, PLAIN, 1, blob, sizeof(blob), &len, NULL),
        OMEGA_EINVAL);
    assert_int_equal(omega_auth_blob_seal(f->auth, AAD, 1, NULL, 4, blob, sizeof(blob), &len, NULL),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_blob_seal(f->auth, AAD, 1, PLAIN, (64u << 20) + 1, blob,
                                          sizeof(blob), &len, NULL),
                     OMEGA_E2BIG);
    len = seal(f, AAD, blob);
    char out[sizeof(PLAIN)];
    size_t n = 3;
    assert_int_equal(
        omega_auth_blob_open(f->auth, AAD, strlen(AAD), blob, len, out, sizeof(out) - 1, &n, &err),
        OMEGA_EINVAL);
    assert_int_equal(
        omega_auth_blob_open(f->auth, AAD, strlen(AAD), NULL, len, out, sizeof(out), &n, NULL),
        OMEGA_EINVAL);
}

static void test_rotation_keeps_old_blobs_open(void **state)
{
    fx_t *f = *state;
    unsigned char v1[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD], v2[sizeof(v1)];
    size_t len = seal(f, AAD, v1);
    assert_int_equal(omega_auth_secret_put(f->auth, "test/s", "x", 1, NULL), 0);
    uint32_t v = 0;
    assert_int_equal(omega_auth_key_rotate(f->auth, &v, NULL), 0);
    assert_int_equal(v, 2);
    seal(f, AAD, v2);
    assert_int_equal(omega_auth_blob_version(v2, len), 2);
    /* The walk re-seals the secrets and retires what it can: v1 stays, pinned by the blob. */
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    omega_key_status_t st;
    authtest_key_status_settled(f->auth, &st);
    assert_int_equal(st.current_version, 2);
    assert_int_equal(st.versions_held, 2);
    assert_int_equal(st.versions_pinned, 1);
    assert_int_equal(st.reencrypting, 0);
    assert_int_equal(open_blob(f, AAD, v1, len), 0);
    assert_int_equal(open_blob(f, AAD, v2, len), 0);
    /* A third version that seals no blob is retired by the next walk as usual. */
    assert_int_equal(omega_auth_key_rotate(f->auth, &v, NULL), 0);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.current_version, 3);
    assert_int_equal(st.versions_held, 3); /* v1 and v2 pinned, v3 current */
    assert_int_equal(st.versions_pinned, 2);
    /* After a restart, and with encryption switched off (nothing new can be sealed). */
    auth_open(f, 1, KEY_A);
    assert_int_equal(open_blob(f, AAD, v1, len), 0);
    assert_int_equal(open_blob(f, AAD, v2, len), 0);
    auth_open(f, 0, KEY_A);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    assert_int_equal(open_blob(f, AAD, v1, len), 0);
    unsigned char none[sizeof(v1)];
    size_t nlen = 9;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_blob_seal(f->auth, AAD, strlen(AAD), PLAIN, sizeof(PLAIN), none,
                                          sizeof(none), &nlen, &err),
                     OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "encryption at rest is off"));
    auth_open(f, 1, KEY_A);
    assert_int_equal(open_blob(f, AAD, v1, len), 0);
}

static size_t held_versions(fx_t *f)
{
    omega_key_status_t st;
    omega_auth_key_status(f->auth, &st);
    return st.versions_held;
}

static void test_release_unpins_and_versions_never_reused(void **state)
{
    fx_t *f = *state;
    unsigned char b1[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD], b2[sizeof(b1)], b3[sizeof(b1)];
    assert_int_equal(omega_auth_blob_active(f->auth), 1);
    size_t len = seal(f, AAD, b1);
    assert_int_equal(omega_auth_key_rotate(f->auth, NULL, NULL), 0);
    assert_int_equal(omega_auth_blob_active(f->auth), 2);
    seal(f, AAD, b2);
    assert_int_equal(omega_auth_key_rotate(f->auth, NULL, NULL), 0);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    assert_int_equal(held_versions(f), 3); /* v1 and v2 pinned */
    /* The holder re-sealed everything under v3: v1 and v2 are unpinned and retired. */
    assert_int_equal(omega_auth_blob_release(f->auth, 3, NULL), 0);
    omega_key_status_t st;
    omega_auth_key_status(f->auth, &st);
    assert_int_equal(st.versions_pinned, 0);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    assert_int_equal(held_versions(f), 1);
    /* Held in memory until the handle goes (a read racing the walk still opens). */
    assert_int_equal(open_blob(f, AAD, b1, len), 0);
    /* The current version is never released, whatever the caller says. */
    seal(f, AAD, b3);
    assert_int_equal(omega_auth_blob_release(f->auth, 100, NULL), 0);
    assert_int_equal(omega_auth_key_rotate(f->auth, NULL, NULL), 0);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    assert_int_equal(held_versions(f), 2); /* v3 (pinned) and v4 */
    auth_open(f, 1, KEY_A);                /* the pins and the retirements persist */
    assert_int_equal(held_versions(f), 2);
    assert_int_equal(open_blob(f, AAD, b3, len), 0);
    assert_int_equal(open_blob(f, AAD, b1, len), OMEGA_EACCES);
    /* Encryption off, everything released and retired, then on again: a new version
     * number, never a reused one (a holder's "older than" keeps its meaning). */
    auth_open(f, 0, KEY_A);
    assert_int_equal(omega_auth_blob_active(f->auth), 0);
    assert_int_equal(omega_auth_blob_release(f->auth, UINT32_MAX, NULL), 0);
    assert_int_equal(omega_auth_key_reencrypt(f->auth, NULL, NULL), 0);
    assert_int_equal(held_versions(f), 0);
    auth_open(f, 1, KEY_A);
    assert_int_equal(omega_auth_blob_active(f->auth), 5);
    assert_int_equal(omega_auth_blob_active(NULL), 0);
    omega_error_t err;
    assert_int_equal(omega_auth_blob_release(NULL, 1, &err), OMEGA_EINVAL);
}

static void test_other_store_blob_not_held(void **state)
{
    fx_t *f = *state;
    unsigned char blob[sizeof(PLAIN) + OMEGA_AUTH_BLOB_OVERHEAD];
    size_t len = seal(f, AAD, blob);
    /* A blob of another store naming a version this one does not hold. */
    blob[7] = 9;
    assert_int_equal(open_blob(f, AAD, blob, len), OMEGA_EACCES);
    /* Another store (other master key) with the same version number: authentication fails. */
    fx_t g = {.dir = testutil_mkdtemp("auth-blob-other")};
    db_open(&g);
    auth_open(&g, 1, KEY_B);
    blob[7] = 1;
    assert_int_equal(open_blob(&g, AAD, blob, len), OMEGA_ECORRUPT);
    omega_auth_destroy(g.auth);
    omega_tsdb_close(g.db);
    testutil_rmtree(g.dir);
    free(g.dir);
}

static void test_env_take(void **state)
{
    (void)state;
    assert_int_equal(setenv("OMEGA_TEST_BLOB_SECRET", KEY_A, 1), 0);
    char *v = omega_auth_env_take("OMEGA_TEST_BLOB_SECRET");
    assert_non_null(v);
    assert_string_equal(v, KEY_A);
    free(v);
    assert_null(getenv("OMEGA_TEST_BLOB_SECRET"));
    assert_null(omega_auth_env_take("OMEGA_TEST_BLOB_SECRET")); /* gone */
    assert_int_equal(setenv("OMEGA_TEST_BLOB_SECRET", "", 1), 0);
    assert_null(omega_auth_env_take("OMEGA_TEST_BLOB_SECRET")); /* empty: none, still removed */
    assert_null(getenv("OMEGA_TEST_BLOB_SECRET"));
    assert_null(omega_auth_env_take(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_aad_and_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_old_blobs_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_unpins_and_versions_never_reused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_store_blob_not_held, setup, teardown),
        cmocka_unit_test(test_env_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
