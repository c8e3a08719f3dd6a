/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the head's appendable sample encoding (storage/headenc.c): bit-exact round trips
 * in arrival order over random, out-of-order, duplicate and extreme timestamps and over
 * NaN/Inf/-0/denormal values, the size on monitoring-shaped series, buffer reuse across a
 * reset, and a reader that stops cleanly at the end of a (short) stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headenc.h"
#include "omega/common.h"
#include "omega/metric.h"

/* xorshift64*: deterministic pseudo-random numbers. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static double bitsd(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

/* Append s[0..n) to a fresh encoding, read it back, require bit-exact equality in arrival
 * order and that the reader then reports the end. Returns the stream's size in bytes. */
static size_t roundtrip(const omega_sample_t *s, size_t n)
{
    storage_headenc_t e = {0};
    for (size_t i = 0; i < n; i++)
        storage_headenc_append(&e, s[i].ts_ms, s[i].value);
    storage_headdec_t d;
    storage_headdec_init(&d, &e);
    for (size_t i = 0; i < n; i++) {
        int64_t ts = 0;
        double v = 0;
        assert_int_equal(storage_headdec_next(&d, &ts, &v), 0);
        assert_true(ts == s[i].ts_ms);
        assert_true(dbits(v) == dbits(s[i].value));
    }
    int64_t ts;
    double v;
    /* past the last sample: at most 7 padding bits are left, never a whole sample */
    assert_int_equal(storage_headdec_next(&d, &ts, &v), -1);
    size_t bytes = (size_t)((e.nbits + 7) / 8);
    assert_true(storage_headenc_bytes(&e) >= bytes);
    storage_headenc_reset(&e, 1);
    assert_null(e.b);
    return bytes;
}

static void test_empty(void **state)
{
    (void)state;
    storage_headenc_t e = {0};
    storage_headdec_t d;
    int64_t ts = 7;
    double v = 7;
    storage_headdec_init(&d, &e);
    assert_int_equal(storage_headdec_next(&d, &ts, &v), -1);
    assert_true(ts == 7 && v == 7); /* untouched on failure */
    assert_int_equal(storage_headenc_bytes(&e), 0);
    storage_headenc_reset(&e, 1);
}

static void test_random(void **state)
{
    (void)state;
    enum { N = 5000 };
    omega_sample_t *s = omega_malloc(N * sizeof(*s));
    for (int round = 0; round < 20; round++) {
        int64_t t = (int64_t)(rnd() % 4000000000000ull);
        for (size_t i = 0; i < N; i++) {
            switch (rnd() % 6) {
            case 0: t += 1000; break;
            case 1: t += (int64_t)(rnd() % 100) - 50; break; /* jitter, sometimes backwards */
            case 2: t += (int64_t)(rnd() % 5000000); break;
            case 3: t -= (int64_t)(rnd() % 3600000); break; /* out of order by up to 1 h */
            case 4: break;                                   /* duplicate time */
            default: t = (int64_t)(rnd() % 4000000000000ull); break;
            }
            s[i].ts_ms = t;
            switch (rnd() % 5) {
            case 0: s[i].value = i ? s[i - 1].value : 0; break;
            case 1: s[i].value = (double)(rnd() % 1000); break;
            case 2: s[i].value = bitsd(rnd()); break; /* any bit pattern, NaNs included */
            case 3: s[i].value = (double)(rnd() % 100000) / 100.0; break;
            default: s[i].value = (i ? s[i - 1].value : 0) + (double)(rnd() % 10); break;
            }
        }
        size_t n = 1 + rnd() % N;
        roundtrip(s, n);
    }
    free(s);
}

static void test_special_values(void **state)
{
    (void)state;
    const double vals[] = {NAN,       -NAN,     INFINITY, -INFINITY, 0.0,     -0.0,
                           DBL_MIN,   -DBL_MIN, DBL_MAX,  -DBL_MAX,  5e-324,  -5e-324,
                           bitsd(0x7ff8dead00000001ull),  bitsd(0xfff0000000000001ull), 1.0, 1.0,
                           NAN,       NAN,      0.0,      1e300};
    enum { N = sizeof(vals) / sizeof(vals[0]) };
    omega_sample_t s[N];
    for (size_t i = 0; i < N; i++)
        s[i] = (omega_sample_t){(int64_t)i * 1000, vals[i]};
    roundtrip(s, N);
    /* a stale-marker NaN payload survives next to ordinary NaNs */
    omega_sample_t m[3] = {{0, bitsd(0x7ff0000000000002ull)}, {1, NAN}, {2, bitsd(0x7ff0000000000002ull)}};
    roundtrip(m, 3);
}

