/* SPDX-License-Identifier: Apache-2.0 */
/* The storage encryption tests' shared parts (test_storage_crypt.c, test_storage_reseal.c):
 * a deterministic test cipher in auth's blob layout (keyed XOR stream and tag; no auth
 * linked), a key ring with an active version and release, a gate that holds the next seal,
 * and the temp-dir fixture with read and write helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptest.h"
#include "testutil.h"

/* ---- the test cipher ---- */

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

int t_seal(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err)
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

int t_open(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err)
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

tkey_t key1 = {1, 0x1234567890abcdefull};
tkey_t key2 = {2, 0x0fedcba987654321ull};
tkey_t key3 = {3, 0x1111222233334444ull};
const char *const patterns[] = {"secret_.*", "billing_(cost|card)"};

omega_tsdb_cipher_t cipher_of(tkey_t *k)
{
    return (omega_tsdb_cipher_t){.ctx = k, .seal = t_seal, .open = t_open, .overhead = OVERHEAD};
}

/* ---- helpers ---- */

int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-crypt");
    f->t0 = (omega_now_ms() / 3600000 - 3) * 3600000;
    *state = f;
    return 0;
}

int teardown(void **state)
{
    fixture_t *f = *state;
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

omega_tsdb_t *open_db(const fixture_t *f, tkey_t *k, int sensitive, omega_error_t *err)
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
void needle_of(double v, char out[9])
{
    memcpy(out, &v, 8);
    out[8] = '\0';
    assert_int_equal(strlen(out), 8);
}

void write_pts(omega_tsdb_t *db, const char *name, double v, int64_t t0, int n)
{
    omega_label_t l = {"host", "a"};
    omega_point_t *p = calloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = (omega_point_t){name, &l, 1, t0 + i * STEP_MS, v};
    omega_error_t err;
    assert_int_equal(omega_tsdb_write(db, p, (size_t)n, &err), 0);
    free(p);
}

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

int read_metric(omega_tsdb_t *db, const char *name, got_t *g, omega_error_t *err)
{
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    memset(g, 0, sizeof(*g));
    return omega_tsdb_select(db, &m, 1, 0, INT64_MAX, got_cb, g, err);
}

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

int read_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier, const char *name, tiers_t *t,
              omega_error_t *err)
{
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    memset(t, 0, sizeof(*t));
    return omega_tsdb_select_tier(db, tier, &m, 1, 0, INT64_MAX, tier_cb, t, err);
}

void expect_values(omega_tsdb_t *db, const char *name, double v, size_t n)
{
    got_t g;
    omega_error_t err;
    assert_int_equal(read_metric(db, name, &g, &err), 0);
    assert_int_equal(g.n, n);
    assert_true(g.all_same);
    assert_true(g.first == v);
}

void expect_tiers(omega_tsdb_t *db, const char *name, double v, size_t n)
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

/* A gate the next seal waits at once armed (the pass is then inside a batch, holding its
 * locks), until the test opens it. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int armed, waiting, open;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void gate_pass(void)
{
    pthread_mutex_lock(&gate.lock);
    if (gate.armed) {
        gate.armed = 0;
        gate.waiting = 1;
        pthread_cond_broadcast(&gate.cond);
        while (!gate.open)
            pthread_cond_wait(&gate.cond, &gate.lock);
    }
    pthread_mutex_unlock(&gate.lock);
}

void gate_arm(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.armed = 1;
    gate.waiting = gate.open = 0;
    pthread_mutex_unlock(&gate.lock);
}

void gate_wait_held(void)
{
    pthread_mutex_lock(&gate.lock);
    while (!gate.waiting)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
}

void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

int r_seal(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err)
{
    ring_t *r = ctx;
    gate_pass();
    return t_seal(&r->keys[atomic_load(&r->cur)], aad, alen, in, n, out, cap, out_len, err);
}

int r_open(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err)
{
    ring_t *r = ctx;
    const unsigned char *b = in;
    uint32_t id =
        n >= 8 ? (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7] : 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->keys[i].id == id)
            return t_open(&r->keys[i], aad, alen, in, n, out, cap, out_len, err);
    return omega_error_set(err, OMEGA_EACCES, "test ring: key %u is not held", id);
}

uint32_t r_active(void *ctx)
{
    ring_t *r = ctx;
    return r->keys[atomic_load(&r->cur)].id;
}

int r_release(void *ctx, uint32_t below, omega_error_t *err)
{
    (void)err;
    atomic_store(&((ring_t *)ctx)->released, below);
    return 0;
}

/* A ring holding a..: the last one seals. */
void ring_init(ring_t *r, const tkey_t *a, const tkey_t *b)
{
    memset(r, 0, sizeof(*r));
    r->keys[r->n++] = *a;
    if (b)
        r->keys[r->n++] = *b;
    atomic_store(&r->cur, r->n - 1);
}

/* Open with the ring (sensitive patterns on, no background pass: the tests drive it). */
omega_tsdb_t *open_ring(const fixture_t *f, ring_t *r)
{
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = f->dir;
    o.sync_writes = 0;
    o.compression = 0;
    o.out_of_order_window_ms = 0;
    o.raw_retention_ms = 0;
    o.chunk_max_samples = 64;
    o.cipher = (omega_tsdb_cipher_t){r, r_seal, r_open, OVERHEAD, r_active, r_release};
    o.sensitive_metrics = patterns;
    o.n_sensitive_metrics = 2;
    o.reseal_manual = 1;
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    assert_non_null(db);
    return db;
}
