/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of encryption at rest in storage (storage/crypt.c) with a deterministic test cipher
 * (keyed XOR stream and tag, auth's blob layout; no auth linked): the sample bytes of a
 * sensitive series are absent from every file of the data dir after writes, seal, rollup and
 * close while a normal series' are present; reads, rollups and the integrity check see the
 * right values; a head log sealed before a crash replays at open and when the cipher is
 * attached late; a wrong key or no cipher gives a clear error; old plain data stays readable;
 * bad patterns and arguments are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "omega/tsdb.h"
#include "testutil.h"

#define OVERHEAD 36 /* magic 4, key id 4, nonce 12, tag 16 */
#define N_PTS    300
#define STEP_MS  30000LL

static const double SECRET = 1234567.891;
static const double NORMAL = 7654321.123;

/* ---- the test cipher ---- */

typedef struct tkey {
    uint32_t id;   /* key id, stored in the blob like auth's key version */
    uint64_t seed; /* stream and tag key */
} tkey_t;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = mix(h ^ b[i]) + i;
    return h;
}

static void tag_of(const tkey_t *k, const void *aad, size_t alen, const unsigned char *ct, size_t n,
                   unsigned char tag[16])
{
    uint64_t h = hash_bytes(hash_bytes(k->seed, aad, alen), ct, n);
    for (int i = 0; i < 16; i++)
        tag[i] = (unsigned char)(mix(h + (uint64_t)i) >> 8);
}

static void xor_stream(const tkey_t *k, const void *aad, size_t alen, const unsigned char *in,
                       unsigned char *out, size_t n)
{
    uint64_t s = hash_bytes(k->seed ^ 0x5a5a, aad, alen);
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] ^ (unsigned char)(mix(s + i) >> 16);
}

static int t_seal(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out,
                  size_t cap, size_t *out_len, omega_error_t *err)
{
    const tkey_t *k = ctx;
    unsigned char *o = out;
    if (cap < n + OVERHEAD)
        return omega_error_set(err, OMEGA_EINVAL, "test seal: buffer too small");
    memcpy(o, "OMB1", 4);
    o[4] = (unsigned char)(k->id >> 24), o[5] = (unsigned char)(k->id >> 16);
    o[6] = (unsigned char)(k->id >> 8), o[7] = (unsigned char)k->id;
    memset(o + 8, 0, 12);
    xor_stream(k, aad, alen, in, o + 20, n);
    tag_of(k, aad, alen, o + 20, n, o + 20 + n);
    *out_len = n + OVERHEAD;
    return 0;
}

static int t_open(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out,
                  size_t cap, size_t *out_len, omega_error_t *err)
{
    const tkey_t *k = ctx;
    const unsigned char *b = in;
    unsigned char tag[16];
    if (n < OVERHEAD || memcmp(b, "OMB1", 4) != 0)
        return omega_error_set(err, OMEGA_ECORRUPT, "test open: not a blob");
    uint32_t id = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    if (id != k->id)
        return omega_error_set(err, OMEGA_EACCES, "test open: key %u is not held", id);
    if (cap < n - OVERHEAD)
        return omega_error_set(err, OMEGA_EINVAL, "test open: buffer too small");
    tag_of(k, aad, alen, b + 20, n - OVERHEAD, tag);
    if (memcmp(tag, b + n - 16, 16) != 0)
        return omega_error_set(err, OMEGA_ECORRUPT, "test open: tag mismatch");
    xor_stream(k, aad, alen, b + 20, out, n - OVERHEAD);
    *out_len = n - OVERHEAD;
    return 0;
}

static tkey_t key1 = {1, 0x1234567890abcdefull};
static tkey_t key2 = {2, 0x0fedcba987654321ull};
static const char *const patterns[] = {"secret_.*", "billing_(cost|card)"};

static omega_tsdb_cipher_t cipher_of(tkey_t *k)
{
    return (omega_tsdb_cipher_t){k, t_seal, t_open, OVERHEAD};
}

/* ---- helpers ---- */

