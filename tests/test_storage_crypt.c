/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of encryption at rest in storage (storage/crypt.c) with a deterministic test cipher
 * (tests/support/cryptest.c: keyed XOR stream and tag in auth's blob layout; no auth linked):
 * the sample bytes of a sensitive series are absent from every file of the data dir after
 * writes, seal, rollup and close while a normal series' are present; reads, rollups and the
 * integrity check see the right values; a head log sealed before a crash replays at open and
 * when the cipher is attached late; a wrong key or no cipher gives a clear error; old plain
 * data stays readable; bad patterns and arguments are refused. Re-sealing after key
 * rotations: test_storage_reseal.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryptest.h"
#include "omega/tsdb.h"
#include "testutil.h"

/* Write both metrics, seal, roll up, close: the common start of most tests. */
static void fill(const fixture_t *f)
{
    omega_error_t err;
    omega_tsdb_t *db = open_db(f, &key1, 1, &err);
    assert_non_null(db);
    write_pts(db, "secret_cost", SECRET, f->t0, N_PTS);
    write_pts(db, "normal_cost", NORMAL, f->t0, N_PTS);
    expect_values(db, "secret_cost", SECRET, N_PTS); /* from the heads */
    assert_int_equal(omega_tsdb_flush(db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(db, &err), 0);
    omega_tsdb_close(db);
}

/* ---- tests ---- */

static void test_sealed_at_rest(void **state)
{
    fixture_t *f = *state;
    char secret[9], normal[9];
    needle_of(SECRET, secret);
    needle_of(NORMAL, normal);
    fill(f);
    assert_int_equal(testutil_dir_contains(f->dir, secret), 0);
    assert_int_equal(testutil_dir_contains(f->dir, normal), 1); /* the control */
    omega_error_t err;
    omega_tsdb_t *db = open_db(f, &key1, 1, &err);
    assert_non_null(db);
    expect_values(db, "secret_cost", SECRET, N_PTS);
    expect_values(db, "normal_cost", NORMAL, N_PTS);
    expect_tiers(db, "secret_cost", SECRET, N_PTS);
    expect_tiers(db, "normal_cost", NORMAL, N_PTS);
    omega_tsdb_integrity_t ir;
    assert_int_equal(omega_tsdb_verify(db, &ir, NULL, NULL, &err), 0);
    assert_int_equal(ir.corrupt_chunks, 0);
    assert_int_equal(ir.samples, 2 * N_PTS);
    /* a late write that reaches back into sealed time merges with sealed chunks */
    write_pts(db, "secret_cost", SECRET, f->t0 + STEP_MS / 2, 10);
    assert_int_equal(omega_tsdb_flush(db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(db, &err), 0);
    expect_values(db, "secret_cost", SECRET, N_PTS + 10);
    expect_tiers(db, "secret_cost", SECRET, N_PTS + 10);
    omega_tsdb_close(db);
    assert_int_equal(testutil_dir_contains(f->dir, secret), 0);
}

static void test_wrong_key_and_no_cipher(void **state)
{
    fixture_t *f = *state;
    fill(f);
    omega_error_t err;
    got_t g;
    tiers_t t;
    omega_tsdb_t *db = open_db(f, &key2, 0, &err); /* another key */
    assert_non_null(db);
    assert_int_equal(read_metric(db, "secret_cost", &g, &err), OMEGA_EACCES);
    assert_non_null(strstr(err.message, "cannot be decrypted"));
    assert_null(strstr(err.message, "1234567")); /* nothing leaked */
    assert_int_equal(read_tier(db, OMEGA_TSDB_TIER_H1, "secret_cost", &t, &err), OMEGA_EACCES);
    expect_values(db, "normal_cost", NORMAL, N_PTS);
    omega_tsdb_integrity_t ir;
    assert_int_equal(omega_tsdb_verify(db, &ir, NULL, NULL, &err), OMEGA_ECORRUPT);
    assert_true(ir.corrupt_chunks > 0);
    omega_tsdb_close(db);

    db = open_db(f, NULL, 0, &err); /* no cipher at all */
    assert_non_null(db);
    assert_int_equal(read_metric(db, "secret_cost", &g, &err), OMEGA_EACCES);
    assert_non_null(strstr(err.message, "no cipher attached"));
    expect_values(db, "normal_cost", NORMAL, N_PTS);
    /* the right key attached late reads everything */
    omega_tsdb_cipher_t c = cipher_of(&key1);
    assert_int_equal(omega_tsdb_cipher_attach(db, &c, NULL, 0, &err), 0);
    expect_values(db, "secret_cost", SECRET, N_PTS);
    expect_tiers(db, "secret_cost", SECRET, N_PTS);
    omega_tsdb_close(db);
}

/* Child: write both metrics and die without closing (the head log holds them). */
static void crash_writer(const fixture_t *f)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        omega_error_t err;
        omega_tsdb_t *db = open_db(f, &key1, 1, &err);
        if (!db)
            _exit(2);
        omega_label_t l = {"host", "a"};
        omega_point_t p[2] = {{"secret_cost", &l, 1, f->t0, SECRET},
                              {"normal_cost", &l, 1, f->t0, NORMAL}};
        int rc = omega_tsdb_write(db, p, 1, &err) || omega_tsdb_write(db, p + 1, 1, &err);
        _exit(rc ? 3 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_head_log_sealed(void **state)
{
    fixture_t *f = *state;
    char secret[9], normal[9];
    needle_of(SECRET, secret);
    needle_of(NORMAL, normal);
    crash_writer(f);
    /* the RocksDB WAL only ever held the sealed record */
    assert_int_equal(testutil_dir_contains(f->dir, secret), 0);
    assert_int_equal(testutil_dir_contains(f->dir, normal), 1);
    omega_error_t err;
    omega_tsdb_t *db = open_db(f, NULL, 0, &err); /* replay without a cipher: kept */
    assert_non_null(db);
    got_t g;
    assert_int_equal(read_metric(db, "secret_cost", &g, &err), 0);
    assert_int_equal(g.n, 0);
    expect_values(db, "normal_cost", NORMAL, 1);
    assert_int_equal(omega_tsdb_flush(db, &err), 0); /* must not drop the sealed record */
    omega_tsdb_cipher_t c = cipher_of(&key1);
    assert_int_equal(omega_tsdb_cipher_attach(db, &c, patterns, 2, &err), 0);
    expect_values(db, "secret_cost", SECRET, 1);
    assert_int_equal(omega_tsdb_cipher_attach(db, &c, patterns, 2, &err), OMEGA_EINVAL);
    omega_tsdb_cipher_detach(db); /* seals the heads first */
    assert_int_equal(read_metric(db, "secret_cost", &g, &err), OMEGA_EACCES);
    omega_tsdb_close(db);
    assert_int_equal(testutil_dir_contains(f->dir, secret), 0);
    db = open_db(f, &key1, 1, &err);
    assert_non_null(db);
    expect_values(db, "secret_cost", SECRET, 1);
    omega_tsdb_close(db);

    crash_writer(f); /* replay at open with the cipher in the options */
    db = open_db(f, &key1, 1, &err);
    assert_non_null(db);
    expect_values(db, "secret_cost", SECRET, 1);
    omega_tsdb_close(db);
}

static void test_old_plain_data_stays_readable(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_tsdb_t *db = open_db(f, NULL, 0, &err); /* before encryption was configured */
    assert_non_null(db);
    write_pts(db, "billing_cost", SECRET, f->t0, 100);
    omega_tsdb_close(db);
    char secret[9];
    needle_of(SECRET, secret); /* unsealed, the grep does find the value */
    assert_int_equal(testutil_dir_contains(f->dir, secret), 1);
    db = open_db(f, &key1, 1, &err);
    assert_non_null(db);
    write_pts(db, "billing_cost", SECRET, f->t0 + 100 * STEP_MS, 100);
    assert_int_equal(omega_tsdb_flush(db, &err), 0);
    assert_int_equal(omega_tsdb_rollup_run(db, &err), 0);
    expect_values(db, "billing_cost", SECRET, 200);
    expect_tiers(db, "billing_cost", SECRET, 200);
    /* whole-name matching: billing_costs and xsecret_cost are not sensitive */
    write_pts(db, "billing_costs", NORMAL, f->t0, 5);
    write_pts(db, "xsecret_cost", NORMAL, f->t0, 5);
    omega_tsdb_close(db);
    char normal[9];
    needle_of(NORMAL, normal);
    assert_int_equal(testutil_dir_contains(f->dir, normal), 1);
    db = open_db(f, &key1, 0, &err); /* patterns removed: sealed data still reads */
    assert_non_null(db);
    expect_values(db, "billing_cost", SECRET, 200);
    expect_values(db, "xsecret_cost", NORMAL, 5);
    omega_tsdb_close(db);
}

static void test_bad_arguments(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = f->dir;
    static const char *const bad[] = {"secret_(", NULL};
    o.cipher = cipher_of(&key1);
    o.sensitive_metrics = bad;
    o.n_sensitive_metrics = 1;
    assert_null(omega_tsdb_open(&o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "secret_("));
    o.n_sensitive_metrics = 2; /* a NULL pattern */
    assert_null(omega_tsdb_open(&o, &err));
    o.cipher = (omega_tsdb_cipher_t){0};
    o.sensitive_metrics = patterns;
    assert_null(omega_tsdb_open(&o, &err)); /* patterns without a cipher */
    assert_non_null(strstr(err.message, "need a cipher"));
    o.n_sensitive_metrics = 0;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    assert_non_null(db);
    assert_int_equal(omega_tsdb_cipher_attach(db, NULL, NULL, 0, &err), OMEGA_EINVAL);
    omega_tsdb_cipher_t c = {.ctx = &key1, .open = t_open, .overhead = OVERHEAD};
    assert_int_equal(omega_tsdb_cipher_attach(db, &c, patterns, 2, &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_cipher_attach(NULL, &c, NULL, 0, &err), OMEGA_EINVAL);
    omega_tsdb_cipher_detach(db); /* no cipher: nothing happens */
    omega_tsdb_cipher_detach(NULL);
    omega_tsdb_close(db);
}
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_and_no_cipher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_log_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_plain_data_stays_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