static void test_extreme_times(void **state)
{
    (void)state;
    const int64_t ts[] = {0,         INT64_MAX, INT64_MIN, INT64_MAX, INT64_MAX, -1,
                          1,         INT64_MIN, 0,         INT64_MIN + 1, INT64_MAX - 1, 42,
                          -4000000000000LL, 4000000000000LL, 4000000000001LL, 4000000000001LL};
    enum { N = sizeof(ts) / sizeof(ts[0]) };
    omega_sample_t s[N];
    for (size_t i = 0; i < N; i++)
        s[i] = (omega_sample_t){ts[i], (double)i};
    roundtrip(s, N);
    /* every delta-of-delta width boundary, both signs */
    omega_sample_t b[64];
    int64_t t = 1795696000000LL, delta = 1000;
    size_t n = 0;
    const int64_t dods[] = {0, 1, -1, 127, -128, 128, -129, 8191, -8192, 8192, -8193,
                            8388607, -8388608, 8388608, -8388609, INT64_MAX / 4, INT64_MIN / 4};
    for (size_t i = 0; i < sizeof(dods) / sizeof(dods[0]); i++) {
        delta += dods[i];
        t += delta;
        b[n++] = (omega_sample_t){t, (double)i};
    }
    roundtrip(b, n);
}

/* What the collectors write at 1 s: gauges that rarely change, counters that grow, and
 * two-decimal percentages, on aligned timestamps. */
static void test_size_monitoring(void **state)
{
    (void)state;
    enum { N = 480 };
    omega_sample_t s[N];
    int64_t t0 = 1795696000000LL;
    for (size_t i = 0; i < N; i++)
        s[i] = (omega_sample_t){t0 + (int64_t)i * 1000, 8589934592.0};
    size_t constant = roundtrip(s, N);
    assert_true(constant < N / 3); /* about 2 bits a sample */
    double c = 123456789;
    for (size_t i = 0; i < N; i++) {
        c += (double)(rnd() % 3000);
        s[i] = (omega_sample_t){t0 + (int64_t)i * 1000, c};
    }
    size_t counter = roundtrip(s, N);
    assert_true(counter < N * 6); /* 16 bytes raw; about 5 with increments of up to 3,000 */
    for (size_t i = 0; i < N; i++)
        s[i] = (omega_sample_t){t0 + (int64_t)i * 1000, (double)(rnd() % 10000) / 100.0};
    size_t pct = roundtrip(s, N);
    assert_true(pct < N * 9); /* full mantissas: about 8.3 bytes */
}

static void test_reset_reuse(void **state)
{
    (void)state;
    storage_headenc_t e = {0};
    for (int i = 0; i < 1000; i++)
        storage_headenc_append(&e, 1000LL * i, (double)i);
    size_t cap = storage_headenc_bytes(&e);
    assert_true(cap > 0);
    storage_headenc_reset(&e, 0);
    assert_int_equal(storage_headenc_bytes(&e), cap); /* kept */
    assert_true(e.nbits == 0 && e.last_ts == 0 && e.last_bits == 0 && e.win_len == 0);
    /* a new run after the reset starts from scratch: out of order relative to the old one */
    storage_headenc_append(&e, -5, 2.5);
    storage_headenc_append(&e, -6, 2.5);
    storage_headdec_t d;
    int64_t ts;
    double v;
    storage_headdec_init(&d, &e);
    assert_int_equal(storage_headdec_next(&d, &ts, &v), 0);
    assert_true(ts == -5 && v == 2.5);
    assert_int_equal(storage_headdec_next(&d, &ts, &v), 0);
    assert_true(ts == -6 && v == 2.5);
    assert_int_equal(storage_headdec_next(&d, &ts, &v), -1);
    assert_int_equal(storage_headenc_bytes(&e), cap);
    storage_headenc_reset(&e, 1);
    assert_int_equal(storage_headenc_bytes(&e), 0);
    assert_null(e.b);
}

/* A reader given fewer bits than a sample needs fails instead of reading past them. */
static void test_truncated(void **state)
{
    (void)state;
    storage_headenc_t e = {0};
    storage_headenc_append(&e, 1795696000000LL, 3.25);
    storage_headenc_append(&e, 1795696001000LL, 3.5);
    uint64_t full = e.nbits;
    for (uint64_t cut = 0; cut < full; cut++) {
        storage_headenc_t t = e;
        t.nbits = cut;
        storage_headdec_t d;
        int64_t ts;
        double v;
        int got = 0;
        storage_headdec_init(&d, &t);
        while (storage_headdec_next(&d, &ts, &v) == 0)
            got++;
        assert_true(got <= 1); /* the second sample needs every bit */
        assert_true(d.pos <= cut);
    }
    storage_headenc_reset(&e, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_random),
        cmocka_unit_test(test_special_values),  cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_size_monitoring), cmocka_unit_test(test_reset_reuse),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