typedef struct fixture {
    char *dir;  /* temp data dir */
    int64_t t0; /* first sample time (a whole hour, two hours ago) */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-crypt");
    f->t0 = (omega_now_ms() / 3600000 - 3) * 3600000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static omega_tsdb_t *open_db(const fixture_t *f, tkey_t *k, int sensitive, omega_error_t *err)
{
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = f->dir;
    o.sync_writes = 0;
    o.compression = 0; /* so the control value's bytes are visible in the files */
    o.out_of_order_window_ms = 0;
    o.raw_retention_ms = 0;
    o.chunk_max_samples = 64;
    if (k)
        o.cipher = cipher_of(k);
    if (sensitive) {
        o.sensitive_metrics = patterns;
        o.n_sensitive_metrics = 2;
    }
    return omega_tsdb_open(&o, err);
}

/* The 8 bytes of v as a needle (the test values have no zero byte). */
static void needle_of(double v, char out[9])
{
    memcpy(out, &v, 8);
    out[8] = '\0';
    assert_int_equal(strlen(out), 8);
}

static void write_pts(omega_tsdb_t *db, const char *name, double v, int64_t t0, int n)
{
    omega_label_t l = {"host", "a"};
    omega_point_t *p = calloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = (omega_point_t){name, &l, 1, t0 + i * STEP_MS, v};
    omega_error_t err;
    assert_int_equal(omega_tsdb_write(db, p, (size_t)n, &err), 0);
    free(p);
}

typedef struct got {
    size_t n;     /* samples */
    double first; /* first value */
    int all_same; /* every value equals first */
} got_t;

static int got_cb(void *ctx, const omega_series_t *s, const omega_sample_t *v, size_t n)
{
    got_t *g = ctx;
    (void)s;
    for (size_t i = 0; i < n; i++) {
        if (g->n == 0) {
            g->first = v[i].value;
            g->all_same = 1;
        } else if (v[i].value != g->first) {
            g->all_same = 0;
        }
        g->n++;
    }
    return 0;
}

static int read_metric(omega_tsdb_t *db, const char *name, got_t *g, omega_error_t *err)
{
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    memset(g, 0, sizeof(*g));
    return omega_tsdb_select(db, &m, 1, 0, INT64_MAX, got_cb, g, err);
}

typedef struct tiers {
    uint64_t count; /* samples over every bucket */
    double min, max, sum;
    size_t buckets;
} tiers_t;

static int tier_cb(void *ctx, const omega_series_t *s, const omega_tsdb_bucket_t *b, size_t n)
{
    tiers_t *t = ctx;
    (void)s;
    for (size_t i = 0; i < n; i++) {
        t->min = t->buckets == 0 || b[i].min < t->min ? b[i].min : t->min;
        t->max = t->buckets == 0 || b[i].max > t->max ? b[i].max : t->max;
        t->sum += b[i].sum;
        t->count += b[i].count;
        t->buckets++;
    }
    return 0;
}

static int read_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier, const char *name, tiers_t *t,
                     omega_error_t *err)
{
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    memset(t, 0, sizeof(*t));
    return omega_tsdb_select_tier(db, tier, &m, 1, 0, INT64_MAX, tier_cb, t, err);
}

static void expect_values(omega_tsdb_t *db, const char *name, double v, size_t n)
{
    got_t g;
    omega_error_t err;
    assert_int_equal(read_metric(db, name, &g, &err), 0);
    assert_int_equal(g.n, n);
    assert_true(g.all_same);
    assert_true(g.first == v);
}

static void expect_tiers(omega_tsdb_t *db, const char *name, double v, size_t n)
{
    omega_error_t err;
    for (int tier = OMEGA_TSDB_TIER_H1; tier <= OMEGA_TSDB_TIER_MO1; tier++) {
        tiers_t t;
        assert_int_equal(read_tier(db, (omega_tsdb_tier_t)tier, name, &t, &err), 0);
        assert_int_equal(t.count, n);
        assert_true(t.min == v && t.max == v);
        assert_true(fabs(t.sum - v * (double)n) <= 1e-9 * v * (double)n);
    }
}

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
    omega_tsdb_cipher_t c = {&key1, NULL, t_open, OVERHEAD};
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
